"""The CoNLL++ experiment, step by step: download -> sanity report -> train -> evaluate -> pictures + manifest.

``experiments/conllpp.py`` is a thin entry point around :func:`run_experiment`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from flair_ner.config import ExperimentConfig
from flair_ner.corpus import CorpusFiles, fetch_corpus_files, load_corpus, load_sentences
from flair_ner.report import SanityReport, write_sanity_report

log = logging.getLogger(__name__)
STEPS = 5


def fetch_experiment_data(config: ExperimentConfig) -> tuple[CorpusFiles, Optional[CorpusFiles]]:
    """The corpus and, if configured, the original release whose test set is compared and evaluated too."""
    files = fetch_corpus_files(config.dataset, config.data_dir, config.mirror)
    original = fetch_corpus_files(config.compare_with, config.data_dir, config.mirror) if config.compare_with else None
    return files, original


def run_sanity_report(
    config: ExperimentConfig, data: Optional[tuple[CorpusFiles, Optional[CorpusFiles]]] = None
) -> SanityReport:
    """Download the data (unless ``data`` holds it already) and write the sanity CSVs."""
    files, original = data or fetch_experiment_data(config)
    return write_sanity_report(files, Path(config.output_dir), original)


@dataclass
class ExperimentResult:
    report: SanityReport
    micro_f1: dict[str, float]
    model: Path
    output_dir: Path


def _step(number: int, what: str) -> None:
    log.info("step %d/%d: %s", number, STEPS, what)


def run_experiment(config: ExperimentConfig) -> ExperimentResult:
    """Run the whole experiment into ``config.output_dir``."""
    from flair.data import Corpus
    from flair.models import SequenceTagger

    from flair_ner.evaluate import evaluate_sentences, write_results
    from flair_ner.manifest import git_commit, write_manifest
    from flair_ner.plots import LEARNING_CURVE, PER_TYPE_F1, plot_learning_curve, plot_per_type_f1
    from flair_ner.train import train_tagger

    started, code_commit = time.monotonic(), git_commit()
    output_dir = Path(config.output_dir)
    _step(1, "download + dataset-size sanity report")
    files, original = fetch_experiment_data(config)
    report = run_sanity_report(config, (files, original))
    print(report.render())
    if not report.all_match:
        log.warning("the corpus does not match the CoNLL-2003 paper's figures; see %s", report.paths[0])

    _step(2, "corpus")
    corpus = load_corpus(files)
    # Step 4 evaluates both test sets; flair's own end-of-training test pass would repeat it.
    corpus = Corpus(corpus.train, corpus.dev, None, name=corpus.name, sample_missing_splits=False)

    _step(3, f"train (up to {config.max_epochs} epochs) -> {output_dir}")
    trained = train_tagger(corpus, output_dir, config, config.data_dir)

    _step(4, "evaluate on the test sets")
    model_path = trained.final_model if config.train_with_dev or trained.best_model is None else trained.best_model
    tagger = SequenceTagger.load(model_path)
    test_sets = {config.dataset: files}
    if original is not None:
        test_sets[config.compare_with] = original
    results = []
    for name, test_files in test_sets.items():
        sentences = load_sentences(test_files.paths()["test"], test_files.format)[: config.eval_limit]
        results.append(evaluate_sentences(tagger, sentences, name))
        log.info("%s test: micro-F1 %.2f", name, 100 * results[-1].micro_f1)
    write_results(results, output_dir)

    _step(5, "pictures + manifest")
    import pandas as pd

    plot_learning_curve(output_dir / "loss.tsv", output_dir / LEARNING_CURVE)
    plot_per_type_f1(pd.read_csv(output_dir / "metrics.csv"), output_dir / PER_TYPE_F1)
    data_files = [path for test_files in test_sets.values() for path in test_files.paths().values()]
    write_manifest(
        output_dir,
        config,
        data_files,
        code_commit,
        seed=config.seed,
        device=trained.device,
        storage_mode=trained.storage_mode,
        embeddings=trained.embeddings,
        evaluated_model=model_path.name,
        resumed_from_epoch=trained.resumed_from_epoch,
        precompute_seconds=trained.precompute_seconds,
        mixed_precision=trained.use_amp,
        epoch_seconds=trained.epoch_seconds,
        training_seconds=trained.total_seconds,
        total_seconds=time.monotonic() - started,
        micro_f1={result.name: result.micro_f1 for result in results},
    )
    summary = "  ".join(f"{result.name} test micro-F1 {100 * result.micro_f1:.2f}" for result in results)
    print(f"\n{summary}\nResults in {output_dir}")
    return ExperimentResult(report, {r.name: r.micro_f1 for r in results}, model_path, output_dir)

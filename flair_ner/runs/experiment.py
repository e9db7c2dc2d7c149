"""One run, step by step: data -> sanity report -> corpus -> train -> evaluate -> pictures + manifest.

The data are a registered data set (CoNLL++ by default) or your own column
files, both described by the run's configuration. ``experiments/conllpp.py``
is a thin entry point around :func:`run_experiment`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import torch
from flair.data import Corpus
from flair.models import SequenceTagger

from flair_ner.runs.layout import LOSS_FILE, METRICS_JSON, confusion_plot
from flair_ner.runs.checkpoint import CHECKPOINT
from flair_ner.config.options import DEFAULT_DATASET, EvaluateConfig, ExperimentConfig, validate
from flair_ner.data.corpus import (
    Block,
    CorpusFormatError,
    fetch_corpus_files,
    read_blocks,
    read_corpus,
    require_document_markers,
    to_sentences,
)
from flair_ner.evaluation.error_browser import TestSetPredictions, write_error_page
from flair_ner.runs.model_card import write_model_card
from flair_ner.evaluation.scores import (
    EvaluationResult,
    evaluate_sentences,
    metrics_table,
    render_scores,
    write_results,
)
from flair_ner.runs.interrupt import RunInterrupted, interruptible
from flair_ner.runs.manifest import git_commit, peak_rss_mb, write_manifest
from flair_ner.embeddings.model_size import trim_model_file
from flair_ner.evaluation.plots import (
    LEARNING_CURVE,
    PER_TYPE_F1,
    confusion_title,
    plot_entity_confusion,
    plot_learning_curve,
    plot_per_type_f1,
)
from flair_ner.training.plugins import BEST_MODEL
from flair_ner.predict.tagging import load_tagger, model_entity_types
from flair_ner.data.registry import DATASETS, CorpusFiles, compared_with
from flair_ner.data.report import SanityReport, write_sanity_report
from flair_ner.runs.folder import (
    FINISHED,
    RunFolderError,
    check_run_folder,
    locked,
    read_manifest,
    trained_lm_context,
)
from flair_ner.training.train import FINAL_MODEL, train_tagger

if TYPE_CHECKING:
    from flair_ner.integrations.tracking import MlflowRun

log = logging.getLogger(__name__)
STEPS = 5


def fetch_experiment_data(config: ExperimentConfig) -> tuple[CorpusFiles, dict[str, CorpusFiles]]:
    """The run's data and the registered data sets of ``compare_with``, whose test sets are evaluated too (the
    first is also compared with the run's test set in the sanity report: for CoNLL++, the original release).

    Your own files are described by the config's column options; a registered
    data set is fetched (verified) and brings its own layout, to which the
    config's ``label_map`` applies.
    """
    if config.train_file:
        files = config.own_files()
    else:
        files = _registered(config.dataset or DEFAULT_DATASET, config)
    return files, {name: _registered(name, config) for name in config.compared_sets}


def _registered(name: str, config: "ExperimentConfig | EvaluateConfig") -> CorpusFiles:
    """A registered data set, fetched (verified), in its own layout with the config's label map."""
    deadline = getattr(config, "download_deadline", None)  # evaluate has no such option: the default deadline
    return fetch_corpus_files(name, config.data_dir, config.mirror, deadline, config.label_map)


def run_sanity_report(
    config: ExperimentConfig,
    data: Optional[tuple[CorpusFiles, dict[str, CorpusFiles]]] = None,
    blocks: Optional[dict[str, list[Block]]] = None,
    compared_tests: Optional[dict[str, list[Block]]] = None,
) -> SanityReport:
    """Download the data (unless ``data`` holds it already) and write the sanity CSVs.

    Only CoNLL-2003 and CoNLL++ have published sizes to compare with (Table 1 of the CoNLL-2003 paper).
    ``blocks``: the data's splits as read already (a run reads them once).
    """
    files, compared = data or fetch_experiment_data(config)
    # the sentence-by-sentence comparison is for a registered data set and its other release (CoNLL++ and
    # CoNLL-2003: the same sentences); other test sets are evaluated, not compared
    release = (compared_with(config.data_name) or "").split(",")[0] if not config.train_file else ""
    first = release if release in compared else None
    original, original_test = (compared[first], (compared_tests or {}).get(first)) if first else (None, None)
    registered = DATASETS.get(config.data_name) if not config.train_file else None
    expected = None if config.label_map or registered is None else registered.published_sizes
    return write_sanity_report(files, Path(config.output_dir), original, expected, blocks, original_test)


@dataclass
class ExperimentResult:
    report: SanityReport
    micro_f1: dict[str, float]
    model: Path
    output_dir: Path


def _step(number: int, what: str) -> None:
    log.info("step %d/%d: %s", number, STEPS, what)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def peak_memory() -> dict[str, int]:
    """This process's peak resident memory (``peak_rss_mb``) and, on CUDA, peak GPU memory allocated by torch
    (``peak_gpu_mb``), in MiB: recorded with each event that ends a process, since a resumed run spans several."""
    peaks = {"peak_rss_mb": round(peak_rss_mb())}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        peaks["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    return peaks


def _largest(events: list[dict], key: str) -> dict[str, int]:
    """``{key: the largest value any event recorded}``, or nothing when none did (a process killed without a word
    records none)."""
    values = [event[key] for event in events if key in event]
    return {key: max(values)} if values else {}


class RunRecord:
    """The run's ``manifest.json`` while it runs: status and every start, resume, interruption and failure.

    Args:
        output_dir: the run folder.
        config: the run's configuration.
        previous: the manifest an earlier process of this run left, if any.
    """

    def __init__(self, output_dir: Path, config: ExperimentConfig, previous: Optional[dict] = None) -> None:
        self.output_dir = output_dir
        self.config = config
        self.commit = git_commit()
        self.created = (previous or {}).get("created") or _now()
        self.events: list[dict] = list((previous or {}).get("events", []))
        self.data_files: list[Path] = []
        self.data: dict = {}
        # the MLflow run this kit run logs to (kept so that a resumed run continues it)
        self.tracking: Optional[dict] = (previous or {}).get("tracking")

    def event(self, status: str, event: str, **facts) -> None:
        """Append an event and rewrite the manifest with ``status``."""
        self.events.append({"event": event, "time": _now(), "pid": os.getpid(), **facts})
        self.write(status)

    def write(self, status: str, **run) -> None:
        write_manifest(
            self.output_dir,
            self.config,
            self.data_files,
            self.commit,
            created=self.created,
            status=status,
            events=self.events,
            **({"tracking": self.tracking} if self.tracking else {}),
            **run,
        )


def run_experiment(
    config: ExperimentConfig,
    fresh: bool = False,
    tags: Optional[dict] = None,
    read: Optional[dict] = None,
    command: Optional[str] = None,
) -> ExperimentResult:
    """Run the whole experiment into ``config.output_dir``, or resume it there.

    The configuration and the output folder are checked before anything is
    downloaded or written (see :mod:`flair_ner.runs.folder`); the folder is
    locked while the run writes to it.

    Args:
        config: the experiment's configuration.
        fresh: move a previous run in the output folder aside and start over.
        tags: further MLflow tags when the run is tracked (a grid names itself and the variant).
        read: your own files (``config.train_file``...) as :func:`flair_ner.data.corpus.read_data_files` read them
            already; unset: read in the run's first step.
        command: the command line that started this process (the manifest and the model card record it).

    Raises:
        ConfigError, RunFolderError: before any download or write.
        RunInterrupted: SIGINT/SIGTERM; the manifest records it and the same command resumes.
    """
    validate(config)
    output_dir = Path(config.output_dir)
    with locked(output_dir):
        state = check_run_folder(output_dir, dataclasses.asdict(config), fresh)
        previous = None if fresh else read_manifest(output_dir)
        record = RunRecord(output_dir, config, previous)
        if previous and previous.get("status") == "running":
            # this process holds the lock, so the one that wrote "running" is gone without a word (SIGKILL,
            # out of memory, its machine went down): said here, so the history has no silent gap
            last = (previous.get("events") or [{}])[-1]
            record.events.append({"event": "lost", "time": _now(), "pid": last.get("pid"),
                                  "note": "the process stopped without recording why; noticed at this time"})  # fmt: skip
        tracker = _start_tracking(config, record, tags) if config.track else None
        said = {"command": command} if command else {}
        if state is not None:
            record.event("running", "resumed", after_epoch=state.epoch, **said)
        else:
            record.event("running", "started", **said)
        try:
            with interruptible():
                result = _run(config, output_dir, state, record, tracker, read)
            if tracker:
                tracker.log_files(output_dir)
                tracker.end("FINISHED")
            return result
        except RunInterrupted as interrupted:
            if tracker:
                tracker.end("KILLED")
            if interrupted.epoch is None:  # stopped before training began
                interrupted.epoch = state.epoch if state else 0
                interrupted.message = (
                    f"interrupted before training continued; run the same command to resume after epoch {state.epoch}"
                    if state
                    else "interrupted before training began; run the same command to start again"
                )
            record.event(
                "interrupted",
                "interrupted",
                signal=signal.Signals(interrupted.signum).name,
                after_epoch=interrupted.epoch,
                **peak_memory(),
            )
            raise
        except Exception as error:
            if tracker:
                tracker.end("FAILED")
            record.event("failed", "failed", error=f"{type(error).__name__}: {str(error)[:300]}", **peak_memory())
            raise


def _start_tracking(config: ExperimentConfig, record: RunRecord, tags: Optional[dict]) -> "MlflowRun":
    """The run's MLflow run: a new one, or the one an interrupted run of this folder was logging to."""
    from flair_ner.integrations.tracking import MlflowRun, tracking_uri  # MLflow loads only when a run is tracked

    uri = tracking_uri(config.tracking_uri)
    previous = record.tracking if record.tracking and record.tracking.get("uri") == uri else None
    tags = {
        "dataset": config.data_name,
        "embeddings": config.embeddings, "seed": config.seed, "git_commit": record.commit,
        "output_dir": str(Path(config.output_dir).resolve()), **(tags or {}),
    }  # fmt: skip
    tracker = MlflowRun(uri, config.tracking_experiment, Path(config.output_dir).name,
                        run_id=previous and previous["run_id"], tags=tags)  # fmt: skip
    tracker.log_params(dataclasses.asdict(config))
    record.tracking = {"uri": uri, "experiment": config.tracking_experiment, "run_id": tracker.run_id}
    log.info("tracking in MLflow: %s, run %s", uri, tracker.run_id)
    return tracker


def _run(
    config: ExperimentConfig,
    output_dir: Path,
    state,
    record: RunRecord,
    tracker: Optional["MlflowRun"] = None,
    read: Optional[dict] = None,
) -> ExperimentResult:
    started = time.monotonic()
    _step(1, "download, read + dataset-size sanity report")
    files, compared = fetch_experiment_data(config)
    # read and validated once: the report, training and the test set (own files: by the command line, before flair loaded)
    loaded = read_corpus(files, seed=config.seed, read=read if config.train_file else None)
    if config.lm_context == "document":
        require_document_markers(loaded.blocks["train"], files.paths()["train"], files.format.document_separator)
    # each compared test set is read once too: for the sanity report's comparison and for step 4
    compared_tests = {name: read_blocks(data.paths()["test"], data.format) for name, data in compared.items()}
    report = run_sanity_report(config, (files, compared), loaded.blocks, compared_tests)
    print(report.render())
    if not report.all_match:
        log.warning("the corpus does not match the CoNLL-2003 paper's figures; see %s", report.paths[0])
    test_sets = {config.data_name: files} if files.test else {}
    test_sets.update(compared)
    record.data_files = [path for data in (files, *compared.values()) for path in data.paths().values()]
    if config.sentence_weights:  # what the training read, with its digest
        record.data_files.append(Path(config.sentence_weights))

    _step(2, "corpus")
    record.data = {
        "train": str(files.paths()["train"]),
        "dev": loaded.dev_note,
        "test": str(files.paths()["test"]) if files.test else None,
        "tag_scheme": loaded.schemes,
        "label_map": config.label_map,
    }
    # Step 4 evaluates the test sets itself; flair's own end-of-training test pass would repeat it.
    corpus = Corpus(loaded.corpus.train, loaded.corpus.dev, None, name=loaded.corpus.name, sample_missing_splits=False)

    _step(3, f"train (up to {config.max_epochs} epochs) -> {output_dir}")
    plugins = []
    if tracker:
        from flair_ner.integrations.tracking import MlflowPlugin

        plugins.append(MlflowPlugin(tracker))
    trained = train_tagger(corpus, output_dir, config, config.data_dir, state=state, plugins=plugins)

    _step(4, "evaluate on the test sets")
    model_path = trained.final_model if config.train_with_dev or trained.best_model is None else trained.best_model
    kept_models = [model_path] + (
        [trained.final_model] if config.keep_final_model and trained.final_model != model_path else []
    )
    # what is evaluated is the file that is kept: trimmed first (trimming again in a resumed run changes nothing)
    vocabulary = {token.text for split in (corpus.train, corpus.dev if config.train_with_dev else None) if split
                  for sentence in split for token in sentence}  # fmt: skip
    model_rows = {}
    # a fine-tuned tagger holds only its transformer: no word-vector table, nothing to trim (and no need to load
    # a file of hundreds of MB once more to find that out)
    for path in kept_models if config.method == "stack" else []:
        for trimmed in trim_model_file(path, vocabulary, config.glove_rows):
            model_rows[path.name] = {"embedding": trimmed.name, "rows": trimmed.rows_after, "of": trimmed.rows_before}
    tagger = SequenceTagger.load(model_path)
    results = []
    for name, test_files in test_sets.items():
        # every test split was read once already: fresh Sentences from its blocks
        read = loaded.blocks["test"] if test_files is files else compared_tests[name]
        sentences = to_sentences(read)[: config.eval_limit]
        results.append(
            evaluate_sentences(
                tagger, sentences, name, probabilities=config.token_probabilities, lm_context=config.lm_context
            )
        )
        print(f"\nTest set {name} ({test_files.paths()['test']}):\n{render_scores(results[-1])}")
    if results:
        write_results(results, output_dir)
        write_error_page([TestSetPredictions.of(result) for result in results], output_dir)
        if tracker:
            tracker.log_results(results)
    else:
        log.info("no test file: test evaluation skipped (dev scores are in loss.tsv and training.log)")

    _step(5, "pictures + manifest")
    plot_learning_curve(output_dir / LOSS_FILE, output_dir / LEARNING_CURVE)
    if results:
        plot_per_type_f1(metrics_table(results), output_dir / PER_TYPE_F1)  # the table metrics.csv holds
    for result in results:
        plot_entity_confusion(result.predictions, output_dir / confusion_plot(result.name),
                              confusion_title(test_sets[result.name].paths()["test"]))  # fmt: skip
    record.events.append({"event": "completed", "time": _now(), "pid": os.getpid(), "epochs": trained.epochs,
                          **peak_memory()})  # fmt: skip
    # the peak over the run's processes (each event that ended one recorded its own)
    peaks = {**_largest(record.events, "peak_rss_mb"), **_largest(record.events, "peak_gpu_mb")}
    if tracker:
        for key, value in peaks.items():
            tracker.log_metric(key, value)
    record.write(
        FINISHED,
        seed=config.seed,
        device=trained.device,
        storage_mode=trained.storage_mode,
        embeddings=trained.embeddings,
        evaluated_model=model_path.name,
        resumed_from_epoch=trained.resumed_from_epoch,
        epochs=trained.epochs,
        precompute_seconds=trained.precompute_seconds,
        mixed_precision=trained.use_amp,
        epoch_seconds=trained.epoch_seconds,
        training_seconds=trained.total_seconds,
        # epochs trained by this process and the ones before a resume, over the whole training time
        train_sentences_per_second=round(
            trained.epochs * trained.train_sentences / max(sum(trained.epoch_seconds), 1e-9), 1
        ),
        total_seconds=time.monotonic() - started,
        **peaks,
        data=record.data,
        micro_f1={result.name: result.micro_f1 for result in results},
        model_rows=model_rows,
        # what stays once _tidy has run, in bytes
        model_files={
            path.name: path.stat().st_size
            for path in kept_models
            + ([output_dir / CHECKPOINT] if config.keep_checkpoint and (output_dir / CHECKPOINT).is_file() else [])
        },
    )
    _tidy(output_dir, kept_models, config.keep_checkpoint)
    write_model_card(output_dir)
    log.info("trained %d epochs in %.1f min (%.0f training sentences/s over the epochs)", trained.epochs,
             trained.total_seconds / 60, trained.epochs * trained.train_sentences / max(sum(trained.epoch_seconds), 1e-9))  # fmt: skip
    summary = ("test micro-F1: " + ", ".join(f"{result.name} {100 * result.micro_f1:.2f}" for result in results)
               if results else "no test set: the model was not evaluated")  # fmt: skip
    print(f"\n{summary}\nResults in {output_dir}")
    return ExperimentResult(report, {r.name: r.micro_f1 for r in results}, model_path, output_dir)


def _tidy(output_dir: Path, kept_models: list[Path], keep_checkpoint: bool) -> None:
    """A completed run keeps the evaluated model (and final-model.pt if asked for); the resume checkpoint and
    the other model go, unless asked for. Done after the manifest says ``complete``, so that a run stopped
    before it can still resume from its checkpoint."""
    for path in (output_dir / FINAL_MODEL, output_dir / BEST_MODEL):
        if path not in kept_models:
            path.unlink(missing_ok=True)
    if not keep_checkpoint:
        (output_dir / CHECKPOINT).unlink(missing_ok=True)


def run_evaluation(config: EvaluateConfig) -> EvaluationResult:
    """Score a trained model on a column file: metrics.csv/json, predictions TSV and the per-type plot, no training.

    Raises:
        CorpusFormatError: the file is not valid in the given format, or none of its entity
            types is one the model predicts (a wrong file or label map).
        RunFolderError: the output folder already holds metrics.
    """
    validate(config)
    output_dir = Path(config.output_dir)
    if (output_dir / METRICS_JSON).exists():
        raise RunFolderError(f"output folder {output_dir} already holds metrics.json; choose another --output-dir")
    if config.dataset:
        files = _registered(config.dataset, config)
        test_file, column_format = files.paths()["test"], files.format
    else:
        test_file, column_format = Path(config.test_file), config.column_format()
    blocks = read_blocks(test_file, column_format)
    tagger = load_tagger(config.model)
    learned, found = model_entity_types(tagger), {span.type for block in blocks for span in block.spans}
    if found and not found & learned:
        raise CorpusFormatError(
            f"{test_file}: none of its entity types ({', '.join(sorted(found))}) is one the model predicts "
            f"({', '.join(sorted(learned))}); is this the right file, or does it need a label_map?"
        )
    if found - learned:
        log.warning(
            "%s: types the model never learned, so every mention of them counts as missed: %s",
            test_file,
            ", ".join(sorted(found - learned)),
        )
    lm_context = config.lm_context or trained_lm_context(config.model)  # as the model was trained, by default
    with locked(output_dir):
        result = evaluate_sentences(tagger, to_sentences(blocks), "test", config.batch_size, lm_context=lm_context)
        write_results([result], output_dir)
        write_error_page([TestSetPredictions.of(result)], output_dir, f"Errors of {config.model} on {test_file}")
        plot_per_type_f1(metrics_table([result]), output_dir / PER_TYPE_F1)  # the table metrics.csv holds
        plot_entity_confusion(
            result.predictions,
            output_dir / confusion_plot("test"),
            confusion_title(test_file),
        )
    print(f"{test_file} scored with {config.model}:\n{render_scores(result)}\nResults in {output_dir}")
    return result

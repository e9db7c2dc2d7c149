"""The CoNLL++ experiment, step by step: download -> sanity report (-> train -> evaluate).

``experiments/conllpp.py`` is a thin entry point around :func:`run_experiment`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flair_ner.config import ExperimentConfig
from flair_ner.corpus import KNOWN_LAYOUTS, CorpusFiles
from flair_ner.download import fetch_dataset
from flair_ner.report import SanityReport, write_sanity_report

log = logging.getLogger(__name__)


def fetch_corpus_files(dataset: str, data_dir, mirror) -> CorpusFiles:
    """Fetch a known column data set (verified) and describe its files."""
    if dataset not in KNOWN_LAYOUTS:
        raise ValueError(f"no column layout known for data set {dataset!r}; known: {', '.join(KNOWN_LAYOUTS)}")
    paths = fetch_dataset(dataset, data_dir, mirror)
    return KNOWN_LAYOUTS[dataset](next(iter(paths.values())).parent)


def run_sanity_report(config: ExperimentConfig) -> SanityReport:
    """Download the corpus (and the original release to compare with) and write the sanity CSVs."""
    files = fetch_corpus_files(config.dataset, config.data_dir, config.mirror)
    original = fetch_corpus_files(config.compare_with, config.data_dir, config.mirror) if config.compare_with else None
    return write_sanity_report(files, Path(config.output_dir), original)


def run_experiment(config: ExperimentConfig) -> SanityReport:
    """Run every step that exists so far; returns the sanity report."""
    log.info("step 1/1: download + dataset-size sanity report -> %s", config.output_dir)
    report = run_sanity_report(config)
    print(report.render())
    if not report.all_match:
        log.warning("the corpus does not match the CoNLL-2003 paper's figures; see %s", report.paths[0])
    return report

"""``flair-ner report``: the data set's sanity report (sizes against the published ones, the release comparison)."""

from __future__ import annotations

import argparse

from flair_ner.config.options import ExperimentConfig, load_config, overrides_from
from flair_ner.data.registry import compared_with
from flair_ner.cli.common import config_command, read_own_files


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    config_command(
        commands,
        "report",
        ExperimentConfig,
        run,
        help="dataset-size sanity report (CSV) against the CoNLL-2003 paper",
        description="Count sentences, documents, tokens and entities per split, compare them with Table 1 of the "
        "CoNLL-2003 paper, and list the test sentences whose entities differ between CoNLL-2003 and CoNLL++. "
        "Writes dataset_sizes.csv and conll2003_vs_conllpp_test.csv into --output-dir.",
    )


def run(args: argparse.Namespace) -> None:
    config = load_config(ExperimentConfig, args.config, overrides_from(args, ExperimentConfig))
    if config.compare_with is None and not config.train_file:
        # the registry knows which release a data set's test set is compared with (CoNLL++: CoNLL-2003)
        config.compare_with = compared_with(config.data_name)
    read = read_own_files(config)
    from flair_ner.runs.experiment import run_sanity_report  # imports flair and torch: after the input was checked

    print(
        run_sanity_report(
            config, blocks=read and {split: column_file.blocks for split, column_file in read.items()}
        ).render()
    )

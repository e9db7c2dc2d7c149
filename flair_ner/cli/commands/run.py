"""``flair-ner run`` (alias ``train``): one whole run — data, sanity report, training, evaluation, plots, manifest."""

from __future__ import annotations

import argparse
from pathlib import Path

from flair_ner.config.options import ExperimentConfig, load_config, overrides_from
from flair_ner.cli.common import config_command, read_own_files, refuse_busy_folder


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    train = config_command(
        commands,
        "run",
        ExperimentConfig,
        run,
        # `train` was this command's name before any data set could be described in a config; kept so that
        # commands in old notes and scripts still work
        aliases=["train"],
        help="one run: data, sanity report, train, evaluate on the test sets, plots, manifest",
        description="Run the whole pipeline into --output-dir: the data (a registered --dataset, verified download; "
        "or your --train-file/--dev-file/--test-file read as --columns say), dataset-size sanity report, "
        "BiLSTM-CRF training over the configured embeddings, evaluation on each test set (per-class report), "
        "plots and manifest.json. "
        "Ctrl-C (or SIGTERM) stops after writing nothing half-done; the same command then resumes exactly.",
    )
    train.add_argument(
        "--fresh",
        action="store_true",
        help="start over: move whatever --output-dir holds (a finished or unfinished run) aside to "
        "<output-dir>.old-<timestamp> first; nothing is deleted",
    )


def run(args: argparse.Namespace) -> None:
    config = load_config(ExperimentConfig, args.config, overrides_from(args, ExperimentConfig))
    refuse_busy_folder(Path(config.output_dir))
    read = read_own_files(config)
    from flair_ner.cli.console import quiet_third_party
    from flair_ner.runs.experiment import run_experiment  # imports flair and torch: after the input was checked

    quiet_third_party(args.verbose)
    run_experiment(config, fresh=args.fresh, read=read, command=args.command_line)

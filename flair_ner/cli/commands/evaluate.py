"""``flair-ner evaluate``: score a trained model on a column file or a registered test set, no training."""

from __future__ import annotations

import argparse

from flair_ner.config.options import EvaluateConfig, load_config, overrides_from
from flair_ner.cli.common import config_command


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    config_command(
        commands,
        "evaluate",
        EvaluateConfig,
        run,
        help="score a trained model on a column file (no training)",
        description="Load a model, tag --test-file and write metrics.csv/metrics.json (per type, micro, macro and "
        "weighted averages, token accuracy), predictions_test.tsv and per_type_f1.png into --output-dir. The "
        "column options say how to read the file. A file none of whose types the model predicts is refused; "
        "types it never learned are listed.",
    )


def run(args: argparse.Namespace) -> None:
    config = load_config(EvaluateConfig, args.config, overrides_from(args, EvaluateConfig))
    from flair_ner.cli.console import quiet_third_party

    # imports flair and torch: after the config is known to be valid
    from flair_ner.runs.experiment import run_evaluation

    quiet_third_party(args.verbose)
    run_evaluation(config)

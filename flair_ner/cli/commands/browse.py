"""``flair-ner browse``: rebuild a finished run folder's errors.html."""

from __future__ import annotations

import argparse
from pathlib import Path


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    browse = commands.add_parser(
        "browse",
        help="write a run folder's errors.html (the error browser)",
        description="Write errors.html into a finished run folder from its predictions_<test set>.tsv and "
        "metrics.csv: every test sentence with its gold and predicted entities, filters by error kind and type, "
        "search, the per-type scores and the confusion counts. Runs write it themselves; this rebuilds it "
        "(e.g. for runs made before it existed).",
    )
    browse.add_argument("run", type=Path, metavar="RUN", help="a finished run folder (or grid cell)")
    browse.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    from flair_ner.evaluation.error_browser import run_test_sets, write_error_page

    path = write_error_page(run_test_sets(args.run), args.run)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser")

"""``flair-ner compare``: compare.html for two runs scored on the same test set."""

from __future__ import annotations

import argparse
from pathlib import Path

from flair_ner.runs.layout import COMPARE_HTML


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    compare = commands.add_parser(
        "compare",
        help="compare.html for two runs on the same test set",
        description="Write an HTML page comparing two finished runs (two grid cells, two variants) on the test "
        "sets both scored: the sentences they tag differently and which one is right, wins and losses per type, "
        "and the paired-bootstrap difference in micro-F1 (B minus A) with its 95 % interval, also printed (a line "
        "per test set) and, with --table, written as CSV.",
    )
    compare.add_argument("run_a", type=Path, metavar="RUN_A", help="the first run folder (A)")
    compare.add_argument("run_b", type=Path, metavar="RUN_B", help="the second run folder (B)")
    compare.add_argument("--output", type=Path, default=Path(COMPARE_HTML),
                         help=f"where to write the page (default: {COMPARE_HTML} in the current folder)")  # fmt: skip
    compare.add_argument("--table", type=Path, default=None,
                         help="also write the differences as CSV (one row per test set; F1 as fractions)")  # fmt: skip
    compare.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    import dataclasses

    import pandas as pd

    from flair_ner.evaluation.error_browser import write_compare_page
    from flair_ner.files import write_csv

    path, differences = write_compare_page(args.run_a, args.run_b, args.output)
    for difference in differences:
        print(difference.line())
    if args.table:
        table = pd.DataFrame([dataclasses.asdict(d) for d in differences]).assign(
            run_a=str(args.run_a), run_b=str(args.run_b)
        )
        write_csv(args.table, table)
    print(f"{path} ({path.stat().st_size / 1e6:.1f} MB): open it in a browser")

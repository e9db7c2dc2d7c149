"""``flair-ner download``: fetch registered data sets into the cache, verified by their pinned SHA-256."""

from __future__ import annotations

import argparse

from flair_ner.data.fetch import DEADLINE_ENV, DEFAULT_DEADLINE, fetch_dataset
from flair_ner.data.registry import DATASETS
from flair_ner.cli.common import add_data_options, positive


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    download = commands.add_parser(
        "download",
        help="fetch data sets and verify their SHA-256",
        description="Fetch data sets into the cache and verify every file against its pinned SHA-256. "
        "Verified files are not fetched again.",
    )
    download.add_argument(
        "datasets",
        nargs="*",
        metavar="DATASET",
        help="data sets to fetch: "
        + "; ".join(f"{d.name} ({d.description})" for d in DATASETS.values())
        + " (default: all)",
    )
    add_data_options(download)
    download.add_argument(
        "--download-deadline",
        "--deadline",  # its first name, kept for commands written before run's name was used here too
        dest="deadline",
        type=positive(float),
        default=None,
        metavar="SECONDS",
        help=f"overall time one file may take (default: ${DEADLINE_ENV}, else {DEFAULT_DEADLINE:g}); "
        "run's --download-deadline",
    )
    download.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    for name in args.datasets or list(DATASETS):
        paths = fetch_dataset(name, args.data_dir, args.mirror, args.deadline)
        folder = next(iter(paths.values())).parent
        print(f"{name}: {len(paths)} files verified in {folder}")

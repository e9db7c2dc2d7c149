"""``flair-ner grid``: a grid of runs (variants x seeds x data sets) on Ray, with its summary statistics."""

from __future__ import annotations

import argparse
from pathlib import Path

from flair_ner.cli.common import refuse_failed_cells
from flair_ner.errors import ConfigError


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    grid = commands.add_parser(
        "grid",
        help="run a grid of runs (variants x seeds x data sets) on Ray, with statistics and plots",
        description="Expand a grid file into cells (one run each, in <grid>/<variant>/<data set>/seed-<n>/), run the "
        "unfinished ones as Ray tasks on this machine or a cluster, and write cells.csv, summary.csv/.md (mean ± "
        "std, paired bootstrap differences against the baseline) and a plot per data set. Running it again skips "
        "finished cells, resumes interrupted ones and retries failed ones.",
    )
    grid.add_argument(
        "grid_file", type=Path, nargs="?", metavar="GRID", help="the grid TOML file (flair_ner/grids/grid.py)"
    )
    grid.add_argument("--grid", type=Path, default=None, help="the grid file, as an option (its first form)")
    grid.add_argument("--output-dir", type=Path, default=None, help="the grid folder (default: the file's output_dir)")
    grid.add_argument(
        "--address", default=None, help="join a Ray cluster: auto or ray://HOST:PORT (default: a local Ray)"
    )
    grid.add_argument("--cpus-per-run", type=float, default=None, help="CPUs per cell (default: all of one node)")
    grid.add_argument("--gpus-per-run", type=float, default=0, help="GPUs per cell (default: 0)")
    grid.add_argument("--dry-run", action="store_true", help="list the cells, their status and the estimated cost")
    grid.add_argument(
        "--summary-only", action="store_true",
        help="run nothing: write cells.csv, summary.csv/.md (which names the unfinished cells) and the plots "
        "from the cells finished so far",
    )  # fmt: skip
    grid.add_argument(
        "--adopt", type=Path, nargs="+", default=[], metavar="RUN_FOLDER",
        help="finished run folders made outside the grid (run, make run): each is copied into the cell whose "
        "configuration it matches instead of training that cell again",
    )  # fmt: skip
    grid.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    from flair_ner.grids.grid import adopt, describe, load_grid, run_grid  # Ray loads only when cells run

    if (args.grid_file is None) == (args.grid is None):
        raise ConfigError("command line: name one grid file (flair-ner grid GRID, or --grid GRID)")
    grid = load_grid(args.grid_file or args.grid, args.output_dir)
    from flair_ner.grids.summary import write_summary  # pandas and matplotlib: after the grid file was checked

    adopting = {}
    for folder in args.adopt:
        cell = adopt(grid, folder, dry_run=args.dry_run)
        print(f"{'would adopt' if args.dry_run else 'adopted'} {folder} as cell {cell.name}")
        adopting[cell.name] = folder
    print(describe(grid, adopting if args.dry_run else None))
    if args.dry_run:
        return
    outcome = None if args.summary_only else run_grid(grid, args.address, args.cpus_per_run, args.gpus_per_run)
    paths = write_summary(grid)
    for path in paths:
        print(f"written: {path}")
    if not paths:
        print("no finished cell yet: nothing to summarize")
    if outcome is None:
        return
    refuse_failed_cells(outcome, len(grid.cells), "cells")

"""``flair-ner crossweigh``: likely label mistakes by entity-disjoint cross-validation, and their weights."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flair_ner.config.options import ExperimentConfig, load_config
from flair_ner.errors import ConfigError, RunFolderError
from flair_ner.files import write_text
from flair_ner.cli.common import refuse_failed_cells
from flair_ner.runs.interrupt import interruptible


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    crossweigh = commands.add_parser(
        "crossweigh",
        help="find likely label mistakes by entity-disjoint cross-validation (CrossWeigh) and weight them down",
        description="CrossWeigh (Wang et al. 2019) on a run config's data: the pool (train + dev, cut by the config's "
        "train_limit and eval_limit) is cut into --folds parts --iterations times; a tagger trained without the "
        "sentences that share an entity string with a part tags that part. The k x t fold runs are one grid "
        "(<output-dir>/grid, resumable, on Ray). Writes mistakes.tsv (each sentence some fold disagreed with, "
        "its disagreement count c and weight epsilon^c), summary.json and weights.tsv, which a run trains from "
        "with sentence_weights; beside it cleanlab.tsv (cleanlab's flags from the fold runs' tag probabilities) "
        "and, for CoNLL data, detection.csv (CrossWeigh, cleanlab and one ordinary model against the answer keys).",
    )
    crossweigh.add_argument("--config", type=Path, required=True, help="a run config (data, embeddings, training)")
    crossweigh.add_argument(
        "--output-dir",
        type=Path,
        default=Path("runs/crossweigh"),
        help="the CrossWeigh folder (default: runs/crossweigh)",
    )
    crossweigh.add_argument("--folds", type=int, default=10, help="parts per iteration (default: 10, the authors')")
    crossweigh.add_argument("--iterations", type=int, default=3, help="shuffles of the pool (default: 3, the authors')")
    crossweigh.add_argument("--epsilon", type=float, default=0.7, help="a sentence weighs epsilon^c (default: 0.7)")
    crossweigh.add_argument(
        "--fold-epochs", type=int, default=10, help="epochs of each fold run (default: 10; the final run keeps its own)"
    )
    crossweigh.add_argument(
        "--address", default=None, help="join a Ray cluster: auto or ray://HOST:PORT (default: a local Ray)"
    )
    crossweigh.add_argument(
        "--cpus-per-run", type=float, default=None, help="CPUs per fold run (default: all of one node)"
    )
    crossweigh.add_argument(
        "--dry-run", action="store_true", help="write the folds and list the fold runs, run nothing"
    )
    crossweigh.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    config = load_config(ExperimentConfig, args.config)
    if args.folds < 2 or args.iterations < 1 or args.fold_epochs < 1 or not 0 < args.epsilon <= 1:
        raise ConfigError(
            "command line: --folds must be at least 2, --iterations and --fold-epochs at least 1, --epsilon in (0, 1]"
        )
    from flair_ner.grids.crossweigh import (
        GRID_TOML,
        REPORTS,
        SETTINGS_JSON,
        collect,
        grid_text,
        pool_store,
        prepare,
        uses_store,
    )

    folder = Path(args.output_dir)
    settings = {"config": str(args.config), "folds": args.folds, "iterations": args.iterations,
                "fold_epochs": args.fold_epochs}  # fmt: skip
    recorded = (
        json.loads((folder / SETTINGS_JSON).read_text(encoding="utf-8")) if (folder / SETTINGS_JSON).is_file() else None
    )
    if recorded is not None and recorded != settings:
        raise RunFolderError(
            f"{folder} holds a CrossWeigh run with other settings ({recorded}); choose another --output-dir"
        )
    crossweigh = prepare(config, folder, args.folds, args.iterations)
    write_text(folder / SETTINGS_JSON, json.dumps(settings, indent=1) + "\n")
    from flair_ner.grids.grid import describe, load_grid, run_grid  # Ray loads only when cells run

    # the pool's frozen vectors are computed once, before the fold runs (not for a dry run); Ctrl-C or SIGTERM
    # during that unwinds through the store's staging folder, which is removed
    with interruptible():
        store = pool_store(crossweigh, config) if uses_store(config) and not args.dry_run else None
    write_text(folder / GRID_TOML, grid_text(crossweigh, config, args.fold_epochs, store))
    grid = load_grid(folder / GRID_TOML)
    print(describe(grid))
    if args.dry_run:
        return
    outcome = run_grid(grid, args.address, args.cpus_per_run)
    refuse_failed_cells(outcome, len(grid.cells), "fold runs")
    summary = collect(crossweigh, {cell.variant: Path(cell.config.output_dir) for cell in grid.cells}, args.epsilon)
    print(f"sentences per disagreement count c: {summary['sentences_per_c']}")
    written = [name for name in REPORTS if (folder / name).is_file()]
    print(f"written in {folder}: {', '.join(written)} (train with sentence_weights = its weights.tsv)")

"""What several commands share: argument types and groups, early refusals, the prediction engine."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from flair_ner.config.options import ExperimentConfig, add_config_options
from flair_ner.data.fetch import DATA_DIR_ENV, DEFAULT_DATA_DIR, MIRROR_ENV
from flair_ner.errors import GridCellsFailed, PredictInputError, RunFolderError


def positive(kind: type) -> Callable[[str], object]:
    """An argparse type: a number of ``kind`` above zero, else argparse's one-line error naming the option."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
        return value

    return parse


def add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help=f"the cache of downloads and converted files (default: ${DATA_DIR_ENV}, else {DEFAULT_DATA_DIR})",
        default=None,
    )
    parser.add_argument(
        "--mirror",
        default=None,
        help=f"fetch every file from <mirror>/<dataset>/<file>: a local folder such as ../shared/datasets "
        f"or an http(s) base URL (default: ${MIRROR_ENV}, else the upstream URLs)",
    )


def refuse_busy_folder(folder: Path) -> None:
    """Refuse at once a folder another live run holds (the run takes the lock itself later; this only spares the
    user the seconds of imports before that refusal)."""
    from flair_ner.runs.folder import holder

    other = holder(folder)
    if other is not None:
        raise RunFolderError(
            f"output folder {folder} is in use by another run (pid {other}); wait for it to finish or choose another --output-dir"
        )


def read_own_files(config: ExperimentConfig) -> Optional[dict]:
    """Your own data files read and checked (text only, before flair and torch load), handed on to the run so
    that each is parsed once; ``None`` for a registered data set (verified by its digests when fetched)."""
    from flair_ner.data.corpus import read_data_files, require_document_markers

    files = config.own_files()
    if files is None:
        return None
    read = read_data_files(files)
    if config.lm_context == "document":
        require_document_markers(read["train"].blocks, files.paths()["train"], files.format.document_separator)
    return read


def refuse_failed_cells(outcome, total: int, what: str) -> None:
    """Each failed cell of a grid on its own line, then one error (exit 1): retrying is the same command."""
    for name, status in outcome.failed.items():
        print(f"flair-ner: cell {name} {status}", file=sys.stderr)
    if outcome.failed:
        raise GridCellsFailed(
            f"{len(outcome.failed)} of {total} {what} failed (listed above); run the same command to retry them"
        )


def flair_logs_to_stderr() -> None:
    """flair logs to standard output, which must carry only the predictions."""
    import flair  # noqa: F401 - configures the "flair" logger

    for handler in logging.getLogger("flair").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def report_bad_record(line: str) -> None:
    print(f"flair-ner: {line}", file=sys.stderr)


def chosen_engine_for(args: argparse.Namespace):
    """The engine ``--engine`` asks for (:func:`flair_ner.predict.records.load_engine`); the torch one quiets flair's logs."""
    from flair_ner.predict.records import chosen_engine, load_engine

    if chosen_engine(args.model, args.engine) == "torch":
        from flair_ner.cli.console import quiet_third_party  # imports flair

        flair_logs_to_stderr()
        quiet_third_party(args.verbose)
    return load_engine(args.model, args.engine, args.batch_size, args.precision, args.threads,
                       getattr(args, "lm_context", None))  # fmt: skip


def refuse_missing_models(sources: Sequence[str]) -> None:
    """One line for a model source that cannot be a model, before flair and torch load (seconds)."""
    from flair_ner.assets import model_source_problem

    for source in sources:
        problem = model_source_problem(source)
        if problem:
            raise PredictInputError(problem)


def config_command(commands, name: str, cls: type, handler: Callable, **texts: str) -> argparse.ArgumentParser:
    """A subcommand configured by a TOML file (``--config``) and one option per field of ``cls``."""
    parser = commands.add_parser(name, **texts)
    parser.add_argument("--config", type=Path, default=None, help=f"TOML file with {cls.__name__} options")
    add_config_options(parser, cls)
    parser.set_defaults(handler=handler)
    return parser

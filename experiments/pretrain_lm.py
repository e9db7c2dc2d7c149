"""Pretrain a forward or backward Flair character LM on Reuters-21578.

    python experiments/pretrain_lm.py --direction forward  [--config experiments/configs/lm_reuters.toml]
    python experiments/pretrain_lm.py --direction backward --output-dir data/lm/reuters-backward

Builds the LM corpus once (data/lm/reuters), then trains with flair's LanguageModelTrainer.
Run it again to resume from the last checkpoint. With --ship, copy the best model into
flair_ner/resources/lm/reuters-<direction>/ with its MODEL_CARD.md instead of training.
See --help for every option.
"""

import argparse
import logging
import sys
from pathlib import Path

from flair_ner.cli import run_handled
from flair_ner.config import add_config_options, load_config, overrides_from
from flair_ner.embeddings import RESOURCES
from flair_ner.lm import LMConfig, record_command, ship_lm, train_lm
from flair_ner.lm_corpus import prepare_reuters_corpus

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "lm_reuters.toml"


def run(config: LMConfig, ship: bool) -> None:
    if ship:
        target = RESOURCES / "lm" / f"reuters-{config.direction}"
        print(f"shipped {ship_lm(Path(config.output_dir), target, Path(config.corpus_dir), config)}")
        return
    prepare_reuters_corpus(config.corpus_dir, config.data_dir, config.mirror, config.corpus_seed)
    record_command(Path(config.output_dir), ["python", *sys.argv])
    print(train_lm(config).to_string(index=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"TOML config (default: {DEFAULT_CONFIG})")
    parser.add_argument("--ship", action="store_true", help="ship the trained LM into the package (no training)")
    add_config_options(parser, LMConfig)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run_handled(lambda: run(load_config(LMConfig, args.config, overrides_from(args, LMConfig)), args.ship))


if __name__ == "__main__":
    sys.exit(main())

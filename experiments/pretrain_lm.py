"""Pretrain a forward or backward Flair character LM on Reuters-21578.

    python experiments/pretrain_lm.py --direction forward  [--config experiments/configs/lm_reuters.toml]
    python experiments/pretrain_lm.py --direction backward --output-dir data/lm/reuters-backward

Builds the LM corpus once (data/lm/reuters), then trains with flair's LanguageModelTrainer.
Run it again to resume from the last checkpoint. See --help for every option.
"""

import argparse
import logging
import sys
from pathlib import Path

from flair_ner.cli import run_handled
from flair_ner.config import add_config_options, load_config, overrides_from
from flair_ner.lm import LMConfig, train_lm
from flair_ner.lm_corpus import prepare_reuters_corpus

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "lm_reuters.toml"


def run(config: LMConfig) -> None:
    prepare_reuters_corpus(config.corpus_dir, config.data_dir, config.mirror, config.corpus_seed)
    print(train_lm(config).to_string(index=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"TOML config (default: {DEFAULT_CONFIG})")
    add_config_options(parser, LMConfig)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run_handled(lambda: run(load_config(LMConfig, args.config, overrides_from(args, LMConfig))))


if __name__ == "__main__":
    sys.exit(main())

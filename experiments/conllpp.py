"""The CoNLL++ experiment: download -> sanity report -> train -> evaluate -> pictures + manifest.

    python experiments/conllpp.py [--config experiments/configs/conllpp.toml] [--mirror ../shared/datasets] ...

Every option of the config file can be overridden on the command line; see --help.
"""

import argparse
import logging
import sys
from pathlib import Path

from flair_ner.cli import run_handled
from flair_ner.config import ExperimentConfig, add_config_options, load_config, overrides_from
from flair_ner.experiment import run_experiment

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "conllpp.toml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=f"TOML config (default: {DEFAULT_CONFIG})")
    add_config_options(parser, ExperimentConfig)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run_handled(lambda: run_experiment(load_config(ExperimentConfig, args.config, overrides_from(args, ExperimentConfig))))


if __name__ == "__main__":
    sys.exit(main())

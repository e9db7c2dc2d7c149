"""The CoNLL++ experiment: download -> sanity report -> train -> evaluate -> plots + manifest.

    python experiments/conllpp.py                                          # the full default (config below)
    python experiments/conllpp.py --config experiments/configs/quick.toml  # the quick look, a few minutes
    python experiments/conllpp.py --max-epochs 10 --seed 2 --output-dir runs/seed2

The same as `python -m flair_ner run --config experiments/configs/conllpp.toml ...`;
--help lists every option.
"""

import sys
from pathlib import Path

from flair_ner.cli.main import main

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "conllpp.toml"

if __name__ == "__main__":
    # A --config given on the command line comes later and wins.
    sys.exit(main(["run", "--config", str(DEFAULT_CONFIG), *sys.argv[1:]]))

"""Pretrain a forward or backward Flair character LM on Reuters-21578.

    python experiments/pretrain_lm.py --direction forward
    python experiments/pretrain_lm.py --direction backward --budget-minutes 40
    python experiments/pretrain_lm.py --direction forward --ship   # copy into flair_ner/resources/lm/

The same as `python -m flair_ner pretrain-lm --config experiments/configs/lm_reuters.toml ...`;
running it again resumes from the last checkpoint; --help lists every option.
"""

import sys
from pathlib import Path

from flair_ner.cli.main import main

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "lm_reuters.toml"

if __name__ == "__main__":
    sys.exit(main(["pretrain-lm", "--config", str(DEFAULT_CONFIG), *sys.argv[1:]]))

"""Write docs/options.md, the option reference, from the config classes (so it cannot drift from ``--help``).

python scripts/options_doc.py            # rewrites docs/options.md
python scripts/options_doc.py --check    # exit 1 if docs/options.md is not what it would write
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from flair_ner.config.options import options_reference  # noqa: E402 - needs the path above
from flair_ner.files import write_text  # noqa: E402

TARGET = REPO / "docs" / "options.md"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    text = options_reference()
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.is_file() else ""
        if current != text:
            print(f"{TARGET} is out of date: run python scripts/options_doc.py", file=sys.stderr)
            return 1
        return 0
    write_text(TARGET, text)
    print(f"written: {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How CrossWeigh's flags change with the fold runs' epochs: two CrossWeigh folders made with the same config and
seed (so their first iteration cuts the same folds), compared on the iterations both ran.

    python -m flair_ner crossweigh --config experiments/configs/conllpp.toml --output-dir results/crossweigh/conllpp
    python -m flair_ner crossweigh --config experiments/configs/conllpp.toml \\
        --output-dir results/crossweigh/conllpp-30-epochs --iterations 1 --fold-epochs 30
    python scripts/fold_epochs.py results/crossweigh/conllpp results/crossweigh/conllpp-30-epochs \\
        --output results/crossweigh/fold_epochs.json

Per shared iteration: the pool sentences each folder's fold models disagreed with (from ``mistakes.tsv``), their
overlap, and for a CoNLL pool the flags' precision and recall against CleanCoNLL's dev changes (the pool's own
answer key, as in ``detection.csv``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd

from flair_ner.data.corpus import registered_sentences
from flair_ner.evaluation.label_noise import cleanconll_changes, detection_scores
from flair_ner.files import write_text
from flair_ner.grids.crossweigh import MISTAKES_TSV, SETTINGS_JSON

FOLD = re.compile(r"(?:^| \| )iteration-(\d+)-fold-\d+: ")


def flags(folder: Path) -> dict[int, set[tuple[str, int]]]:
    """iteration -> the (split, number in split) of the pool sentences its fold models disagreed with."""
    mistakes = pd.read_csv(folder / MISTAKES_TSV, sep="\t", keep_default_na=False)
    found: dict[int, set[tuple[str, int]]] = {}
    for row in mistakes.itertuples():
        for iteration in {int(number) for number in FOLD.findall(row.predictions)}:
            found.setdefault(iteration, set()).add((row.split, int(row.number_in_split)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs=2, type=Path, help="two CrossWeigh folders (A, then B)")
    parser.add_argument("--output", type=Path, default=None, help="also write the comparison as JSON")
    parser.add_argument("--mirror", default=None, help="the data mirror (default: $FLAIR_NER_MIRROR)")
    args = parser.parse_args()
    settings = [json.loads((folder / SETTINGS_JSON).read_text(encoding="utf-8")) for folder in args.folders]
    if settings[0]["config"] != settings[1]["config"] or settings[0]["folds"] != settings[1]["folds"]:
        raise SystemExit(f"the two folders were made with other configs or folds: {settings}")
    a, b = (flags(folder) for folder in args.folders)
    key = None
    if "conll" in settings[0]["config"]:
        dev = registered_sentences("conll2003", "dev", None, args.mirror)
        key = cleanconll_changes(dev, registered_sentences("cleanconll", "dev", None, args.mirror), "cleanconll-dev")
    result = {"a": {**settings[0], "folder": str(args.folders[0])}, "b": {**settings[1], "folder": str(args.folders[1])},
              "iterations": []}  # fmt: skip
    for iteration in sorted(set(range(settings[0]["iterations"])) & set(range(settings[1]["iterations"]))):
        first, second = a.get(iteration, set()), b.get(iteration, set())
        row = {"iteration": iteration, "flagged_a": len(first), "flagged_b": len(second), "both": len(first & second),
               "only_a": len(first - second), "only_b": len(second - first),
               "jaccard": round(len(first & second) / len(first | second), 4) if first | second else 1.0}  # fmt: skip
        if key is not None:
            for name, flagged in (("a", first), ("b", second)):
                scores = detection_scores((number for split, number in flagged if split == "dev"), key)
                row[f"cleanconll_dev_{name}"] = {k: round(v, 4) for k, v in scores.items()}
        result["iterations"].append(row)
        print(json.dumps(row))
    if args.output:
        write_text(args.output, json.dumps(result, indent=1) + "\n")
        print(f"written: {args.output}")


if __name__ == "__main__":
    main()

"""How CrossWeigh's flags change with the fold runs' epochs: two CrossWeigh folders made with the same config and
folds (so each iteration cuts the same parts), compared fold by fold on the folds both have finished.

    python -m flair_ner crossweigh --config experiments/configs/conllpp.toml --output-dir results/crossweigh/conllpp
    python -m flair_ner crossweigh --config experiments/configs/conllpp.toml \\
        --output-dir results/crossweigh/conllpp-30-epochs --iterations 1 --fold-epochs 30
    python scripts/fold_epochs.py results/crossweigh/conllpp results/crossweigh/conllpp-30-epochs \\
        --output results/crossweigh/fold_epochs.json

The second command may be stopped (SIGTERM) after a few folds: a fold is compared once both folders have its
run finished, so a subset of the folds is a cheaper sample of the same comparison. Per fold: the held-out
sentences each side's fold model disagreed with (its predicted entities differ from the gold ones: what adds 1
to a sentence's ``c``), their overlap, the fold models' micro F1 on their held-out part, and for a CoNLL pool the
flags' precision and recall against CleanCoNLL's changes of the dev sentences among them (the pool's own answer
key, as in ``detection.csv``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flair_ner.config.options import ExperimentConfig, load_config
from flair_ner.evaluation.label_noise import AnswerKey, detection_scores
from flair_ner.evaluation.scores import read_predictions, tagged_sentences
from flair_ner.files import write_text
from flair_ner.grids.crossweigh import GRID_DIR, SETTINGS_JSON, prepare
from flair_ner.runs.folder import finished_manifest
from flair_ner.runs.layout import predictions_file


def finished_run(folder: Path, fold: str) -> tuple[Path, dict] | None:
    """The finished run folder of ``fold`` in the CrossWeigh folder ``folder`` (``grid/<fold>/<data>/seed-N``)
    and its manifest."""
    for run in sorted((folder / GRID_DIR / fold).glob("*/seed-*")):
        manifest = finished_manifest(run)
        if manifest is not None:
            return run, manifest
    return None


def disagreements(run: Path, held_out: tuple[int, ...]) -> set[int]:
    """The pool numbers of the held-out sentences whose predicted entities differ from the gold ones."""
    table = tagged_sentences(read_predictions(run / predictions_file("test")), str(run))
    if len(table) != len(held_out):
        raise SystemExit(f"{run}: {len(table)} predicted sentences, but the fold holds out {len(held_out)}")
    return {index for index, row in zip(held_out, table) if set(row.predicted) != set(row.gold)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs=2, type=Path, help="two CrossWeigh folders (A, then B)")
    parser.add_argument("--output", type=Path, default=None, help="also write the comparison as JSON")
    parser.add_argument("--mirror", default=None, help="the data mirror (default: $FLAIR_NER_MIRROR)")
    args = parser.parse_args()
    settings = [json.loads((folder / SETTINGS_JSON).read_text(encoding="utf-8")) for folder in args.folders]
    if settings[0]["config"] != settings[1]["config"] or settings[0]["folds"] != settings[1]["folds"]:
        raise SystemExit(f"the two folders were made with other configs or folds: {settings}")
    config = load_config(ExperimentConfig, settings[0]["config"], {"mirror": args.mirror})
    # the folds as both folders cut them (prepare finds their column files and writes nothing new)
    iterations = min(s["iterations"] for s in settings)
    crossweigh = prepare(config, args.folders[0], settings[0]["folds"], iterations)
    key = None
    if crossweigh.dev_keys:  # CleanCoNLL's dev changes, numbered within dev; here numbered in the pool
        dev_key = crossweigh.dev_keys[0]
        shift = crossweigh.train_sentences
        key = AnswerKey(dev_key.name, frozenset(i + shift for i in dev_key.changed),
                        frozenset(i + shift for i in dev_key.universe))  # fmt: skip
    result = {"a": {**settings[0], "folder": str(args.folders[0])}, "b": {**settings[1], "folder": str(args.folders[1])},
              "folds": []}  # fmt: skip
    totals = {"a": set(), "b": set(), "held_out": 0}
    for fold in crossweigh.folds:
        runs = [finished_run(folder, fold.name) for folder in args.folders]
        if None in runs:
            continue
        first, second = (disagreements(run, fold.held_out) for run, _ in runs)
        f1 = [manifest["micro_f1"]["test"] for _, manifest in runs]
        row = {"fold": fold.name, "held_out": len(fold.held_out), "flagged_a": len(first), "flagged_b": len(second),
               "both": len(first & second), "only_a": len(first - second), "only_b": len(second - first),
               "jaccard": round(len(first & second) / len(first | second), 4) if first | second else 1.0,
               "held_out_f1_a": round(f1[0], 4), "held_out_f1_b": round(f1[1], 4)}  # fmt: skip
        if key is not None:
            judged = AnswerKey(key.name, key.changed & set(fold.held_out), key.universe & set(fold.held_out))
            for name, flagged in (("a", first), ("b", second)):
                row[f"cleanconll_dev_{name}"] = {k: round(v, 4) for k, v in detection_scores(flagged, judged).items()}
        totals["a"] |= first
        totals["b"] |= second
        totals["held_out"] += len(fold.held_out)
        result["folds"].append(row)
        print(json.dumps(row))
    if not result["folds"]:
        raise SystemExit("no fold is finished in both folders yet")
    a, b = totals["a"], totals["b"]
    result["all_compared_folds"] = {
        "folds": len(result["folds"]), "held_out": totals["held_out"], "flagged_a": len(a), "flagged_b": len(b),
        "both": len(a & b), "jaccard": round(len(a & b) / len(a | b), 4) if a | b else 1.0,
    }  # fmt: skip
    print(json.dumps(result["all_compared_folds"]))
    if args.output:
        write_text(args.output, json.dumps(result, indent=1) + "\n")
        print(f"written: {args.output}")


if __name__ == "__main__":
    main()

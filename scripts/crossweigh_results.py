"""Rewrite docs/results.md's "Label mistakes in CoNLL++" section from a finished CrossWeigh folder.

Run from the repository root after the CrossWeigh run has collected its reports:
    python -m flair_ner crossweigh --config experiments/configs/conllpp.toml --output-dir results/crossweigh/conllpp
    python scripts/crossweigh_results.py results/crossweigh/conllpp
Sources, all in the folder: crossweigh.json (the settings), summary.json, detection.csv, mistakes.tsv,
cleanlab.tsv, the embedding store's index.json (its build time, when recorded) and the fold runs' manifests
(grid/<fold>/<data>/seed-N/manifest.json: their times and scores); and, for the weighted training, the grid
folder --weights-grid (default results/grids/crossweigh_weights) after
    python -m flair_ner grid experiments/grids/crossweigh_weights.toml --summary-only
(its summary.md tables, comparison.csv). Read the result before committing it: the prose says what the numbers
show, not more.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from pathlib import Path

import pandas as pd

from flair_ner.grids.crossweigh import (
    CLEANLAB_TSV,
    DETECTION_CSV,
    GRID_DIR,
    MISTAKES_TSV,
    ONE_MODEL,
    SETTINGS_JSON,
    STORE_DIR,
    SUMMARY_JSON,
)
from flair_ner.runs.folder import finished_manifest
from flair_ner.runs.manifest import run_total_seconds, run_training_seconds
from results_doc import RESULTS, TEST_SET_NAMES, mean_std, replace_section, summary_tables  # scripts/results_doc.py

HEADING = "## Label mistakes in CoNLL++: CrossWeigh, cleanlab and one model"
KEYS = {
    "conllpp-test": "CoNLL-2003 test sentences CoNLL++ corrected",
    "cleanconll-test": "CoNLL-2003 test sentences whose entities CleanCoNLL changed",
    "cleanconll-dev": "CoNLL-2003 dev sentences whose entities CleanCoNLL changed (in the pool)",
}
NODES = (1, 2, 4, 8, 16, 32)  # Ray nodes, for the on-paper wall times
WEIGHTS_GRID = Path("results/grids/crossweigh_weights")
WEIGHTS_COMMAND = "python -m flair_ner grid experiments/grids/crossweigh_weights.toml"
FOLD_EPOCHS_JSON = Path("results/crossweigh/fold_epochs.json")
FOLD_EPOCHS_COMMAND = f"python scripts/fold_epochs.py results/crossweigh/conllpp results/crossweigh/conllpp-30-epochs --output {FOLD_EPOCHS_JSON}"


def fold_manifests(folder: Path) -> dict[str, dict]:
    """Fold name -> the manifest of its finished run (``grid/<fold>/<data>/seed-N``)."""
    found = {}
    for path in sorted((folder / GRID_DIR).glob("*/*/seed-*/manifest.json")):
        manifest = finished_manifest(path.parent)
        if manifest is not None:
            found[path.parents[2].name] = manifest
    return found


def fold_epochs(comparison_json: Path) -> list[str]:
    """The "Fold epochs" subsection: ``scripts/fold_epochs.py``'s comparison of the same folds trained 10 and 30
    epochs (its JSON), with each fold run's training time from the two folders' manifests."""
    lines = ["", "### Fold epochs: 10 or 30", ""]
    if not comparison_json.is_file():
        return lines + [f"Not measured yet: `{FOLD_EPOCHS_COMMAND}` (see the script's docstring)."]
    comparison = json.loads(comparison_json.read_text(encoding="utf-8"))
    a, b = comparison["a"], comparison["b"]
    seconds = {side: fold_manifests(Path(comparison[side]["folder"])) for side in ("a", "b")}
    rows, totals = [], {"a": [0, 0, 0], "b": [0, 0, 0]}  # flagged, correct, changed: CleanCoNLL's dev key
    training = [0.0, 0.0]  # seconds, a and b, over the compared folds
    for fold in comparison["folds"]:
        name = fold["fold"]
        times = [seconds[side][name]["training_seconds"] for side in ("a", "b")]
        training = [total + time for total, time in zip(training, times)]
        keys = [fold.get(f"cleanconll_dev_{side}") for side in ("a", "b")]
        for side, key in zip(("a", "b"), keys):
            if key:
                totals[side] = [t + key[k] for t, k in zip(totals[side], ("flagged", "correct", "changed"))]
        key_cells = " | ".join(f"{k['precision']:.2f} / {k['recall']:.2f}" if k else "–" for k in keys)
        rows.append(
            f"| {name} | {fold['held_out']:,} | {fold['flagged_a']} | {fold['flagged_b']} | {fold['both']} | "
            f"{fold['jaccard']:.2f} | {100 * fold['held_out_f1_a']:.1f} / {100 * fold['held_out_f1_b']:.1f} | "
            f"{key_cells} | {times[0]:.0f} / {times[1]:.0f} |"
        )
    every = comparison["all_compared_folds"]

    def pooled(side: str) -> str:
        flagged, correct, changed = totals[side]
        return f"{correct / flagged:.2f} / {correct / changed:.2f}" if flagged and changed else "–"

    plural = "s" if every["folds"] != 1 else ""
    rows.append(
        f"| **{every['folds']} fold{plural}** | {every['held_out']:,} | {every['flagged_a']:,} | {every['flagged_b']:,} | "
        f"{every['both']:,} | {every['jaccard']:.2f} | | {pooled('a')} | {pooled('b')} | {training[0]:.0f} / {training[1]:.0f} |"
    )
    return lines + [
        f"`python -m flair_ner crossweigh --config {b['config']} --output-dir {b['folder']} --iterations "
        f"{b['iterations']} --fold-epochs {b['fold_epochs']}` (stopped by SIGTERM after {every['folds']} fold run{plural}: "
        f"a sample of the same comparison), then `{FOLD_EPOCHS_COMMAND}`: the first iteration's folds as both "
        f"folders cut them (same config and seed), each fold model trained {a['fold_epochs']} epochs "
        f"(`{a['folder']}`) and {b['fold_epochs']} epochs (`{b['folder']}`); a held-out "
        "sentence is flagged when the fold model's entities differ from the gold ones (what adds 1 to its `c`). "
        "Held-out F1 is the fold model's micro F1 on its held-out part; P / R are the flags' precision and recall "
        "against CleanCoNLL's changes of the dev sentences among them; training seconds from the manifests.",
        "",
        f"| fold | held out | flagged at {a['fold_epochs']} | at {b['fold_epochs']} | both | Jaccard | held-out F1 "
        f"{a['fold_epochs']} / {b['fold_epochs']} | CleanCoNLL dev P / R at {a['fold_epochs']} | at "
        f"{b['fold_epochs']} | training s {a['fold_epochs']} / {b['fold_epochs']} |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def weighted_training(grid: Path) -> list[str]:
    """The "Training with the weights" subsection: the weights grid's tables and what its paired differences say."""
    lines = ["", "### Training with the weights", ""]
    summary = grid / "summary.md"
    if not summary.is_file():
        return lines + [f"Not run yet: `{WEIGHTS_COMMAND}` (3 seeds unweighted against weighted)."]
    text = summary.read_text(encoding="utf-8")
    tables = summary_tables(text)
    unfinished = re.search(r"Not in these figures: (\d+) of (\d+) cells", text)
    lines += [
        f"`{WEIGHTS_COMMAND}`: the default offline CoNLL++ run (`unweighted`, the baseline) against the same run "
        "with each training sentence's loss times its weight from `weights.tsv` (`crossweigh`, "
        "`sentence_weights`), on the same seeds; every cell scored on the three test sets. Written from "
        f"`{grid}/summary.md` (`{WEIGHTS_COMMAND} --summary-only`)"
        + (f"; **{unfinished[1]} of its {unfinished[2]} cells are not finished yet**, so n says how many seeds "
           "each figure has." if unfinished else "."),
        "",
        "F1 in %, mean ± sample std over seeds:",
        "",
        tables[0] if tables else "(no finished cell yet)",
    ]  # fmt: skip
    comparison_file = grid / "comparison.csv"
    if len(tables) < 2 or not comparison_file.is_file():
        return lines + ["", "No paired comparison yet: no seed has both variants finished."]
    lines += ["", "Paired differences in micro F1 (weighted − unweighted, points; 95 % paired bootstrap interval over "
              "test sentences pooled across the seeds both finished):", "", tables[1], ""]  # fmt: skip
    comparison = pd.read_csv(comparison_file)
    said = []
    for row in comparison.itertuples():
        said.append(f"{TEST_SET_NAMES.get(row.test_set, row.test_set)} {100 * row.difference:+.2f} "
                    f"[{100 * row.ci_low:+.2f}, {100 * row.ci_high:+.2f}] ({row.verdict})")  # fmt: skip
    seeds = sorted({str(seed) for row in comparison.itertuples() for seed in str(row.seeds).split()})
    lines.append(
        f"Weighting changes micro F1 by {'; '.join(said)}, on seed(s) {' '.join(seeds)}. For scale: the CrossWeigh "
        "authors report +0.29 on CoNLL++ for Flair with flair's news LMs (93.89 ± 0.06 → 94.18 ± 0.06, 5 runs); a "
        "difference is called shown only where its interval excludes 0."
    )
    # the interval pools test sentences over seeds; the seeds' own differences say how much a single run varies
    cells = pd.read_csv(grid / "cells.csv").pivot_table(
        index=["test_set", "seed"], columns="variant", values="micro_f1"
    )
    per_seed = (cells["crossweigh"] - cells["unweighted"]).dropna()
    lines += ["", "Per seed, weighted − unweighted (points, seeds in order): " + "; ".join(
        f"{TEST_SET_NAMES.get(test_set, test_set)} {', '.join(f'{100 * d:+.2f}' for d in per_seed[test_set])}"
        for test_set in TEST_SET_NAMES if test_set in per_seed.index.get_level_values(0)
    ) + "."]  # fmt: skip
    epochs, every = {}, []
    for variant in ("unweighted", "crossweigh"):
        manifests = [finished_manifest(run) for run in sorted(grid.glob(f"{variant}/*/seed-*"))]
        seconds = [second for m in manifests if m for second in m.get("epoch_seconds", [])]
        every += seconds
        if seconds:
            epochs[variant] = f"{variant} {statistics.median(seconds):.0f} s ({len(seconds)} epochs)"
    if epochs:
        lines += ["", f"Median epoch, all cells on the same machine type: {', '.join(epochs.values())} (the cells' "
                  "manifests). The weighted cells compute the CRF loss with the kit's per-sentence version of "
                  f"flair's `ViterbiLoss` (`flair_ner/training/sentence_weights.py`); single epochs range "
                  f"{min(every):.0f}–{max(every):.0f} s on this machine: with few cells each, the gap may be the loss or the machine; more seeds will tell."]  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a finished CrossWeigh folder (results/crossweigh/conllpp)")
    parser.add_argument("--weights-grid", type=Path, default=WEIGHTS_GRID,
                        help=f"the weighted-training grid folder (default: {WEIGHTS_GRID})")  # fmt: skip
    args = parser.parse_args()
    folder: Path = args.folder
    settings = json.loads((folder / SETTINGS_JSON).read_text(encoding="utf-8"))
    summary = json.loads((folder / SUMMARY_JSON).read_text(encoding="utf-8"))
    detection = pd.read_csv(folder / DETECTION_CSV)
    mistakes = pd.read_csv(folder / MISTAKES_TSV, sep="\t", keep_default_na=False)
    manifests = fold_manifests(folder)
    folds = {name: m for name, m in manifests.items() if name != ONE_MODEL}
    expected = summary["folds"] * summary["iterations"]
    if len(folds) != expected or ONE_MODEL not in manifests:
        raise SystemExit(f"{folder}: {len(folds)} of {expected} fold runs finished (and the one-model run: "
                         f"{ONE_MODEL in manifests}); run the crossweigh command to the end first")  # fmt: skip
    # the store is git-ignored (the crossweigh command rebuilds it from the config): a fresh clone has no index
    index_file = folder / STORE_DIR / "index.json"
    store_seconds = (
        json.loads(index_file.read_text(encoding="utf-8")).get("build_seconds") if index_file.is_file() else None
    )

    train_sizes = list(summary["fold_train_sentences"].values())
    pool, train = summary["pool_sentences"], summary["train_sentences"]
    command = f"python -m flair_ner crossweigh --config {settings['config']} --output-dir {folder}"
    section = [
        HEADING,
        "",
        f"`{command}` (the authors' defaults: {summary['folds']} folds × {summary['iterations']} iterations, "
        f"ε = {summary['epsilon']}; each fold run {settings['fold_epochs']} epochs of the config's stack and "
        f"BiLSTM-CRF), then `python scripts/crossweigh_results.py {folder}`. The pool is CoNLL++ train + dev "
        f"({pool:,} sentences: {train:,} train, {pool - train:,} dev); a fold run trains on "
        f"{min(train_sizes):,}–{max(train_sizes):,} of them (the rest is its held-out tenth and the sentences "
        "that share an entity string with it) and holds out 10 % of that as its dev set. Fold models' micro F1 on "
        f"their held-out part: {mean_std([m['micro_f1']['test'] for m in folds.values()], 100)}; on CoNLL-2003 "
        f"test: {mean_std([m['micro_f1']['conll2003'] for m in folds.values()], 100)} (mean ± std over the "
        f"{len(folds)} fold models; entity-disjoint training parts, {settings['fold_epochs']} epochs). The "
        f"one-model baseline (trained on all of train with the same settings): "
        f"{100 * manifests[ONE_MODEL]['micro_f1']['test']:.2f} on dev, "
        f"{100 * manifests[ONE_MODEL]['micro_f1']['conll2003']:.2f} on CoNLL-2003 test.",
        "",
        "### Detection against the answer keys",
        "",
        "A detector's flagged sentences against each key (`detection.csv`; `flair_ner/evaluation/label_noise.py`). "
        "CrossWeigh c ≥ n: a dev sentence disagreed with in at least n iterations (its own `c`); a CoNLL-2003 "
        "test sentence (never in the pool) counts as disagreed with in an iteration when most of that "
        "iteration's fold models disagree. cleanlab: `find_label_issues` on the fold models' tag probabilities. "
        "One model: every sentence the one ordinary model tags differently from gold. Sentences CleanCoNLL "
        "re-split are outside its keys.",
        "",
        "| answer key | changed / sentences | detector | flagged | correct | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, rows in detection.groupby("answer_key", sort=False):
        for position, row in enumerate(rows.itertuples()):
            label = f"{key}: {KEYS.get(key, key)}" if position == 0 else ""
            sizes = f"{row.changed:,} / {row.sentences:,}" if position == 0 else ""
            section.append(
                f"| {label} | {sizes} | {row.detector} | {row.flagged:,} | {row.correct:,} | "
                f"{100 * row.precision:.1f} | {100 * row.recall:.1f} | **{100 * row.f1:.1f}** |"
            )
    per_c = summary["sentences_per_c"]
    train_rows = mistakes[mistakes.split == "train"]
    epsilon = summary["epsilon"]
    weighted = ", ".join(f"{(train_rows.c == c).sum():,} at {epsilon**c:.3g}" for c in sorted(train_rows.c.unique()))
    section += [
        "",
        "### What CrossWeigh flags in the pool",
        "",
        "Pool sentences per disagreement count c (`summary.json`): "
        + ", ".join(f"c = {c}: {int(n):,}" for c, n in per_c.items())
        + f". Training sentences weighted below 1 in `weights.tsv`: {len(train_rows):,} of {train:,} "
        f"({weighted}). "
        "Disagreeing entities (gold or predicted, summed over every fold run that disagreed) per kind: "
        + ", ".join(f"{kind} {n:,}" for kind, n in summary["disagreeing_entities_per_kind"].items())
        + "; per type: "
        + ", ".join(f"{kind} {n:,}" for kind, n in summary["disagreeing_entities_per_type"].items())
        + ".",
    ]
    if "cleanlab_flagged_sentences" in summary:
        cleanlab = pd.read_csv(folder / CLEANLAB_TSV, sep="\t", keep_default_na=False)
        pool_flags = cleanlab[cleanlab.split.isin(["train", "dev"])]
        section += [
            "",
            f"cleanlab flags {len(pool_flags):,} pool sentences (`cleanlab.tsv`: "
            + ", ".join(f"{split} {n:,}" for split, n in summary["cleanlab_flagged_sentences"].items())
            + f"); {(pool_flags.crossweigh_c > 0).sum():,} of the pool's are also disagreed with by CrossWeigh "
            f"(c ≥ 1), {(pool_flags.crossweigh_c == summary['iterations']).sum():,} at c = {summary['iterations']}.",
        ]
    top = train_rows[train_rows.c == summary["iterations"]]
    if len(top):
        shortest = top.assign(length=top.text.str.len()).sort_values(["length", "number_in_split"]).head(5)
        section += ["", f"Five of the shortest training sentences at c = {summary['iterations']} (`mistakes.tsv`):",
                    "", "| train sentence | text | gold | a disagreeing prediction |", "|---|---|---|---|"]  # fmt: skip
        for row in shortest.itertuples():
            first = row.predictions.split(" | ")[0].split(": ", 1)[1]
            section.append(f"| {row.number_in_split} | {row.text} | {row.gold} | {first} |")
    totals = [run_total_seconds(m) for m in folds.values()]
    trainings = [run_training_seconds(m) for m in folds.values()]
    cell = statistics.mean(totals + [run_total_seconds(manifests[ONE_MODEL])])
    cells = len(manifests)
    store = store_seconds if store_seconds is not None else 0.0
    section += [
        "",
        "### Time",
        "",
        f"On this machine's 2 cores, one cell at a time: {cells} fold runs (the one-model run included) took "
        f"{sum(totals + [run_total_seconds(manifests[ONE_MODEL])]) / 3600:.2f} h "
        f"(a fold run: {mean_std(totals, digits=0)} s from start to end, of which training "
        f"{mean_std(trainings, digits=0)} s; the manifests' `total_seconds` and `training_seconds`), after "
        + (f"the pool's embedding store ({store:.0f} s, computed once). " if store_seconds is not None else
           "the pool's embedding store (computed once; its build time was not recorded in this folder). ")
        + "The final weighted run is an ordinary CoNLL++ run (see Training with the weights, below). The fold runs "
        "are independent, so on a Ray cluster of N such nodes (`--address`, one fold run a node, the store on a "
        "shared disk) the fold grid takes about ⌈cells / N⌉ × the mean cell, on paper:",
        "",
        "| nodes | fold grid (h) |",
        "|---|---|",
        *(f"| {n} | {(store + math.ceil(cells / n) * cell) / 3600:.2f} |" for n in NODES),
    ]  # fmt: skip
    section += fold_epochs(FOLD_EPOCHS_JSON)
    section += weighted_training(args.weights_grid)
    replace_section(HEADING, "\n".join(section))
    print(f"written: {RESULTS} ({len(detection)} detection rows, {cells} runs)")


if __name__ == "__main__":
    main()

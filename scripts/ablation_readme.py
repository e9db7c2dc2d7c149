"""Rewrite docs/results.md's "Ablation of the default stack" section from results/grids/ablation.

Run from the repository root after `python -m flair_ner grid experiments/grids/ablation.toml --summary-only`:
    python scripts/ablation_readme.py
It copies the two tables of summary.md and writes the prose from comparison.csv, cells.csv and the manifests;
read the result before committing it (the prose says what the numbers show, not more).
"""

import json
import statistics
from pathlib import Path

import pandas as pd

from flair_ner.runs import layout
from flair_ner.runs.folder import finished_manifest
from results_doc import TEST_SET_NAMES, mean_std, replace_section, summary_tables  # scripts/results_doc.py

GRID = Path("results/grids/ablation")
levels, diffs = summary_tables((GRID / "summary.md").read_text())[:2]
comparison = pd.read_csv(GRID / "comparison.csv")
cells = pd.read_csv(GRID / "cells.csv")
variants = ["full", "glove-only", "fp32"]
finished = {v: sorted(cells[cells.variant == v].seed.unique().tolist()) for v in variants}
n_done = sum(len(s) for s in finished.values())


def diff(variant, test_set):
    row = comparison[(comparison.variant == variant) & (comparison.test_set == test_set)]
    return None if row.empty else row.iloc[0]


def pts(x):
    return f"{100 * x:+.2f}"


# median seconds per epoch of each cell (robust to the few epochs that shared the cores with other work)
epoch_rows = []
epoch_medians = {}
for v in variants:
    meds = []
    for seed in finished[v]:
        m = json.loads((GRID / v / "conllpp" / f"seed-{seed}" / layout.MANIFEST).read_text())
        meds.append(statistics.median(m["epoch_seconds"]))
    epoch_medians[v] = meds
    if meds:
        epoch_rows.append(f"| {v} | {len(meds)} | {' / '.join(f'{x:.1f}' for x in meds)} |")

parts = []
parts.append("""## Ablation of the default stack (a grid over seeds)

`python -m flair_ner grid experiments/grids/ablation.toml` (see
[Grids](../README.md#grids-seeds--variants--data-sets-on-ray)): the full default run
(`full`, the baseline) against the same run without both character LMs
(`glove-only`, `lms = "none"`) and with bf16 mixed precision off (`fp32`,
`amp = false`), 3 seeds each, every cell a complete 50-epoch run. The cells'
folders (without models) and `summary.md`, `summary.csv`, `comparison.csv`,
`cells.csv`, `grid_conllpp.png` are in `results/grids/ablation/`; the
summary was written by
`python -m flair_ner grid experiments/grids/ablation.toml --summary-only`.
""")
if n_done < 9:
    parts.append(f"""**Not finished yet**: {9 - n_done} of the 9 cells are still to run
(finished: {", ".join(f"{v} {len(finished[v])}" for v in variants)}); the same grid
command runs them and skips the committed ones. Until then the table has
fewer seeds where n says so.
""")
parts.append(f"""F1 in %, mean ± sample std over seeds (`results/grids/ablation/summary.md`):

{levels}

Paired differences in micro-F1 against `full` (points; 95 % paired bootstrap
interval over test sentences pooled across the seeds both variants finished,
see "How variants are compared" under Grids):

{diffs}
""")
g_pp, g_03 = diff("glove-only", "conllpp"), diff("glove-only", "conll2003")
prose = []
if g_pp is not None:
    prose.append(f"""**The character LMs** are worth {-100 * g_pp.difference:.1f} F1 points on CoNLL++ test
(interval [{pts(g_pp.ci_low)}, {pts(g_pp.ci_high)}]) and {-100 * g_03.difference:.1f} on CoNLL-2003 test
(seeds {g_pp.seeds}): without them the stack is GloVe 6B 50d alone, which has no
vector for many names and no view of a word's spelling.""")
f_pp, f_03 = diff("fp32", "conllpp"), diff("fp32", "conll2003")


def fp32_verdict(a, b):
    flair_path = json.loads(Path("results/conllpp-flair-path/metrics.json").read_text())["conllpp"]["scores"][
        "micro avg"
    ]["f1"]
    seed1 = cells[(cells.variant == "fp32") & (cells.seed == 1) & (cells.test_set == "conllpp")].micro_f1.iloc[0]
    # per seed and test set: does the fp32 cell beat the full cell of the same seed?
    wide = (
        cells[cells.variant.isin(["full", "fp32"])]
        .pivot_table(index=["seed", "test_set"], columns="variant", values="micro_f1")
        .dropna()
    )
    lead = wide.fp32 - wide.full
    ahead, gaps = int((lead > 0).sum()), lead[lead > 0]
    shown = (
        f"Neither interval excludes 0 (p {a.p_value:.2f} on CoNLL++, {b.p_value:.2f} on CoNLL-2003): no cost of "
        f"bf16 is shown, which is not the same as none. fp32 comes out ahead in {ahead} of the {len(wide)} "
        f"seed × test-set pairs, each time by at most {100 * gaps.max():.2f}, so a small cost of bf16, up to the "
        f"intervals' upper ends ({pts(a.ci_high)} and {pts(b.ci_high)}), is not ruled out; more seeds would tell."
        if a.verdict == b.verdict == "not shown"
        else "An interval excludes 0: bf16 changes F1 here."
    )
    speed = statistics.median(epoch_medians["fp32"]) / statistics.median(epoch_medians["full"])
    return (
        f"{shown} fp32 epochs take {speed:.1f}× as long as bf16 ones (median epochs, table below). "
        f"fp32 seed 1 scores {100 * seed1:.2f} on CoNLL++ test, still {100 * (flair_path - seed1):.2f} below the "
        f"same seed along flair's own path ({100 * flair_path:.2f}, `results/conllpp-flair-path/metrics.json`, "
        "with all GloVe rows, which are worth 0.05–0.11 here): bf16 does not account for that gap; the "
        "length-bucketed batches or seed noise remain (`--no-bucket-batches` would tell)."
    )


if f_pp is not None:
    prose.append(f"""**bf16 against fp32** (seeds {f_pp.seeds}): training in fp32 changes CoNLL++ test F1 by
{pts(f_pp.difference)} points (interval [{pts(f_pp.ci_low)}, {pts(f_pp.ci_high)}], {f_pp.verdict}) and CoNLL-2003
by {pts(f_03.difference)} ([{pts(f_03.ci_low)}, {pts(f_03.ci_high)}], {f_03.verdict}). {fp32_verdict(f_pp, f_03)}""")
parts.append("\n\n".join(prose) + "\n")
parts.append(f"""`training min` is the mean of the cells' whole training time, which counts the
minutes when other work shared the two cores with a cell (tests, the README walk, a benchmark;
each cell's commit says which). The median epoch is the cleaner speed measure
(seconds, per seed, from each cell's `manifest.json`):

| variant | n | median epoch, s |
|---|---|---|
{chr(10).join(epoch_rows)}

The `full` seeds reach the same best dev F1 at the same epoch as the three
runs of `benchmarks/results/accuracy_train.json` and score 0.05–0.11 lower on
test, most likely the GloVe trimming (see
[What a finished run keeps](../README.md#what-a-finished-run-keeps)).

![ablation grid](../results/grids/ablation/grid_conllpp.png)

""")
# CleanCoNLL test: the ablation cells' models were not kept, so their CleanCoNLL scores come from new runs of the
# same configurations (the label-noise issue: "of a fresh seed")
RERUN_FULL = Path("results/grids/crossweigh_weights/unweighted/conllpp")  # the same config and seeds as `full`
RERUN_GLOVE_ONLY = Path("results/ablation-cleanconll/glove-only-seed-1")
TEST_SETS = list(TEST_SET_NAMES)


def micro_f1(run: Path) -> dict | None:
    """A finished run's micro F1 (%) per test set, from its manifest; None while it is unfinished or absent."""
    manifest = finished_manifest(run)
    return None if manifest is None else {name: 100 * manifest["micro_f1"][name] for name in TEST_SETS}


full_scores = {seed: scores for seed in (1, 2, 3) if (scores := micro_f1(RERUN_FULL / f"seed-{seed}")) is not None}
glove_scores = micro_f1(RERUN_GLOVE_ONLY)
if full_scores and glove_scores is not None:
    from flair_ner.evaluation.error_browser import compare_runs

    mean_std_cells = " | ".join(mean_std([scores[t] for scores in full_scores.values()]) for t in TEST_SETS)
    _, differences = compare_runs(RERUN_FULL / "seed-1", RERUN_GLOVE_ONLY)
    by_test_set = {d.test_set: d for d in differences}
    difference_rows = "\n".join(
        f"| {TEST_SET_NAMES[t]} | {100 * by_test_set[t].difference:+.2f} | [{100 * by_test_set[t].low:+.2f}, {100 * by_test_set[t].high:+.2f}] "
        f"| {by_test_set[t].p_value:.3f} |"
        for t in TEST_SETS
    )
    clean = by_test_set["cleanconll"]
    parts.append(f"""### CleanCoNLL test

The cells above were trained before CleanCoNLL was registered and their models were not kept, so their
CleanCoNLL scores come from new runs of the same configurations, on an AVX2-only AMD EPYC without bfloat16 (these
runs therefore train in fp32, and the `full` row stands for the `fp32` variant as well): `full` is the {len(full_scores)} unweighted cells of the
CrossWeigh weights grid, the same configuration and seeds (`{RERUN_FULL}/seed-N`, see
[Training with the weights](#training-with-the-weights)); `glove-only` one new seed,
`python -m flair_ner run --config experiments/configs/conllpp.toml --embeddings offline --lms none --seed 1
--output-dir {RERUN_GLOVE_ONLY}`. Micro F1 in %:

| variant (rerun) | seeds | CoNLL++ test | CoNLL-2003 test | CleanCoNLL test |
|---|---|---|---|---|
| full | {" ".join(map(str, full_scores))} | {mean_std_cells} |
| glove-only | 1 | {" | ".join(f"{glove_scores[t]:.2f}" for t in TEST_SETS)} |

glove-only minus full on seed 1, paired bootstrap over the test sentences (points;
`python -m flair_ner compare {RERUN_FULL}/seed-1 {RERUN_GLOVE_ONLY}`):

| test set | difference | 95 % interval | p |
|---|---|---|---|
{difference_rows}

On seed 1 the character LMs are worth {-100 * clean.difference:.2f} points on CleanCoNLL test
({-100 * by_test_set["conllpp"].difference:.2f} on CoNLL++ test, {-100 * by_test_set["conll2003"].difference:.2f} on
CoNLL-2003 test; the grid's 3-seed figures are above).
""")
# each part ends with its own blank line or none; one blank line between parts
section = "\n".join(part.rstrip("\n") + "\n" for part in parts)
replace_section("## Ablation of the default stack (a grid over seeds)", section)
print(section)

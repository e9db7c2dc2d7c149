"""Rewrite docs/results.md's "Fine-tuned transformers against the stacks" section from the committed runs.

Run from the repository root after `python -m flair_ner grid experiments/grids/fine_tune.toml --summary-only`:
    python scripts/fine_tune_readme.py
Sources: the fine-tune grid's cells (results/grids/fine_tune: all-MiniLM-L6-v2 and multilingual-e5-small), the
default stack's cells of the ablation grid (results/grids/ablation/full) and its rerun on the same seeds that also
scored CleanCoNLL test (results/grids/crossweigh_weights/unweighted; both keep their test predictions, so every
difference is paired), the frozen-MiniLM stack's three runs (benchmarks/results/accuracy_train-minilm.json: scores
and times only, their predictions were not kept) and the one-epoch peak memory of the two stacks
(benchmarks/results/peak_memory.json). Cells not finished yet are listed, not guessed. Read the result before
committing it: the prose says what the numbers show, not more.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from flair_ner.grids.summary import paired_bootstrap, sentence_counts
from flair_ner.runs import layout
from flair_ner.runs.folder import finished_manifest
from results_doc import TEST_SET_NAMES, mean_std, replace_section  # scripts/results_doc.py

HEADING = "## Fine-tuned transformers against the stacks"
MINILM = Path("results/grids/fine_tune/minilm-fine-tune/conllpp")
E5 = Path("results/grids/fine_tune/e5-small-fine-tune/conllpp")
STACK = Path("results/grids/ablation/full/conllpp")
# the same configuration and seeds as STACK, run again with CleanCoNLL test among its test sets (fp32 on an
# AVX2-only CPU; the CrossWeigh weights grid's unweighted cells)
STACK_AGAIN = Path("results/grids/crossweigh_weights/unweighted/conllpp")
FP32 = Path("results/grids/ablation/fp32/conllpp")  # whole 50-epoch runs that recorded their peak memory
FROZEN = Path("benchmarks/results/accuracy_train-minilm.json")
PEAK = Path("benchmarks/results/peak_memory.json")
TEST_SETS = ("conllpp", "conll2003", "cleanconll")
SEEDS = (1, 2, 3)
# (variant, its cells, baseline, its cells): each a paired difference on every test set both scored
COMPARISONS = (
    ("fine-tuned MiniLM", MINILM, "default stack (`full`)", STACK),
    ("fine-tuned e5-small", E5, "default stack again", STACK_AGAIN),
    ("fine-tuned e5-small", E5, "fine-tuned MiniLM", MINILM),
)


def finished_cells(folder: Path) -> dict[int, dict]:
    """seed -> manifest of every complete cell under ``folder``."""
    cells = {}
    for seed in SEEDS:
        manifest = finished_manifest(folder / f"seed-{seed}")
        if manifest is not None:
            cells[seed] = manifest
    return cells


def row(name: str, cells: dict[int, dict], peak: str) -> str:
    """One system's table row; a test set its cells did not score is "–"."""
    f1 = {test: [m["micro_f1"][test] for m in cells.values() if test in m["micro_f1"]] for test in TEST_SETS}
    minutes = [m["training_seconds"] / 60 for m in cells.values()]
    epochs = sorted({m["epochs"] for m in cells.values()})
    median_epoch = [statistics.median(m["epoch_seconds"]) for m in cells.values()]
    scores = " | ".join(mean_std(f1[test], scale=100) for test in TEST_SETS)
    return (f"| {name} | {len(cells)} | {scores} | {mean_std(minutes, digits=1)} | "
            f"{'/'.join(map(str, epochs))} | {mean_std(median_epoch, digits=1)} | {peak} |")  # fmt: skip


def own_peaks(cells: dict[int, dict]) -> str:
    """Each cell's own recorded peak memory, seed by seed."""
    return "/".join(f"{m['peak_rss_mb']:,}" for m in cells.values() if m.get("peak_rss_mb")) or "–"


def paired(variant: Path, baseline: Path, seeds: list[int], test: str) -> tuple[float, float, float, float]:
    """(difference, low, high, p) of micro F1 on ``test``, variant minus baseline, over ``seeds``."""
    counts = [[sentence_counts(folder / f"seed-{seed}" / layout.predictions_file(test)) for seed in seeds]
              for folder in (baseline, variant)]  # fmt: skip
    return paired_bootstrap(counts[0], counts[1])


def main() -> None:
    # every system's finished cells, read once: the rows, the comparisons and their prose all use them
    cells_of = {folder: finished_cells(folder) for folder in (MINILM, E5, STACK, STACK_AGAIN)}
    minilm, e5, stack, stack_again = (cells_of[folder] for folder in (MINILM, E5, STACK, STACK_AGAIN))
    frozen = json.loads(FROZEN.read_text())
    peak = json.loads(PEAK.read_text())["results"]
    fp32_peaks = " / ".join(f"{m['peak_rss_mb']:,}" for m in finished_cells(FP32).values())

    frozen_runs = frozen["runs"]
    summary = frozen["summary"]
    frozen_row = (
        f"| stack + frozen MiniLM | {len(frozen_runs)} | {summary['conllpp']['mean']:.2f} ± "
        f"{summary['conllpp']['std']:.2f} | {summary['conll2003']['mean']:.2f} ± {summary['conll2003']['std']:.2f} | – | "
        f"{mean_std([r['training_seconds'] / 60 for r in frozen_runs], digits=1)} | "
        f"{'/'.join(sorted({str(r['epochs']) for r in frozen_runs}))} | "
        f"{mean_std([r['training_seconds'] / r['epochs'] for r in frozen_runs], digits=1)}¹ | "
        f"{peak['minilm']['peak_rss_mb']:,}² |"
    )  # fmt: skip
    rows = [
        "| system | n | CoNLL++ test | CoNLL-2003 test | CleanCoNLL test | training min | epochs | epoch s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
        row("default stack (`full`)", stack, f"{peak['stack']['peak_rss_mb']:,}²"),
        row("default stack again (fp32, CleanCoNLL scored)", stack_again, own_peaks(stack_again)),
        frozen_row,
        row("fine-tuned MiniLM", minilm, own_peaks(minilm)),
    ]
    if e5:
        rows.append(row("fine-tuned e5-small", e5, own_peaks(e5)))

    # one paired difference per comparison and test set both scored, and one sentence per comparison saying them
    differences, sentences, minilm_outcomes = [], [], []
    for variant, variant_folder, baseline, baseline_folder in COMPARISONS:
        variant_cells, baseline_cells = cells_of[variant_folder], cells_of[baseline_folder]
        seeds = sorted(set(variant_cells) & set(baseline_cells))
        found = []  # (difference, verdict, the words for it)
        for test in TEST_SETS:
            if not seeds or not all(test in cells[seed]["micro_f1"] for cells in (variant_cells, baseline_cells)
                                    for seed in seeds):  # fmt: skip
                continue
            mean, low, high, p_value = paired(variant_folder, baseline_folder, seeds, test)
            verdict = "shown" if low > 0 or high < 0 else "not shown"
            found.append((mean, verdict, f"{abs(100 * mean):.2f} points {'below' if mean < 0 else 'above'} on "
                                         f"{TEST_SET_NAMES[test]} ({verdict})"))  # fmt: skip
            differences.append(f"| {variant} − {baseline} | {TEST_SET_NAMES[test]} | {' '.join(map(str, seeds))} | "
                               f"{100 * mean:+.2f} | [{100 * low:+.2f}, {100 * high:+.2f}] | {p_value:.3f} | {verdict} |")  # fmt: skip
        if not found:
            continue
        cost = ""
        if baseline_folder in (STACK, STACK_AGAIN):
            minutes, base_minutes = (statistics.mean(m["training_seconds"] / 60 for m in cells.values())
                                     for cells in (variant_cells, baseline_cells))  # fmt: skip
            shared = "; the `full` cells' minutes include minutes shared with other work, see the ablation section's median epochs"
            cost = (f", after {minutes:.0f} training minutes against the stack's {base_minutes:.0f} "
                    f"({minutes / base_minutes:.1f}×{shared if baseline_folder == STACK else ''})")  # fmt: skip
        sentences.append(
            f"Against the {baseline}, {variant} ends {' and '.join(text for _, _, text in found)}{cost}.\n"
        )
        if (variant_folder, baseline_folder) == (MINILM, STACK):
            minilm_outcomes = found

    parts = [
        f"""{HEADING}

`python -m flair_ner grid experiments/grids/fine_tune.toml`: a transformer fine-tuned for NER with the
defaults of [Fine-tuning a transformer](../README.md#fine-tuning-a-transformer) (FLERT: AdamW at 5e-5,
linear warmup over 10 % of the steps then decay, batch 16, linear layer, no CRF, no context; bf16 autocast where
the CPU has bfloat16, as the MiniLM cells' did: each cell's manifest records `mixed_precision`), 3 seeds each: all-MiniLM-L6-v2 (uncased, English) for 10 epochs, and the cased
multilingual-e5-small of [An offline multilingual transformer](../README.md#an-offline-multilingual-transformer-e5-small)
for 3 epochs with its linear layer at 2e-2 (the grid file says why both). Beside them the default stack (the
`full` cells of the ablation grid above, and the same configuration and seeds run again with CleanCoNLL test
scored: the CrossWeigh weights grid's unweighted cells) and the stack plus frozen MiniLM
(`benchmarks/results/accuracy_train-minilm.json`). Each model is the one that did best on dev. The grid's own
summary is in `results/grids/fine_tune/summary.md`; this section was written by
`python scripts/fine_tune_readme.py`.
"""
    ]
    missing = {name: [s for s in SEEDS if s not in cells] for name, cells in (("MiniLM", minilm), ("e5-small", e5))}
    missing = {name: seeds for name, seeds in missing.items() if seeds}
    if missing:
        listed = "; ".join(f"{name}: seed(s) {', '.join(map(str, seeds))}" for name, seeds in missing.items())
        parts.append(f"""**Not finished yet** ({listed}): the same grid command runs them and skips the committed
cells. Until then a row has the seeds n says, and a system with none has no row.
""")
    table = "\n".join(rows)
    parts.append(f"""Test micro-F1 in %, mean ± sample std over seeds; training minutes and epoch
seconds on this machine's 2 CPU cores (median epoch per run, then mean ± std over runs); peak
resident memory of the training process:

{table}

¹ mean epoch (training seconds / epochs): those runs kept no per-epoch times.
² one epoch over the whole corpus, `python benchmarks/peak_memory.py --variants stack minilm`
(`benchmarks/results/peak_memory.json`); those runs predate the kit's
peak-memory record. A run holds the same corpus, stored embeddings and model from its first
epoch on (the 50-epoch `fp32` ablation cells peaked at {fp32_peaks} MB). The other rows' cells
record their own peak (one figure per seed, each in a Ray worker).
""")
    if differences:
        parts.append(
            """Paired differences over seeds and test sentences (points; the 95 % paired bootstrap interval of
[How variants are compared](../README.md#grids-seeds--variants--data-sets-on-ray)); each against the baseline
whose cells scored that test set on the same seeds:

| variant − baseline | test set | seeds | difference | 95 % interval | p | |
|---|---|---|---|---|---|---|
"""
            + "\n".join(differences)
            + """

The frozen-MiniLM stack's predictions were not kept, so it has no paired comparison here: its
row is for reading beside the others, not a tested difference.
"""
        )

    parts += sentences
    if minilm_outcomes and all(mean < 0 and verdict == "shown" for mean, verdict, _ in minilm_outcomes):
        e5_caveat = (
            (
                "e5-small is cased, but it differs from MiniLM in more than case (multilingual, 12 layers, "
                "another tokenizer, 3 epochs), so its row does not isolate case either. "
            )
            if e5
            else ""
        )
        parts.append(f"""A likely reason for MiniLM's gap, not tested here: it is uncased (its tokenizer lower-cases every
word), so the fine-tuned tagger never sees a capital letter, NER's plainest cue for English names. In the stack,
capitalisation reaches the tagger only through the character LMs (GloVe 6B is lower-cased too), and they are
worth 5.5 points in the ablation above; frozen MiniLM on top of them adds to the stack rather than replacing
it. {e5_caveat}FLERT's published scores come from cased models (XLM-RoBERTa large); online,
`--transformer xlm-roberta-large` or `bert-base-cased` runs the same recipe.
""")
    section = "\n".join(parts) + "\n"
    replace_section(HEADING, section)
    print(section)


if __name__ == "__main__":
    main()

"""Rewrite docs/results.md's "multilingual-e5-small on MultiCoNER II" section from the committed runs.

Run from the repository root after the e5 grids (each finished cell is committed as it ends):
    python -m flair_ner grid experiments/grids/multiconer_e5.toml        # Hindi, Bangla
    python -m flair_ner grid experiments/grids/multiconer_e5_en.toml     # English
    python -m flair_ner grid experiments/grids/multiconer_e5_stack.toml
    python scripts/e5_results.py
Sources: the e5 cells (fine-tuned: results/grids/multiconer_e5 and multiconer_e5_en; scratch stack + frozen e5:
results/grids/multiconer_e5_stack) and the kit's earlier run of each data set (results/multiconer2-*: the scratch
stack for Hindi and Bangla, the offline English stack for English), whose test predictions are kept, so every
difference is paired over the same test sentences. Cells not finished yet are listed, not guessed. Read the result
before committing it: the prose says what the numbers show, not more.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from flair_ner.grids.summary import paired_bootstrap, sentence_counts
from flair_ner.runs import layout
from flair_ner.runs.folder import finished_manifest
from flair_ner.runs.manifest import run_training_seconds
from results_doc import RESULTS, replace_section  # scripts/results_doc.py

HEADING = "## multilingual-e5-small on MultiCoNER II"
LANGUAGES = {"en": "English", "hi": "Hindi", "bn": "Bangla"}
EARLIER = {"en": "offline English stack", "hi": "scratch stack", "bn": "scratch stack"}
FINE_TUNED_GRID = {"en": "multiconer_e5_en", "hi": "multiconer_e5", "bn": "multiconer_e5"}


def scores_row(system: str, folder: Path, manifest: dict, test_set: str) -> str:
    metrics = json.loads((folder / layout.METRICS_JSON).read_text(encoding="utf-8"))[test_set]
    scores = metrics["scores"]
    epochs = manifest.get("epochs", len(manifest.get("epoch_seconds", [])))
    epoch_s = statistics.median(manifest["epoch_seconds"]) if manifest.get("epoch_seconds") else float("nan")
    minutes = run_training_seconds(manifest) / 60  # over every process of a resumed run
    peak = manifest.get("peak_rss_mb")
    return (f"| {system} | {epochs} | **{100 * metrics['micro_f1']:.2f}** | {100 * scores['macro avg']['f1']:.2f} | "
            f"{100 * scores['weighted avg']['f1']:.2f} | {100 * metrics['token_accuracy']:.2f} | "
            f"{minutes:.1f} | {epoch_s:.0f} | {f'{peak:,}' if peak else '–'} |")  # fmt: skip


def main() -> None:
    rows, differences, missing = [], [], []
    for labels in ("fine", "coarse"):
        for code, language in LANGUAGES.items():
            dataset = f"multiconer2-{code}"
            earlier = Path(f"results/{dataset}-{labels}")
            fine_tuned = Path(f"results/grids/{FINE_TUNED_GRID[code]}/{labels}/{dataset}/seed-1")
            systems = [("fine-tuned e5-small", fine_tuned)]
            if labels == "fine" and code != "en":
                systems.append(("scratch stack + frozen e5-small",
                                Path(f"results/grids/multiconer_e5_stack/scratch+e5/{dataset}/seed-1")))  # fmt: skip
            base = finished_manifest(earlier)
            heading = f"| **{language}, {labels}** | | | | | | | | |"
            group = [scores_row(f"{EARLIER[code]} (`{earlier}`)", earlier, base, dataset)] if base else []
            for system, folder in systems:
                manifest = finished_manifest(folder)
                if manifest is None:
                    missing.append(f"`{folder}`")
                    continue
                group.append(scores_row(f"{system} (`{folder}`)", folder, manifest, dataset))
                if base:
                    counts = [[sentence_counts(run / layout.predictions_file(dataset))] for run in (earlier, folder)]
                    mean, low, high, p_value = paired_bootstrap(*counts)
                    verdict = "shown" if low > 0 or high < 0 else "not shown"
                    differences.append(f"| {language}, {labels} | {system} | {100 * mean:+.2f} | "
                                       f"[{100 * low:+.2f}, {100 * high:+.2f}] | {p_value:.3f} | {verdict} |")  # fmt: skip
            if len(group) > 1:
                rows += [heading, *group]
    section = [HEADING, "", """One seed each (seed 1). Fine-tuning follows FLERT's recipe as the kit runs it (AdamW, linear warmup over
10 % of the steps then decay, batch 16, first sub-token, linear layer, no CRF) with the encoder at 5e-5 and the
linear layer at 2e-2 (`decoder_learning_rate`: at 5e-5 e5-small stayed at the label prior,
`results/e5-small/recipe/README.md`), 2 epochs (`experiments/grids/multiconer_e5.toml` and `multiconer_e5_en.toml`
say why), fp32 on this machine's 2 CPU cores (an AMD EPYC without bfloat16); the English runs came after the kit
switched to torch's fused AdamW (`fused_adamw`: the same update up to rounding, a ~1.5× faster step), the Hindi
and Bangla runs used torch's default AdamW. The stacked runs add frozen e5-small to the scratch stack with everything else as the scratch runs
(`experiments/grids/multiconer_e5_stack.toml`). The test set is each language's public dev file, as for every
MultiCoNER run here. F1 and token accuracy in %; minutes of training (over every process of a resumed run),
median seconds per epoch and peak resident memory from each run's manifest (the earlier runs'
times are from the machines they ran on, see "Other data sets"); each run folder's `metrics.csv` holds the per-class report.
Written by `python scripts/e5_results.py`.
""", "| system | epochs | micro F1 | macro F1 | weighted F1 | token acc. | training min | epoch s | peak MB |",
               "|---|---|---|---|---|---|---|---|---|", *rows]  # fmt: skip
    if differences:
        section += ["", "Each e5 system minus the kit's earlier run of the same data and labels, paired over the test "
                    "sentences (points, 95 % paired bootstrap interval):", "",
                    "| data, labels | system | difference | 95 % interval | p | |", "|---|---|---|---|---|---|",
                    *differences]  # fmt: skip
    if missing:
        section += ["", f"Not run yet: {', '.join(missing)}."]
    replace_section(HEADING, "\n".join(section))
    print(f"written: {RESULTS} ({len(differences)} paired differences, {len(missing)} runs not finished)")


if __name__ == "__main__":
    main()

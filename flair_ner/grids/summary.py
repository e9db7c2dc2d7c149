"""A grid's results: mean ± std per variant, paired differences against the baseline, and a picture per data set.

The paired comparison. Each variant is compared with the baseline on the
seeds both have finished. The point estimate is the mean over seeds of the
difference in micro-F1. Its 95 % interval and the two-sided p-value come from
a paired bootstrap over test sentences, pooled across seeds: each of
:data:`BOOTSTRAP_SAMPLES` resamples draws the test sentences with replacement
(the same draw for both variants and every seed), recomputes micro-F1 per
seed from the resampled entity counts, and averages the per-seed differences.
Why this test: with three seeds a t-test over seed differences has two degrees
of freedom and an interval too wide to say anything, while the bootstrap uses
the thousands of test sentences and needs no normality assumption; pairing on
the same sentences removes the variance both variants share. What it does not
cover: how much a fourth seed could move the mean (the per-seed spread is
reported beside it). An interval that contains 0 is marked "not shown".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from flair_ner.runs.manifest import run_training_seconds
from flair_ner.runs.layout import METRICS_JSON, predictions_file
from flair_ner.errors import GridError
from flair_ner.evaluation.scores import AVERAGES, entity_counts, read_predictions, tagged_sentences
from flair_ner.files import write_csv, write_text
from flair_ner.grids.grid import Grid
from flair_ner.evaluation.plots import save_figure
from flair_ner.runs.folder import FINISHED, finished_manifest

# cell_scores' own columns; any other column is an axis besides seed and data set (e.g. hidden_size).
SCORE_COLUMNS = (
    "variant", "dataset", "seed", "test_set", "micro_f1", "macro_f1", "weighted_f1", "token_accuracy",
    "training_minutes", "cell",
)  # fmt: skip
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 0
SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"
CELLS_CSV = "cells.csv"


def weighted_f1(scores: dict[str, dict]) -> float:
    """The support-weighted mean of per-type F1 (seqeval's "weighted avg") from a metrics.json test set's scores.

    Runs from before the kit reported it (an adopted early run) lack the row; it is derived from their per-type
    F1 and support, the same definition :func:`flair_ner.evaluation.scores.score_spans` uses."""
    if "weighted avg" in scores:
        return scores["weighted avg"]["f1"]
    per_type = [row for label, row in scores.items() if label not in AVERAGES]
    total = sum(row["support"] for row in per_type)
    return sum(row["f1"] * row["support"] for row in per_type) / total if total else 0.0


def cell_scores(grid: Grid) -> pd.DataFrame:
    """One row per finished cell and test set: its F1s, token accuracy, training minutes and node."""
    rows = []
    for cell in grid.cells:
        manifest = finished_manifest(cell.folder)
        metrics_file = cell.folder / METRICS_JSON
        if manifest is None or not metrics_file.is_file():
            continue
        for test_set, scores in json.loads(metrics_file.read_text(encoding="utf-8")).items():
            rows.append(
                {
                    "variant": cell.variant,
                    "dataset": cell.config.data_label,
                    "seed": cell.config.seed,
                    **{key: value for key, value in cell.values.items() if key not in ("seed", "dataset")},
                    "test_set": test_set,
                    "micro_f1": scores["scores"]["micro avg"]["f1"],
                    "macro_f1": scores["scores"]["macro avg"]["f1"],
                    "weighted_f1": weighted_f1(scores["scores"]),
                    "token_accuracy": scores.get("token_accuracy"),
                    "training_minutes": run_training_seconds(manifest) / 60,
                    "cell": cell.name,
                }
            )
    return pd.DataFrame(rows)


def sentence_counts(predictions: Path) -> np.ndarray:
    """Per test sentence (tp, fp, fn) of entity mentions, from a run's ``predictions_<test>.tsv``."""
    sentences = tagged_sentences(read_predictions(predictions), str(predictions))
    return entity_counts(sorted(sentences, key=lambda sentence: sentence.id))


def _f1(counts: np.ndarray) -> np.ndarray:
    """micro-F1 from summed (tp, fp, fn) along the last axis."""
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


@dataclass
class PairedDifference:
    """A variant minus the baseline, paired over seeds and test sentences."""

    seeds: list[int]
    mean: float
    seed_std: float
    low: float
    high: float
    p_value: float

    @property
    def shown(self) -> bool:
        """The 95 % interval excludes 0."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    baseline: list[np.ndarray], variant: list[np.ndarray], samples: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, float, float]:
    """(mean difference, 95 % low, 95 % high, two-sided p) of micro-F1, variant minus baseline.

    Args:
        baseline: per seed, the (tp, fp, fn) counts per test sentence of the baseline.
        variant: the same for the variant, seeds in the same order.
    """
    sentences = len(baseline[0])
    if any(len(counts) != sentences for counts in [*baseline, *variant]):
        raise GridError("every cell must have scored the same test sentences")
    observed = float(np.mean([_f1(v.sum(0)) - _f1(b.sum(0)) for b, v in zip(baseline, variant)]))
    draws = np.random.default_rng(seed).integers(0, sentences, size=(samples, sentences))
    differences = np.zeros(samples)
    for b, v in zip(baseline, variant):
        differences += _f1(v[draws].sum(1)) - _f1(b[draws].sum(1))
    differences /= len(baseline)
    low, high = np.percentile(differences, [2.5, 97.5])
    p_value = min(1.0, 2 * min(np.mean(differences <= 0), np.mean(differences >= 0)))
    return observed, float(low), float(high), float(p_value)


def extra_axes(scores: pd.DataFrame) -> list[str]:
    """The grid's axes other than seed and data set, as columns of :func:`cell_scores`."""
    return [column for column in scores.columns if column not in SCORE_COLUMNS]


def compare(grid: Grid, scores: pd.DataFrame) -> pd.DataFrame:
    """Every variant against the baseline, per data set, test set and value of any further axis (see the module
    docstring); a variant with another label map than the baseline's (e.g. coarse types) is not compared."""
    rows = []
    extra = extra_axes(scores)
    cells = {
        (cell.variant, cell.config.data_label, cell.config.seed, *[cell.values.get(axis) for axis in extra]): cell
        for cell in grid.cells
    }
    for key, group in scores.groupby(["dataset", "test_set", *extra]):
        dataset, test_set, *values = key
        base_seeds = set(group[group["variant"] == grid.baseline]["seed"])
        for variant in grid.variants:
            if variant == grid.baseline:
                continue
            seeds = sorted(base_seeds & set(group[group["variant"] == variant]["seed"]))
            if not seeds:
                continue
            pair = [cells[(name, dataset, seeds[0], *values)].config.label_map for name in (grid.baseline, variant)]
            if pair[0] != pair[1]:
                continue  # another label map: the two F1s count other entity types, a difference would mean nothing
            counts = {
                name: [
                    sentence_counts(cells[(name, dataset, seed, *values)].folder / predictions_file(test_set))
                    for seed in seeds
                ]
                for name in (grid.baseline, variant)
            }
            mean, low, high, p_value = paired_bootstrap(counts[grid.baseline], counts[variant])
            per_seed = [_f1(v.sum(0)) - _f1(b.sum(0)) for b, v in zip(counts[grid.baseline], counts[variant])]
            # one seed has no spread to report (NaN, shown as "–"), rather than a spread of 0
            difference = PairedDifference(seeds, mean, float(np.std(per_seed, ddof=1)) if len(seeds) > 1 else float("nan"),
                                          low, high, p_value)  # fmt: skip
            rows.append(
                {
                    "dataset": dataset,
                    "test_set": test_set,
                    **dict(zip(extra, values)),
                    "variant": variant,
                    "baseline": grid.baseline,
                    "seeds": " ".join(map(str, seeds)),
                    "difference": difference.mean,
                    "seed_std": difference.seed_std,
                    "ci_low": difference.low,
                    "ci_high": difference.high,
                    "p_value": difference.p_value,
                    "verdict": "shown" if difference.shown else "not shown",
                }  # fmt: skip
            )
    return pd.DataFrame(rows)


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """Per variant x data set x test set: n, mean and sample std of micro, macro and weighted F1, training minutes."""
    keys = ["variant", "dataset", "test_set", *extra_axes(scores)]
    summary = scores.groupby(keys).agg(
        n=("seed", "count"),
        **{
            f"{metric}_{stat}": (metric, stat)
            for metric in ("micro_f1", "macro_f1", "weighted_f1")
            for stat in ("mean", "std")
        },
        training_minutes=("training_minutes", "mean"),
    )
    return summary.reset_index()


def _pm(mean: float, std: Optional[float]) -> str:
    return f"{100 * mean:.2f} ± {100 * std:.2f}" if std == std and std is not None else f"{100 * mean:.2f}"


def _points(value: float) -> str:
    return "–" if value != value else f"{100 * value:.2f}"


def render_markdown(grid: Grid, summary: pd.DataFrame, comparison: pd.DataFrame) -> str:
    lines = [f"# Grid {grid.name}", "", f"Baseline: `{grid.baseline}`. F1 in %, mean ± sample std over seeds.", ""]
    lines += [
        "| variant | data set | test set | n | micro F1 | macro F1 | weighted F1 | training min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary.itertuples():
        lines.append(
            f"| {row.variant} | {row.dataset} | {row.test_set} | {row.n} | {_pm(row.micro_f1_mean, row.micro_f1_std)} | "
            f"{_pm(row.macro_f1_mean, row.macro_f1_std)} | {_pm(row.weighted_f1_mean, row.weighted_f1_std)} | "
            f"{row.training_minutes:.1f} |"
        )
    if not comparison.empty:
        lines += ["", "Paired differences in micro F1 (variant − baseline, points), 95 % paired bootstrap interval over "
                  "test sentences pooled across seeds (see `flair_ner/grids/summary.py`):", "",
                  "| variant | data set | test set | seeds | difference | seed std | 95 % interval | p | verdict |",
                  "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in comparison.itertuples():
            lines.append(
                f"| {row.variant} | {row.dataset} | {row.test_set} | {row.seeds} | {100 * row.difference:+.2f} | "
                f"{_points(row.seed_std)} | [{100 * row.ci_low:+.2f}, {100 * row.ci_high:+.2f}] | {row.p_value:.3f} | "
                f"{row.verdict} |"
            )
    statuses = {cell.name: cell.status() for cell in grid.cells}  # each reads the cell's manifest: once per cell
    unfinished = [(name, status) for name, status in statuses.items() if status != FINISHED]
    if unfinished:
        lines += ["", f"Not in these figures: {len(unfinished)} of {len(grid.cells)} cells are not finished "
                  "(the grid command runs or resumes them):", ""]  # fmt: skip
        lines += [f"- `{name}`: {status}" for name, status in unfinished]
    return "\n".join(lines) + "\n"


def plot_grid(grid: Grid, scores: pd.DataFrame, output_dir: Path) -> list[Path]:
    """Per data set: micro-F1 of every seed as a dot and the mean ± std per variant, the baseline highlighted."""
    paths = []
    # each data set's own test set (a registered data set's has its name; your own files' is "test")
    own_test = {cell.config.data_label: cell.config.data_name for cell in grid.cells}
    for dataset, group in scores[scores["test_set"] == scores["dataset"].map(own_test)].groupby("dataset"):
        figure = Figure(figsize=(1.5 + 1.2 * len(grid.variants), 4))
        axis = figure.subplots()
        for position, variant in enumerate(grid.variants):
            values = 100 * group[group["variant"] == variant]["micro_f1"]
            if values.empty:
                continue
            color = "tab:orange" if variant == grid.baseline else "tab:blue"
            axis.scatter([position] * len(values), values, color=color, alpha=0.6, zorder=3)
            axis.errorbar(position + 0.15, values.mean(), yerr=values.std() if len(values) > 1 else 0, fmt="s",
                          color=color, capsize=4)  # fmt: skip
        # n under every name: a variant whose cells are not finished yet shows n = 0 instead of an unexplained gap
        counts = group.groupby("variant")["seed"].count()
        labels = [f"{v}\n({'baseline, ' if v == grid.baseline else ''}n = {counts.get(v, 0)})" for v in grid.variants]
        axis.set_xticks(range(len(grid.variants)), labels)
        axis.set_ylabel(f"{dataset} test micro-F1 (%)")
        axis.set_title(f"Grid {grid.name}: every seed (dots), mean ± std (squares)")
        figure.tight_layout()
        path = output_dir / f"grid_{dataset}.png"
        save_figure(figure, path)
        paths.append(path)
    return paths


def write_summary(grid: Grid) -> list[Path]:
    """cells.csv, summary.csv, summary.md and a plot per data set into the grid folder."""
    scores = cell_scores(grid)
    if scores.empty:
        return []
    summary = summarize(scores)
    comparison = compare(grid, scores)
    output_dir = grid.output_dir
    paths = [write_csv(output_dir / CELLS_CSV, scores), write_csv(output_dir / SUMMARY_CSV, summary)]
    if not comparison.empty:
        paths.append(write_csv(output_dir / "comparison.csv", comparison))
    paths.append(write_text(output_dir / SUMMARY_MD, render_markdown(grid, summary, comparison)))
    return paths + plot_grid(grid, scores, output_dir)

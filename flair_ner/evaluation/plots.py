"""Pictures of a run: the learning curve, per-type F1 bars and an entity confusion chart, as PNG files next to the metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from flair_ner.runs.layout import ENTITY_CONFUSION, LEARNING_CURVE, PER_TYPE_F1  # noqa: F401 - part of this module's interface
from flair_ner.evaluation import scores as evaluate
from flair_ner.files import atomic_path


# Figures are matplotlib's object API (Figure, no pyplot): nothing chooses or changes a GUI backend in a
# notebook or program that calls the kit, and no figure stays registered to be closed.


def save_figure(figure: Figure, path: Path) -> Path:
    """Write ``figure`` as a PNG to ``path``, whole or not at all (a temporary file, then a rename)."""
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    return path


def plot_learning_curve(loss_tsv: Path, output: Path) -> Path:
    """Training loss and dev F1 per epoch, from flair's ``loss.tsv``, with the best dev epoch and every
    learning-rate drop marked. A one-epoch run shows its single values as labelled points."""
    history = pd.read_csv(loss_tsv, sep="\t")
    epochs = history["EPOCH"]
    figure = Figure(figsize=(7.5, 4))
    loss_axis = figure.subplots()
    loss_axis.plot(epochs, history["TRAIN_LOSS"], "o-", color="tab:blue", markersize=4, label="training loss")
    loss_axis.set_xlabel("epoch")
    if len(history) <= 12:
        loss_axis.set_xticks(epochs)  # whole epochs only, however few
    else:
        loss_axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axis.set_ylabel("training loss", color="tab:blue")
    loss_axis.set_xlim(epochs.min() - 0.5, epochs.max() + 0.5)  # a single epoch stays one readable point
    handles = loss_axis.get_lines()[:]
    if "DEV_F1" in history and history["DEV_F1"].notna().any():
        f1 = history["DEV_F1"] * 100
        f1_axis = loss_axis.twinx()
        handles += f1_axis.plot(epochs, f1, "s-", color="tab:orange", markersize=4, label="dev micro-F1")
        f1_axis.set_ylabel("dev micro-F1 (%)", color="tab:orange")
        best = f1.idxmax()
        handles += f1_axis.plot(epochs[best], f1[best], "*", color="black", markersize=14, label="best dev epoch")
        f1_axis.annotate(f"best: {f1[best]:.2f} (epoch {epochs[best]})", (epochs[best], f1[best]), textcoords="offset points",
                         xytext=(0, 9), ha="center", fontsize=8)  # fmt: skip
        f1_axis.set_ylim(f1.min() - 1, f1.max() + (f1.max() - f1.min()) * 0.12 + 0.5)  # room for the label
    if len(history) == 1:
        loss_axis.annotate(f"{history['TRAIN_LOSS'][0]:.4f}", (epochs[0], history["TRAIN_LOSS"][0]),
                           textcoords="offset points", xytext=(8, 4), fontsize=8)  # fmt: skip
    if "LEARNING_RATE" in history:
        # flair writes one rate per parameter group, comma-separated, when there are several
        # (decoder_learning_rate): the first is the decoder's, the one epochs.csv reports too
        rates = history["LEARNING_RATE"].astype(str).str.split(",").str[0].astype(float)
        for index in range(1, len(history)):
            if rates[index] < rates[index - 1] * 0.99 and (
                index == len(history) - 1 or rates[index] < rates[index - 1] * 0.75
            ):
                # an annealing step (a linear schedule's smooth decay is not marked epoch by epoch)
                loss_axis.axvline(epochs[index] - 0.5, color="grey", linestyle=":", linewidth=1)
                # halfway up, where the falling loss and the rising F1 curves rarely are
                loss_axis.annotate(f"lr {rates[index]:.3g}", (epochs[index] - 0.5, 0.5), xycoords=("data", "axes fraction"),
                                   rotation=90, va="center", ha="right", fontsize=7, color="grey")  # fmt: skip
    # below the plot: inside it would cover a curve or a mark somewhere
    loss_axis.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, fontsize=8, frameon=False
    )
    loss_axis.set_title("Learning curve (dotted: learning-rate drops)")
    figure.tight_layout()
    path = save_figure(figure, Path(output))
    return path


AVERAGES = ("micro avg", "macro avg", "weighted avg")


def plot_per_type_f1(metrics: pd.DataFrame, output: Path) -> Path:
    """Horizontal bars: F1 per entity type, then the micro, macro and weighted averages, for each test set in
    ``metrics.csv``'s layout, on an F1 axis zoomed to the values shown (differences of a point stay visible).

    Horizontal, with the figure's height growing with the number of types, so
    that 33 fine-grained type names stay readable; the legend sits beside the bars.
    """
    shown = metrics[metrics["label"] != "token accuracy"]
    types = sorted(label for label in shown["label"].unique() if label not in AVERAGES)
    if len(types) == 1:
        # with one type the three averages equal it: four identical bars say nothing; its P/R/F1 do
        one = shown[shown["label"] == types[0]].set_index("test_set")[["precision", "recall", "f1"]].T * 100
        one.index = ["precision", "recall", "F1"]
        return _bars(one.iloc[::-1], f"Entity type {types[0]}: precision, recall and F1", "%", Path(output))
    table = shown.pivot(index="label", columns="test_set", values="f1") * 100
    order = types + [a for a in AVERAGES if a in table.index]
    table = table.loc[order[::-1]]  # barh draws the first row at the bottom
    return _bars(table, "Entity F1 per type and averaged", "F1 (%)", Path(output), averages=True)


def _bars(table: pd.DataFrame, title: str, unit: str, output: Path, averages: bool = False) -> Path:
    """Horizontal bars of ``table`` (rows bottom to top, one colour per column), zoomed to the values shown."""
    figure = Figure(figsize=(7.5, 1.4 + 0.28 * len(table) * max(1, len(table.columns) * 0.7)))
    axis = figure.subplots()
    table.plot.barh(ax=axis, width=0.8)
    low = max(0.0, 10 * ((table.min().min() - 5) // 10)) if table.notna().any().any() else 0.0
    axis.set_xlim(low, 100 + (100 - low) * 0.08)  # room for the value labels
    axis.set_xlabel(f"{unit}, axis from {low:.0f}")
    axis.set_ylabel("")
    if averages and all(a in table.index for a in AVERAGES):  # a line between the types and the averages
        axis.axhline(len(AVERAGES) - 0.5, color="grey", linewidth=0.8)
    axis.set_title(title)
    for container in axis.containers:
        axis.bar_label(container, fmt="%.1f", fontsize=7, padding=2)
    axis.legend(title="test set", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    figure.tight_layout()
    path = save_figure(figure, Path(output))
    return path


# the chart's labels for what is not a type
MISSED, SPURIOUS, BOUNDARY = "(missed)", "(none: spurious)", "(boundary)"


def entity_confusion(predictions: pd.DataFrame) -> pd.DataFrame:
    """Counts of gold entity type (rows) against what was predicted for it (columns), from a predictions TSV.

    Each gold entity is (:func:`~flair_ner.evaluation.scores.entity_outcomes`): found (its type's column), found with
    another type (that type's column), found with the same type but other boundaries (``(boundary)``), or not
    found (``(missed)``). A predicted entity that overlaps no gold entity is a row ``(none: spurious)``.
    """
    column_of = {evaluate.BOUNDARY: BOUNDARY, evaluate.MISSED: MISSED}
    counts: dict[tuple[str, str], int] = {}
    for sentence in evaluate.tagged_sentences(predictions):
        for outcome in evaluate.entity_outcomes(sentence.gold, sentence.predicted):
            if outcome.kind == evaluate.SPURIOUS:
                key = (SPURIOUS, outcome.predicted.type)
            else:
                key = (outcome.type, column_of.get(outcome.kind) or outcome.predicted.type)
            counts[key] = counts.get(key, 0) + 1
    types = sorted(
        {key[0] for key in counts if key[0] != SPURIOUS}
        | {key[1] for key in counts if key[1] not in (MISSED, BOUNDARY)}
    )
    table = pd.DataFrame(0, index=types + [SPURIOUS], columns=types + [BOUNDARY, MISSED])
    for (row, column), count in counts.items():
        table.loc[row, column] = count
    return table


def plot_entity_confusion(predictions: pd.DataFrame, output: Path, title: str = "") -> Path:
    """A heat map of :func:`entity_confusion` of a predictions table (a run's in memory, or
    :func:`~flair_ner.evaluation.scores.read_predictions` of a TSV): which type is mistaken for which, boundary
    errors, misses and spurious entities. Each cell shows its count; one colour scale (logarithmic, so that a
    handful of errors is visible beside hundreds of correct entities) for the whole table, with its colour bar."""
    table = entity_confusion(predictions)
    counts = table.to_numpy()
    norm = LogNorm(vmin=1, vmax=max(2, counts.max()))
    size = 1.2 + 0.45 * len(table.columns)
    figure = Figure(figsize=(size + 2.5, 1.0 + 0.4 * len(table)))
    axis = figure.subplots()
    # empty cells stay white: the log scale starts at 1
    image = axis.imshow(np.ma.masked_equal(counts, 0), cmap="Blues", norm=norm, aspect="auto")
    figure.colorbar(image, ax=axis, label="entities (log scale)", fraction=0.05)
    axis.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(table.index)), table.index, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("gold")
    for row in range(len(table.index)):
        for column in range(len(table.columns)):
            count = int(counts[row, column])
            if count:
                dark = norm(count) > 0.6
                axis.text(
                    column, row, str(count), ha="center", va="center", fontsize=7, color="white" if dark else "black"
                )
    axis.set_title(title or "Entities: gold type against prediction")
    figure.tight_layout()
    path = save_figure(figure, Path(output))
    return path


def confusion_title(test_file: Path) -> str:
    """The confusion chart's title: the test file's name (a test set called ``test`` said "test test")."""
    return f"{Path(test_file).name}: gold type against prediction"

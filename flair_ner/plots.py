"""Pictures of a run: the learning curve and per-type F1 bars, as PNG files next to the metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from flair_ner.files import atomic_path

LEARNING_CURVE = "learning_curve.png"
PER_TYPE_F1 = "per_type_f1.png"


def pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; no display needed
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> Path:
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    return path


def plot_learning_curve(loss_tsv: Path, output: Path) -> Path:
    """Training loss and dev F1 per epoch, from flair's ``loss.tsv``."""
    plt = pyplot()
    history = pd.read_csv(loss_tsv, sep="\t")
    figure, loss_axis = plt.subplots(figsize=(7, 4))
    loss_axis.plot(history["EPOCH"], history["TRAIN_LOSS"], "o-", color="tab:blue", label="training loss")
    loss_axis.set_xlabel("epoch")
    from matplotlib.ticker import MaxNLocator

    loss_axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_axis.set_ylabel("training loss", color="tab:blue")
    if "DEV_F1" in history:
        f1_axis = loss_axis.twinx()
        f1_axis.plot(history["EPOCH"], history["DEV_F1"] * 100, "s-", color="tab:orange", label="dev F1")
        f1_axis.set_ylabel("dev micro-F1 (%)", color="tab:orange")
    loss_axis.set_title("Learning curve")
    figure.tight_layout()
    path = _save(figure, Path(output))
    plt.close(figure)
    return path


def plot_per_type_f1(metrics: pd.DataFrame, output: Path) -> Path:
    """Horizontal bars: F1 per entity type (and the micro average, last) for each test set in ``metrics.csv``'s layout.

    Horizontal, with the figure's height growing with the number of types, so
    that 33 fine-grained type names stay readable.
    """
    plt = pyplot()
    shown = metrics[~metrics["label"].isin(["macro avg", "weighted avg", "token accuracy"])]
    table = shown.pivot(index="label", columns="test_set", values="f1") * 100
    order = sorted(label for label in table.index if label != "micro avg") + ["micro avg"]
    table = table.loc[order[::-1]]  # barh draws the first row at the bottom
    figure, axis = plt.subplots(figsize=(7, 1.2 + 0.28 * len(table) * max(1, len(table.columns) * 0.7)))
    table.plot.barh(ax=axis)
    axis.set_xlabel("F1 (%)")
    axis.set_ylabel("")
    axis.set_xlim(0, 105)
    axis.set_title("Entity F1 per type")
    for container in axis.containers:
        axis.bar_label(container, fmt="%.1f", fontsize=7, padding=2)
    axis.legend(title="test set", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)  # beside the bars, never over them
    figure.tight_layout()
    path = _save(figure, Path(output))
    plt.close(figure)
    return path

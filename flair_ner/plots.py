"""Pictures of a run: the learning curve and per-type F1 bars, as PNG files next to the metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from flair_ner.files import atomic_path

LEARNING_CURVE = "learning_curve.png"
PER_TYPE_F1 = "per_type_f1.png"


def _pyplot():
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
    plt = _pyplot()
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
    """Grouped bars: F1 per entity type (and micro average) for each test set in ``metrics.csv``'s layout."""
    plt = _pyplot()
    shown = metrics[~metrics["label"].isin(["macro avg", "weighted avg", "token accuracy"])]
    table = shown.pivot(index="label", columns="test_set", values="f1") * 100
    figure, axis = plt.subplots(figsize=(7, 4))
    table.plot.bar(ax=axis, rot=0)
    axis.set_ylabel("F1 (%)")
    axis.set_xlabel("")
    axis.set_ylim(0, 100)
    axis.set_title("Entity F1 per type")
    for container in axis.containers:
        axis.bar_label(container, fmt="%.1f", fontsize=7)
    axis.legend(title="test set")
    figure.tight_layout()
    path = _save(figure, Path(output))
    plt.close(figure)
    return path

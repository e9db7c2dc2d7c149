"""MLflow tracking: a run read back with MLflow's own API, a resumed run continuing its MLflow run, grid tags."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import ray
from mlflow.tracking import MlflowClient
from helpers import USES_RAY, grid_file, train

from flair_ner.grids.grid import load_grid, run_grid


def tiny_options(conllpp_slice: Path, tiny_glove: Path, store: Path) -> list[str]:
    return [
        "--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file", str(conllpp_slice / "conllpp_dev.txt"),
        "--test-file", str(conllpp_slice / "conllpp_test.txt"), "--glove", str(tiny_glove), "--lms", "none",
        "--hidden-size", "16", "--max-epochs", "3", "--patience", "0", "--train-limit", "200", "--eval-limit", "60",
        "--track", "mlflow", "--tracking-uri", str(store),
    ]  # fmt: skip


def search(store: Path):
    mlflow.set_tracking_uri(f"sqlite:///{store / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["flair-ner"])


def only_run(store: Path):
    runs = search(store)
    assert len(runs) == 1, runs
    return MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}").get_run(runs["run_id"][0])


def test_a_tracked_run_reads_back_from_mlflow(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    store, out = tmp_path / "mlruns", tmp_path / "run"
    result = train(out, tiny_options(conllpp_slice, tiny_glove, store))
    assert result.returncode == 0, result.stderr[-3000:]
    run = only_run(store)
    manifest = json.loads((out / "manifest.json").read_text())
    assert run.info.status == "FINISHED" and manifest["tracking"]["run_id"] == run.info.run_id
    # every config value is a parameter
    assert run.data.params["hidden_size"] == "16" and run.data.params["max_epochs"] == "3"
    assert set(run.data.params) >= set(manifest["config"])
    assert (
        run.data.tags["dataset"] == "test"
        and run.data.tags["seed"] == "1"
        and run.data.tags["git_commit"] == manifest["git_commit"]
    )
    # the final metrics are metrics.json's
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    for average in ("micro", "macro", "weighted"):
        assert run.data.metrics[f"test_test/{average}_f1"] == pytest.approx(metrics["scores"][f"{average} avg"]["f1"])
    assert run.data.metrics["test_test/token_accuracy"] == pytest.approx(metrics["token_accuracy"])
    assert run.data.metrics["peak_rss_mb"] == manifest["peak_rss_mb"] > 100  # MiB
    # one point per epoch for the training loss, dev scores, learning rate and epoch time
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    for key in ("train/loss", "learning_rate", "epoch_seconds", "dev/micro_avg/f1-score"):
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2, 3], key
    # the epoch times are the run's own (its timer's), as epochs.csv has them
    seconds = [m.value for m in client.get_metric_history(run.info.run_id, "epoch_seconds")]
    assert [round(value, 2) for value in seconds] == pd.read_csv(out / "epochs.csv")["seconds"].tolist()
    files = {entry.path for entry in client.list_artifacts(run.info.run_id)}
    assert {"metrics.csv", "metrics.json", "manifest.json", "per_type_f1.png", "learning_curve.png"} <= files


def test_an_interrupted_run_continues_its_mlflow_run(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    store, out = tmp_path / "mlruns", tmp_path / "run"
    options = tiny_options(conllpp_slice, tiny_glove, store)
    stopped = train(out, options, stop=(2, 2, signal.SIGINT))
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    assert only_run(store).info.status == "KILLED"
    resumed = train(out, options)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    run = only_run(store)  # the same MLflow run, finished, with every epoch once
    assert run.info.status == "FINISHED"
    history = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}").get_metric_history(
        run.info.run_id, "train/loss"
    )
    assert sorted({m.step for m in history}) == [1, 2, 3] and len(history) == 3


@USES_RAY
def test_grid_cells_are_tagged_with_grid_and_variant(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    path = grid_file(tmp_path, conllpp_slice, tiny_glove)
    store = tmp_path / "mlruns"
    path.write_text(path.read_text().replace("[config]\n", f'[config]\ntrack = "mlflow"\ntracking_uri = "{store}"\n'))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        outcome = run_grid(load_grid(path), cpus_per_run=1)
    finally:
        ray.shutdown()
    assert all(status == "complete" for status in outcome.statuses.values())
    runs = search(store)
    assert sorted(zip(runs["tags.variant"], runs["tags.seed"])) == [
        ("base", "1"),
        ("base", "2"),
        ("small", "1"),
        ("small", "2"),
    ]
    assert set(runs["tags.grid"]) == {"tiny"} and set(runs["status"]) == {"FINISHED"}

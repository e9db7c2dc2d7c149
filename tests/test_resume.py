"""Runs you can trust: a run stopped at any point and resumed ends exactly where the uninterrupted run ends.

Each run is a real ``python -m flair_ner train`` process on a CoNLL++ slice.
A small wrapper stops it with a signal at a chosen training batch (the
signal is sent by the process to itself, so the point is exact).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

# Runs the kit's CLI, sending signal SIGNUM to itself after batch BATCH of epoch EPOCH (epoch 0: never).
STOPPER = """
import os, sys
from flair.trainers.trainer import ModelTrainer
epoch, batch, signum = (int(value) for value in sys.argv[1:4])
dispatch = ModelTrainer.dispatch
def stop_at(self, event, *args, **kw):
    result = dispatch(self, event, *args, **kw)
    if event == "after_training_batch" and kw.get("epoch") == epoch and kw.get("batch_no") == batch:
        os.kill(os.getpid(), signum)
    return result
ModelTrainer.dispatch = stop_at
from flair_ner.cli import main
sys.exit(main(sys.argv[4:]))
"""


def train(output: Path, options: list[str], stop: tuple[int, int, int] = (0, 0, 0)) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", STOPPER, *map(str, stop), "train", *options, "--output-dir", str(output)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def options(tmp_path_factory, mirror: Path, tiny_glove: Path) -> list[str]:
    data = tmp_path_factory.mktemp("data")
    return [
        "--mirror", str(mirror), "--data-dir", str(data), "--compare-with", "",
        "--glove", str(tiny_glove), "--lms", "none", "--hidden-size", "32", "--mini-batch-size", "8",
        "--max-epochs", "4", "--patience", "0", "--train-limit", "300", "--eval-limit", "80",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, options: list[str]) -> Path:
    out = tmp_path_factory.mktemp("uninterrupted") / "run"
    result = train(out, options)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def weights(model: Path) -> dict[str, torch.Tensor]:
    return torch.load(model, map_location="cpu", weights_only=False)["state_dict"]


def assert_same_run(run: Path, reference: Path) -> None:
    assert json.loads((run / "metrics.json").read_text()) == json.loads((reference / "metrics.json").read_text())
    ours, theirs = weights(run / "best-model.pt"), weights(reference / "best-model.pt")
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)
    losses = [pd.read_csv(folder / "loss.tsv", sep="\t").drop(columns="TIMESTAMP") for folder in (run, reference)]
    pd.testing.assert_frame_equal(*losses)


def test_two_uninterrupted_runs_agree(tmp_path: Path, options: list[str], uninterrupted: Path) -> None:
    assert train(tmp_path / "run", options).returncode == 0
    assert_same_run(tmp_path / "run", uninterrupted)
    assert pd.read_csv(uninterrupted / "loss.tsv", sep="\t")["DEV_F1"].max() > 0  # it learned something to compare


def test_sigkill_mid_epoch_then_resume_is_exact(tmp_path: Path, options: list[str], uninterrupted: Path) -> None:
    out = tmp_path / "run"
    killed = train(out, options, stop=(3, 10, signal.SIGKILL))
    assert killed.returncode == -signal.SIGKILL
    assert not (out / "metrics.json").exists() and not (out / "final-model.pt").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "running"  # it had no chance to say more

    resumed = train(out, options)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed after epoch 2" in resumed.stderr
    assert_same_run(out, uninterrupted)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["resumed_from_epoch"] == 2
    assert [event["event"] for event in manifest["events"]] == ["started", "resumed", "completed"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_honestly_and_resume_is_exact(
    tmp_path: Path, options: list[str], uninterrupted: Path, signum: int, code: int
) -> None:
    out = tmp_path / "run"
    stopped = train(out, options, stop=(2, 5, signum))
    assert stopped.returncode == code, stopped.stderr[-3000:]
    assert stopped.stderr.strip().splitlines()[-1] == (
        "flair-ner: interrupted after epoch 1 of 4; run the same command to resume"
    )
    # nothing reports the half-trained model as final
    for name in ("metrics.json", "final-model.pt", "learning_curve.png", "predictions_conllpp.tsv"):
        assert not (out / name).exists(), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["events"][-1]["event"] == "interrupted" and manifest["events"][-1]["after_epoch"] == 1
    assert manifest["events"][-1]["signal"] == signal.Signals(signum).name

    resumed = train(out, options)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_run(out, uninterrupted)

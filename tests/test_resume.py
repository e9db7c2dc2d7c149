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
from helpers import train


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
    events = manifest["events"]
    assert [event["event"] for event in events] == ["started", "lost", "resumed", "completed"]
    assert events[1]["pid"] == events[0]["pid"] != events[2]["pid"]  # the killed process is named


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
    # the run's peak memory is the larger of its two processes' peaks, each recorded as its process ended
    events = json.loads((out / "manifest.json").read_text())["events"]
    stopped_peak, finished_peak = events[1]["peak_rss_mb"], events[-1]["peak_rss_mb"]
    assert events[-1]["event"] == "completed" and 100 < min(stopped_peak, finished_peak)  # MiB: torch alone takes more
    assert json.loads((out / "manifest.json").read_text())["peak_rss_mb"] == max(stopped_peak, finished_peak)


# Trains a tiny character LM, sending signal SIGNUM to itself when validation number CALL begins (0: never).
LM_STOPPER = """
import json, os, sys
from flair.trainers.language_model_trainer import LanguageModelTrainer
from flair_ner.cli.main import run_handled
from flair_ner.lm.train import LMConfig, train_lm
call, signum = int(sys.argv[1]), int(sys.argv[2])
calls = [0]
evaluate = LanguageModelTrainer.evaluate
def counted(self, *args, **kwargs):
    calls[0] += 1
    if calls[0] == call:
        os.kill(os.getpid(), signum)
    return evaluate(self, *args, **kwargs)
LanguageModelTrainer.evaluate = counted
sys.exit(run_handled(lambda: train_lm(LMConfig(**json.loads(sys.argv[3])))))
"""


def train_lm_process(output: Path, corpus: Path, stop: tuple[int, int] = (0, 0)) -> subprocess.CompletedProcess:
    config = {
        "corpus_dir": str(corpus), "output_dir": str(output), "hidden_size": 16, "embedding_size": 8,
        "sequence_length": 40, "mini_batch_size": 8, "max_epochs": 2, "patience": 0, "learning_rate": 100.0,
    }  # fmt: skip
    command = [sys.executable, "-c", LM_STOPPER, *map(str, stop), json.dumps(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def uninterrupted_lm(tmp_path_factory, tiny_lm_corpus: Path) -> Path:
    out = tmp_path_factory.mktemp("lm") / "run"
    result = train_lm_process(out, tiny_lm_corpus)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def assert_same_lm(run: Path, reference: Path) -> None:
    finals = [pd.read_csv(folder / "final_eval.tsv", sep="\t") for folder in (run, reference)]
    pd.testing.assert_frame_equal(*finals)
    logs = [
        pd.read_csv(folder / "training_log.tsv", sep="\t").drop(columns=["seconds", "hours_trained"])
        for folder in (run, reference)
    ]
    pd.testing.assert_frame_equal(*logs)
    ours, theirs = (
        torch.load(f / "best-lm.pt", map_location="cpu", weights_only=False)["state_dict"] for f in (run, reference)
    )
    assert all(torch.equal(ours[name], theirs[name]) for name in theirs)


@pytest.mark.parametrize("call", [2, 3])  # 2: mid-epoch (after split 1 of 2); 3: at the epoch boundary
def test_lm_killed_and_resumed_is_exact(
    tmp_path: Path, tiny_lm_corpus: Path, uninterrupted_lm: Path, call: int
) -> None:
    out = tmp_path / "run"
    killed = train_lm_process(out, tiny_lm_corpus, stop=(call, signal.SIGKILL))
    assert killed.returncode == -signal.SIGKILL and not (out / "final_eval.tsv").exists()
    resumed = train_lm_process(out, tiny_lm_corpus)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_lm(out, uninterrupted_lm)
    log = pd.read_csv(uninterrupted_lm / "training_log.tsv", sep="\t")
    assert log[["epoch", "split"]].values.tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert log["learning_rate"].nunique() > 1  # patience 0 anneals: the scheduler's state matters


def test_lm_sigint_stops_without_final_evaluation(tmp_path: Path, tiny_lm_corpus: Path, uninterrupted_lm: Path) -> None:
    out = tmp_path / "run"
    stopped = train_lm_process(out, tiny_lm_corpus, stop=(3, signal.SIGINT))
    assert stopped.returncode == 130
    assert stopped.stderr.strip().splitlines()[-1] == (
        "flair-ner: interrupted after split 2 of epoch 1; run the same command to resume"
    )
    assert not (out / "final_eval.tsv").exists() and "TEST" not in (out / "loss.txt").read_text()
    assert train_lm_process(out, tiny_lm_corpus).returncode == 0
    assert_same_lm(out, uninterrupted_lm)

"""The quick profile of the experiment, end to end, as CI runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch

from flair_ner.data.cleanconll import REBUILT_SHA256
from flair_ner.data.registry import DATASETS

REPO = Path(__file__).resolve().parents[1]


def test_quick_profile_end_to_end(tmp_path: Path, mirror: Path) -> None:
    out = tmp_path / "quick"
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "experiments" / "conllpp.py"),
            "--config",
            str(REPO / "experiments" / "configs" / "quick.toml"),
            "--data-dir",
            str(tmp_path / "data"),
            "--mirror",
            str(mirror),
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in (
        "dataset_sizes.csv",
        "conll2003_vs_conllpp_test.csv",
        "best-model.pt",
        "loss.tsv",
        "training.log",
        "metrics.csv",
        "metrics.json",
        "predictions_conllpp.tsv",
        "predictions_conll2003.tsv",
        "predictions_cleanconll.tsv",
        "learning_curve.png",
        "per_type_f1.png",
        "entity_confusion_conllpp.png",
        "entity_confusion_conll2003.png",
        "entity_confusion_cleanconll.png",
        "epochs.csv",
        "manifest.json",
        "errors.html",
        "MODEL_CARD.md",
    ):
        assert (out / name).is_file(), name
    terminal = result.stdout + result.stderr
    epoch_line = next(line for line in terminal.splitlines() if "epoch 1/1: train loss" in line)
    assert (
        "dev P" in epoch_line
        and "token accuracy" in epoch_line
        and "min left" in epoch_line
        and "step 5/5" in result.stderr
    )
    training_log = (out / "training.log").read_text()
    assert "epoch 1/1: train loss" in training_log  # the same line in training.log
    # third-party noise stays out of the terminal (the model printouts stay in training.log)
    for noise in ("lifecycle event", "GradScaler", 'Model: "SequenceTagger', "SequenceTagger predicts", "0it ["):
        assert noise not in terminal, noise
    assert 'Model: "SequenceTagger' in training_log and "SequenceTagger predicts" in training_log
    # a completed run keeps the evaluated model only, with GloVe's frequent rows and the training words' rows
    assert not (out / "final-model.pt").exists() and not (out / "checkpoint.pt").exists()

    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["test_set"]) == {"conllpp", "conll2003", "cleanconll"}
    assert set(metrics["label"]) == {
        "PER",
        "LOC",
        "ORG",
        "MISC",
        "micro avg",
        "macro avg",
        "weighted avg",
        "token accuracy",
    }
    micro = metrics[metrics["label"] == "micro avg"].set_index("test_set")["f1"]
    assert (micro > 0.2).all(), micro  # one epoch on 1,000 sentences already finds entities
    assert len(pd.read_csv(out / "predictions_conll2003.tsv", sep="\t")["sentence"].unique()) == 300

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["max_epochs"] == 1 and manifest["seed"] == 1
    assert len(manifest["git_commit"].removesuffix("-dirty")) == 40
    on_gpu = torch.cuda.is_available()  # the kit trains on CUDA when there is one
    assert manifest["device"] == ("cuda" if on_gpu else "cpu") and manifest["storage_mode"] == (
        "gpu" if on_gpu else "cpu"
    )
    assert len(manifest["embeddings"]) == 3 and manifest["embeddings"][0].endswith("glove-6B-50d.kv")
    assert set(manifest["versions"]) >= {"python", "flair", "torch", "gensim", "pandas"}
    rows = manifest["model_rows"]["best-model.pt"]
    assert rows["of"] == 400_000 and 200_000 < rows["rows"] < 210_000
    assert manifest["model_files"] == {"best-model.pt": (out / "best-model.pt").stat().st_size}
    assert (out / "best-model.pt").stat().st_size < 70e6  # about 100 MB with all 400,000 rows
    assert len(manifest["epoch_seconds"]) == 1 and manifest["total_seconds"] > manifest["training_seconds"] > 0
    pinned = {f.sha256 for name in ("conllpp", "conll2003") for f in DATASETS[name].files}
    pinned |= set(REBUILT_SHA256.values())  # CleanCoNLL's test set is read from its rebuilt files
    assert set(manifest["data_sha256"].values()) == pinned
    assert manifest["micro_f1"]["conllpp"] == micro["conllpp"]

    # the model card: the run's own scores, data digests, the command that made it, and its limits
    card = (out / "MODEL_CARD.md").read_text()
    for test_set in ("conllpp", "conll2003", "cleanconll"):
        assert f"| {test_set} | **{100 * micro[test_set]:.2f}** |" in card
    assert all(digest in card for digest in pinned)
    assert (
        "    flair-ner run --config " in card
        and f"--config {REPO / 'experiments' / 'configs' / 'quick.toml'} --data-dir" in card
    )
    assert manifest["events"][0]["command"] in card and "## Intended use and limits" in card

"""Fine-tuning a transformer (method = "fine-tune"): the FLERT recipe end to end on a tiny slice, and exact resume."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import torch
from flair.data import Sentence
from flair.models import SequenceTagger
from helpers import train

from flair_ner.config.options import ExperimentConfig
from flair_ner.runs.checkpoint import CHECKPOINT, FORMAT, read_checkpoint_file


def fine_tune(out: Path, conllpp_slice: Path, stop: tuple[int, int, int] = (0, 0, 0)) -> subprocess.CompletedProcess:
    options = [
        "--method", "fine-tune", "--transformer", "minilm",
        "--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file", str(conllpp_slice / "conllpp_dev.txt"),
        "--test-file", str(conllpp_slice / "conllpp_test.txt"), "--train-limit", "96", "--eval-limit", "32",
        "--max-epochs", "3", "--mini-batch-size", "8", "--learning-rate", "5e-4",
        # fp32: on a Xeon with AMX (where amp is on by default) the bf16 kernels once gave an uninterrupted run
        # and a resumed one train losses 1e-4 apart in the resumed epoch (1 of 4 runs); exactness is tested in fp32
        "--no-amp",
    ]  # fmt: skip
    return train(out, options, stop)


@pytest.fixture(scope="module")
def finished(tmp_path_factory, conllpp_slice: Path) -> Path:
    out = tmp_path_factory.mktemp("fine-tune") / "run"
    result = fine_tune(out, conllpp_slice)
    assert result.returncode == 0, result.stderr[-3000:]
    return out


def test_method_decides_what_unset_options_mean() -> None:
    stack, tuned = ExperimentConfig(), ExperimentConfig(method="fine-tune")
    assert (stack.learning_rate, stack.mini_batch_size, stack.max_epochs, stack.use_crf) == (0.1, 32, 50, True)
    assert (tuned.learning_rate, tuned.mini_batch_size, tuned.max_epochs, tuned.use_crf) == (5e-5, 16, 10, False)
    assert (
        tuned.transformer == "minilm" and ExperimentConfig(method="fine-tune", learning_rate=1e-5).learning_rate == 1e-5
    )


def test_fine_tuning_trains_evaluates_and_saves_a_plain_flair_model(finished: Path) -> None:
    manifest = json.loads((finished / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["config"]["method"] == "fine-tune"
    assert manifest["storage_mode"] == "none" and manifest["precompute_seconds"] == 0
    metrics = pd.read_csv(finished / "metrics.csv")
    assert {"micro avg", "macro avg", "weighted avg", "token accuracy"} <= set(metrics["label"])
    tagger = SequenceTagger.load(finished / manifest["evaluated_model"])  # plain flair
    assert tagger.embeddings.fine_tune and not tagger.use_rnn and not tagger.use_crf
    sentence = Sentence("EU rejects German call to boycott British lamb .")
    tagger.predict(sentence)
    # the learning rate, after a warmup over 10 % of the 36 steps, falls linearly to 0 at the last step
    loss = pd.read_csv(finished / "loss.tsv", sep="\t")
    rates = loss["LEARNING_RATE"].tolist()
    epochs = pd.read_csv(finished / "epochs.csv")  # what a Hugging Face Trainer user reads per epoch
    assert (
        epochs["epoch"].tolist() == [1, 2, 3] and epochs["dev_f1"].round(4).tolist() == loss["DEV_F1"].round(4).tolist()
    )
    assert epochs["dev_token_accuracy"].between(0.5, 1).all() and (epochs["train_sentences_per_second"] > 0).all()
    after = epochs["learning_rate"].tolist()  # after each epoch's last step: past the warmup, decaying
    assert 5e-4 >= after[0] > after[1] > after[2] >= 0
    assert len(rates) == 3 and rates[0] > rates[1] > rates[2] == 0 and max(rates) <= 5e-4  # at the end of each epoch


def test_fine_tuning_resumes_exactly(tmp_path: Path, conllpp_slice: Path, finished: Path) -> None:
    out = tmp_path / "run"
    stopped = fine_tune(out, conllpp_slice, stop=(2, 3, signal.SIGINT))
    assert stopped.returncode == 130, stopped.stderr[-3000:]
    # the optimizer was torch's fused AdamW (fused_adamw's default), as its saved state says, and resumes as one
    saved = read_checkpoint_file(out / CHECKPOINT, FORMAT)["optimizer"]
    assert {group["fused"] for group in saved["param_groups"]} == {True}
    resumed = fine_tune(out, conllpp_slice)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert json.loads((out / "metrics.json").read_text()) == json.loads((finished / "metrics.json").read_text())
    columns = ["epoch", "learning_rate", "train_loss", "dev_loss", "dev_f1", "dev_token_accuracy"]
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "epochs.csv")[columns], pd.read_csv(finished / "epochs.csv")[columns]
    )
    model = json.loads((finished / "manifest.json").read_text())["evaluated_model"]
    a, b = torch.load(out / model, weights_only=False), torch.load(finished / model, weights_only=False)
    assert all(torch.equal(a["state_dict"][key], b["state_dict"][key]) for key in b["state_dict"])

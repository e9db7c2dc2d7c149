"""Sentence-weighted training: each training sentence's CRF loss times its weight (CrossWeigh's final training)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from flair.models import SequenceTagger

from flair_ner.cli.main import main
from flair_ner.data.corpus import load_sentences
from flair_ner.training.sentence_weights import WEIGHT_ATTRIBUTE, read_sentence_weights, weighted_forward_loss


@pytest.fixture(scope="module")
def tagger(tiny_run) -> SequenceTagger:
    model = SequenceTagger.load(tiny_run.final_model)
    model.eval()  # no dropout: the same batch gives the same loss
    return model


@pytest.fixture(scope="module")
def sentences(conllpp_slice: Path) -> list:
    return load_sentences(conllpp_slice / "conllpp_train.txt")[:12]


def loss(tagger: SequenceTagger, sentences: list, weights: list[float]) -> float:
    for sentence, weight in zip(sentences, weights):
        setattr(sentence, WEIGHT_ATTRIBUTE, weight)
    with torch.no_grad():
        return float(weighted_forward_loss(tagger, sentences)[0])


def test_weights_multiply_each_sentences_crf_loss(tagger: SequenceTagger, sentences: list) -> None:
    with torch.no_grad():
        plain = float(tagger.forward_loss(sentences)[0])
        without_first = float(tagger.forward_loss(sentences[1:])[0])
        first = float(tagger.forward_loss(sentences[:1])[0])
    assert loss(tagger, sentences, [1.0] * 12) == pytest.approx(plain, rel=1e-5)
    assert loss(tagger, sentences, [0.0] + [1.0] * 11) == pytest.approx(without_first, rel=1e-5)
    assert loss(tagger, sentences, [3.0] + [1.0] * 11) == pytest.approx(without_first + 3 * first, rel=1e-5)
    assert first > 0 and plain > without_first


def run(tmp_path: Path, conllpp_slice: Path, glove: Path, weights: Path, *extra: str) -> int:
    return main([
        "run", "--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file",
        str(conllpp_slice / "conllpp_dev.txt"), "--test-file", str(conllpp_slice / "conllpp_test.txt"),
        "--glove", str(glove), "--lms", "none", "--hidden-size", "8", "--max-epochs", "1", "--train-limit", "60",
        "--eval-limit", "20", "--sentence-weights", str(weights), "--output-dir", str(tmp_path / "run"), *extra,
    ])  # fmt: skip


def test_a_run_with_all_weights_zero_learns_nothing_and_saves_a_plain_model(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path
) -> None:
    weights = tmp_path / "weights.tsv"
    weights.write_text("sentence\tweight\n" + "".join(f"{i}\t0\n" for i in range(300)), encoding="utf-8")
    assert run(tmp_path, conllpp_slice, tiny_glove, weights) == 0
    out = tmp_path / "run"
    # every sentence weighs 0: the training loss is 0 (it is not when the weights are ignored)
    assert pd.read_csv(out / "epochs.csv")["train_loss"].tolist() == [0.0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["sentence_weights"] == str(weights) and str(weights) in manifest["data_sha256"]
    tagger = SequenceTagger.load(out / manifest["evaluated_model"])  # plain flair
    assert "forward_loss" not in vars(tagger) and tagger.use_crf


def test_a_bad_weights_file_is_one_line_before_training(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys
) -> None:
    weights = tmp_path / "weights.tsv"
    weights.write_text("sentence\tweight\n0\t0.5\n7\t-1\n", encoding="utf-8")
    assert run(tmp_path, conllpp_slice, tiny_glove, weights) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("weights.tsv:3: weight '-1' is not a finite number >= 0") and "\n" not in err
    assert not (tmp_path / "run" / "best-model.pt").exists() and not (tmp_path / "run" / "epochs.csv").exists()
    with pytest.raises(Exception, match=r"w.tsv:2: sentence 300 is not one of the training file's 300 sentences"):
        (tmp_path / "w.tsv").write_text("sentence\tweight\n300\t1\n", encoding="utf-8")
        read_sentence_weights(tmp_path / "w.tsv", 300)


def test_weights_need_a_crf_and_a_dev_file(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys) -> None:
    weights = tmp_path / "weights.tsv"
    weights.write_text("sentence\tweight\n", encoding="utf-8")
    assert run(tmp_path, conllpp_slice, tiny_glove, weights, "--no-use-crf") == 2
    assert "option 'sentence_weights' needs the CRF loss" in capsys.readouterr().err
    code = main(["run", "--train-file", str(conllpp_slice / "conllpp_train.txt"), "--sentence-weights", str(weights),
                 "--output-dir", str(tmp_path / "other")])  # fmt: skip
    assert code == 2 and "option 'sentence_weights' needs a dev_file" in capsys.readouterr().err

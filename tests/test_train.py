"""The trainer: outputs, storage mode, resume, and loading the model with plain flair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from flair_ner.config.options import TrainConfig
from flair_ner.runs.checkpoint import CHECKPOINT, load_state
from flair_ner.training.plugins import EpochProgressBarPlugin
from flair_ner.training.train import choose_storage_mode, train_tagger


def test_run_folder_has_models_and_logs(tiny_run) -> None:
    out = tiny_run.output_dir
    for name in ("final-model.pt", "loss.tsv", "training.log", CHECKPOINT):
        assert (out / name).is_file(), name
    assert len(pd.read_csv(out / "loss.tsv", sep="\t")) == 2
    on_gpu = torch.cuda.is_available()  # the kit trains on CUDA when there is one
    assert tiny_run.device == ("cuda" if on_gpu else "cpu") and tiny_run.storage_mode == ("gpu" if on_gpu else "cpu")
    assert len(tiny_run.epoch_seconds) == 2


@pytest.mark.parametrize(("cuda", "expected"), [(True, "gpu"), (False, "cpu")])
def test_storage_mode_follows_cuda(monkeypatch, cuda: bool, expected: str) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert choose_storage_mode() == expected
    assert choose_storage_mode("none") == "none"
    assert choose_storage_mode(None, device="cpu") == "cpu"


def test_invalid_storage_mode() -> None:
    with pytest.raises(ValueError, match="storage_mode must be one of none, cpu, gpu"):
        choose_storage_mode("disk")


def test_checkpoint_of_a_finished_run(tiny_run) -> None:
    state = load_state(tiny_run.output_dir / CHECKPOINT)
    assert state.epoch == 2 and state.finished
    assert state.config["hidden_size"] == 32 and state.config["max_epochs"] == 2
    assert len(state.epoch_seconds) == 2 and set(state.rng) >= {"python", "numpy", "torch"}
    assert state.optimizer["param_groups"][0]["lr"] == 0.1


def test_loss_file_keeps_only_checkpointed_epochs(tmp_path: Path) -> None:
    from flair_ner.training.train import trim_loss_file

    loss = tmp_path / "loss.tsv"
    loss.write_text("EPOCH\tDEV_F1\n1\t0.5\n2\t0.6\n3\t0.7\n")
    trim_loss_file(loss, 2)  # epoch 3's row was written, its checkpoint was not
    assert loss.read_text() == "EPOCH\tDEV_F1\n1\t0.5\n2\t0.6\n"
    trim_loss_file(loss, 0)
    assert not loss.exists()


def test_a_finished_checkpoint_trains_no_further(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    config = TrainConfig(glove=str(tiny_glove), lms="none", hidden_size=16, max_epochs=1, mini_batch_size=32)
    train_tagger(corpus, tmp_path, config)
    config.max_epochs = 3  # e.g. stopped on its minimum learning rate, then interrupted while evaluating
    result = train_tagger(corpus, tmp_path, config)
    assert result.resumed_from_epoch == 1 and result.epochs == 1
    assert pd.read_csv(tmp_path / "loss.tsv", sep="\t")["EPOCH"].tolist() == [1]


def test_model_loads_with_plain_flair_in_a_fresh_process(tiny_run) -> None:
    code = (
        "import sys\n"
        "from flair.data import Sentence\n"
        "from flair.models import SequenceTagger\n"
        f"tagger = SequenceTagger.load({str(tiny_run.final_model)!r})\n"
        "sentence = Sentence('EU rejects German call to boycott British lamb .')\n"
        "tagger.predict(sentence)\n"
        "assert 'flair_ner' not in sys.modules, 'flair_ner was imported'\n"
        "print(tagger.label_type, len(sentence), type(tagger.embeddings).__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1].split() == ["ner", "9", "StackedEmbeddings"]


def test_resume_keeps_a_better_best_model_from_before(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    config = TrainConfig(glove=str(tiny_glove), lms="none", hidden_size=32, max_epochs=3, mini_batch_size=8)
    train_tagger(corpus, tmp_path, config)
    assert pd.read_csv(tmp_path / "loss.tsv", sep="\t")["DEV_F1"].iloc[-1] > 0  # so flair would save a "best" model
    # pretend the run before the interruption had reached a dev F1 that the next epoch cannot beat
    state = load_state(tmp_path / CHECKPOINT)
    state.best_score, state.finished = 0.999, False
    state.save(tmp_path / CHECKPOINT)
    better = (tmp_path / "final-model.pt").read_bytes()  # a real model: flair loads best-model.pt for its test pass
    (tmp_path / "best-model.pt").write_bytes(better)
    config.max_epochs = 4
    train_tagger(corpus, tmp_path, config)
    assert pd.read_csv(tmp_path / "loss.tsv", sep="\t")["DEV_F1"].iloc[-1] > 0
    assert (tmp_path / "best-model.pt").read_bytes() == better
    assert load_state(tmp_path / CHECKPOINT).best_score == 0.999
    assert not list(tmp_path.glob(".best-model.pt*"))


def _pinned(sentences) -> int:
    """Stored token embeddings that keep a larger tensor alive."""
    return sum(
        1
        for sentence in sentences
        for token in sentence
        for vector in token.get_each_embedding()
        if vector.untyped_storage().nbytes() > vector.nbytes
    )


def test_compact_embeddings_frees_lm_batch_outputs(tiny_lms: dict[str, Path]) -> None:
    from flair.data import Sentence
    from flair.embeddings import FlairEmbeddings

    from flair_ner.training.speed import compact_embeddings

    sentences = [Sentence("EU rejects German call ."), Sentence("Peter Blackburn")]
    FlairEmbeddings(str(tiny_lms["forward"])).embed(sentences)
    before = [t.get_embedding().clone() for s in sentences for t in s]
    assert _pinned(sentences) == 7  # flair stores views into the LM's output for the batch
    assert compact_embeddings(sentences) == 7
    assert _pinned(sentences) == 0
    assert all((a == t.get_embedding()).all() for a, t in zip(before, [t for s in sentences for t in s]))


@pytest.mark.parametrize("precompute", [True, False])
def test_training_keeps_no_pinned_embeddings(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, tiny_lms, precompute: bool
) -> None:
    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    lms = f"{tiny_lms['forward']},{tiny_lms['backward']}"
    config = TrainConfig(glove=str(tiny_glove), lms=lms, hidden_size=16, max_epochs=1, precompute=precompute)
    train_tagger(corpus, tmp_path, config)
    assert sum(len(t.get_each_embedding()) for s in corpus.train for t in s) > 0  # embeddings are kept (storage cpu)
    assert _pinned(corpus.train) == 0 and _pinned(corpus.dev) == 0


def test_epoch_progress_bar_counts_the_epochs_batches(capsys) -> None:
    bar = EpochProgressBarPlugin(disable=False)
    for epoch in (1, 2):
        for batch_no in range(3):
            bar.before_training_batch(batch_no=batch_no, total_number_of_batches=3, epoch=epoch)
            bar.after_training_batch(batch_no=batch_no)
        assert (bar.bar.n, bar.bar.total) == (3, 3)
        bar.after_training_epoch(epoch=epoch)
        assert bar.bar is None  # closed (and cleared) after each epoch
    shown = capsys.readouterr().err
    assert "epoch 1:" in shown and "epoch 2:" in shown and "batches/s" in shown


def test_the_stack_can_take_the_linear_schedule(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    """schedule = "linear": SGD's learning rate falls linearly to 0 at max_epochs (no warmup here), step by step."""
    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    config = TrainConfig(glove=str(tiny_glove), lms="none", hidden_size=8, max_epochs=3, schedule="linear",
                         warmup_fraction=0.0)  # fmt: skip
    assert TrainConfig().schedule == "anneal" and TrainConfig(method="fine-tune").schedule == "linear"
    train_tagger(corpus, tmp_path, config)
    rates = pd.read_csv(tmp_path / "epochs.csv")["learning_rate"].tolist()
    # about 0.1 x (1 - 1/3, 2/3, 3/3); flair counts the steps in fractions of a batch, so the last is not exactly 0
    assert rates[0] > rates[1] > rates[2] and 0.06 < rates[0] < 0.075 and 0.03 < rates[1] < 0.04 and rates[2] < 0.005


def test_the_decoder_can_have_its_own_learning_rate(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    config = TrainConfig(glove=str(tiny_glove), lms="none", hidden_size=8, max_epochs=1, decoder_learning_rate=0.3)
    train_tagger(corpus, tmp_path, config)
    # flair puts the layers above the embeddings first, at their own rate (the embeddings keep learning_rate 0.1)
    assert pd.read_csv(tmp_path / "epochs.csv")["learning_rate"].tolist() == [0.3]


def test_the_dropouts_reach_the_tagger_and_its_saved_file(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path
) -> None:
    from flair.models import SequenceTagger

    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files
    from flair_ner.training.train import build_tagger

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    config = TrainConfig(glove=str(tiny_glove), lms="none", hidden_size=8, word_dropout=0.2, locked_dropout=0.3)
    tagger = build_tagger(corpus, config)
    tagger.save(tmp_path / "model.pt")
    for model in (tagger, SequenceTagger.load(tmp_path / "model.pt")):
        assert model.word_dropout.dropout_rate == 0.2 and model.locked_dropout.dropout_rate == 0.3
    default = build_tagger(corpus, TrainConfig(glove=str(tiny_glove), lms="none", hidden_size=8))
    assert default.word_dropout.dropout_rate == 0.05 and default.locked_dropout.dropout_rate == 0.5  # flair's


def test_the_learning_curve_reads_one_rate_per_parameter_group(tmp_path: Path) -> None:
    """With decoder_learning_rate flair writes "0.0112,0.0000" (decoder, embeddings) in loss.tsv's LEARNING_RATE;
    the curve reads the first and still marks a drop (a fine-tuned e5-small run failed on it at its very end)."""
    from flair_ner.evaluation.plots import plot_learning_curve

    loss = tmp_path / "loss.tsv"
    loss.write_text(
        "EPOCH\tTIMESTAMP\tLEARNING_RATE\tTRAIN_LOSS\tDEV_LOSS\tDEV_PRECISION\tDEV_RECALL\tDEV_F1\tDEV_ACCURACY\n"
        "1\t23:38:41\t0.0112,0.0000\t0.7164\t0.3363\t0.5096\t0.4544\t0.4804\t0.3637\n"
        "2\t00:00:53\t0.0001,0.0000\t0.3528\t0.2814\t0.5609\t0.5417\t0.5511\t0.4390\n",
        encoding="utf-8",
    )
    assert plot_learning_curve(loss, tmp_path / "curve.png").stat().st_size > 0

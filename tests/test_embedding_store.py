"""The embedding store: frozen vectors computed once (CrossWeigh's pool) and read back by runs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from flair_ner.data.corpus import iter_sentences, read_blocks, to_sentences
from flair_ner.data.registry import ColumnFormat
from flair_ner.errors import ConfigError, RunFolderError


@pytest.fixture(scope="module")
def stack(tiny_glove: Path, tiny_lms: dict[str, Path]):
    from flair_ner.embeddings.stacks import default_stack

    return default_stack("offline", str(tiny_glove), [str(tiny_lms["forward"]), str(tiny_lms["backward"])])


def _sentences(conllpp_slice: Path, count: int) -> list:
    blocks = iter_sentences(read_blocks(conllpp_slice / "conllpp_train.txt", ColumnFormat(tag_scheme="iob2")))
    return to_sentences(list(blocks)[:count])


def test_vectors_read_back_equal_the_stacks_part_by_part(stack, conllpp_slice: Path, tmp_path: Path) -> None:
    from flair_ner.embeddings.store import EmbeddingStore, build_store

    build_store(tmp_path / "store", stack, _sentences(conllpp_slice, 40), batch_size=16)
    with pytest.raises(RunFolderError, match="written once"):
        build_store(tmp_path / "store", stack, _sentences(conllpp_slice, 2))
    store = EmbeddingStore.open(tmp_path / "store", stack)
    assert json.loads((tmp_path / "store" / "index.json").read_text(encoding="utf-8"))["build_seconds"] > 0
    read, direct = _sentences(conllpp_slice, 50), _sentences(conllpp_slice, 50)
    missing = store.load_into(read)
    assert missing == read[40:]  # the ten it was not built with
    stack.embed(direct[:40])
    for ours, theirs in zip(read[:40], direct[:40]):
        for a, b in zip(ours, theirs):
            for name in stack.get_names():  # each part under its own name (flair concatenates by name order)
                assert np.allclose(a.get_embedding([name]).numpy(), b.get_embedding([name]).numpy(), atol=1e-5)
    # flair's embed then fills in only what is missing
    stack.embed(read)
    assert all(len(token.get_embedding()) == stack.embedding_length for sentence in read for token in sentence)


def test_a_store_of_another_stack_is_refused(stack, tiny_glove: Path, conllpp_slice: Path, tmp_path: Path) -> None:
    from flair_ner.embeddings.stacks import default_stack
    from flair_ner.embeddings.store import EmbeddingStore, build_store

    build_store(tmp_path / "store", stack, _sentences(conllpp_slice, 5))
    with pytest.raises(ConfigError, match="was computed with the stack"):
        EmbeddingStore.open(tmp_path / "store", default_stack("offline", str(tiny_glove), []))
    with pytest.raises(ConfigError, match="holds no embedding store"):
        EmbeddingStore.open(tmp_path, stack)


def test_a_run_takes_its_training_vectors_from_the_store(
    stack, conllpp_slice: Path, tiny_glove: Path, tiny_lms: dict[str, Path], tmp_path: Path, caplog
) -> None:
    from flair_ner.cli.main import main
    from flair_ner.embeddings.store import build_store, sentence_key

    train = _sentences(conllpp_slice, 300)
    build_store(tmp_path / "store", stack, train[:200])
    caplog.set_level(logging.INFO, logger="flair_ner")
    options = ["--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file",
               str(conllpp_slice / "conllpp_dev.txt"), "--glove", str(tiny_glove), "--lms",
               f"{tiny_lms['forward']},{tiny_lms['backward']}", "--hidden-size", "8", "--max-epochs", "1",
               "--embedding-store", str(tmp_path / "store"), "--output-dir", str(tmp_path / "run")]  # fmt: skip
    assert main(["run", *options]) == 0
    stored = {sentence_key([token.text for token in sentence]) for sentence in train[:200]}
    dev = to_sentences(list(iter_sentences(read_blocks(conllpp_slice / "conllpp_dev.txt", ColumnFormat()))))
    for name, split in (("train", train), ("dev", dev)):
        found = sum(sentence_key([token.text for token in sentence]) in stored for sentence in split)
        assert f"{found} of {len(split)} {name} sentences from the embedding store" in caplog.text
    assert found < 80  # dev is mostly computed by the run
    assert main(["run", *options[:-4], "--embedding-store", str(tmp_path), "--output-dir", str(tmp_path / "r2")]) == 2

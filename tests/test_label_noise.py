"""Answer keys for label-noise detection (CoNLL++'s corrections, CleanCoNLL's changes) and detection scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flair_ner.data.corpus import Block, registered_sentences
from flair_ner.data.registry import Span
from flair_ner.evaluation.label_noise import (
    AnswerKey,
    cleanconll_changes,
    cleanlab_flags,
    conllpp_corrections,
    detection_scores,
)


def _sentences(name: str, split: str, mirror: Path, cache: Path) -> list[Block]:
    return registered_sentences(name, split, cache, mirror)


def _block(text: str, *spans: Span) -> Block:
    tokens = text.split()
    return Block(tokens, ["O"] * len(tokens), 1, spans=list(spans))


def test_conllpp_corrected_186_test_sentences(mirror: Path, tmp_path: Path) -> None:
    original = _sentences("conll2003", "test", mirror, tmp_path)
    key = conllpp_corrections(original, _sentences("conllpp", "test", mirror, tmp_path))
    assert len(key.changed) == 186 and len(key.universe) == 3453 and key.unaligned == 0
    with pytest.raises(ValueError, match="different sentences"):
        conllpp_corrections(original, original[1:] + original[:1])


def test_cleanconll_changes_are_aligned_by_tokens(mirror: Path, tmp_path: Path) -> None:
    original = _sentences("conll2003", "test", mirror, tmp_path)
    key = cleanconll_changes(original, _sentences("cleanconll", "test", mirror, tmp_path), "cleanconll-test")
    # "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .": CleanCoNLL tags both national teams ORG
    assert original[0].tokens[2] == "JAPAN" and 0 in key.changed
    assert 1 in key.universe and 1 not in key.changed  # "Nadim Ladki": PER in both
    assert len(key.universe) + key.unaligned == len(original) == 3453
    assert (len(key.changed), key.unaligned) == (441, 86)  # measured on the pinned files
    assert key.changed <= key.universe


def test_a_re_split_sentence_is_unaligned_and_the_rest_still_pair() -> None:
    conll = [_block("A b c", Span("PER", 0, 1)), _block("D e . F g"), _block("H i", Span("LOC", 0, 1))]
    clean = [_block("A b c", Span("ORG", 0, 1)), _block("D e ."), _block("F g"), _block("H i", Span("LOC", 0, 1))]
    key = cleanconll_changes(conll, clean, "toy")
    assert key.changed == {0} and key.universe == {0, 2} and key.unaligned == 1


def test_detection_scores_count_only_judged_sentences() -> None:
    key = AnswerKey("toy", frozenset({1, 2, 3, 4}), frozenset(range(10)))
    scores = detection_scores([1, 2, 5, 42], key)  # 42 is outside the key's universe: not judged
    assert (scores["flagged"], scores["correct"], scores["changed"]) == (3, 2, 4)
    assert scores["precision"] == pytest.approx(2 / 3) and scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert detection_scores([], key)["f1"] == 0.0


def test_cleanlab_flags_the_token_the_models_confidently_tag_otherwise() -> None:
    from flair_ner.data.registry import bioes_tags

    tags = ["O", "S-PER", "B-PER", "E-PER", "S-LOC"]  # no S-ORG column: the given S-ORG gets zeros
    sentences = [_block("Ann saw Rome today", Span("PER", 0, 1), Span("LOC", 2, 3)) for _ in range(30)]
    sentences += [_block("Ann Lee left", Span("PER", 0, 2)) for _ in range(30)]
    sentences[7] = _block("Ann saw Rome today", Span("PER", 0, 1), Span("PER", 2, 3))  # Rome given as a person
    sentences[40] = _block("Ann Lee left", Span("PER", 0, 2), Span("LOC", 2, 3))  # "left" given as a place
    for number in (50, 51, 52):  # and as an ORG, a tag no model knows
        sentences[number] = _block("Ann Lee left", Span("PER", 0, 2), Span("ORG", 2, 3))

    def confident(tokens_tags: list[str]) -> np.ndarray:
        table = np.full((len(tokens_tags), len(tags)), 0.01)
        for position, tag in enumerate(tokens_tags):
            table[position, tags.index(tag)] = 0.96
        return table

    # the models' view: the usual tags; for sentence 7 and 40 what the others hold (Rome a place, "left" no entity)
    truth = {7: [Span("PER", 0, 1), Span("LOC", 2, 3)], **{n: [Span("PER", 0, 2)] for n in (40, 50, 51, 52)}}
    probabilities = [confident(bioes_tags(len(s.tokens), truth.get(i, s.spans))) for i, s in enumerate(sentences)]
    flagged = cleanlab_flags(sentences, probabilities, tags)
    assert {7: [2], 40: [2]}.items() <= flagged.items() and set(flagged) <= {7, 40, 50, 51, 52}
    # cleanlab leaves every given tag at least one example (min_examples_per_class): 2 of the 3 S-ORG sentences
    assert len(set(flagged) & {50, 51, 52}) == 2 and all(flagged[n] == [2] for n in set(flagged) & {50, 51, 52})
    # agreeing probabilities flag nothing
    agreeing = [confident(bioes_tags(len(s.tokens), s.spans)) for s in sentences[:7] + sentences[8:40]]
    assert cleanlab_flags(sentences[:7] + sentences[8:40], agreeing, tags) == {}
    with pytest.raises(ValueError, match="for a sentence of 4 tokens"):
        cleanlab_flags(sentences[:1], [np.ones((3, len(tags)))], tags)

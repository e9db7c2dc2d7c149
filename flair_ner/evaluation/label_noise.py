"""Scoring a label-noise detector against answer keys: the sentences a careful relabelling changed.

CoNLL-2003 has two such keys here, both from the mirror's files:

- :func:`conllpp_corrections`: the CoNLL-2003 **test** sentences whose entity spans CoNLL++ corrected (the two
  releases hold the same sentences, so they pair by position; 186, as the CrossWeigh authors state).
- :func:`cleanconll_changes`: the CoNLL-2003 dev or test sentences whose entity spans CleanCoNLL changed.
  CleanCoNLL patched some tokens and re-split a few sentences, so the two are aligned by their token
  sequences (difflib, in file order); a sentence that pairs with none is *unaligned* and left out of the key's
  universe (its count is reported).

Sentences are numbered as the kit reads them (:func:`~flair_ner.data.corpus.iter_sentences`: file order,
document markers left out), the numbering of CrossWeigh's ``test_disagreements.tsv`` and of the dev sentences
in its ``mistakes.tsv`` (``number_in_split``). :func:`detection_scores` gives a detector's precision, recall
and F1 against a key. Kept free of flair and torch.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Sequence

from flair_ner.data.corpus import Block


@dataclass(frozen=True)
class AnswerKey:
    """The sentences a relabelling changed, among the sentences it can judge.

    Args:
        name: what the key is, for tables (``conllpp-test``, ``cleanconll-dev``, ...).
        changed: numbers of the sentences whose entity spans the relabelling changed.
        universe: numbers of the sentences the key judges (changed or confirmed).
        unaligned: sentences left out because they pair with no sentence of the relabelled file.
    """

    name: str
    changed: frozenset[int]
    universe: frozenset[int]
    unaligned: int = 0


def _differs(a: Block, b: Block) -> bool:
    return set(a.spans) != set(b.spans)


def conllpp_corrections(conll2003_test: Sequence[Block], conllpp_test: Sequence[Block]) -> AnswerKey:
    """The CoNLL-2003 test sentences CoNLL++ corrected (both lists: sentences, markers left out).

    Raises:
        ValueError: the two lists do not hold the same sentences (not the same releases).
    """
    if [s.tokens for s in conll2003_test] != [s.tokens for s in conllpp_test]:
        raise ValueError("CoNLL-2003 and CoNLL++ test hold different sentences: not the releases this key is for")
    changed = frozenset(i for i, (a, b) in enumerate(zip(conll2003_test, conllpp_test)) if _differs(a, b))
    return AnswerKey("conllpp-test", changed, frozenset(range(len(conll2003_test))))


def cleanconll_changes(conll2003: Sequence[Block], cleanconll: Sequence[Block], name: str) -> AnswerKey:
    """The sentences of a CoNLL-2003 split whose entity spans CleanCoNLL's same split changed, aligned by tokens."""
    matcher = difflib.SequenceMatcher(
        None, [tuple(s.tokens) for s in conll2003], [tuple(s.tokens) for s in cleanconll], autojunk=False
    )
    changed, universe = set(), set()
    for tag, start, end, other_start, _ in matcher.get_opcodes():
        if tag != "equal":
            continue
        for offset in range(end - start):
            universe.add(start + offset)
            if _differs(conll2003[start + offset], cleanconll[other_start + offset]):
                changed.add(start + offset)
    return AnswerKey(name, frozenset(changed), frozenset(universe), len(conll2003) - len(universe))


def detection_scores(flagged: Iterable[int], key: AnswerKey) -> dict[str, float]:
    """Precision, recall and F1 of the sentences a detector flagged, against ``key`` (flags outside the key's
    universe, i.e. unaligned sentences, do not count either way)."""
    judged = set(flagged) & key.universe
    hits = len(judged & key.changed)
    precision = hits / len(judged) if judged else 0.0
    recall = hits / len(key.changed) if key.changed else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "flagged": len(judged),
        "correct": hits,
        "changed": len(key.changed),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }

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
and F1 against a key. :func:`cleanlab_flags` is the other detector the kit runs beside CrossWeigh: cleanlab's
token-classification filter over out-of-sample tag probabilities. Kept free of flair and torch.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from flair_ner.data.corpus import Block
from flair_ner.data.registry import bioes_tags


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


def cleanlab_flags(
    sentences: Sequence[Block], probabilities: Sequence[np.ndarray], tags: Sequence[str]
) -> dict[int, list[int]]:
    """The sentences cleanlab's token-classification filter (``find_label_issues``, self-confidence ranking) finds
    label issues in: sentence number -> the positions of its flagged tokens.

    Args:
        sentences: the sentences with their given spans (compared as BIOES tags, the taggers' scheme).
        probabilities: per sentence a (tokens x ``len(tags)``) array of out-of-sample tag probabilities.
        tags: the columns' tags; a given tag none of them names gets a column of zeros. Rows are renormalised
            to sum to 1 (the tagger's ``<START>``/``<STOP>`` columns were dropped).
    """
    from cleanlab.token_classification.filter import find_label_issues

    given = [bioes_tags(len(sentence.tokens), sentence.spans) for sentence in sentences]
    columns = list(tags) + sorted({tag for row in given for tag in row} - set(tags))
    number = {tag: index for index, tag in enumerate(columns)}
    labels = [[number[tag] for tag in row] for row in given]
    pred_probs = []
    for sentence, table in zip(sentences, probabilities):
        if table.shape != (len(sentence.tokens), len(tags)):
            raise ValueError(f"probabilities of shape {table.shape} for a sentence of {len(sentence.tokens)} tokens")
        full = np.zeros((len(sentence.tokens), len(columns)))
        full[:, : len(tags)] = table
        totals = full.sum(axis=1, keepdims=True)
        pred_probs.append(np.where(totals > 0, full / np.where(totals > 0, totals, 1), 1 / len(columns)))
    with warnings.catch_warnings():
        # a rare tag (e.g. S-MISC of a small pool) draws "may not flag all label issues in class ...": expected
        warnings.filterwarnings("ignore", message="May not flag all label issues")
        issues = find_label_issues(labels, pred_probs, n_jobs=1)
    flagged: dict[int, list[int]] = {}
    for sentence, token in issues:
        flagged.setdefault(int(sentence), []).append(int(token))
    return {sentence: sorted(tokens) for sentence, tokens in sorted(flagged.items())}

"""Sentence-weighted training: each training sentence's CRF loss multiplied by its weight (CrossWeigh's last step).

flair 0.15's CRF loss (``ViterbiLoss``) is summed over a batch, so a weight per sentence needs the loss per
sentence: :func:`viterbi_losses` computes flair's Viterbi loss sentence by sentence (the same arithmetic: the
log partition function minus the gold path's score), and :func:`weighted` makes a tagger use
``sum(weight * loss)`` while it trains. Only the tagger *instance* is patched, and only its ``forward_loss``
method, which is not part of what flair saves: the saved model is a plain ``SequenceTagger``.

Weights file (``sentence_weights = "path"``): tab-separated with a header line ``sentence<TAB>weight``; each
row is the 0-based number of a sentence in the training file (document markers not counted) and its weight, a
finite number >= 0. Sentences without a row weigh 1.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Iterator, Union

import flair
import torch
from flair.data import Sentence
from flair.models import SequenceTagger

from flair_ner.errors import ConfigError, DataFileError

WEIGHT_ATTRIBUTE = "flair_ner_weight"  # set on each training Sentence that has a weight
HEADER = ("sentence", "weight")


def read_sentence_weights(path: Union[str, Path], sentences: int) -> dict[int, float]:
    """The weights file as sentence number -> weight, checked line by line.

    Args:
        path: the weights file.
        sentences: how many sentences the training file has (a row beyond them is an error).

    Raises:
        DataFileError: ``file:line`` and what was expected, for the first bad line.
    """
    weights: dict[int, float] = {}
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != HEADER:
        raise DataFileError(f"{path}:1: expected the header 'sentence<TAB>weight'")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            index, weight = int(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            raise DataFileError(f"{path}:{number}: expected 'sentence number<TAB>weight', got {line!r}") from None
        if len(parts) != 2 or not 0 <= index < sentences:
            raise DataFileError(
                f"{path}:{number}: sentence {index} is not one of the training file's {sentences} sentences (0-based)"
                if len(parts) == 2
                else f"{path}:{number}: expected two columns, got {len(parts)}"
            )
        if not math.isfinite(weight) or weight < 0:
            raise DataFileError(f"{path}:{number}: weight {parts[1]!r} is not a finite number >= 0")
        if index in weights:
            raise DataFileError(f"{path}:{number}: sentence {index} has a weight already")
        weights[index] = weight
    return weights


def attach_weights(train_sentences, weights: dict[int, float]) -> int:
    """Put each weight on its training Sentence (by position); returns how many sentences weigh other than 1."""
    for index, sentence in enumerate(train_sentences):
        setattr(sentence, WEIGHT_ATTRIBUTE, weights.get(index, 1.0))
    return sum(1 for weight in weights.values() if weight != 1.0)


def viterbi_losses(tagger: SequenceTagger, scores: tuple, gold_labels: torch.Tensor) -> torch.Tensor:
    """flair's Viterbi loss of each sentence of a batch (sorted longest first, as ``forward_loss`` sorts them):
    ``[batch]``, whose sum is what ``tagger.loss_function(scores, gold_labels)`` returns."""
    loss = tagger.loss_function
    features, lengths, transitions = scores
    batch_size, seq_len = features.size(0), features.size(1)
    targets, indices = loss._format_targets(gold_labels, lengths)
    indices = torch.tensor(indices, dtype=torch.long, device=flair.device).unsqueeze(2)
    at_targets = torch.gather(features.view(batch_size, seq_len, -1), 2, indices).squeeze(2)
    inside = (
        torch.arange(seq_len, device=flair.device)[None, :] < torch.as_tensor(lengths, device=flair.device)[:, None]
    )
    to_stop = transitions[loss.stop_tag, [target[length - 1] for target, length in zip(targets, lengths)]]
    gold = (at_targets * inside).sum(dim=1) + to_stop
    upto = torch.zeros(batch_size, loss.tagset_size, device=flair.device, dtype=features.dtype)
    for t in range(int(max(lengths))):
        active = int(sum(int(length) > t for length in lengths))  # the batch is sorted longest first
        if t == 0:
            upto[:active] = upto[:active] + features[:active, t, :, loss.start_tag]
        else:
            upto[:active] = loss._log_sum_exp(features[:active, t, :, :] + upto[:active].unsqueeze(1), dim=2)
    return loss._log_sum_exp(upto + transitions[loss.stop_tag].unsqueeze(0), dim=1) - gold


def weighted_forward_loss(tagger: SequenceTagger, sentences: list[Sentence]) -> tuple[torch.Tensor, int]:
    """``tagger.forward_loss`` with each sentence's loss times its weight (:data:`WEIGHT_ATTRIBUTE`, default 1)."""
    if not sentences:
        return torch.tensor(0.0, dtype=torch.float, device=flair.device, requires_grad=True), 0
    sentences = sorted(sentences, key=len, reverse=True)  # as flair's forward_loss
    gold_labels = tagger._prepare_label_tensor(sentences)
    sentence_tensor, lengths = tagger._prepare_tensors(sentences)
    scores = tagger.forward(sentence_tensor, lengths)
    if gold_labels.size(0) == 0:
        return tagger._calculate_loss(scores, gold_labels)
    weights = torch.tensor([getattr(s, WEIGHT_ATTRIBUTE, 1.0) for s in sentences], device=flair.device)
    return (weights * viterbi_losses(tagger, scores, gold_labels)).sum(), len(gold_labels)


def check_weighted_tagger(tagger: SequenceTagger) -> None:
    """Sentence weights need the CRF loss: a tagger without a CRF is refused."""
    if not tagger.use_crf:
        raise ConfigError("option 'sentence_weights' needs the CRF loss: use_crf = true (method = stack)")


@contextlib.contextmanager
def weighted(tagger: SequenceTagger) -> Iterator[SequenceTagger]:
    """While inside, ``tagger`` trains with :func:`weighted_forward_loss`; afterwards it is as it was."""
    check_weighted_tagger(tagger)
    tagger.forward_loss = lambda sentences: weighted_forward_loss(tagger, sentences)
    try:
        yield tagger
    finally:
        del tagger.forward_loss  # the class's method again

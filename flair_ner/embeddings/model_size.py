"""Small model files: a saved tagger keeps only the word-embedding rows it needs.

A tagger over GloVe 6B carries all 400,000 rows (80 MB of the 103 MB file at
50 dimensions), although it only ever looks up the words of the text it tags.
GloVe's rows are in frequency order, so the first N rows cover most running
text; adding every row that a training word resolves to keeps everything the
model was trained on. Any other word then resolves as flair resolves an
unknown word (its lower-cased and digit-normalised forms are tried against the
kept rows, else the zero ``<unk>`` row). ``benchmarks/model_size.py`` measures
what N costs in F1.

Only flair's own ``WordEmbeddings`` class is used, so a trimmed model still
loads with plain ``SequenceTagger.load``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

import torch
from flair.embeddings import WordEmbeddings
from flair.models import SequenceTagger
from torch import nn

from flair_ner.embeddings.stacks import stack_members
from flair_ner.files import atomic_path

log = logging.getLogger(__name__)


@dataclass
class TrimReport:
    """What trimming did to one word-embedding table."""

    name: str
    rows_before: int
    rows_after: int


def word_embeddings(tagger: SequenceTagger) -> list[WordEmbeddings]:
    """The tagger's frozen flair ``WordEmbeddings`` (GloVe and the like; fine-tuned tables are left alone)."""
    return [
        part for part in stack_members(tagger.embeddings) if isinstance(part, WordEmbeddings) and not part.fine_tune
    ]


def trim_word_embeddings(tagger: SequenceTagger, vocabulary: Iterable[str], top_rows: int) -> list[TrimReport]:
    """Keep in each of the tagger's word-embedding tables its first ``top_rows`` rows plus every row a word of
    ``vocabulary`` resolves to (flair's lookup: the word, lower-cased, digits as ``#``, digits as ``0``).

    Row order, the kept vectors and the ``<unk>`` row are unchanged, so trimming twice with the same arguments
    changes nothing, and every word of ``vocabulary`` gets exactly the vector it had.

    Args:
        tagger: a flair ``SequenceTagger``; changed in place.
        vocabulary: the words that must keep their rows (the training tokens).
        top_rows: how many of the most frequent rows (the first ones) to keep; 0 keeps every row.
    """
    words = set(vocabulary)
    reports = []
    for table in word_embeddings(tagger):
        rows = len(table.vocab)
        if top_rows <= 0 or top_rows >= rows:
            reports.append(TrimReport(table.name, rows, rows))
            continue
        keep = set(range(top_rows))
        keep.update(index for index in map(table.get_cached_token_index, words) if index < rows)
        order = sorted(keep)
        by_index = {index: word for word, index in table.vocab.items()}
        weights = table.embedding.weight.data
        kept = torch.cat([weights[order], weights[rows:]])  # the <unk> row stays last
        table.vocab = {by_index[index]: new for new, index in enumerate(order)}
        table.embedding = nn.Embedding.from_pretrained(kept.clone(), freeze=True)
        # flair memoises word -> row per instance (instance_lru_cache); those rows are the old ones
        table.__dict__.pop("get_cached_token_index", None)
        reports.append(TrimReport(table.name, rows, len(order)))
    return reports


def trim_model_file(path: Union[str, Path], vocabulary: Iterable[str], top_rows: int) -> list[TrimReport]:
    """:func:`trim_word_embeddings` on a saved model, rewritten in place (atomically); a model without word
    embeddings, or with nothing to trim, is left as it is."""
    path = Path(path)
    tagger = SequenceTagger.load(path)
    reports = trim_word_embeddings(tagger, vocabulary, top_rows)
    if any(report.rows_after < report.rows_before for report in reports):
        with atomic_path(path) as temporary:
            tagger.save(temporary)
    for report in reports:
        log.info("%s: %s keeps %d of %d rows", path.name, report.name, report.rows_after, report.rows_before)
    return reports

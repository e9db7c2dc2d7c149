"""``flair-ner benchmark speed``: words per second of an engine on a user's own input, as ``spacy benchmark
speed`` reports it (the mean over batches with a 95 % bootstrap interval), and the peak memory.

The input is read as ``predict`` reads it (text, JSONL or CoNLL) and cut into the same sentences; the sentences
are tagged in batches of ``--batch-size`` (sorted by length, as the engines sort them); one warm-up batch is
tagged first and not counted. Each batch's words per second is one sample. A model whose character LMs read whole
documents (``lm_context = "document"``) is timed as ``predict`` runs it: each batch is whole documents in input
order (as many as fit in ``--batch-size`` sentences; a longer document is a batch of its own), so that the LMs
read the text they read in use.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from flair_ner.errors import PredictInputError
from flair_ner.runs.manifest import peak_rss_mb

BOOTSTRAP_SAMPLES = 2000


@dataclass
class SpeedReport:
    """What ``benchmark speed`` measured."""

    engine: str
    sentences: int
    words: int
    batches: int
    grouping: str
    words_per_second: float
    low: float
    high: float
    seconds: float
    peak_rss_mb: float

    def render(self) -> str:
        return (f"{self.engine}: {self.words_per_second:,.0f} words/s (95 % interval {self.low:,.0f}-{self.high:,.0f}, "
                f"{self.batches} batches of {self.grouping}), {self.sentences} sentences / {self.words} words in {self.seconds:.1f} s, "
                f"peak memory {self.peak_rss_mb:,.0f} MB")  # fmt: skip


def document_batches(
    sentences: Sequence[list[str]], documents: Sequence[int], batch_size: int
) -> list[tuple[list[list[str]], list[int]]]:
    """Whole documents in input order, as many to a batch as fit in ``batch_size`` sentences (a longer document is
    a batch of its own); each batch is its sentences and their document numbers."""
    batches: list[tuple[list[list[str]], list[int]]] = []
    # consecutive sentences with one number are a document, which is what groupby groups
    for number, document in itertools.groupby(zip(sentences, documents), key=lambda pair: pair[1]):
        whole = [tokens for tokens, _ in document if tokens]
        if not whole:
            continue
        if batches and len(batches[-1][0]) + len(whole) <= batch_size:
            batches[-1][0].extend(whole)
            batches[-1][1].extend([number] * len(whole))
        else:
            batches.append((whole, [number] * len(whole)))
    return batches


def measure(
    engine,
    name: str,
    sentences: Sequence[list[str]],
    batch_size: int,
    seed: int = 0,
    documents: Optional[Sequence[int]] = None,
) -> SpeedReport:
    """Tag ``sentences`` batch by batch with ``engine``; words/s per batch, their mean and bootstrap interval.

    Args:
        engine: a :class:`~flair_ner.predict.records.Engine`.
        name: the engine's name in the report.
        sentences: token lists.
        batch_size: sentences per batch.
        seed: the bootstrap's.
        documents: each sentence's document number; read only when the engine's LMs read documents
            (``engine.lm_context == "document"``): batches are then whole documents (:func:`document_batches`).
    """
    if documents is not None and getattr(engine, "lm_context", "sentence") == "document":
        batches, grouping = document_batches(sentences, documents, batch_size), "whole documents"
    else:
        ordered = sorted((s for s in sentences if s), key=lambda tokens: len(" ".join(tokens)))
        batches = [(ordered[start : start + batch_size], None) for start in range(0, len(ordered), batch_size)]
        grouping = "sentences by length"
    if not batches:
        raise PredictInputError("the input holds no sentence to time")
    engine.tag(*batches[len(batches) // 2])  # warm-up: first-call allocations, not counted
    rates, total = [], 0.0
    for batch, numbers in batches:
        started = time.perf_counter()
        engine.tag(batch, numbers)
        seconds = time.perf_counter() - started
        total += seconds
        rates.append(sum(map(len, batch)) / max(seconds, 1e-9))
    samples = np.asarray(rates)
    draws = np.random.default_rng(seed).integers(0, len(samples), size=(BOOTSTRAP_SAMPLES, len(samples)))
    low, high = np.percentile(samples[draws].mean(axis=1), [2.5, 97.5])
    timed = [tokens for batch, _ in batches for tokens in batch]
    return SpeedReport(name, len(timed), sum(map(len, timed)), len(batches), grouping, float(samples.mean()),
                       float(low), float(high), total, peak_rss_mb())  # fmt: skip

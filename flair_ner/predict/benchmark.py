"""``flair-ner benchmark speed``: words per second of an engine on a user's own input, as ``spacy benchmark
speed`` reports it (the mean over batches with a 95 % bootstrap interval), and the peak memory.

The input is read as ``predict`` reads it (text, JSONL or CoNLL) and cut into the same sentences; the sentences
are tagged in batches of ``--batch-size`` (sorted by length, as the engines sort them); one warm-up batch is
tagged first and not counted. Each batch's words per second is one sample.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

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
    words_per_second: float
    low: float
    high: float
    seconds: float
    peak_rss_mb: float

    def render(self) -> str:
        return (f"{self.engine}: {self.words_per_second:,.0f} words/s (95 % interval {self.low:,.0f}-{self.high:,.0f}, "
                f"{self.batches} batches), {self.sentences} sentences / {self.words} words in {self.seconds:.1f} s, "
                f"peak memory {self.peak_rss_mb:,.0f} MB")  # fmt: skip


def measure(engine, name: str, sentences: Sequence[list[str]], batch_size: int, seed: int = 0) -> SpeedReport:
    """Tag ``sentences`` batch by batch with ``engine``; words/s per batch, their mean and bootstrap interval."""
    ordered = sorted((s for s in sentences if s), key=lambda tokens: len(" ".join(tokens)))
    batches = [ordered[start : start + batch_size] for start in range(0, len(ordered), batch_size)]
    if not batches:
        raise PredictInputError("the input holds no sentence to time")
    engine.tag(batches[len(batches) // 2])  # warm-up: first-call allocations, not counted
    rates, total = [], 0.0
    for batch in batches:
        started = time.perf_counter()
        engine.tag(batch)
        seconds = time.perf_counter() - started
        total += seconds
        rates.append(sum(map(len, batch)) / max(seconds, 1e-9))
    samples = np.asarray(rates)
    draws = np.random.default_rng(seed).integers(0, len(samples), size=(BOOTSTRAP_SAMPLES, len(samples)))
    low, high = np.percentile(samples[draws].mean(axis=1), [2.5, 97.5])
    return SpeedReport(name, len(ordered), sum(map(len, ordered)), len(batches), float(samples.mean()), float(low),
                       float(high), total, peak_rss_mb())  # fmt: skip

"""Frozen token vectors computed once and read by many runs: an embedding store.

CrossWeigh's k x t fold runs train on overlapping parts of one pool; with a frozen stack (GloVe and the
character LMs are not fine-tuned) every fold would compute the same vectors again. The store holds each
sentence's vectors once, keyed by its token sequence; a run given ``embedding_store`` takes the vectors of its
training and dev sentences from it (embedding only what the store lacks), so a fold costs only its BiLSTM-CRF.
The test sets are still embedded by the evaluated model itself: the kept model file trims its word-vector rows
(``glove_rows``), and the scores are those of the file that is kept.

A store is a folder: ``vectors.npy`` (float32, one row per token, all sentences one after another; each row the
stack's vectors side by side, in the stack's order) and ``index.json`` (the stack's embedding names and
lengths, per sentence key its first row and token count, and the seconds the build took). It is written whole or
not at all. Vectors are computed in length-sorted batches, as
:func:`~flair_ner.training.speed.precompute_embeddings` does; a run that computes them itself batches its own
sentences, so the two agree up to floating-point rounding.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from flair_ner.errors import ConfigError, RunFolderError
from flair_ner.files import atomic_folder

log = logging.getLogger(__name__)

VECTORS, INDEX = "vectors.npy", "index.json"


def sentence_key(tokens: Sequence[str]) -> str:
    """A sentence's key in a store: the SHA-1 of its tokens (a sentence that occurs twice is stored once)."""
    return hashlib.sha1("\n".join(tokens).encode("utf-8")).hexdigest()


def stack_parts(embeddings) -> list[tuple[str, int]]:
    """(name, length) of each embedding in a stack, in the stack's order (what a token's vector is made of)."""
    from flair_ner.embeddings.stacks import stack_members

    return [(part.name, part.embedding_length) for part in stack_members(embeddings)]


def build_store(folder: Path, embeddings, sentences: list, batch_size: int = 64) -> Path:
    """Embed ``sentences`` (flair Sentences) with the frozen stack ``embeddings`` and write the store ``folder``.

    Each batch's vectors are copied into the store's array and dropped from the sentences, so memory holds one
    batch of vectors at a time.

    Raises:
        RunFolderError: ``folder`` exists already.
    """
    import torch

    folder = Path(folder)
    if folder.exists():
        raise RunFolderError(f"{folder}: exists already; an embedding store is written once")
    parts = stack_parts(embeddings)
    unique: dict[str, object] = {}
    for sentence in sentences:
        unique.setdefault(sentence_key([token.text for token in sentence]), sentence)
    pending = sorted(unique.items(), key=lambda item: len(item[1].to_tokenized_string()))
    rows, start = {}, 0
    for key, sentence in pending:
        rows[key] = [start, len(sentence)]
        start += len(sentence)
    width = sum(length for _, length in parts)
    started = time.monotonic()
    with atomic_folder(folder) as staging:
        vectors = np.lib.format.open_memmap(staging / VECTORS, mode="w+", dtype=np.float32, shape=(start, width))
        with torch.no_grad(), tqdm(total=len(pending), desc="embedding store", unit=" sentences", disable=None) as bar:
            for first in range(0, len(pending), batch_size):
                batch = pending[first : first + batch_size]
                embeddings.embed([sentence for _, sentence in batch])
                for key, sentence in batch:
                    row, length = rows[key]
                    # part by part in the stack's order (flair's get_embedding concatenates in name order)
                    block = torch.cat(
                        [torch.stack([token.get_embedding([name]) for token in sentence]) for name, _ in parts], dim=1
                    )
                    vectors[row : row + length] = block.cpu().numpy()
                    sentence.clear_embeddings()
                bar.update(len(batch))
        vectors.flush()
        del vectors
        # the build time is what a user weighs against computing the vectors in every run (CrossWeigh's report)
        seconds = round(time.monotonic() - started, 3)
        index = {"parts": [list(part) for part in parts], "sentences": rows, "build_seconds": seconds}
        (staging / INDEX).write_text(json.dumps(index), encoding="utf-8")
    log.info("embedding store %s: %d sentences, %d tokens in %.0f s", folder, len(rows), start, seconds)
    return folder


@dataclass
class EmbeddingStore:
    """A store opened for reading (see the module docstring).

    Args:
        folder: the store's folder.
        parts: (name, length) of each embedding in the stack it was computed with.
        rows: per sentence key, its first row and token count.
        vectors: the array (memory-mapped).
    """

    folder: Path
    parts: list[tuple[str, int]]
    rows: dict[str, list[int]]
    vectors: np.ndarray

    @classmethod
    def open(cls, folder: Path, embeddings) -> "EmbeddingStore":
        """Open ``folder`` for a run whose frozen stack is ``embeddings``.

        Raises:
            ConfigError: no store there, or one computed with another stack (other names or lengths).
        """
        folder = Path(folder)
        if not (folder / INDEX).is_file():
            raise ConfigError(f"embedding_store: {folder} holds no embedding store ({INDEX} is missing)")
        index = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        parts = [(name, length) for name, length in index["parts"]]
        if parts != stack_parts(embeddings):
            raise ConfigError(
                f"embedding_store: {folder} was computed with the stack {parts}, this run's is {stack_parts(embeddings)}"
            )
        return cls(folder, parts, index["sentences"], np.load(folder / VECTORS, mmap_mode="r"))

    def load_into(self, sentences: Sequence) -> list:
        """Give every sentence the store holds its vectors (each embedding under its own name, as flair stores
        them); returns the sentences it does not hold."""
        import flair
        import torch

        missing = []
        for sentence in sentences:
            found = self.rows.get(sentence_key([token.text for token in sentence]))
            if found is None or found[1] != len(sentence):
                missing.append(sentence)
                continue
            block = torch.from_numpy(np.array(self.vectors[found[0] : found[0] + found[1]])).to(flair.device)
            for position, token in enumerate(sentence):
                offset = 0
                for name, length in self.parts:
                    token.set_embedding(name, block[position, offset : offset + length])
                    offset += length
        return missing

"""CPU speed levers for training, each a flair-native mechanism (see benchmarks/README.md for what each buys).

- :func:`precompute_embeddings`: the stacked embeddings are frozen (GloVe and
  the Flair LMs are not fine-tuned), so every token's vector is computed once,
  before the first epoch, in length-sorted batches, and kept in memory;
  flair's trainer then skips the embedding pass (its ``embed`` only fills in
  what is missing).
- :class:`LengthBucketSampler`: a flair ``FlairSampler`` whose mini-batches
  hold sentences of similar length. The BiLSTM and the CRF step through every
  position up to the longest sentence of a batch; with random batches most of
  those steps run on a few long sentences.
- :func:`dev_in_length_order`: the same for flair's dev evaluation, which cuts
  the dev split into consecutive batches (in document order, CoNLL++ dev pads
  to 2.96x its tokens; sorted, 1.08x).
- :func:`amp_supported`: whether mixed precision (flair's ``use_amp``:
  bfloat16 autocast on the CPU) pays off on this machine.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Iterable, Iterator

import torch
from flair.samplers import FlairSampler
from tqdm import tqdm
from flair_ner.errors import ConfigError

log = logging.getLogger(__name__)


class LengthBucketSampler(FlairSampler):
    """Mini-batches of sentences of similar length, in random order.

    Each epoch, sentences are sorted by length with multiplicative noise (so
    that batches differ between epochs, as AllenNLP's bucket iterator does),
    cut into batches of ``batch_size``, and the full batches are shuffled. The
    one partial batch goes last: flair's ``DataLoader`` cuts the sampler's
    order into consecutive chunks of ``batch_size``, so a partial batch in the
    middle would shift every later batch. Uses Python's ``random``, which
    ``flair.set_seed`` seeds.

    Args:
        batch_size: the trainer's ``mini_batch_size`` (must match it).
        noise: relative noise on lengths when sorting; 0 sorts exactly.
    """

    def __init__(self, batch_size: int, noise: float = 0.1) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
        self.batch_size = batch_size
        self.noise = noise
        self.lengths: list[int] = []

    def __reduce__(self):
        # flair puts the trainer's arguments, this sampler included, into every saved model's card. Pickled
        # as its description (a plain string), the model neither drags the corpus along nor needs
        # flair_ner to be loaded by plain flair.
        return (str, (repr(self),))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_size={self.batch_size}, noise={self.noise})"

    def set_dataset(self, data_source) -> None:
        super().set_dataset(data_source)
        self.lengths = [len(sentence) for sentence in data_source]

    def batches(self) -> list[list[int]]:
        """This epoch's batches, as lists of dataset indices."""
        keys = [length * (1.0 + random.uniform(-self.noise, self.noise)) for length in self.lengths]
        order = sorted(range(len(keys)), key=keys.__getitem__)
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        partial = batches.pop() if batches and len(batches[-1]) < self.batch_size else None
        random.shuffle(batches)
        return batches + ([partial] if partial else [])

    def __iter__(self) -> Iterator[int]:
        return (index for batch in self.batches() for index in batch)


def dev_in_length_order(corpus):
    """The corpus with its dev split sorted by sentence length (a new flair ``Corpus``; the sentences are shared).

    flair's evaluation batches the dev split in its stored order, so each batch
    pads to its longest sentence; in length order the padding nearly vanishes.
    Scores do not depend on the order; ``dev.tsv`` is then written in length order.
    """
    from flair.data import Corpus
    from torch.utils.data import Subset

    if corpus.dev is None:
        return corpus
    order = sorted(range(len(corpus.dev)), key=lambda index: len(corpus.dev[index]))
    return Corpus(corpus.train, Subset(corpus.dev, order), corpus.test, name=corpus.name, sample_missing_splits=False)


def all_static(embeddings) -> bool:
    """True when no embedding in the stack is trained (so its vectors can be computed once)."""
    from flair_ner.embeddings.stacks import stack_members

    return all(getattr(part, "static_embeddings", False) for part in stack_members(embeddings))


def compact_embeddings(sentences) -> int:
    """Give every stored token embedding its own memory; returns how many were copied.

    flair's ``FlairEmbeddings`` store each token's vector as a view into the LM's
    output for the whole batch (characters x sentences x hidden), and
    ``store_embeddings(..., "cpu")`` does not copy on the CPU, so every batch's
    full LM output stays alive: on CoNLL++ with two hidden-512 LMs that was
    18.5 GB of resident memory instead of about 1 GB.
    """
    copied = 0
    for sentence in sentences:
        for token in sentence:
            for name in list(token._embeddings):  # flair has no public iterator over named embeddings
                vector = token.get_embedding([name])
                if vector.untyped_storage().nbytes() > vector.nbytes:
                    token.set_embedding(name, vector.clone())
                    copied += 1
    return copied


def precompute_embeddings(embeddings, sentences: Iterable, batch_size: int = 64, what: str = "sentences") -> float:
    """Embed every sentence once, in batches of similar character length, and keep the vectors; returns seconds.

    Sorting by character length keeps the LM's padding small. Vectors are
    compacted (:func:`compact_embeddings`) so they do not pin the LM's batch
    output. Sentences that already hold all vectors are skipped by flair.

    Args:
        embeddings: the tagger's (static) stacked embeddings.
        sentences: flair sentences (a dataset or a list).
        batch_size: sentences per LM batch.
        what: what the progress bar calls the sentences.
    """
    started = time.monotonic()
    pending = sorted(sentences, key=lambda sentence: len(sentence.to_tokenized_string()))
    # a bar with rate and time left in a terminal; tqdm stays silent when stderr is not one (logs, CI)
    with torch.no_grad(), tqdm(total=len(pending), desc=f"embedding {what}", unit=" sentences", disable=None) as bar:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            embeddings.embed(batch)
            compact_embeddings(batch)
            bar.update(len(batch))
    seconds = time.monotonic() - started
    log.info("precomputed embeddings of %d %s in %.0f s", len(pending), what, seconds)
    return seconds


def amp_supported(device: str = "cpu") -> bool:
    """Mixed precision helps on CUDA and on CPUs with native bfloat16 (AVX512_BF16 or AMX); elsewhere it is emulated."""
    if device.startswith("cuda"):
        return True
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())

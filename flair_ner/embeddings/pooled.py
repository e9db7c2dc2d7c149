"""Static pooled Flair embeddings: per word, one Flair LM's vectors pooled over the word's training occurrences.

flair's ``PooledFlairEmbeddings`` (Akbik et al., NAACL 2019) keep a memory of every contextual vector an LM has
produced for a word string and add its pooling (min, max or mean) to the token's own vector; the memory grows as
sentences are embedded, in training and in prediction, so a vector depends on everything read before and on
the order, and nothing can be computed once. Here the memory is built in one pass over the training split and
frozen into an ordinary word-vector table (a gensim ``KeyedVectors`` file, read by flair's ``WordEmbeddings``)
that sits in the stack beside the LMs: precomputed like every other frozen part, the same in every epoch and
in prediction, and the saved model is a plain ``SequenceTagger``. A word the training text lacks gets flair's
unknown-word vector (zeros), where flair's memory would hold its own current vector.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

POOLINGS = ("min", "max", "mean")
BATCH_SENTENCES = 64  # sentences per LM batch (sentence context)
BATCH_DOCUMENTS = 50  # documents per step (document context): bounds the vectors held at once


def pooled_table(lm, sentences: Sequence, pooling: str, path: Path, lm_context: str = "sentence") -> Path:
    """Embed ``sentences`` with the Flair LM ``lm``, pool each word string's vectors and write the table.

    Args:
        lm: a flair ``FlairEmbeddings``.
        sentences: flair Sentences (the training split); their vectors are dropped again.
        pooling: ``min``, ``max`` or ``mean``, per dimension over the word's occurrences.
        path: the gensim ``KeyedVectors`` file to write (one pickle, written whole or not at all).
        lm_context: ``sentence`` or ``document`` (:mod:`flair_ner.embeddings.lm_context`), as the run reads.
    """
    import numpy as np
    import torch
    from gensim.models import KeyedVectors

    from flair_ner.embeddings.lm_context import documents_of, embed_in_documents
    from flair_ner.files import atomic_path

    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, not {pooling!r}")
    started = time.monotonic()
    sentences = list(sentences)  # a flair dataset or a list
    pooled: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    if lm_context == "document":
        # whole documents are read, but only the given sentences' words are pooled (a held-out dev sentence of
        # a training document is context, not memory)
        given = {id(sentence) for sentence in sentences}
        documents = documents_of(sentences)
        groups = [[s for d in documents[i : i + BATCH_DOCUMENTS] for s in d if id(s) in given]
                  for i in range(0, len(documents), BATCH_DOCUMENTS)]  # fmt: skip
    else:
        groups = [list(sentences[i : i + BATCH_SENTENCES]) for i in range(0, len(sentences), BATCH_SENTENCES)]
    with torch.no_grad():
        for group in groups:
            if lm_context == "document":
                embed_in_documents(lm, group)
            else:
                lm.embed(group)
            for sentence in group:
                for token in sentence:
                    vector = token.get_embedding([lm.name]).detach().cpu()
                    seen = pooled.get(token.text)
                    if seen is None:
                        pooled[token.text] = vector.clone()
                    elif pooling == "min":
                        torch.minimum(seen, vector, out=seen)
                    elif pooling == "max":
                        torch.maximum(seen, vector, out=seen)
                    else:
                        seen += vector
                    counts[token.text] = counts.get(token.text, 0) + 1
                sentence.clear_embeddings([lm.name])
    words = sorted(pooled)
    vectors = np.stack([pooled[word].numpy() for word in words]).astype(np.float32)
    if pooling == "mean":
        vectors /= np.array([counts[word] for word in words], dtype=np.float32)[:, None]
    table = KeyedVectors(vector_size=vectors.shape[1])
    table.add_vectors(words, vectors)
    with atomic_path(path) as temporary:
        table.save(str(temporary), separately=[])  # one file: the vectors inside the pickle
    log.info("pooled %s of %s: %d words from %d sentences in %.0f s -> %s", pooling, lm.name, len(words),
             len(sentences), time.monotonic() - started, path)  # fmt: skip
    return Path(path)

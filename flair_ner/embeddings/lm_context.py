"""Document context for the character LMs: each LM reads a sentence inside its whole document.

flair's ``FlairEmbeddings`` run the LM over one sentence at a time (a start marker, the sentence's tokens
joined by spaces, an end marker), so a token's vector knows nothing of the sentences around it. CoNLL text comes
in documents (``-DOCSTART-``), and a name's earlier mention ("Lindsay Lohan" before "Lohan") is what tells
its type. With ``lm_context = "document"`` the kit runs each LM over the whole document instead — the
document's tokens joined by spaces, as one long flair ``Sentence`` through the same ``FlairEmbeddings`` — and
gives every token of every sentence its vector from there: the forward LM has read everything before the
token, the backward LM everything after it. Every character is read once either way, so this costs about
what the sentence-level pass costs.

The vectors are stored on the sentences' tokens under each LM's own name, as flair would store them, so
flair's ``embed`` then computes only the rest of the stack, and the saved model is a plain ``SequenceTagger``
(it embeds sentence by sentence when used without the kit; ``flair-ner predict --document`` gives it the
context it was trained with). Documents are the chains of linked sentences
:func:`~flair_ner.data.corpus.to_sentences` makes from the document markers.
"""

from __future__ import annotations

import logging
import time
from typing import Sequence

log = logging.getLogger(__name__)

LM_CONTEXTS = ("sentence", "document")
# characters (padded) per batch of documents: bounds the LM's output tensor (characters x documents x hidden)
BATCH_CHARACTERS = 200_000


def documents_of(sentences: Sequence) -> list[list]:
    """The documents the ``sentences`` belong to (whole documents, their other sentences included), each a list
    of sentences in order; a sentence without neighbours is a document of its own."""
    documents, seen = [], set()
    for sentence in sentences:
        if id(sentence) in seen:
            continue
        first = sentence
        while first.previous_sentence() is not None:
            first = first.previous_sentence()
        document, current = [], first
        while current is not None:
            document.append(current)
            seen.add(id(current))
            current = current.next_sentence()
        documents.append(document)
    return documents


def context_lms(embeddings) -> list:
    """The frozen Flair LMs of a stack (the parts document context applies to)."""
    from flair.embeddings import FlairEmbeddings

    from flair_ner.embeddings.stacks import stack_members

    return [part for part in stack_members(embeddings) if isinstance(part, FlairEmbeddings) and not part.fine_tune]


def embed_in_documents(embeddings, sentences: Sequence, batch_characters: int = BATCH_CHARACTERS) -> float:
    """Give the tokens of ``sentences`` (and of the rest of their documents) the vectors of the stack's Flair LMs,
    each LM reading the whole document; returns seconds. A document whose tokens all hold an LM's vector already
    is not read again by that LM."""
    import torch
    from flair.data import Sentence

    started = time.monotonic()
    lms = context_lms(embeddings)
    documents = documents_of(sentences)
    for lm in lms:
        pending = [d for d in documents if any(lm.name not in token._embeddings for s in d for token in s)]
        pending.sort(key=lambda document: sum(len(s.to_tokenized_string()) + 1 for s in document))
        batch: list[list] = []
        for document in pending + [None]:
            length = sum(len(s.to_tokenized_string()) + 1 for s in document) if document else 0
            if batch and (document is None or length * (len(batch) + 1) > batch_characters):
                joined = [Sentence([token.text for s in d for token in s]) for d in batch]
                with torch.no_grad():
                    lm.embed(joined)
                for d, whole in zip(batch, joined):
                    tokens = iter(whole)
                    for s in d:
                        for token in s:
                            # a copy: flair's vectors are views into the LM's output for the whole batch
                            token.set_embedding(lm.name, next(tokens).get_embedding([lm.name]).clone())
                batch = []
            if document is not None:
                batch.append(document)
    seconds = time.monotonic() - started
    log.info("document context: %d documents through %d LMs in %.0f s", len(documents), len(lms), seconds)
    return seconds

"""Sentences and tokens of raw text with exact character offsets into that text.

flair's ``SegtokSentenceSplitter`` and ``SegtokTokenizer`` give token strings
but no trustworthy positions: flair re-joins the tokens, so offsets count in
the re-tokenised text, not in the input (a whitespace run, a tab or a token
segtok splits shift every later offset). Here the same segtok sentences and
tokens are aligned back to the input string, so that for every token
``text[start:end]`` is the token as it appears in the input.

Alignment is exact or falls back, never guesses: a token is found where the
text continues (after whitespace), or, when segtok joined pieces across
whitespace, as the same characters with whitespace between them. A sentence
whose tokens cannot be aligned (segtok changed characters) is tokenised at
whitespace instead, which is always exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Sequence

from segtok.segmenter import split_multi, split_single
from segtok.tokenizer import split_contractions, word_tokenizer

# Sentences longer than this are cut into chunks that are tagged separately and joined: the
# character LMs and the BiLSTM were trained on sentences of at most 124 tokens (CoNLL++), and a
# batch is padded to its longest sentence, so one huge "sentence" (a table, a log line) would
# cost the whole batch. Chunks are cut at token boundaries; an entity that crosses a cut comes
# back as two entities.
MAX_SENTENCE_TOKENS = 250
MAX_SENTENCE_CHARS = 2000
_NON_SPACE = re.compile(r"\S+")


@dataclass(frozen=True)
class TokenSpan:
    """A token (as the tagger sees it) and where it is in the text.

    ``text[start:end]`` is the token as written there: the same characters, and, where segtok joined
    pieces across whitespace into one token, that whitespace too.
    """

    text: str
    start: int
    end: int


def _match(token: str, text: str, position: int) -> int:
    """End of ``token`` in ``text`` from ``position`` (whitespace in the text between its characters allowed), or -1."""
    if text.startswith(token, position):
        return position + len(token)
    characters = [c for c in token if not c.isspace()]
    for character in characters:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text) or text[position] != character:
            return -1
        position += 1
    return position if characters else -1


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _align(tokens: Sequence[str], text: str, position: int) -> list[TokenSpan] | None:
    spans = []
    for token in tokens:
        start = _skip_space(text, position)
        end = _match(token, text, start)
        if end < 0:
            return None
        spans.append(TokenSpan(token, start, end))
        position = end
    return spans


def whitespace_tokens(text: str, start: int = 0, end: int | None = None) -> list[TokenSpan]:
    """Tokens split at whitespace, with exact offsets (the fallback when segtok's tokens do not align)."""
    return [
        TokenSpan(m.group(), m.start(), m.end())
        for m in _NON_SPACE.finditer(text, start, len(text) if end is None else end)
    ]


def segtok_tokens(text: str) -> list[str]:
    """flair 0.15.1's ``SegtokTokenizer.run_tokenize``, line for line, without importing flair (and torch): the
    ONNX runtime tokenises with it too, so both engines see the same tokens (tests/test_predict.py compares them)."""
    words: list[str] = []
    for sentence in split_single(text):
        words.extend(split_contractions(word_tokenizer(sentence)))
    return [word for word in words if word]


def segment(text: str) -> list[list[TokenSpan]]:
    """Split ``text`` into sentences of tokens (segtok, as flair), each token with its offsets into ``text``.

    Long sentences are cut into chunks (see :data:`MAX_SENTENCE_TOKENS`). Whitespace-only text has no sentences.
    """
    sentences: list[list[TokenSpan]] = []
    position = 0
    for sentence in split_multi(text):
        # segtok can leave characters Python counts as whitespace (U+001F, U+0085) at a token's edge
        tokens = [token.strip() for token in segtok_tokens(sentence) if token.strip()]
        if not tokens:
            continue
        spans = _align(tokens, text, position)
        if spans is None:
            # segtok changed characters: tokenise this sentence's stretch of text at whitespace
            found = text.find(sentence, position)
            stop = found + len(sentence) if found >= 0 else None
            spans = whitespace_tokens(text, position, stop)
            if found < 0:  # not even the sentence is in the text as such: the rest becomes one sentence
                sentences.extend(chunks(spans))
                return sentences
        if spans:
            sentences.extend(chunks(spans))
            position = spans[-1].end
    rest = whitespace_tokens(text, position)  # anything segtok left out (it should not) is not lost
    if rest:
        sentences.extend(chunks(rest))
    return sentences


def token_list_spans(tokens: Sequence[str]) -> list[TokenSpan]:
    """Offsets for pre-tokenised input: into the tokens joined by single spaces."""
    spans, position = [], 0
    for token in tokens:
        spans.append(TokenSpan(token, position, position + len(token)))
        position += len(token) + 1
    return spans


def chunks(
    tokens: list[TokenSpan], max_tokens: int = MAX_SENTENCE_TOKENS, max_chars: int = MAX_SENTENCE_CHARS
) -> Iterator[list[TokenSpan]]:
    """``tokens`` in pieces of at most ``max_tokens`` tokens and ``max_chars`` characters (a longer token stays whole)."""
    piece: list[TokenSpan] = []
    characters = 0
    for token in tokens:
        if piece and (len(piece) >= max_tokens or characters + len(token.text) > max_chars):
            yield piece
            piece, characters = [], 0
        piece.append(token)
        characters += len(token.text) + 1
    if piece:
        yield piece

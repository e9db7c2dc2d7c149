"""The ONNX engine: tags with a folder written by ``flair-ner export``, needing only onnxruntime, numpy and segtok.

It does what flair's ``SequenceTagger.predict`` does for the kit's stacks, step by step: each character LM
reads ``"\\n" + sentence + " "`` (reversed for a backward LM) and each word's vector is the LM's state at the
whitespace after it (flair's ``FlairEmbeddings`` offsets); each word gets its GloVe row by flair's
``WordEmbeddings`` lookup; the tagger graph gives emission scores; flair's Viterbi (with its confidences: the
largest softmax of the Viterbi scores per token) and its BIOES span decoding run in numpy. No torch, flair or
pandas is imported here or by :mod:`flair_ner.predict.records`, which reads and writes the records.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from flair_ner.errors import KitError
from flair_ner.predict.records import PredictedSpan

# An export folder's files, written by flair_ner.predict.export (which takes the names from here)
EXPORT_JSON = "export.json"
TAGGER_ONNX = "tagger.onnx"
WORDS_JSON = "words.json"
LM_ONNX = "lm_{}.onnx"
FORMAT_VERSION = 1
DEFAULT_BATCH_SIZE = 64


class OnnxModelError(KitError):
    """An export folder that cannot be used: missing, incomplete, corrupt or of another format version."""


def _session(path: Path, threads: Optional[int]):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for any unreadable graph
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise OnnxModelError(f"{path}: not a usable ONNX graph ({first[:200]})") from None


def word_row(vocab: dict[str, int], word: str) -> int:
    """flair's ``WordEmbeddings.get_cached_token_index``: the form, lower-cased, digits as ``#``, as ``0``, else unknown."""
    if word in vocab:
        return vocab[word]
    lower = word.lower()
    if lower in vocab:
        return vocab[lower]
    hashed = re.sub(r"\d", "#", lower)
    if hashed in vocab:
        return vocab[hashed]
    zeroed = re.sub(r"\d", "0", lower)
    if zeroed in vocab:
        return vocab[zeroed]
    return len(vocab)


def spans_from_bioes(tags: list[str], scores: list[float]) -> list[PredictedSpan]:
    """flair's ``get_spans_from_bio`` (flair 0.15.1, flair/data.py), line for line: each span with the mean of
    its tokens' scores and the type its tags weigh most (a span-opening tag 1.1, the others 1)."""
    tags = tags + ["O"]  # closes the last span
    found = []
    weights: dict[str, float] = {}
    previous = "O-"
    span: list[int] = []
    span_scores: list[float] = []
    for index, tag in enumerate(tags):
        if tag in ("", "O", "_"):
            tag = "O-"
        in_span = tag != "O-"
        starts = tag[:2] in {"B-", "S-"} or (
            in_span and previous[2:] != tag[2:] and (tag[:2] == "I-" or previous[2:] == "S-")
        )
        if (starts or not in_span) and span:
            value = max(weights.keys(), key=weights.__getitem__)
            found.append(PredictedSpan(span[0], span[-1] + 1, value, sum(span_scores) / len(span_scores)))
            span, span_scores, weights = [], [], {}
        if in_span:
            span.append(index)
            span_scores.append(scores[index] if scores else 1.0)
            weights[tag[2:]] = weights.setdefault(tag[2:], 0.0) + (1.1 if starts else 1.0)
        previous = tag
    return found


def viterbi(
    emissions: np.ndarray, lengths: np.ndarray, transitions: np.ndarray, start: int, stop: int
) -> tuple[list, list]:
    """flair's ``ViterbiDecoder.decode`` for a batch: each sentence's best tag path and each token's confidence
    (the largest softmax of its Viterbi scores, as flair computes it).

    Args:
        emissions: [B, T, tags] emission scores (padding after each sentence's length).
        lengths: [B] sentence lengths.
        transitions: [tags, tags], ``transitions[to, from]`` (flair's CRF layout).
    """
    batch, steps, _ = emissions.shape
    scores = np.empty_like(emissions)
    backpointers = np.zeros(emissions.shape, dtype=np.int64)
    scores[:, 0] = emissions[:, 0] + transitions[:, start][None, :]
    for t in range(1, steps):  # a padded step computes garbage that no path below reads
        candidates = emissions[:, t][:, :, None] + transitions[None] + scores[:, t - 1][:, None, :]
        backpointers[:, t] = candidates.argmax(axis=2)
        scores[:, t] = candidates.max(axis=2)
    shifted = np.exp(scores - scores.max(axis=2, keepdims=True))
    confidences = (shifted / shifted.sum(axis=2, keepdims=True)).max(axis=2)
    paths, confidence = [], []
    for b in range(batch):
        length = int(lengths[b])
        tag = int((scores[b, length - 1] + transitions[stop]).argmax())
        path = [tag]
        for t in range(length - 1, 0, -1):
            tag = int(backpointers[b, t, tag])
            path.append(tag)
        paths.append(path[::-1])
        confidence.append(confidences[b, :length].tolist())
    return paths, confidence


class OnnxEngine:
    """An exported tagger behind :class:`flair_ner.predict.records.Engine`.

    Args:
        folder: what ``flair-ner export`` wrote.
        mini_batch_size: sentences per batch (cut by character length, as the torch engine cuts them); 64 was
            the fastest of 32 and 64 on the shipped model here (benchmarks/README.md).
        threads: the threads to use (default: ``$FLAIR_NER_ONNX_THREADS``, else every core): the LMs share them,
            running side by side, and the tagger graph uses them all.
    """

    def __init__(
        self, folder: Union[str, Path], mini_batch_size: int = DEFAULT_BATCH_SIZE, threads: Optional[int] = None
    ) -> None:
        folder = Path(folder)
        description_path = folder / EXPORT_JSON
        if not description_path.is_file():
            raise OnnxModelError(f"{folder}: no {EXPORT_JSON}; expected a folder written by flair-ner export")
        try:
            self.description = json.loads(description_path.read_text(encoding="utf-8"))
            version = self.description["format_version"]
        except (ValueError, KeyError, UnicodeDecodeError) as error:
            raise OnnxModelError(f"{description_path}: not an export description ({error})") from None
        if version != FORMAT_VERSION:
            raise OnnxModelError(f"{description_path}: format version {version}; this runtime reads {FORMAT_VERSION}")
        for name in [TAGGER_ONNX, WORDS_JSON] + [LM_ONNX.format(i) for i in range(len(self.description["lms"]))]:
            if not (folder / name).is_file():
                raise OnnxModelError(f"{folder}: {name} is missing; export the model again")
        self.folder = folder
        self.mini_batch_size = mini_batch_size
        threads = threads or int(os.environ.get("FLAIR_NER_ONNX_THREADS") or os.cpu_count() or 1)
        lm_count = len(self.description["lms"])
        lm_threads = max(1, threads // max(1, lm_count))  # the LMs share the threads, running side by side
        self.vocab: dict[str, int] = json.loads((folder / WORDS_JSON).read_text(encoding="utf-8"))
        self.lms = [(lm, {c: i for i, c in enumerate(lm["characters"])}, _session(folder / LM_ONNX.format(i), lm_threads))
                    for i, lm in enumerate(self.description["lms"])]  # fmt: skip
        # character -> id for code points below 4096 as one array; rarer ones through the dictionary
        self.character_tables = []
        for lm, characters, _ in self.lms:
            table = np.full(4097, lm["unknown"] if lm["unknown"] is not None else -1, dtype=np.int64)
            for character, index in characters.items():
                if len(character) == 1 and ord(character) < 4096:
                    table[ord(character)] = index
            self.character_tables.append(table)
        self.pool = ThreadPoolExecutor(max_workers=max(1, min(lm_count, threads)))
        self.tagger = _session(folder / TAGGER_ONNX, threads)
        self.tags = self.description["tags"]
        self.transitions = np.array(self.description["transitions"], dtype=np.float32)

    @property
    def types(self) -> list[str]:
        return sorted({tag[2:] for tag in self.tags if tag[:2] in ("B-", "I-", "E-", "S-")})

    def _character_ids(self, index: int, texts: Sequence[str]) -> np.ndarray:
        """[T, B] character ids of the padded strings (the padding character is the space, as flair pads)."""
        lm, table = self.description["lms"][index], self.character_tables[index]
        longest = max(len(text) for text in texts)
        points = np.full((len(texts), longest), ord(" "), dtype=np.int64)
        for row, text in enumerate(texts):
            points[row, : len(text)] = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = table[np.minimum(points, len(table) - 1)]
        if (points >= len(table) - 1).any():  # code points beyond the table: looked up one by one
            characters = self.lms[index][1]
            for row, column in zip(*np.nonzero(points >= len(table) - 1)):
                ids[row, column] = characters.get(
                    chr(points[row, column]), lm["unknown"] if lm["unknown"] is not None else -1
                )
        if (ids < 0).any():
            row, column = (int(x[0]) for x in np.nonzero(ids < 0))
            raise OnnxModelError(
                f"character {texts[row][column]!r} is not in the LM's dictionary (which has no unknown entry)"
            )
        return np.ascontiguousarray(ids.T)

    def _lm_vectors(self, index: int, sentences: Sequence[list[str]]) -> np.ndarray:
        """[B, T, H] token vectors of one LM, as flair's FlairEmbeddings cuts them out of the LM's states: the
        state at the whitespace after each token (forward), or before it in the reversed string (backward)."""
        lm, _, session = self.lms[index]
        texts = [" ".join(tokens) for tokens in sentences]
        if lm["is_lower"]:
            texts = [text.lower() for text in texts]
        start, end = lm["start_marker"], lm["end_marker"]
        padded = [start + (text if lm["forward"] else text[::-1]) + end for text in texts]
        states = session.run(None, {"chars": self._character_ids(index, padded)})[0]  # [T, B, H]
        longest = max(len(tokens) for tokens in sentences)
        rows = np.zeros((len(sentences), longest), dtype=np.int64)  # which state each token reads
        for b, (tokens, text) in enumerate(zip(sentences, texts)):
            lengths = np.fromiter((len(token) for token in tokens), dtype=np.int64, count=len(tokens))
            before = np.cumsum(lengths + 1) - (lengths + 1)  # characters of the tokens before it, with their spaces
            if lm["forward"]:  # "\n" + text + " ": the space after the token
                rows[b, : len(tokens)] = len(start) + before + lengths
            else:  # "\n" + reversed text + " ": the space before the token's reversed characters
                rows[b, : len(tokens)] = len(start) + len(text) - before
        columns = np.broadcast_to(np.arange(len(sentences))[:, None], rows.shape)
        vectors = states[rows, columns]  # [B, T, H]
        for b, tokens in enumerate(sentences):
            vectors[b, len(tokens) :] = 0.0
        return vectors

    def _tag_batch(self, sentences: Sequence[list[str]]) -> list[list[PredictedSpan]]:
        lengths = np.array([len(tokens) for tokens in sentences], dtype=np.int32)
        rows = np.zeros((len(sentences), lengths.max()), dtype=np.int64)
        for b, tokens in enumerate(sentences):
            rows[b, : len(tokens)] = [word_row(self.vocab, token) for token in tokens]
        feeds = {"word_rows": rows, "lengths": lengths}
        # the LMs run side by side (onnxruntime releases the GIL), one thread each on 2 cores: measured as fast as
        # one after the other with both threads (benchmarks/results/profile_onnx.json), and it needs no tuning
        vectors = self.pool.map(lambda index: self._lm_vectors(index, sentences), range(len(self.lms)))
        for index, vector in enumerate(vectors):
            feeds[f"lm_{index}"] = vector
        emissions = self.tagger.run(None, feeds)[0]
        start, stop = self.description["start_tag"], self.description["stop_tag"]
        paths, confidences = viterbi(emissions, lengths, self.transitions, start, stop)
        return [
            spans_from_bioes([self.tags[i] for i in path], confidence) for path, confidence in zip(paths, confidences)
        ]

    def tag(
        self, sentences: Sequence[list[str]], documents: Optional[Sequence[int]] = None
    ) -> list[list[PredictedSpan]]:
        """The entities of each sentence, in input order (empty sentences have none). ``documents`` is not read:
        the export's LMs read sentence by sentence (``load_engine`` refuses ``--lm-context document`` for it)."""
        results: list[list[PredictedSpan]] = [[] for _ in sentences]
        order = sorted((i for i, s in enumerate(sentences) if s), key=lambda i: len(" ".join(sentences[i])))
        for begin in range(0, len(order), self.mini_batch_size):
            batch = order[begin : begin + self.mini_batch_size]
            for index, spans in zip(batch, self._tag_batch([sentences[i] for i in batch])):
                results[index] = spans
        return results

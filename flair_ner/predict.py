"""Tagging new text with a trained model: raw text, pre-tokenized sentences or files, in batches.

Input formats: ``text`` (one sentence per line; segtok tokenizes it),
``conll`` (column files; the first column is the token), ``jsonl``
(``{"text": ...}`` or ``{"tokens": [...]}`` per line).  Output formats:
``jsonl`` (one object per sentence with entity spans: text, type, character
start/end, confidence) or ``conll`` (the input's columns plus the predicted
IOB2 tag).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Optional, Sequence, Union

from flair_ner.datasets import DOCSTART
from flair_ner.files import decode_utf8, one_line

log = logging.getLogger(__name__)

MAX_TOKENS = 1000
INPUT_FORMATS = ("text", "conll", "jsonl")
OUTPUT_FORMATS = ("jsonl", "conll")
LABEL_TYPE = "ner"
PRECISIONS = ("fp32", "bf16")


class PredictInputError(ValueError):
    """The input or the model cannot be used; the message is one line naming the file (and line)."""


@dataclass
class InputSentence:
    """One sentence to tag: its tokens, where it came from, and any extra input columns (CoNLL)."""

    tokens: list[str]
    line: int
    columns: list[list[str]] = field(default_factory=list)


def load_tagger(path: Union[str, Path], label_type: str = LABEL_TYPE):
    """Load a flair ``SequenceTagger`` and check that it predicts ``label_type`` labels.

    ``path`` may be a model file or a run folder (its ``best-model.pt``, else ``final-model.pt``).
    """
    from flair.models import SequenceTagger

    path = Path(path)
    if path.is_dir():
        candidates = [path / "best-model.pt", path / "final-model.pt"]
        path = next((candidate for candidate in candidates if candidate.is_file()), candidates[-1])
    if not path.is_file():
        raise PredictInputError(f"{path}: no such model file")
    try:
        tagger = SequenceTagger.load(path)
    except Exception as error:  # unpickling an arbitrary file can raise anything
        raise PredictInputError(
            f"{path}: not a flair SequenceTagger model ({type(error).__name__}: {one_line(str(error), 120)})"
        ) from None
    if not isinstance(tagger, SequenceTagger):
        raise PredictInputError(f"{path}: a {type(tagger).__name__}, not a SequenceTagger")
    if tagger.label_type != label_type:
        raise PredictInputError(f"{path}: the model predicts {tagger.label_type!r} labels, not {label_type!r}")
    return tagger


def _check_length(tokens: list[str], name: str, line: int) -> None:
    if len(tokens) > MAX_TOKENS:
        raise PredictInputError(
            f"{name}:{line}: {len(tokens)} tokens in one sentence; at most {MAX_TOKENS} (split the line into sentences)"
        )


def _tokenize(text: str) -> list[str]:
    from flair.tokenization import SegtokTokenizer

    return SegtokTokenizer().tokenize(text)


def read_input(data: bytes, name: str, input_format: str) -> list[InputSentence]:
    """Parse input bytes into sentences; blank lines separate (CoNLL) or are skipped (text, JSONL)."""
    if input_format not in INPUT_FORMATS:
        raise PredictInputError(f"{name}: unknown input format {input_format!r}; expected {', '.join(INPUT_FORMATS)}")
    lines = decode_utf8(data, name, PredictInputError).splitlines()
    sentences: list[InputSentence] = []
    if input_format == "text":
        for number, line in enumerate(lines, start=1):
            if line.strip():
                sentences.append(InputSentence(_tokenize(line), number))
    elif input_format == "jsonl":
        for number, line in enumerate(lines, start=1):
            if line.strip():
                sentences.append(InputSentence(_json_tokens(line, name, number), number))
    else:
        current: Optional[InputSentence] = None
        for number, line in enumerate(lines, start=1):
            columns = line.split()
            if not columns or columns[0] == DOCSTART:
                current = None
                continue
            if current is None:
                current = InputSentence([], number)
                sentences.append(current)
            current.tokens.append(columns[0])
            current.columns.append(columns)
    if not sentences:
        what = "empty" if not any(line.strip() for line in lines) else "without sentences"
        raise PredictInputError(f"{name}: nothing to tag: the input is {what}")
    for sentence in sentences:
        _check_length(sentence.tokens, name, sentence.line)
    return sentences


def _json_tokens(line: str, name: str, number: int) -> list[str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise PredictInputError(f"{name}:{number}: not JSON ({error.msg})") from None
    if isinstance(record, dict) and isinstance(record.get("tokens"), list):
        return [str(token) for token in record["tokens"]]
    if isinstance(record, dict) and isinstance(record.get("text"), str):
        return _tokenize(record["text"])
    raise PredictInputError(f'{name}:{number}: expected {{"text": "..."}} or {{"tokens": [...]}}')


def predict_sentences(
    tagger, sentences: Sequence, mini_batch_size: int = 32, precision: str = "fp32", label_name: str = LABEL_TYPE
) -> None:
    """``tagger.predict`` over batches of similar *character* length, optionally in bfloat16.

    The Flair LMs read each sentence character by character and pad a batch to
    its longest string, so batches are cut by character length (flair's own
    ``predict`` sorts by token count).

    Args:
        tagger: a flair ``SequenceTagger``.
        sentences: flair Sentences (empty ones are skipped); labels are added to them.
        mini_batch_size: sentences per batch.
        precision: ``fp32`` (labels identical to ``tagger.predict``) or ``bf16`` (bfloat16 autocast:
            faster on CPUs with native bfloat16; a few labels may differ, see benchmarks/README.md).
        label_name: the label layer to write.
    """
    import flair
    import torch

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    ordered = sorted((s for s in sentences if len(s)), key=lambda sentence: len(sentence.to_tokenized_string()))
    with torch.autocast(flair.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        for start in range(0, len(ordered), mini_batch_size):
            batch = ordered[start : start + mini_batch_size]
            tagger.predict(batch, mini_batch_size=mini_batch_size, label_name=label_name)


def tag_sentences(tagger, token_lists: Sequence[list[str]], mini_batch_size: int = 32, precision: str = "fp32") -> list:
    """Tag pre-tokenized sentences; returns flair Sentences with ``ner`` spans."""
    from flair.data import Sentence

    sentences = [Sentence(tokens) for tokens in token_lists]
    predict_sentences(tagger, sentences, mini_batch_size, precision)
    return sentences


def tag_text(tagger, text: str, mini_batch_size: int = 32, precision: str = "fp32") -> list:
    """Split raw text into sentences (segtok), tokenize and tag it; returns flair Sentences."""
    from flair.splitter import SegtokSentenceSplitter

    sentences = [s for s in SegtokSentenceSplitter().split(text) if len(s)]
    for sentence in sentences:
        _check_length([token.text for token in sentence], "text", 1)
    predict_sentences(tagger, sentences, mini_batch_size, precision)
    return sentences


def entities(sentence) -> list[dict]:
    """A tagged sentence's entities: text, type, character start/end in the sentence text, confidence."""
    return [
        {
            "text": span.text,
            "type": span.get_label(LABEL_TYPE).value,
            "start": span.start_position,
            "end": span.end_position,
            "confidence": round(float(span.get_label(LABEL_TYPE).score), 4),
        }
        for span in sentence.get_spans(LABEL_TYPE)
    ]


def to_jsonl(sentences: Iterable) -> Iterator[str]:
    for sentence in sentences:
        record = {"text": sentence.to_original_text(), "tokens": [t.text for t in sentence], "entities": entities(sentence)}
        yield json.dumps(record, ensure_ascii=False)


def to_conll(sentences: Iterable, inputs: Optional[Sequence[InputSentence]] = None) -> Iterator[str]:
    """Token (or the input's columns) plus the predicted IOB2 tag, a blank line after each sentence."""
    from flair_ner.evaluate import iob2_tags, spans_of

    for index, sentence in enumerate(sentences):
        tags = iob2_tags(len(sentence), spans_of(sentence, LABEL_TYPE))
        columns = inputs[index].columns if inputs and inputs[index].columns else [[t.text] for t in sentence]
        for token_columns, tag in zip(columns, tags):
            yield " ".join(token_columns + [tag])
        yield ""


def predict_stream(
    tagger,
    data: bytes,
    name: str,
    input_format: str,
    output_format: str,
    out: IO[str],
    mini_batch_size: int = 32,
    precision: str = "fp32",
) -> int:
    """Read, tag and write; returns the number of sentences tagged."""
    if output_format not in OUTPUT_FORMATS:
        raise PredictInputError(f"unknown output format {output_format!r}; expected {', '.join(OUTPUT_FORMATS)}")
    inputs = read_input(data, name, input_format)
    sentences = tag_sentences(tagger, [sentence.tokens for sentence in inputs], mini_batch_size, precision)
    lines = to_jsonl(sentences) if output_format == "jsonl" else to_conll(sentences, inputs)
    for line in lines:
        out.write(line + "\n")
    return len(sentences)


def guess_input_format(path: Optional[str]) -> str:
    """``jsonl`` for .jsonl/.json, ``conll`` for .conll/.tsv and CoNLL-2003 names, else ``text``."""
    suffix = Path(path).suffix.lower() if path and path != "-" else ""
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix in (".conll", ".tsv", ".testa", ".testb", ".train"):
        return "conll"
    return "text"

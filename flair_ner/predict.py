"""Tagging new text with a trained model: documents, pre-tokenised sentences or column files, streamed.

Input formats (one *record* per line, lines ending in ``\\n`` or ``\\r\\n`` only):

* ``text``: each line is a document (``--document``: the whole input is one); it is split into
  sentences and tokens with segtok, as flair does, and entities come back with character offsets
  into the line itself.
* ``jsonl``: ``{"text": ...}`` (a document, as above) or ``{"tokens": [...]}`` (one pre-tokenised
  sentence) per line, with any other fields, which are carried to the output unchanged.
* ``conll``: column files; the first column is the token, a blank line ends a sentence (a record).

Output formats: ``jsonl`` (each input record with an ``entities`` list: text, type, start, end,
confidence, and token_start/token_end for token input) or ``conll`` (the tokens, or the input's
columns, plus the predicted IOB2 tag).

A bad record does not cost the others: it is reported as ``file:line: reason`` and skipped, and the
caller learns of it at the end (``--strict`` refuses the whole input before tagging instead).
Input is read and written in groups of records, so memory does not grow with the input.
"""

from __future__ import annotations

import json
import logging
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, Callable, Iterable, Iterator, Optional, Sequence, Union

import flair
import torch
from flair.data import Sentence
from flair.models import SequenceTagger
from torch import nn
from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

from flair_ner.layout import BEST_MODEL, FINAL_MODEL
from flair_ner.errors import ConfigError
from flair_ner.errors import PredictInputError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.assets import SHIPPED_MODELS  # noqa: F401 - part of this module's interface
from flair_ner.datasets import DOCSTART
from flair_ner.evaluate import iob2_tags, spans_of
from flair_ner.files import BOM, decode_utf8_or_reason, one_line
from flair_ner.segment import TokenSpan, chunks, segment, token_list_spans

log = logging.getLogger(__name__)

INPUT_FORMATS = ("text", "conll", "jsonl")
OUTPUT_FORMATS = ("jsonl", "conll")
LABEL_TYPE = "ner"
PRECISIONS = ("fp32", "bf16", "int8")
# Records are tagged in groups of about this many sentences: enough for length-sorted batches to be
# full, few enough that memory stays flat however long the input is.
GROUP_SENTENCES = 2000


@dataclass
class InputRecord:
    """One input record: what to tag, where it came from, and what goes back out with it.

    Attributes:
        line: the record's first line in the input (1-based).
        text: the string entity offsets refer to (the line or document; tokens joined by single spaces).
        sentences: its sentences, each a list of tokens with offsets into ``text``.
        fields: the JSONL object (carried to the output), or ``None``.
        token_input: pre-tokenised input: entities get token indices too.
        columns: CoNLL input: each token's input columns.
        error: why the record cannot be tagged (then it is reported and skipped).
        error_field: JSON input: the field ``error`` is about (``text``, ``tokens[2]``), if one.
    """

    line: int
    text: str = ""
    sentences: list[list[TokenSpan]] = field(default_factory=list)
    fields: Optional[dict] = None
    token_input: bool = False
    columns: list[list[str]] = field(default_factory=list)
    error: Optional[str] = None
    error_field: Optional[str] = None
    tagged: list[Sentence] = field(default_factory=list)


@dataclass
class PredictSummary:
    """What a prediction pass did: records read and written, sentences tagged, bad records (``name:line: reason``)."""

    records: int = 0
    sentences: int = 0
    bad: list[str] = field(default_factory=list)


def load_tagger(path: Union[str, Path], label_type: str = LABEL_TYPE) -> SequenceTagger:
    """Load a flair ``SequenceTagger`` and check that it predicts ``label_type`` labels.

    ``path`` may be the name of a model shipped with the kit (``conllpp``: see
    ``flair_ner/resources/models/``), a model file or a run folder (its
    ``best-model.pt``, else ``final-model.pt``).
    """
    if str(path) in SHIPPED_MODELS and not Path(path).exists():
        path = SHIPPED_MODELS[str(path)]
        if not path.is_file():
            raise PredictInputError(f"{path}: the shipped model is missing from this installation (reinstall the kit)")
    path = Path(path)
    if path.is_dir():
        candidates = [path / BEST_MODEL, path / FINAL_MODEL]
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


def model_entity_types(tagger: SequenceTagger) -> set[str]:
    """The entity types a tagger can predict (its tags without the B-/I-/E-/S- prefixes)."""
    return {tag[2:] for tag in tagger.label_dictionary.get_items() if tag[:2] in ("B-", "I-", "E-", "S-")}


# ---------------------------------------------------------------- reading records


def _decode(line: bytes) -> tuple[Optional[str], Optional[str]]:
    """(text, None) or (None, reason) for one line's bytes."""
    text, problem = decode_utf8_or_reason(line)
    return (text, None) if problem is None else (None, problem[1])


def _lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(number, line without its ``\\n`` or ``\\r\\n``): only ``\\n`` ends a line (not U+2028, form feed, ...)."""
    for number, line in enumerate(stream, start=1):  # a binary stream splits at b"\n" only
        if number == 1 and line.startswith(BOM):
            line = line[len(BOM) :]
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        yield number, line


def _text_record(number: int, text: str) -> InputRecord:
    return InputRecord(number, text, segment(text))


def _token_record(number: int, tokens: list[str], **extra) -> InputRecord:
    spans = token_list_spans(tokens)
    return InputRecord(number, " ".join(tokens), list(chunks(spans)), token_input=True, **extra)


def _json_record(number: int, line: str) -> InputRecord:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return InputRecord(number, error=f"not JSON ({error.msg})")
    return json_record(number, value)


def json_record(number: int, value: object) -> InputRecord:
    """One decoded JSONL record (``{"text": ...}`` or ``{"tokens": [...]}``, other fields carried), or one with
    ``error`` and ``error_field`` (the offending field: ``text``, ``tokens[2]``; ``None`` for the record itself) set."""
    expected = 'expected an object with "text" (a string) or "tokens" (a list of strings)'
    if not isinstance(value, dict):
        return InputRecord(number, error=expected)
    if isinstance(value.get("tokens"), list):
        tokens = value["tokens"]
        for index, token in enumerate(tokens):
            if not isinstance(token, str) or not token.strip():
                return InputRecord(number, error=f"token {index} is {json.dumps(token)}; expected a non-blank string",
                                   error_field=f"tokens[{index}]")  # fmt: skip
        return _token_record(number, tokens, fields=value)
    if isinstance(value.get("text"), str):
        parsed = _text_record(number, value["text"])
        parsed.fields = value
        return parsed
    return InputRecord(number, error=expected, error_field="tokens" if "tokens" in value else "text")


def _conll_records(lines: Iterator[tuple[int, bytes]]) -> Iterator[InputRecord]:
    columns: list[list[str]] = []
    first = 0
    bad: Optional[InputRecord] = None  # the first undecodable line of the current sentence

    def finish() -> InputRecord:
        return bad or _token_record(first, [cells[0] for cells in columns], columns=list(columns))

    for number, raw in lines:
        text, reason = _decode(raw)
        cells = text.split() if text is not None else ["?"]
        if not cells or cells[0] == DOCSTART:
            if columns:
                yield finish()
            columns, bad = [], None
            continue
        if not columns:
            first = number
        if reason and bad is None:
            bad = InputRecord(number, error=reason)
        columns.append(cells)
    if columns:
        yield finish()


def read_records(stream: Iterable[bytes], input_format: str, document: bool = False) -> Iterator[InputRecord]:
    """The input's records, in order, bad ones included (with ``error`` set).

    Args:
        stream: the input's bytes as an iterable of lines (a binary file object), or one ``bytes`` chunk in a list.
        input_format: ``text``, ``jsonl`` or ``conll``.
        document: ``text`` only: the whole input is one document (offsets into all of it).
    """
    if input_format not in INPUT_FORMATS:
        raise PredictInputError(f"unknown input format {input_format!r}; expected {', '.join(INPUT_FORMATS)}")
    if document and input_format != "text":
        raise PredictInputError(f"--document reads text input, not {input_format}")
    if document:
        data = b"".join(stream)
        text, problem = decode_utf8_or_reason(data[len(BOM) :] if data.startswith(BOM) else data)
        yield _text_record(1, text) if problem is None else InputRecord(problem[0], error=problem[1])
        return
    lines = _lines(stream)
    if input_format == "conll":
        yield from _conll_records(lines)
        return
    for number, raw in lines:
        text, reason = _decode(raw)
        if reason:
            yield InputRecord(number, error=reason)
        elif input_format == "text":
            yield _text_record(number, text)
        elif text.strip():  # JSONL: blank lines are not records
            yield _json_record(number, text)


# ---------------------------------------------------------------- tagging


def quantize_int8(tagger: SequenceTagger) -> SequenceTagger:
    """A copy of ``tagger`` with dynamic int8 quantization (PyTorch's ``quantize_dynamic``) of every LSTM (the
    character LMs' and the tagger's) and Linear layer, except the tagger's output layer, whose ``weight`` flair
    reads as a tensor. Weights are stored in int8, activations are quantized on the fly; CPU only."""
    layers = {
        name: default_dynamic_qconfig
        for name, module in tagger.named_modules()
        if isinstance(module, nn.LSTM) or (isinstance(module, nn.Linear) and name != "linear")
    }
    with warnings.catch_warnings():  # torch points eager-mode quantization users to torchao, at length
        warnings.simplefilter("ignore")
        return quantize_dynamic(tagger, layers, dtype=torch.qint8)


def predict_sentences(
    tagger: SequenceTagger,
    sentences: Sequence[Sentence],
    mini_batch_size: int = 32,
    precision: str = "fp32",
    label_name: str = LABEL_TYPE,
) -> None:
    """``tagger.predict`` over batches of similar *character* length, optionally in bfloat16.

    The Flair LMs read each sentence character by character and pad a batch to
    its longest string, so batches are cut by character length (flair's own
    ``predict`` sorts by token count).

    Args:
        tagger: a flair ``SequenceTagger``.
        sentences: flair Sentences (empty ones are skipped); labels are added to them.
        mini_batch_size: sentences per batch.
        precision: ``fp32`` (labels identical to ``tagger.predict``), ``bf16`` (bfloat16 autocast:
            faster on CPUs with native bfloat16; a few labels may differ, see benchmarks/README.md) or
            ``int8`` (:func:`quantize_int8`, CPU; a few labels may differ).
        label_name: the label layer to write.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    ordered = sorted((s for s in sentences if len(s)), key=lambda sentence: len(sentence.to_tokenized_string()))
    if precision == "int8" and ordered:
        tagger = quantize_int8(tagger)  # a copy, made per call: about the cost of one batch
    with torch.autocast(flair.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        for start in range(0, len(ordered), mini_batch_size):
            batch = ordered[start : start + mini_batch_size]
            tagger.predict(batch, mini_batch_size=mini_batch_size, label_name=label_name)


def tag_sentences(
    tagger: SequenceTagger, token_lists: Sequence[list[str]], mini_batch_size: int = 32, precision: str = "fp32"
) -> list[Sentence]:
    """Tag pre-tokenized sentences; returns flair Sentences with ``ner`` spans."""
    sentences = [Sentence(list(tokens)) for tokens in token_lists]
    predict_sentences(tagger, sentences, mini_batch_size, precision)
    return sentences


def tag_text(tagger: SequenceTagger, text: str, mini_batch_size: int = 32, precision: str = "fp32") -> list[dict]:
    """Split raw text into sentences (segtok), tag it, and return its entities with offsets into ``text``."""
    record = _text_record(1, text)
    _tag_records([record], tagger, mini_batch_size, precision)
    return record_entities(record)


def _tag_records(records: Sequence[InputRecord], tagger: SequenceTagger, mini_batch_size: int, precision: str) -> int:
    for record in records:
        record.tagged = [Sentence([token.text for token in sentence]) for sentence in record.sentences]
    sentences = [sentence for record in records for sentence in record.tagged]
    predict_sentences(tagger, sentences, mini_batch_size, precision)
    return len(sentences)


def record_entities(record: InputRecord) -> list[dict]:
    """A tagged record's entities: text (as in the input), type, character start/end in ``record.text``, confidence."""
    found = []
    first_token = 0
    for tokens, sentence in zip(record.sentences, record.tagged):
        for span in sentence.get_spans(LABEL_TYPE):
            first, last = span.tokens[0].idx - 1, span.tokens[-1].idx - 1
            start, end = tokens[first].start, tokens[last].end
            label = span.get_label(LABEL_TYPE)
            entity = {"text": record.text[start:end], "type": label.value, "start": start, "end": end,
                      "confidence": round(float(label.score), 4)}  # fmt: skip
            if record.token_input:
                entity["token_start"], entity["token_end"] = first_token + first, first_token + last + 1
            found.append(entity)
        first_token += len(tokens)
    return found


# ---------------------------------------------------------------- writing


def output_record(record: InputRecord) -> dict:
    """A tagged record as JSONL output has it: the input's fields (or its text) plus ``entities``."""
    output = dict(record.fields) if record.fields is not None else {"text": record.text}
    if record.fields is None and record.columns:  # CoNLL input: the tokens, as the offsets count them
        output["tokens"] = [columns[0] for columns in record.columns]
    output["entities"] = record_entities(record)
    return output


def tag_records(records: Sequence[InputRecord], tagger: SequenceTagger, mini_batch_size: int = 32, precision: str = "fp32") -> list[dict]:
    """Tag good records (``error`` unset) and return each as :func:`output_record` (for callers such as ``serve``)."""
    _tag_records(records, tagger, mini_batch_size, precision)
    return [output_record(record) for record in records]


def _jsonl(record: InputRecord) -> Iterator[str]:
    yield json.dumps(output_record(record), ensure_ascii=False)


def _conll(record: InputRecord) -> Iterator[str]:
    """Token (or the input's columns) plus the predicted IOB2 tag; a blank line ends each sentence."""
    rows = iter(record.columns)
    for sentence in record.tagged:
        for token, tag in zip(sentence, iob2_tags(len(sentence), spans_of(sentence, LABEL_TYPE))):
            yield " ".join((next(rows) if record.columns else [token.text]) + [tag])
        if not record.columns:
            yield ""
    if record.columns:  # a CoNLL input sentence cut into chunks is written back as one sentence
        yield ""


def _groups(records: Iterable[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    group: list[InputRecord] = []
    count = 0
    for record in records:
        group.append(record)
        count += len(record.sentences)
        if count >= size:
            yield group
            group, count = [], 0
    if group:
        yield group


def predict_stream(
    tagger: SequenceTagger,
    records: Iterable[InputRecord],
    name: str,
    output_format: str,
    out: IO[str],
    mini_batch_size: int = 32,
    precision: str = "fp32",
    group_sentences: int = GROUP_SENTENCES,
    report: Callable[[str], None] = log.error,
) -> PredictSummary:
    """Tag ``records`` group by group and write each one, in input order; bad ones are reported and counted.

    A bad record is written (``jsonl``) as ``{"line": n, "error": reason, "entities": []}`` in its place, so the
    output's records correspond one to one to the input's; CoNLL output has no place for it and leaves it out.

    Args:
        tagger: the model.
        records: from :func:`read_records`.
        name: the input's name in messages (``name:line: reason``).
        output_format: ``jsonl`` or ``conll``.
        out: where the output goes.
        mini_batch_size: sentences per prediction batch.
        precision: see :func:`predict_sentences`.
        group_sentences: sentences read, tagged and written at a time.
        report: called with ``name:line: reason`` for each bad record, as it is met.
    """
    if output_format not in OUTPUT_FORMATS:
        raise PredictInputError(f"unknown output format {output_format!r}; expected {', '.join(OUTPUT_FORMATS)}")
    write = _jsonl if output_format == "jsonl" else _conll
    summary = PredictSummary()
    for group in _groups(records, group_sentences):
        good = [record for record in group if record.error is None]
        summary.sentences += _tag_records(good, tagger, mini_batch_size, precision)
        for record in group:
            if record.error is not None:
                summary.bad.append(f"{name}:{record.line}: {record.error}")
                report(summary.bad[-1])
                if output_format == "jsonl":  # a record in its place, so output record n stays input record n
                    out.write(json.dumps({"line": record.line, "error": record.error, "entities": []}, ensure_ascii=False) + "\n")
                continue
            summary.records += 1
            for line in write(record):
                out.write(line + "\n")
            record.tagged = []  # the group's Sentences (and their embeddings) can go
    return summary


def check_records(records: Iterable[InputRecord], name: str) -> list[str]:
    """Every bad record as ``name:line: reason`` (for ``--strict``: checked before anything is tagged)."""
    return [f"{name}:{record.line}: {record.error}" for record in records if record.error is not None]


def guess_input_format(path: Optional[str]) -> str:
    """``jsonl`` for .jsonl/.json, ``conll`` for .conll/.tsv and CoNLL-2003 names, else ``text``."""
    suffix = Path(path).suffix.lower() if path and path != "-" else ""
    if suffix in (".jsonl", ".json"):
        return "jsonl"
    if suffix in (".conll", ".tsv", ".testa", ".testb", ".train"):
        return "conll"
    return "text"


def open_input(path: Optional[str]) -> tuple[BinaryIO, str]:
    """The input as a binary stream and its name in messages (``-`` or ``None``: standard input)."""
    if path in (None, "-"):
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), path
    except OSError as error:
        raise PredictInputError(f"{path}: cannot read ({error.strerror})") from None

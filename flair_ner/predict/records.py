"""Records in, records out: what ``predict`` reads and writes, whichever engine tags (torch or ONNX).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, BinaryIO, Callable, Iterable, Iterator, NamedTuple, Optional, Protocol, Sequence

from flair_ner.data.registry import DOCSTART, Span, iob2_tags
from flair_ner.errors import PredictInputError
from flair_ner.files import BOM, decode_utf8_or_reason
from flair_ner.predict.segment import TokenSpan, chunks, segment, token_list_spans

# No flair, torch or pandas here: the ONNX runtime reads and writes records with this module alone.

log = logging.getLogger(__name__)

INPUT_FORMATS = ("text", "conll", "jsonl")
OUTPUT_FORMATS = ("jsonl", "conll")
# Records are tagged in groups of about this many sentences: enough for length-sorted batches to be
# full, few enough that memory stays flat however long the input is.
GROUP_SENTENCES = 2000


class PredictedSpan(NamedTuple):
    """An entity an engine found in one sentence: token offsets ``[start, end)``, type and confidence."""

    start: int
    end: int
    type: str
    score: float


class Engine(Protocol):
    """What tags: the torch engine (:class:`flair_ner.predict.tagging.TorchEngine`) or the ONNX runtime's."""

    def tag(
        self, sentences: Sequence[list[str]], documents: Optional[Sequence[int]] = None
    ) -> list[list[PredictedSpan]]:
        """The entities of each sentence (a list of tokens), in input order. ``documents``: each sentence's
        document number (consecutive sentences with one number form a document), for an engine whose character
        LMs read whole documents; ``None``: every sentence stands alone."""
        ...


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
        predicted: once tagged, the entities of each of its sentences.
        document: CoNLL input: the document the sentence belongs to (counted by ``-DOCSTART-`` lines), so that
            the sentences between two markers are one document; ``None``: the record is a document of its own
            (a line of text, a JSONL record, the whole input with ``--document``).
    """

    line: int
    text: str = ""
    sentences: list[list[TokenSpan]] = field(default_factory=list)
    fields: Optional[dict] = None
    token_input: bool = False
    columns: list[list[str]] = field(default_factory=list)
    error: Optional[str] = None
    error_field: Optional[str] = None
    predicted: list[list[PredictedSpan]] = field(default_factory=list)
    document: Optional[int] = None


@dataclass
class PredictSummary:
    """What a prediction pass did: records read and written, sentences tagged, bad records (``name:line: reason``)."""

    records: int = 0
    sentences: int = 0
    bad: list[str] = field(default_factory=list)


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


def text_record(number: int, text: str) -> InputRecord:
    """A document record: ``text`` split into sentences and tokens with offsets into it."""
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
        parsed = text_record(number, value["text"])
        parsed.fields = value
        return parsed
    return InputRecord(number, error=expected, error_field="tokens" if "tokens" in value else "text")


def _conll_records(lines: Iterator[tuple[int, bytes]]) -> Iterator[InputRecord]:
    columns: list[list[str]] = []
    first = 0
    bad: Optional[InputRecord] = None  # the first undecodable line of the current sentence
    document = 0  # the sentences before a file's first marker are a document too

    def finish() -> InputRecord:
        return bad or _token_record(first, [cells[0] for cells in columns], columns=list(columns), document=document)

    for number, raw in lines:
        text, reason = _decode(raw)
        cells = text.split() if text is not None else ["?"]
        if not cells or cells[0] == DOCSTART:
            if columns:
                yield finish()
            columns, bad = [], None
            document += bool(cells)
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
        yield text_record(1, text) if problem is None else InputRecord(problem[0], error=problem[1])
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
            yield text_record(number, text)
        elif text.strip():  # JSONL: blank lines are not records
            yield _json_record(number, text)


def token_lists(stream: Iterable[bytes], input_format: str) -> Iterator[list[str]]:
    """The tokens of each sentence of the input's good records, in order (for measuring, not for output)."""
    for record in read_records(stream, input_format):
        if record.error is None:
            yield from ([token.text for token in sentence] for sentence in record.sentences)


def chosen_engine(model: str, engine: str = "auto") -> str:
    """``onnx`` or ``torch``: ``engine`` itself, or for ``auto`` ONNX when ``model`` is a folder ``flair-ner export`` wrote."""
    from flair_ner.predict.runtime import EXPORT_JSON

    if engine != "auto":
        return engine
    return "onnx" if (Path(model) / EXPORT_JSON).is_file() else "torch"


def load_engine(model: str, engine: str = "auto", batch_size: Optional[int] = None, precision: str = "fp32",
                threads: Optional[int] = None, lm_context: Optional[str] = None) -> Engine:  # fmt: skip
    """The engine for ``model``: ``onnx`` (:class:`flair_ner.predict.runtime.OnnxEngine`, for a folder written by
    ``flair-ner export``; no torch is imported) or ``torch`` (:class:`flair_ner.predict.tagging.TorchEngine`, for what
    ``load_tagger`` takes); ``auto`` picks ONNX for an export folder. ``batch_size`` ``None``: the engine's own
    default (torch 32, ONNX 64); ``precision`` is the torch engine's, ``threads`` the ONNX engine's.
    ``lm_context``: what the character LMs read, ``sentence`` or ``document`` (the torch engine's;
    :mod:`flair_ner.embeddings.lm_context`); ``None``: as the model was trained (its run folder's manifest).
    """
    from flair_ner.runs.folder import trained_lm_context

    if lm_context is not None and lm_context not in ("sentence", "document"):
        raise PredictInputError(f"--lm-context must be sentence or document, not {lm_context!r}")
    if chosen_engine(model, engine) == "onnx":
        if precision != "fp32":
            raise PredictInputError(
                "--precision is the torch engine's; an ONNX export has its own (flair-ner export --quantize)"
            )
        if lm_context == "document":
            raise PredictInputError(
                "--lm-context document is the torch engine's: the ONNX export reads sentence by sentence"
            )
        from flair_ner.predict.runtime import DEFAULT_BATCH_SIZE, OnnxEngine

        return OnnxEngine(model, batch_size or DEFAULT_BATCH_SIZE, threads)
    from flair_ner.predict.tagging import TorchEngine, check_precision, load_tagger  # imports flair and torch

    check_precision(precision)  # before the model loads
    lm_context = lm_context or trained_lm_context(model)
    return TorchEngine(load_tagger(model), batch_size or TorchEngine.mini_batch_size, precision, lm_context)


def record_documents(records: Sequence[InputRecord]) -> tuple[list[list[str]], list[int]]:
    """The records' sentences (token lists) and each one's document number, what :meth:`Engine.tag` takes. Each
    record is a document of its own, except CoNLL sentences, whose documents are their ``-DOCSTART-`` sections."""
    sentences = [[token.text for token in sentence] for record in records for sentence in record.sentences]
    documents, previous, number = [], None, -1
    for record in records:
        if record.document is None or record.document != previous:
            number += 1
        previous = record.document
        documents += [number] * len(record.sentences)
    return sentences, documents


def tag_records(records: Sequence[InputRecord], engine: Engine) -> int:
    """Tag good records (``error`` unset) with ``engine``; returns the number of sentences tagged. Each record is
    a document of its own, except CoNLL sentences, whose documents are their ``-DOCSTART-`` sections."""
    sentences, documents = record_documents(records)
    found = iter(engine.tag(sentences, documents))
    for record in records:
        record.predicted = [next(found) for _ in record.sentences]
    return len(sentences)


def record_entities(record: InputRecord) -> list[dict]:
    """A tagged record's entities: text (as in the input), type, character start/end in ``record.text``, confidence."""
    found = []
    first_token = 0
    for tokens, spans in zip(record.sentences, record.predicted):
        for span in spans:
            start, end = tokens[span.start].start, tokens[span.end - 1].end
            entity = {"text": record.text[start:end], "type": span.type, "start": start, "end": end,
                      "confidence": round(float(span.score), 4)}  # fmt: skip
            if record.token_input:
                entity["token_start"], entity["token_end"] = first_token + span.start, first_token + span.end
            found.append(entity)
        first_token += len(tokens)
    return found


def output_record(record: InputRecord) -> dict:
    """A tagged record as JSONL output has it: the input's fields (or its text) plus ``entities``."""
    output = dict(record.fields) if record.fields is not None else {"text": record.text}
    if record.fields is None and record.columns:  # CoNLL input: the tokens, as the offsets count them
        output["tokens"] = [columns[0] for columns in record.columns]
    output["entities"] = record_entities(record)
    return output


def jsonl_line(value: dict) -> str:
    """``value`` as one JSONL line: UTF-8 as written, except U+2028 and U+2029, which are escaped.

    Both are valid inside a JSON string, but line-splitting readers (Python's ``str.splitlines``, JavaScript
    before ES2019) end a line there and would cut the record in two.
    """
    return json.dumps(value, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _jsonl(record: InputRecord) -> Iterator[str]:
    yield jsonl_line(output_record(record))


def _conll(record: InputRecord) -> Iterator[str]:
    """Token (or the input's columns) plus the predicted IOB2 tag; a blank line ends each sentence."""
    rows = iter(record.columns)
    for tokens, spans in zip(record.sentences, record.predicted):
        tags = iob2_tags(len(tokens), [Span(span.type, span.start, span.end) for span in spans])
        for token, tag in zip(tokens, tags):
            yield " ".join((next(rows) if record.columns else [token.text]) + [tag])
        if not record.columns:
            yield ""
    if record.columns:  # a CoNLL input sentence cut into chunks is written back as one sentence
        yield ""


def _groups(records: Iterable[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    """Groups of about ``size`` sentences; a CoNLL document is not cut in two (its LMs may read it whole)."""
    group: list[InputRecord] = []
    count = 0
    for record in records:
        if count >= size and (record.document is None or record.document != group[-1].document):
            yield group
            group, count = [], 0
        group.append(record)
        count += len(record.sentences)
    if group:
        yield group


def write_predictions(
    engine: Engine,
    records: Iterable[InputRecord],
    name: str,
    output_format: str,
    out: IO[str],
    group_sentences: int = GROUP_SENTENCES,
    report: Callable[[str], None] = log.error,
) -> PredictSummary:
    """Tag ``records`` group by group and write each one, in input order; bad ones are reported and counted.

    A bad record is written (``jsonl``) as ``{"line": n, "error": reason, "entities": []}`` in its place, so the
    output's records correspond one to one to the input's; CoNLL output has no place for it and leaves it out.

    Args:
        engine: what tags (its batch size and precision are its own).
        records: from :func:`read_records`.
        name: the input's name in messages (``name:line: reason``).
        output_format: ``jsonl`` or ``conll``.
        out: where the output goes.
        group_sentences: sentences read, tagged and written at a time.
        report: called with ``name:line: reason`` for each bad record, as it is met.
    """
    if output_format not in OUTPUT_FORMATS:
        raise PredictInputError(f"unknown output format {output_format!r}; expected {', '.join(OUTPUT_FORMATS)}")
    write = _jsonl if output_format == "jsonl" else _conll
    summary = PredictSummary()
    for group in _groups(records, group_sentences):
        good = [record for record in group if record.error is None]
        summary.sentences += tag_records(good, engine)
        for record in group:
            if record.error is not None:
                summary.bad.append(f"{name}:{record.line}: {record.error}")
                report(summary.bad[-1])
                if output_format == "jsonl":  # a record in its place, so output record n stays input record n
                    out.write(jsonl_line({"line": record.line, "error": record.error, "entities": []}) + "\n")
                continue
            summary.records += 1
            for line in write(record):
                out.write(line + "\n")
            record.predicted = []
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

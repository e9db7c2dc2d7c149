"""Validated loading of CoNLL-style column files into a flair ``Corpus``.

flair's column reader accepts almost anything and silently drops span labels
it cannot parse, so every file is read and checked here (each error names the
file, the line and the offending text) and the flair Sentences are built from
what was checked. The same reader gives the sanity report its counts and
entity spans. Any layout, tag set, scheme, encoding, comment lines and label
map are described by :class:`ColumnFormat`.
"""

from __future__ import annotations

import codecs
import dataclasses
import logging
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Union

from flair_ner.errors import ConfigError, DataFileError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.data.registry import (
    COLUMN_DATASETS,
    DATASETS,
    DOCSTART,
    ColumnFormat,
    CorpusFiles,
    DEV_FRACTION,
    LAST_COLUMN,
)
from flair_ner.data.registry import Span, entity_spans  # noqa: F401 - part of this module's interface
from flair_ner.data.fetch import fetch_dataset
from flair_ner.files import decode_utf8

if TYPE_CHECKING:  # flair loads only where a Corpus is built
    from flair.data import Corpus

log = logging.getLogger(__name__)

_TAG = re.compile(r"^(O|[BIES]-\S+)$")
# Control characters (C0, DEL, C1): never part of a tag, and a sign of a damaged file (a NUL from a bad export).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# CoNLL's own rule: columns are separated by ASCII spaces or tabs. A no-break space or U+2028 inside a token
# stays in the token (str.split would cut it into two columns and shift the tag column).
_COLUMN_SEPARATOR = re.compile(r"[ \t]+")


# A column file is not what the loader expects (the kit's name for it before errors.py; same class).
CorpusFormatError = DataFileError


@dataclass
class Block:
    """One blank-line separated block of a column file.

    Args:
        tokens: the text column of each line.
        tags: the NER column of each line.
        line: 1-based line number of the block's first line.
        is_docstart: the block is a document marker, not a sentence.
        lines: the line number of each token (comment lines may sit between them).
        spans: the entity mentions, after the label map.
    """

    tokens: list[str]
    tags: list[str]
    line: int
    is_docstart: bool = False
    spans: list[Span] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _breaks_scheme(previous: str, tag: str, scheme: str) -> Optional[str]:
    """Why ``tag`` cannot follow ``previous`` under ``scheme``, or ``None`` when it can."""
    same_type = previous[2:] == tag[2:]
    if scheme in ("iob1", "iob2") and tag[:2] in ("E-", "S-"):
        return f'{tag} is a BIOES tag, but the file is declared {scheme} (set tag_scheme = "bioes")'
    if scheme == "iob2" and tag.startswith("I-") and not (previous[:2] in ("B-", "I-") and same_type):
        return f"{tag} after {previous}: in IOB2 an entity starts with B- (is this IOB1? set tag_scheme)"
    if scheme == "iob1" and tag.startswith("B-") and not (previous[:2] in ("B-", "I-") and same_type):
        return f"{tag} after {previous}: in IOB1, B- only separates two adjacent entities of one type (is this IOB2?)"
    if scheme == "bioes":
        if tag[:2] in ("I-", "E-") and not (previous[:2] in ("B-", "I-") and same_type):
            return f"{tag} after {previous}: in BIOES, I-/E- continue a B-/I- of the same type"
        if previous[:2] in ("B-", "I-") and not (tag[:2] in ("I-", "E-") and same_type):
            return f"{tag} after {previous}: in BIOES, {previous[:2]} is followed by I-/E- of its type (an entity ends with E-)"
    return None


def detect_scheme(tag_lines: Iterator[tuple[str, str, int]], name: str) -> tuple[str, str]:
    """The tag scheme of a file from its tags, and why: ``(scheme, reason)``.

    BIOES when an ``E-``/``S-`` tag occurs; IOB1 when an ``I-`` opens an entity;
    IOB2 when a ``B-`` opens one after ``O`` or another type. A file with both
    of the last two is refused rather than guessed.

    Args:
        tag_lines: (previous tag, tag, line number) for every tag, ``O`` before each sentence.
        name: the file, for messages.
    """
    iob1_evidence = iob2_evidence = None
    for previous, tag, line in tag_lines:
        if tag[:2] in ("E-", "S-"):
            return "bioes", f"{name}:{line} has {tag}, a BIOES tag"
        continues = previous[:2] in ("B-", "I-") and previous[2:] == tag[2:]
        if tag.startswith("I-") and not continues and iob1_evidence is None:
            iob1_evidence = f"{name}:{line} opens an entity with {tag} after {previous}"
        if tag.startswith("B-") and not continues and iob2_evidence is None:
            iob2_evidence = f"{name}:{line} opens an entity with {tag} after {previous}"
    if iob1_evidence and iob2_evidence:
        raise CorpusFormatError(
            f"{name}: mixes IOB1 ({iob1_evidence}) and IOB2 ({iob2_evidence}); set tag_scheme to say which it is"
        )
    if iob1_evidence:
        return "iob1", iob1_evidence + " (IOB2 would use B-)"
    if iob2_evidence:
        return "iob2", iob2_evidence + " (IOB1 would use I-)"
    return "iob2", f"{name} has no entity that tells IOB1 from IOB2 (both read it the same)"


def _decode(path: Path, encoding: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CorpusFormatError(f"{path}: cannot read the file ({error.strerror})") from None
    if not data.strip():
        raise CorpusFormatError(f"{path}: file is empty; expected CoNLL column lines (token ... tag)")
    if codecs.lookup(encoding).name == "utf-8":
        return decode_utf8(data, str(path), CorpusFormatError, " (re-encode the file, e.g. iconv -f latin1 -t utf-8)")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        raise CorpusFormatError(f"{path}:{line}: byte 0x{data[problem.start]:02x} is not {encoding}") from None


def _records(path: Path, fmt: ColumnFormat) -> Iterator[tuple[int, Optional[list[str]]]]:
    """(line number, fields) per line; ``None`` fields for a sentence break. Comment lines are skipped.

    Lines are split on ``\n`` only (``\r`` is stripped): characters such as
    U+2028 that ``str.splitlines`` would treat as line ends can be tokens. A file with
    old-Mac line ends (``\r`` alone, no ``\n`` anywhere) is read with ``\r`` as the line end, with a
    warning naming it. Columns are split on ASCII spaces and tabs only (:data:`_COLUMN_SEPARATOR`).
    """
    text = _decode(path, fmt.encoding)
    if "\r" in text and "\n" not in text:
        log.warning("%s: old-Mac line ends (CR only): read each CR as a line end", path)
        text = text.replace("\r", "\n")
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.rstrip("\r")
        if fmt.comment_prefix and raw.startswith(fmt.comment_prefix):
            continue
        fields = [part for part in _COLUMN_SEPARATOR.split(raw) if part]
        yield number, fields or None


@dataclass
class ColumnFile:
    """A validated column file: its blocks, and the tag scheme they were read in and why."""

    blocks: list[Block]
    scheme: str
    reason: str


def read_blocks(path: Union[str, Path], fmt: ColumnFormat = ColumnFormat()) -> list[Block]:
    """The blocks of :func:`read_column_file`."""
    return read_column_file(path, fmt).blocks


def read_column_file(path: Union[str, Path], fmt: ColumnFormat = ColumnFormat()) -> ColumnFile:
    """Read and validate a column file into blocks (sentences and document markers).

    A document-marker line is a block of its own wherever it stands and however
    its other columns are spelled; any number of blank lines separates
    sentences; a missing final newline is fine. With ``tag_scheme = "auto"``
    the scheme is detected (:func:`detect_scheme`) and logged with its reason.

    Raises:
        CorpusFormatError: empty file, undecodable bytes, too few columns, a tag
            that is not ``O`` or ``B-``/``I-``/``E-``/``S-`` + type, a tag sequence
            the scheme forbids, or a type the label map does not cover.
    """
    path = Path(path)
    last = fmt.tag_column == LAST_COLUMN
    needed = max(fmt.text_column + 1, 2) if last else max(fmt.text_column, fmt.tag_column) + 1
    where = "the last column" if last else f"column {fmt.tag_column}"
    blocks: list[Block] = []
    current: Optional[Block] = None
    for number, fields in _records(path, fmt):
        if fields is None:
            current = None
            continue
        if fmt.document_separator and fields[0] == fmt.document_separator:
            blocks.append(Block([fields[0]], ["O"], number, is_docstart=True, lines=[number]))
            current = None
            continue
        if len(fields) < needed:
            raise CorpusFormatError(
                f"{path}:{number}: expected at least {needed} columns (text in column {fmt.text_column}, "
                f"tag in {where}), found {len(fields)}: {' '.join(fields)!r}"
            )
        if last and not blocks:  # say once what "auto" found
            log.info("%s: token in column %d, tag in the last column (%d columns)", path, fmt.text_column, len(fields))
        tag = fields[fmt.tag_column]
        control = _CONTROL.search(tag)
        if control:
            raise CorpusFormatError(
                f"{path}:{number}: tag {tag!r} contains the control character U+{ord(control.group()):04X}; "
                "expected O or B-/I-/E-/S- plus a type (is the file damaged?)"
            )
        if not _TAG.match(tag):
            raise CorpusFormatError(
                f"{path}:{number}: tag {tag!r} is not O or B-/I-/E-/S- plus a type: {' '.join(fields)!r}"
            )
        if current is None:
            current = Block([], [], number)
            blocks.append(current)
        current.tokens.append(fields[fmt.text_column])
        current.tags.append(tag)
        current.lines.append(number)
    scheme, reason = fmt.tag_scheme, "declared"
    if scheme == "auto":
        scheme, reason = detect_scheme(_tag_pairs(blocks), str(path))
        log.info("%s: tag scheme %s, because %s", path, scheme.upper(), reason)
    mapping = fmt.mapping
    for block in blocks:
        if block.is_docstart:
            continue
        for previous, tag, line in _tag_pairs([block]):
            broken = _breaks_scheme(previous, tag, scheme)
            if broken:
                raise CorpusFormatError(f"{path}:{line}: {broken}")
        spans = entity_spans(block.tags)
        if mapping:
            for span in spans:
                if span.type not in mapping:
                    raise CorpusFormatError(
                        f"{path}:{block.lines[span.start]}: entity type {span.type!r} is not in label_map "
                        "(map it to a type, or to O to drop it)"
                    )
            spans = [Span(mapping[span.type], span.start, span.end) for span in spans if mapping[span.type] != "O"]
        block.spans = spans
    return ColumnFile(blocks, scheme, reason)


def _tag_pairs(blocks: list[Block]) -> Iterator[tuple[str, str, int]]:
    """(previous tag, tag, line) over the sentences' tags, with ``O`` before each sentence and after its end."""
    for block in blocks:
        if block.is_docstart:
            continue
        previous = "O"
        for tag, line in zip(block.tags, block.lines):
            yield previous, tag, line
            previous = tag
        yield previous, "O", block.lines[-1]


def iter_sentences(blocks: list[Block]) -> Iterator[Block]:
    """The blocks that are sentences (``-DOCSTART-`` markers left out)."""
    return (block for block in blocks if not block.is_docstart)


def validate_files(files: CorpusFiles) -> dict[str, list[Block]]:
    """Read and validate every split; returns split name -> blocks."""
    return {split: read_blocks(path, files.format) for split, path in files.paths().items()}


def require_document_markers(blocks: list[Block], path: Union[str, Path], separator: Optional[str]) -> None:
    """Refuse a training file without document markers for the LMs' document context (``lm_context``).

    Raises:
        CorpusFormatError: no block of the file is a document marker.
    """
    if not any(block.is_docstart for block in blocks):
        raise CorpusFormatError(
            f"{path}: lm_context = document needs document markers (a line starting with "
            f"{separator or DOCSTART}), and this file has none"
        )


def to_sentences(blocks: list[Block]) -> list:
    """flair Sentences with ``ner`` spans, one per sentence block (document markers left out).

    When the blocks hold document markers, each sentence is linked to its neighbours in the same document, as
    flair's own column reader links them (``Sentence.previous_sentence()``/``next_sentence()``): FLERT's
    document context (``use_context``) and the character LMs' (``lm_context = "document"``) read them. Without
    markers every sentence stands alone (MultiCoNER's, WNUT's sentences are unrelated).
    """
    from flair.data import Sentence  # flair loads only here: reading and checking files needs none of it

    documents = any(block.is_docstart for block in blocks)
    sentences, previous = [], None
    for block in blocks:
        if block.is_docstart:
            previous = None
            continue
        sentence = Sentence(block.tokens)
        for span in block.spans:
            sentence[span.start : span.end].add_label("ner", span.type)
        if documents:
            link_sentences(previous, sentence)
            previous = sentence
        sentences.append(sentence)
    return sentences


def link_sentences(previous, sentence) -> None:
    """Make flair Sentence ``sentence`` follow ``previous`` in their document (``previous`` ``None``: it starts
    one), as flair's own column reader links them; flair has no public setter."""
    sentence._previous_sentence = previous
    if previous is not None:
        previous._next_sentence = sentence


@dataclass
class LoadedCorpus:
    """A flair ``Corpus`` and how its splits were made.

    Args:
        corpus: flair ``Corpus`` with an ``ner`` span layer (test ``None`` when there is no test file).
        blocks: split -> validated blocks, as read.
        dev_note: where dev comes from (a file, or the held-out share of train).
        schemes: split -> the tag scheme it was read in and why (``auto`` says what it detected).
    """

    corpus: Corpus
    blocks: dict[str, list[Block]]
    dev_note: str
    schemes: dict[str, str]


def load_corpus(files: CorpusFiles, seed: int = 1, dev_fraction: float = DEV_FRACTION) -> Corpus:
    """The flair ``Corpus`` of :func:`read_corpus`."""
    return read_corpus(files, seed, dev_fraction).corpus


def read_data_files(files: CorpusFiles, dev_fraction: float = DEV_FRACTION) -> dict[str, ColumnFile]:
    """Read and validate every split of ``files`` (text only: no flair, no torch), and refuse a corpus that
    cannot be trained on: a split without sentences, a training file without entities, or too few training
    sentences to hold out a dev share when there is no dev file. Returns split name -> the file as read.

    Raises:
        DataFileError: one line naming the file (and line) and what was expected.
    """
    read = {split: read_column_file(path, files.format) for split, path in files.paths().items()}
    for split, column_file in read.items():
        path = files.paths()[split]
        sentences = [block for block in column_file.blocks if not block.is_docstart]
        if not sentences:
            raise CorpusFormatError(
                f"{path}: no sentences, only {len(column_file.blocks)} document marker(s) and blank lines; "
                "expected CoNLL column lines (token ... tag)"
            )
        if split == "train" and not any(block.spans for block in sentences):
            raise CorpusFormatError(
                f"{path}: none of its {len(sentences)} sentences has an entity (every tag is O"
                f"{', or label_map maps every type to O' if files.format.mapping else ''}); a NER training file "
                "needs tagged entities"
            )
        if split == "train" and "dev" not in read and len(sentences) - max(1, round(len(sentences) * dev_fraction)) < 1:
            raise CorpusFormatError(
                f"{path}: {len(sentences)} sentence(s): holding out {dev_fraction:.0%} as dev (there is no dev file) "
                "needs at least 2 sentences; give more training sentences or a dev file"
            )
    return read


def read_corpus(
    files: CorpusFiles, seed: int = 1, dev_fraction: float = DEV_FRACTION, read: Optional[dict[str, ColumnFile]] = None
) -> LoadedCorpus:
    """Validate the files, then build flair's ``Corpus`` from them with an ``ner`` span layer.

    The kit builds the flair Sentences itself from the validated blocks (one
    reader for validation, reports and training), so comment lines, label
    maps, document markers and byte-order marks are handled once.

    Args:
        files: the data set's files and format.
        seed: seed of the dev hold-out when there is no dev file.
        dev_fraction: share of train held out as dev when there is no dev file.
        read: the files as :func:`read_data_files` read them already (the command line checks own files
            before flair loads); unset: read here.
    """
    from flair.data import Corpus
    from flair.datasets import FlairDatapointDataset

    read = read if read is not None else read_data_files(files, dev_fraction)
    blocks = {split: column_file.blocks for split, column_file in read.items()}
    schemes = {split: f"{column_file.scheme} ({column_file.reason})" for split, column_file in read.items()}
    splits = {split: to_sentences(split_blocks) for split, split_blocks in blocks.items()}
    train = splits["train"]
    if "dev" in splits:
        dev, note = splits["dev"], str(files.paths()["dev"])
    else:
        count = max(1, round(len(train) * dev_fraction))
        held_out = set(random.Random(seed).sample(range(len(train)), count))
        dev = [sentence for index, sentence in enumerate(train) if index in held_out]
        train = [sentence for index, sentence in enumerate(train) if index not in held_out]
        note = f"{count} sentences ({dev_fraction:.0%}) held out of {files.paths()['train']} with seed {seed}"
        log.info("no dev file: dev is %s", note)
    corpus = Corpus(
        FlairDatapointDataset(train),
        FlairDatapointDataset(dev),
        FlairDatapointDataset(splits["test"]) if "test" in splits else None,
        name=Path(files.train).stem,
        sample_missing_splits=False,
    )
    return LoadedCorpus(corpus, blocks, note, schemes)


def fetch_corpus_files(
    dataset: str,
    data_dir=None,
    mirror=None,
    deadline: Optional[float] = None,
    label_map: Optional[dict[str, str]] = None,
) -> CorpusFiles:
    """Fetch a registered column data set (verified, see ``flair_ner.data.fetch``) and describe its files, read
    with ``label_map`` when one is given (e.g. MultiCoNER's coarse types)."""
    if dataset not in COLUMN_DATASETS:
        raise ConfigError(f"no column layout known for data set {dataset!r}; known: {', '.join(COLUMN_DATASETS)}")
    paths = fetch_dataset(dataset, data_dir, mirror, deadline)
    files = DATASETS[dataset].corpus_files(next(iter(paths.values())).parent)
    return dataclasses.replace(files, format=files.format.with_label_map(label_map))


def registered_sentences(
    dataset: str, split: str, data_dir=None, mirror=None, deadline: Optional[float] = None
) -> list[Block]:
    """One split of a registered column data set as sentences (document markers left out, file order), fetched
    and verified (:func:`fetch_corpus_files`)."""
    files = fetch_corpus_files(dataset, data_dir, mirror, deadline)
    return list(iter_sentences(read_blocks(files.paths()[split], files.format)))


def load_sentences(path: Union[str, Path], fmt: ColumnFormat = ColumnFormat()) -> list:
    """One validated column file as flair Sentences with ``ner`` spans (document markers dropped)."""
    return to_sentences(read_blocks(path, fmt))

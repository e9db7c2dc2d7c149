"""Validated loading of CoNLL-style column files into flair's ``ColumnCorpus``.

flair's column reader accepts almost anything and silently drops span labels
it cannot parse, so every file is first read and checked here: each error
names the file, the line and the offending text.  The same reader gives the
sanity report its counts and entity spans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Union

from flair_ner.files import UTF8_SIG, decode_utf8

DOCSTART = "-DOCSTART-"
TAG_SCHEMES = ("iob1", "iob2", "bioes")
_TAG = re.compile(r"^(O|[BIES]-\S+)$")


class CorpusFormatError(ValueError):
    """A column file is not what the loader expects; the message is one line: ``file:line: what``."""


@dataclass(frozen=True)
class Span:
    """An entity mention: type plus token offsets ``[start, end)`` within its sentence."""

    type: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.type}[{self.start}:{self.end}]"


@dataclass
class Block:
    """One blank-line separated block of a column file.

    Args:
        tokens: the text column of each line.
        tags: the NER column of each line.
        line: 1-based line number of the block's first line.
        is_docstart: the block is a ``-DOCSTART-`` document marker, not a sentence.
    """

    tokens: list[str]
    tags: list[str]
    line: int
    is_docstart: bool = False
    spans: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class ColumnFormat:
    """Where the loader finds things in a column file.

    Args:
        text_column: 0-based column of the token text.
        tag_column: 0-based column of the NER tag.
        tag_scheme: ``iob1`` (original CoNLL-2003: ``I-`` starts an entity unless it follows
            the same type), ``iob2`` (CoNLL++: every entity starts with ``B-``) or ``bioes``.
    """

    text_column: int = 0
    tag_column: int = 3
    tag_scheme: str = "iob2"

    def __post_init__(self) -> None:
        if self.tag_scheme not in TAG_SCHEMES:
            raise ValueError(f"tag_scheme must be one of {', '.join(TAG_SCHEMES)}, not {self.tag_scheme!r}")

    @property
    def column_map(self) -> dict[int, str]:
        """flair's ``column_format`` for this layout."""
        return {self.text_column: "text", self.tag_column: "ner"}


def entity_spans(tags: list[str]) -> list[Span]:
    """Decode IOB1, IOB2 or BIOES tags into spans (conlleval's chunk rules).

    ``B-``/``S-`` always open an entity; ``I-``/``E-`` open one unless they
    continue an open entity of the same type; ``E-``/``S-`` close it.  This
    reads IOB1 and IOB2 alike, so both data set versions give the same spans
    for the same annotation.
    """
    spans: list[Span] = []
    open_type: Optional[str] = None
    open_start = 0
    for index, tag in enumerate(tags + ["O"]):
        prefix, _, entity_type = tag.partition("-")
        continues = prefix in ("I", "E") and open_type == entity_type
        if open_type is not None and not continues:
            spans.append(Span(open_type, open_start, index))
            open_type = None
        if prefix in ("B", "S", "I", "E") and not continues:
            open_type, open_start = entity_type, index
        if prefix in ("E", "S") and open_type is not None:
            spans.append(Span(open_type, open_start, index + 1))
            open_type = None
    return spans


def _breaks_scheme(previous: str, tag: str, scheme: str) -> Optional[str]:
    """Why ``tag`` cannot follow ``previous`` under ``scheme``, or ``None`` when it can."""
    same_type = previous[2:] == tag[2:]
    if scheme == "iob2" and tag.startswith("I-") and not (previous[:2] in ("B-", "I-") and same_type):
        return f"{tag} after {previous}: in IOB2 an entity starts with B- (is this IOB1? set tag_scheme)"
    if scheme == "iob1" and tag.startswith("B-") and not (previous[:2] in ("B-", "I-") and same_type):
        return f"{tag} after {previous}: in IOB1, B- only separates two adjacent entities of one type (is this IOB2?)"
    if scheme == "bioes" and tag[:2] in ("I-", "E-") and not (previous[:2] in ("B-", "I-") and same_type):
        return f"{tag} after {previous}: in BIOES, I-/E- continue a B-/I- of the same type"
    return None


def _decode(path: Path) -> str:
    data = path.read_bytes()
    if not data.strip():
        raise CorpusFormatError(f"{path}: file is empty; expected CoNLL column lines (token ... tag)")
    return decode_utf8(data, str(path), CorpusFormatError, " (re-encode the file, e.g. iconv -f latin1 -t utf-8)")


def read_blocks(path: Union[str, Path], fmt: ColumnFormat = ColumnFormat()) -> list[Block]:
    """Read and validate a column file into blocks (sentences and ``-DOCSTART-`` markers).

    A ``-DOCSTART-`` line is a block of its own wherever it stands and however
    its other columns are spelled; a missing final newline is fine.

    Raises:
        CorpusFormatError: empty file, non-UTF-8 bytes, too few columns or a
            tag that is not ``O`` or ``B-``/``I-``/``E-``/``S-`` + type.
    """
    path = Path(path)
    text = _decode(path)
    needed = max(fmt.text_column, fmt.tag_column) + 1
    blocks: list[Block] = []
    current: Optional[Block] = None
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields:
            current = None
            continue
        if fields[0] == DOCSTART:
            blocks.append(Block([DOCSTART], ["O"], number, is_docstart=True))
            current = None
            continue
        if len(fields) < needed:
            raise CorpusFormatError(
                f"{path}:{number}: expected at least {needed} columns (text in column {fmt.text_column}, "
                f"tag in column {fmt.tag_column}), found {len(fields)}: {raw.strip()!r}"
            )
        tag = fields[fmt.tag_column]
        if not _TAG.match(tag):
            raise CorpusFormatError(
                f"{path}:{number}: tag {tag!r} is not O or B-/I-/E-/S- plus a type: {raw.strip()!r}"
            )
        if current is None:
            current = Block([], [], number)
            blocks.append(current)
        broken = _breaks_scheme(current.tags[-1] if current.tags else "O", tag, fmt.tag_scheme)
        if broken:
            raise CorpusFormatError(f"{path}:{number}: {broken}: {raw.strip()!r}")
        current.tokens.append(fields[fmt.text_column])
        current.tags.append(tag)
    for block in blocks:
        block.spans = entity_spans(block.tags) if not block.is_docstart else []
    return blocks


def iter_sentences(blocks: list[Block]) -> Iterator[Block]:
    """The blocks that are sentences (``-DOCSTART-`` markers left out)."""
    return (block for block in blocks if not block.is_docstart)


@dataclass(frozen=True)
class CorpusFiles:
    """A column-format data set on disk.

    Args:
        folder: folder holding the files.
        train: training file name inside ``folder``.
        dev: development file name (``None``: flair samples 10% of train).
        test: test file name.
        format: column layout and tag scheme.
    """

    folder: Path
    train: str
    dev: Optional[str]
    test: str
    format: ColumnFormat = ColumnFormat()

    def paths(self) -> dict[str, Path]:
        names = {"train": self.train, "dev": self.dev, "test": self.test}
        return {split: self.folder / name for split, name in names.items() if name is not None}


def conllpp_files(folder: Union[str, Path]) -> CorpusFiles:
    """CoNLL++ as fetched by ``flair_ner.download`` (IOB2)."""
    return CorpusFiles(Path(folder), "conllpp_train.txt", "conllpp_dev.txt", "conllpp_test.txt")


def conll2003_files(folder: Union[str, Path]) -> CorpusFiles:
    """The original CoNLL-2003 English release (IOB1)."""
    return CorpusFiles(Path(folder), "eng.train", "eng.testa", "eng.testb", ColumnFormat(tag_scheme="iob1"))


def validate_files(files: CorpusFiles) -> dict[str, list[Block]]:
    """Read and validate every split; returns split name -> blocks."""
    return {split: read_blocks(path, files.format) for split, path in files.paths().items()}


def load_corpus(files: CorpusFiles, keep_docstart: bool = False):
    """Validate the files, then build flair's ``ColumnCorpus`` with an ``ner`` span layer.

    Args:
        files: the data set's files and column layout.
        keep_docstart: keep ``-DOCSTART-`` marker blocks as (entity-free) sentences;
            by default they are dropped, as they carry no annotation.

    Returns:
        ``flair.datasets.ColumnCorpus``. flair decodes IOB1, IOB2 and BIOES to the
        same spans as :func:`entity_spans` (checked by the tests).
    """
    from flair.datasets import ColumnCorpus

    validate_files(files)
    return ColumnCorpus(
        files.folder,
        column_format=files.format.column_map,
        train_file=files.train,
        dev_file=files.dev,
        test_file=files.test,
        column_delimiter=r"\s+",
        document_separator_token=DOCSTART,
        banned_sentences=None if keep_docstart else [DOCSTART],
        in_memory=True,
        encoding=UTF8_SIG,
    )


# Column layouts of the data sets that flair_ner.download knows, by data set name.
KNOWN_LAYOUTS = {"conllpp": conllpp_files, "conll2003": conll2003_files}


def fetch_corpus_files(dataset: str, data_dir=None, mirror=None, deadline: Optional[float] = None) -> CorpusFiles:
    """Fetch a known column data set (verified, see ``flair_ner.download``) and describe its files."""
    from flair_ner.download import fetch_dataset

    if dataset not in KNOWN_LAYOUTS:
        raise ValueError(f"no column layout known for data set {dataset!r}; known: {', '.join(KNOWN_LAYOUTS)}")
    paths = fetch_dataset(dataset, data_dir, mirror, deadline)
    return KNOWN_LAYOUTS[dataset](next(iter(paths.values())).parent)


def load_sentences(path: Union[str, Path], fmt: ColumnFormat = ColumnFormat()) -> list:
    """One validated column file as flair Sentences with ``ner`` spans (``-DOCSTART-`` dropped)."""
    from flair.datasets import ColumnDataset

    path = Path(path)
    read_blocks(path, fmt)
    dataset = ColumnDataset(
        path,
        column_name_map=fmt.column_map,
        banned_sentences=[DOCSTART],
        document_separator_token=DOCSTART,
        encoding=UTF8_SIG,
    )
    return list(dataset)

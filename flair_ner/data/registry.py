"""What a column data set is, without reading it: layouts, schemes, label maps and the registered data sets.

Kept free of flair so that configurations can be checked in a fraction of a
second, before anything slow is imported (:mod:`flair_ner.data.corpus` reads the files).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union
from flair_ner.errors import ConfigError

DOCSTART = "-DOCSTART-"
TAG_SCHEMES = ("iob1", "iob2", "bioes")
SCHEME_CHOICES = (*TAG_SCHEMES, "auto")
# Share of train held out as dev when a data set has no dev file (flair's own default share).
DEV_FRACTION = 0.1


@dataclass(frozen=True)
class Span:
    """An entity mention: type plus token offsets ``[start, end)`` within its sentence."""

    type: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.type}[{self.start}:{self.end}]"


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


def iob2_tags(length: int, spans: Iterable[Span]) -> list[str]:
    """IOB2 tags for a sentence of ``length`` tokens."""
    tags = ["O"] * length
    for span in spans:
        tags[span.start] = f"B-{span.type}"
        for index in range(span.start + 1, span.end):
            tags[index] = f"I-{span.type}"
    return tags


LAST_COLUMN = -1  # a tag column counted from the end: the last one, whatever the number of columns
AUTO_COLUMNS = "auto"


def parse_columns(spec: str) -> tuple[int, int]:
    """``"0=text,3=ner"`` -> (text column, tag column); other columns may be named and are ignored.
    ``"auto"``: the token in the first column and the tag in the last (the CoNLL layouts: token TAB tag,
    CoNLL-2003's four columns, MultiCoNER's, CleanCoNLL's five): ``(0, LAST_COLUMN)``.

    Raises:
        ValueError: not ``N=name`` pairs, or no ``text`` / ``ner`` column.
    """
    if spec.strip() == AUTO_COLUMNS:
        return 0, LAST_COLUMN
    named: dict[str, int] = {}
    for part in spec.split(","):
        number, _, name = part.strip().partition("=")
        if not number.strip().isdigit() or not name.strip():
            raise ConfigError(f"columns must look like '0=text,3=ner', got {spec!r}")
        named[name.strip()] = int(number)
    missing = [name for name in ("text", "ner") if name not in named]
    if missing:
        raise ConfigError(f"columns {spec!r} names no {' and no '.join(missing)} column (e.g. '0=text,3=ner')")
    return named["text"], named["ner"]


@dataclass(frozen=True)
class ColumnFormat:
    """Where the loader finds things in a column file, and how to read them.

    Args:
        text_column: 0-based column of the token text.
        tag_column: 0-based column of the NER tag; :data:`LAST_COLUMN` (-1): the last column of each line.
        tag_scheme: ``iob1`` (original CoNLL-2003: ``I-`` starts an entity unless it follows
            the same type), ``iob2`` (CoNLL++: every entity starts with ``B-``), ``bioes``,
            or ``auto`` (detected per file, and the reason logged).
        encoding: the files' text encoding.
        document_separator: first token of a document-marker line (``None``: the data has none).
        comment_prefix: lines starting with it are skipped (e.g. MultiCoNER's ``# id ``).
        label_map: entity type -> type to train and test on (``O`` drops the mention);
            when given, every type in the data must be mapped.
    """

    text_column: int = 0
    tag_column: int = 3
    tag_scheme: str = "iob2"
    encoding: str = "utf-8"
    document_separator: Optional[str] = DOCSTART
    comment_prefix: Optional[str] = None
    label_map: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.tag_scheme not in SCHEME_CHOICES:
            raise ConfigError(f"tag_scheme must be one of {', '.join(SCHEME_CHOICES)}, not {self.tag_scheme!r}")

    @property
    def mapping(self) -> dict[str, str]:
        return dict(self.label_map)

    def with_label_map(self, label_map: Optional[dict[str, str]]) -> "ColumnFormat":
        """This format with ``label_map`` (``None``: unchanged)."""
        return self if label_map is None else dataclasses.replace(self, label_map=tuple(sorted(label_map.items())))


@dataclass(frozen=True)
class CorpusFiles:
    """A column-format data set on disk.

    Args:
        folder: folder holding the files (file names may also be absolute paths or relative to it).
        train: training file (``None`` only for a registered data set that is for evaluation only: CleanCoNLL).
        dev: development file (``None``: :data:`DEV_FRACTION` of train is held out).
        test: test file (``None``: no test evaluation).
        format: column layout, scheme, encoding, markers and label map.
    """

    folder: Path
    train: Optional[str]
    dev: Optional[str]
    test: Optional[str]
    format: ColumnFormat = ColumnFormat()

    def paths(self) -> dict[str, Path]:
        names = {"train": self.train, "dev": self.dev, "test": self.test}
        return {split: self.folder / name for split, name in names.items() if name is not None}


def conllpp_files(folder: Union[str, Path]) -> CorpusFiles:
    """CoNLL++ as fetched by ``flair_ner.data.fetch`` (IOB2)."""
    return CorpusFiles(Path(folder), "conllpp_train.txt", "conllpp_dev.txt", "conllpp_test.txt")


def conll2003_files(folder: Union[str, Path]) -> CorpusFiles:
    """The original CoNLL-2003 English release (IOB1)."""
    return CorpusFiles(Path(folder), "eng.train", "eng.testa", "eng.testb", ColumnFormat(tag_scheme="iob1"))


def cleanconll_files(folder: Union[str, Path]) -> CorpusFiles:
    """CleanCoNLL dev and test as rebuilt by ``flair_ner.data.cleanconll`` (final NER column, IOB2; no train)."""
    fmt = ColumnFormat(text_column=0, tag_column=4)
    return CorpusFiles(Path(folder), None, "cleanconll_dev.txt", "cleanconll_test.txt", fmt)


def evaluation_only(dataset: str) -> bool:
    """Whether a registered data set has no training split here (it can be tested on, not trained on)."""
    return KNOWN_LAYOUTS[dataset](Path(".")).train is None


def wnut17_files(folder: Union[str, Path]) -> CorpusFiles:
    """WNUT-17 (token TAB tag, IOB2, no document markers)."""
    fmt = ColumnFormat(text_column=0, tag_column=1, document_separator=None)
    return CorpusFiles(Path(folder), "wnut17train.conll", "emerging.dev.conll", "emerging.test.annotated", fmt)


def multiconer_files(language: str):
    """MultiCoNER II in ``language``: its public dev file is the test set, dev is held out of train.

    The public test files carry no labels. Every sentence starts with a
    ``# id <uuid> domain=<lang>`` comment line; tags are IOB2 in column 3.
    """

    def files(folder: Union[str, Path]) -> CorpusFiles:
        fmt = ColumnFormat(text_column=0, tag_column=3, document_separator=None, comment_prefix="# id ")
        return CorpusFiles(Path(folder), f"{language}_train.conll", None, f"{language}_dev.conll", fmt)

    return files


# Column layouts of the data sets that flair_ner.data.fetch knows, by data set name.
# Table 1 of the CoNLL-2003 paper (Tjong Kim Sang & De Meulder 2003), English: CoNLL-2003's sizes, which CoNLL++
# keeps; sentences are counted with the -DOCSTART- blocks, tokens without them
CONLL2003_TABLE1: dict[str, dict[str, int]] = {
    "train": {"sentences_with_docstart": 14987, "documents": 946, "tokens": 203621},
    "dev": {"sentences_with_docstart": 3466, "documents": 216, "tokens": 51362},
    "test": {"sentences_with_docstart": 3684, "documents": 231, "tokens": 46435},
}
# Published split sizes the sanity report checks a registered data set against (without a label map)
PUBLISHED_SIZES = {"conllpp": CONLL2003_TABLE1, "conll2003": CONLL2003_TABLE1}
# The test sets a registered data set's runs evaluate too; the first is its other release (the same sentences),
# which the sanity report compares with sentence by sentence
COMPARED_WITH = {"conllpp": "conll2003,cleanconll"}
KNOWN_LAYOUTS = {
    "conllpp": conllpp_files,
    "conll2003": conll2003_files,
    "cleanconll": cleanconll_files,
    "wnut17": wnut17_files,
    "multiconer2-en": multiconer_files("en"),
    "multiconer2-hi": multiconer_files("hi"),
    "multiconer2-bn": multiconer_files("bn"),
}

# MultiCoNER II's 33 fine types grouped into its 6 coarse ones (Fetahu et al. 2023, the task's taxonomy).
MULTICONER_COARSE = {
    **dict.fromkeys(("Facility", "OtherLOC", "HumanSettlement", "Station"), "LOC"),
    **dict.fromkeys(("VisualWork", "MusicalWork", "WrittenWork", "ArtWork", "Software"), "CW"),
    **dict.fromkeys(
        ("MusicalGRP", "PublicCorp", "PrivateCorp", "AerospaceManufacturer", "SportsGRP", "CarManufacturer", "ORG"),
        "GRP",
    ),
    **dict.fromkeys(("Scientist", "Artist", "Athlete", "Politician", "Cleric", "SportsManager", "OtherPER"), "PER"),
    **dict.fromkeys(("Clothing", "Vehicle", "Food", "Drink", "OtherPROD"), "PROD"),
    **dict.fromkeys(("Medication/Vaccine", "MedicalProcedure", "AnatomicalStructure", "Symptom", "Disease"), "MED"),
}

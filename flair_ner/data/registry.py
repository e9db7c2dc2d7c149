"""What a column data set is, without reading it: layouts, schemes, label maps and the registered data sets.

Kept free of flair so that configurations can be checked in a fraction of a
second, before anything slow is imported (:mod:`flair_ner.data.corpus` reads the files).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Union
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


def bioes_tags(length: int, spans: Iterable[Span]) -> list[str]:
    """BIOES tags for a sentence of ``length`` tokens (flair's taggers' inner scheme: ``S-`` a one-token entity,
    ``E-`` an entity's last token)."""
    tags = ["O"] * length
    for span in spans:
        if span.end - span.start == 1:
            tags[span.start] = f"S-{span.type}"
            continue
        tags[span.start] = f"B-{span.type}"
        for index in range(span.start + 1, span.end - 1):
            tags[index] = f"I-{span.type}"
        tags[span.end - 1] = f"E-{span.type}"
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

# Label maps a config names instead of spelling them out (``label_map = "multiconer2-coarse"``), so that every
# config and grid that trains on the coarse groups reads the one table above.
LABEL_MAPS: dict[str, dict[str, str]] = {"multiconer2-coarse": MULTICONER_COARSE}


def _build_cleanconll(folder: Path, conll2003: dict[str, Path]) -> dict[str, Path]:
    from flair_ner.data import cleanconll  # here: that module reads this one's span rules

    return cleanconll.build(folder, conll2003)


# Upstream locations, pinned to a commit where the host allows it
_CROSSWEIGH = "https://raw.githubusercontent.com/ZihanWangKi/CrossWeigh/77d0c2d/data/"
_HSCRF = "https://raw.githubusercontent.com/ZhixiuYe/HSCRF-pytorch/3479f4594af3a704da85689c0b1a67cee1b600de/data/"
_REUTERS_TARBALL = "https://kdd.ics.uci.edu/databases/reuters21578/reuters21578.tar.gz"
_CLEANCONLL = "https://raw.githubusercontent.com/flairNLP/CleanCoNLL/bedc569f0983ddd39c2c729fb5df64be710bcab4/data/"
_WNUT17 = "https://raw.githubusercontent.com/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603/"
_MULTICONER2 = (
    "https://raw.githubusercontent.com/honghanhh/templateNER/1c9835509d3c4ea8f47f20226ea1490360929465/public_data/"
)
# MultiCoNER II public data: language code -> (folder upstream, SHA-256 of train, SHA-256 of dev)
_MULTICONER2_FILES = {
    "en": (
        "EN-English",
        "1e1af77f95e92aa287c40feb7c10b384192c8ff026c916114a54713f331138ea",
        "cef0633da09ab2ee3386576818acad0aef47e124ca7c7ec557e18de6974326df",
    ),
    "hi": (
        "HI-Hindi",
        "615a4026c191bd7d871651dd4629ed93281d16b8c441b06bccf935e416593313",
        "b25fa13c93635e489da1d2f2c9895ae5642916f6cbeccd49b0a7bd76159a5e60",
    ),
    "bn": (
        "BN-Bangla",
        "2d584c5d528003fa00717712f02918e579f02f83044120e7cf94363e573849da",
        "a005da8249be9db1031829cdd0fd737d83df6ceb3d030604d3543bdcc79c3026",
    ),
}
_LANGUAGES = {"en": "English", "hi": "Hindi", "bn": "Bangla"}
# Table 1 of the CoNLL-2003 paper (Tjong Kim Sang & De Meulder 2003), English: CoNLL-2003's sizes, which CoNLL++
# keeps; sentences are counted with the -DOCSTART- blocks, tokens without them
CONLL2003_TABLE1: dict[str, dict[str, int]] = {
    "train": {"sentences_with_docstart": 14987, "documents": 946, "tokens": 203621},
    "dev": {"sentences_with_docstart": 3466, "documents": 216, "tokens": 51362},
    "test": {"sentences_with_docstart": 3684, "documents": 231, "tokens": 46435},
}


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Args:
        name: file name inside the data set's folder (cache and mirror alike).
        sha256: pinned SHA-256 of the file's bytes.
        url: upstream URL of the file itself, or ``None`` when it only comes
            out of the data set's archive.
    """

    name: str
    sha256: str
    url: Optional[str] = None


@dataclass(frozen=True)
class Dataset:
    """A registered data set, in one place: its files (fetched and verified by :mod:`flair_ner.data.fetch`), how
    its column files are read, and what its runs check it against and evaluate beside it.

    Args:
        name: folder name under the cache and the mirror.
        files: the files, each with its digest.
        archive_url: upstream tarball holding the files when they have no URL
            of their own. Its own digest is not pinned (no trusted copy of the
            archive exists to take it from); the extracted files are verified.
        description: one line for ``--help`` and the README.
        built_from: another data set whose files ``build`` needs (fetched first, verified).
        build: writes files derived from this data set's and ``built_from``'s files into this data set's
            folder, verified, and returns them by name (e.g. CleanCoNLL: annotations + CoNLL-2003 tokens).
        format: how its column files are read (``None``: not a column data set, e.g. Reuters-21578's SGML).
        train: the training split's file (``None``: evaluation only, e.g. CleanCoNLL).
        dev: the dev split's file (``None``: :data:`DEV_FRACTION` of train is held out with the seed).
        test: the test split's file.
        published_sizes: split -> published counts the sanity report checks the files against (without a
            label map).
        compare_with: registered data sets (comma-separated) whose test sets its runs evaluate too; the first is
            its other release (the same sentences), which the sanity report compares sentence by sentence.
    """

    name: str
    files: tuple[DataFile, ...]
    archive_url: Optional[str] = None
    description: str = ""
    built_from: Optional[str] = None
    build: Optional[Callable[[Path, dict[str, Path]], dict[str, Path]]] = None
    format: Optional[ColumnFormat] = None
    train: Optional[str] = None
    dev: Optional[str] = None
    test: Optional[str] = None
    published_sizes: Optional[dict[str, dict[str, int]]] = None
    compare_with: Optional[str] = None

    def file(self, name: str) -> DataFile:
        for data_file in self.files:
            if data_file.name == name:
                return data_file
        raise KeyError(f"data set {self.name!r} has no file {name!r}")

    def corpus_files(self, folder: Union[str, Path]) -> CorpusFiles:
        """Its column files in ``folder`` (where :func:`~flair_ner.data.fetch.fetch_dataset` put them)."""
        if self.format is None:
            raise ConfigError(f"data set {self.name!r} is not a column data set")
        return CorpusFiles(Path(folder), self.train, self.dev, self.test, self.format)


_REUTERS_SHA256 = (
    "686f5cf549930e23184bcba2328c7d01348df20f7167ff25e6d3495090c3f822",
    "b7fc3231dd9f95fb53518f8d5739d41524fa8dacdb21ddb7f612d9a475c14ea1",
    "99f18068d0518952987dedd78c622e5c2a584e357d264d3754696c815f3e6628",
    "24c0aec30c53acfeceff6df391a278282f61febdea3852e74f1ae01af088d5bd",
    "726342c19a65873330b412378cd6a3f0d512035f5223146ddd60930c62eb6ff0",
    "d09de619b6dd2d047d5124681f6df90550abaf592020d1c1ce338ae9b91522e7",
    "b5535c0d66b01f4976f84621a4a795afbc00d2c4bd0a1b7ae426df6630fb361d",
    "aa706007ec84a03537a3921ca976d60e11b3f99e4b9e9b2d5c81dd384d2c2062",
    "a3994583694a00b7c744097c1d7eabfcf90f2e6650cc21663e46828035a336cb",
    "29995f606dd1a9bdf907eacc9d879846c716860d9d9141676979474aaea39c7d",
    "996df6008089bd09fa5b28a4d2eb0ee5f7b9d4601cde566fed3926ac82960fa3",
    "d3a2782015247d9c2bffb8926267827fdd449c70d619435ef01a25a1c56a53ca",
    "da31035d483851f2aebce5b66d779e5e2c0ac9dcfe098596c6d544e81c5604ab",
    "8f7700bc0455fac3fcc12377ced4807b7df8aba1f21ecad059b9cc2b1cf0b8be",
    "ef936bd3e0f36cf722afa9a6957563549775af32e9e28b4f539c8737ceda83ab",
    "6d3bcec73eff871b8a5403588af814c4e50a0de6bc25707480522ab836f74026",
    "be2f03a185fff70131f3b4fdbd6229b7ee2be077eba9691eaa597c8cfbda8812",
    "f370e610b4b1342e41a98e0c426a08541044bd1d7e539674f32372a6060b73b5",
    "a5f971bf25448e915781962309e669359a35fbcaf3017a806eca0590897f209a",
    "d3b07097fba2633d130b4914aceba671645985248943ce9e39c289315339dffb",
    "f6ad1b724125c202566c63b35ea0b5ee23881f8b7ed47a32829d5af05d8e860d",
    "3f5196d32869723c9042aa5756805b4e90360f1f45ea17f4594fa0e2b3630b18",
)

DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            name="conllpp",
            description="CoNLL++: CoNLL-2003 English with the corrected test set (Wang et al. 2019), IOB2",
            format=ColumnFormat(),
            train="conllpp_train.txt",
            dev="conllpp_dev.txt",
            test="conllpp_test.txt",
            published_sizes=CONLL2003_TABLE1,
            compare_with="conll2003,cleanconll",
            files=(
                DataFile(
                    "conllpp_train.txt",
                    "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423",
                    _CROSSWEIGH + "conllpp_train.txt",
                ),
                DataFile(
                    "conllpp_dev.txt",
                    "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b",
                    _CROSSWEIGH + "conllpp_dev.txt",
                ),
                DataFile(
                    "conllpp_test.txt",
                    "4eb3b5114787d0df24087e9c9dfc956abf4cfd5e201bc1056b48ff4f7b37c0e8",
                    _CROSSWEIGH + "conllpp_test.txt",
                ),
            ),
        ),
        Dataset(
            name="conll2003",
            description="CoNLL-2003 English NER, original release, IOB1",
            format=ColumnFormat(tag_scheme="iob1"),
            train="eng.train",
            dev="eng.testa",
            test="eng.testb",
            published_sizes=CONLL2003_TABLE1,
            files=(
                DataFile(
                    "eng.train",
                    "bed631399cb0e859c4b446438ce57dfe0208792ca6106ef11620877355494c3a",
                    _HSCRF + "eng.train",
                ),
                DataFile(
                    "eng.testa",
                    "aa83a45b88e4952998156583e2ff5a8be7c1f04fb9efa3a29cd87fac2c883807",
                    _HSCRF + "eng.testa",
                ),
                DataFile(
                    "eng.testb",
                    "443914daf51328868558859b28252a28caee2fd02b65e77987977d6489246c5f",
                    _HSCRF + "eng.testb",
                ),
            ),
        ),
        Dataset(
            name="cleanconll",
            description="CleanCoNLL dev and test (Ruecker & Akbik 2023): CoNLL-2003 relabelled, IOB2, rebuilt from "
            "the CoNLL-2003 tokens; no train split here (evaluation only)",
            # the rebuilt files (flair_ner/data/cleanconll.py): final NER column, IOB2
            format=ColumnFormat(text_column=0, tag_column=4),
            dev="cleanconll_dev.txt",
            test="cleanconll_test.txt",
            files=(
                DataFile(
                    "cleanconll_annotations.dev",
                    "404ff652ab5a3c95d706f11404e4082be122788ee415b5900b25fd92fa00e81f",
                    _CLEANCONLL + "cleanconll_annotations/cleanconll_annotations.dev",
                ),
                DataFile(
                    "cleanconll_annotations.test",
                    "89092bb1964c32498bfcbaa46e7641900d139465cfbdce9e9d377a0ba09e9ea0",
                    _CLEANCONLL + "cleanconll_annotations/cleanconll_annotations.test",
                ),
                DataFile(
                    "dev_tokens.patch",
                    "b0adf80bfa3a1d058d87656b5c1bf4265d1a70d5e6144fd5ffe9a1306066faa0",
                    _CLEANCONLL + "patch_files/dev_tokens.patch",
                ),
                DataFile(
                    "test_tokens.patch",
                    "ffd5f3a26525d241ce46cc407ada55fd95858620234fc88ddd2f6503866e72dc",
                    _CLEANCONLL + "patch_files/test_tokens.patch",
                ),
            ),
            built_from="conll2003",
            build=_build_cleanconll,
        ),
        Dataset(
            name="wnut17",
            description="WNUT-17 emerging and rare entities, English social media, 6 types, IOB2 (CC BY 4.0)",
            format=ColumnFormat(text_column=0, tag_column=1, document_separator=None),  # token TAB tag
            train="wnut17train.conll",
            dev="emerging.dev.conll",
            test="emerging.test.annotated",
            files=(
                DataFile(
                    "wnut17train.conll",
                    "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5",
                    _WNUT17 + "wnut17train.conll",
                ),
                DataFile(
                    "emerging.dev.conll",
                    "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",
                    _WNUT17 + "emerging.dev.conll",
                ),
                DataFile(
                    "emerging.test.annotated",
                    "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",
                    _WNUT17 + "emerging.test.annotated",
                ),
            ),
        ),
        *(
            Dataset(
                name=f"multiconer2-{code}",
                description=f"MultiCoNER II {_LANGUAGES[code]}, 33 fine types (6 coarse), IOB2; public dev as test "
                "(the public test has no labels) (CC BY 4.0)",
                # every sentence starts with a "# id <uuid> domain=<lang>" comment line; tags in column 3; the
                # public dev file is the test set (the public test files carry no labels), dev is held out of train
                format=ColumnFormat(text_column=0, tag_column=3, document_separator=None, comment_prefix="# id "),
                train=f"{code}_train.conll",
                test=f"{code}_dev.conll",
                files=(
                    DataFile(f"{code}_train.conll", train_sha, f"{_MULTICONER2}{folder}/{code}_train.conll"),
                    DataFile(f"{code}_dev.conll", dev_sha, f"{_MULTICONER2}{folder}/{code}_dev.conll"),
                ),
            )
            for code, (folder, train_sha, dev_sha) in _MULTICONER2_FILES.items()
        ),
        Dataset(
            name="reuters21578",
            description="Reuters-21578 newswire (SGML), text for pretraining the character LMs",
            files=tuple(DataFile(f"reut2-{index:03d}.sgm", digest) for index, digest in enumerate(_REUTERS_SHA256)),
            archive_url=_REUTERS_TARBALL,
        ),
    )
}


# The registered column data sets, by name (Reuters-21578 is text for the LMs, not a column data set).
COLUMN_DATASETS = tuple(name for name, dataset in DATASETS.items() if dataset.format is not None)


def registered_files(name: str, folder: Union[str, Path]) -> CorpusFiles:
    """The column files of registered data set ``name`` in ``folder``."""
    return DATASETS[name].corpus_files(folder)


def compared_with(name: str) -> Optional[str]:
    """The test sets a registered data set's runs evaluate too (``None`` for none, or for a name not registered:
    own data)."""
    return DATASETS[name].compare_with if name in DATASETS else None


def evaluation_only(name: str) -> bool:
    """Whether a registered data set has no training split here (it can be tested on, not trained on)."""
    return DATASETS[name].train is None

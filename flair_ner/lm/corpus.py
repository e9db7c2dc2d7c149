"""Character-LM corpora in flair's ``TextCorpus`` layout: Reuters-21578, or any folder of plain text.

Reuters: the SGML files (Latin-1) are parsed for their ``<BODY>`` text;
entities are unescaped, control characters and the trailing "Reuter" sign-off
removed, and the hard-wrapped lines of each paragraph joined, so that the LM
sees running text as flair later feeds it (one sentence after a newline).
Plain text (:func:`build_text_corpus`, any language): UTF-8 files whose
documents are separated by blank lines, one paragraph per line. Documents stay
whole and are split into train/valid/test by document with a fixed seed.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import itertools
import json
import logging
import os
import random
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from flair_ner.errors import DataFileError
from flair_ner.data.corpus import fetch_corpus_files, iter_sentences, read_blocks
from flair_ner.data.fetch import fetch_dataset

log = logging.getLogger(__name__)

_DOCUMENT = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_NEWID = re.compile(r'NEWID="(\d+)"')
_BODY = re.compile(r"<BODY>(.*?)</BODY>", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# The sign-off, sometimes doubled ("... said. Reuter\n Reuter").
_SIGN_OFF = re.compile(r"(?:\s*\bReuter\b)+\s*$", re.I)
# A paragraph starts on a line indented with blanks; other newlines are hard wraps.
_PARAGRAPH_BREAK = re.compile(r"\n(?=[ \t]+\S)")

CORPUS_INFO = "corpus.json"


@dataclass
class Document:
    """One document: an id that orders it before the seeded shuffle, and its paragraphs."""

    doc_id: int
    paragraphs: list[str]


# A Reuters story: its NEWID and its body's paragraphs.
ReutersDocument = Document


@dataclass
class ParseCounts:
    documents: int = 0
    with_body: int = 0
    without_body: int = 0


def clean_body(raw: str) -> list[str]:
    """Body SGML text -> paragraphs of plain text (entities unescaped, sign-off and control characters dropped)."""
    text = _CONTROL.sub("", html.unescape(raw))
    text = _SIGN_OFF.sub("", text)
    paragraphs = (" ".join(part.split()) for part in _PARAGRAPH_BREAK.split(text))
    return [paragraph for paragraph in paragraphs if paragraph]


def parse_sgml(text: str, counts: Optional[ParseCounts] = None) -> list[ReutersDocument]:
    """Parse one ``reut2-NNN.sgm`` file's text; documents without a ``<BODY>`` are skipped and counted."""
    counts = counts if counts is not None else ParseCounts()
    documents = []
    for match in _DOCUMENT.finditer(text):
        counts.documents += 1
        body = _BODY.search(match.group(2))
        paragraphs = clean_body(body.group(1)) if body else []
        if not paragraphs:
            counts.without_body += 1
            continue
        counts.with_body += 1
        doc_id = _NEWID.search(match.group(1))
        documents.append(ReutersDocument(int(doc_id.group(1)) if doc_id else counts.documents, paragraphs))
    return documents


def read_reuters(files: Iterable[Union[str, Path]]) -> tuple[list[ReutersDocument], ParseCounts]:
    """Parse every SGML file (Latin-1) in order."""
    counts = ParseCounts()
    documents: list[ReutersDocument] = []
    for path in files:
        documents.extend(parse_sgml(Path(path).read_bytes().decode("latin-1"), counts))
    return documents, counts


def split_documents(
    documents: list[ReutersDocument], valid_fraction: float, test_fraction: float, seed: int
) -> dict[str, list[ReutersDocument]]:
    """Shuffle whole documents with ``seed`` and cut them into train/valid/test."""
    order = sorted(documents, key=lambda document: document.doc_id)
    random.Random(seed).shuffle(order)
    n_valid = max(1, round(len(order) * valid_fraction))
    n_test = max(1, round(len(order) * test_fraction))
    return {
        "valid": order[:n_valid],
        "test": order[n_valid : n_valid + n_test],
        "train": order[n_valid + n_test :],
    }


def _text(documents: list[Document]) -> str:
    return "".join(paragraph + "\n" for document in documents for paragraph in document.paragraphs)


def _chunks(documents: list[Document], parts: int) -> list[list[Document]]:
    """Cut the documents, in order, into ``parts`` runs of about equal character count."""
    total = sum(len(p) + 1 for d in documents for p in d.paragraphs)
    chunks: list[list[Document]] = [[] for _ in range(parts)]
    seen = 0
    for document in documents:
        chunks[min(parts - 1, seen * parts // max(total, 1))].append(document)
        seen += sum(len(p) + 1 for p in document.paragraphs)
    return [chunk for chunk in chunks if chunk]


@dataclass
class LMCorpusInfo:
    """What was built: sizes per split, the parse counts and the corpus digest."""

    seed: int
    documents: dict[str, int]
    characters: dict[str, int]
    tokens: dict[str, int]
    skipped_without_body: int
    sha256: str
    source_files: list[str]


def build_lm_corpus(
    sgml_files: list[Path],
    output_dir: Union[str, Path],
    seed: int = 42,
    valid_fraction: float = 0.01,
    test_fraction: float = 0.01,
    train_splits: int = 20,
    forbidden_sentences: Iterable[list[str]] = (),
) -> LMCorpusInfo:
    """Write flair's TextCorpus layout (``train/train_split_NN``, ``valid.txt``, ``test.txt``) from Reuters.

    Args:
        sgml_files: the Reuters-21578 ``.sgm`` files.
        output_dir: corpus folder; built in a temporary folder and renamed into place.
        seed: seed of the document shuffle that assigns documents to splits.
        valid_fraction: share of documents for validation.
        test_fraction: share of documents for test.
        train_splits: number of training files; flair validates (and checkpoints) after each.
        forbidden_sentences: tokenized sentences that must not occur in the corpus
            (the CoNLL test sets); a hit raises ``ValueError``.
    """
    documents, counts = read_reuters(sgml_files)
    return write_lm_corpus(
        documents, output_dir, [Path(path).name for path in sgml_files], seed, valid_fraction, test_fraction,
        train_splits, forbidden_sentences, counts.without_body,
    )  # fmt: skip


def read_text_documents(files: Iterable[Union[str, Path]]) -> list[Document]:
    """UTF-8 plain-text files as documents: blank lines separate documents, each other line is a paragraph."""
    documents: list[Document] = []
    for path in files:
        text = Path(path).read_bytes().decode("utf-8-sig")
        for block in re.split(r"\n\s*\n", text):
            paragraphs = [" ".join(line.split()) for line in block.splitlines() if line.strip()]
            if paragraphs:
                documents.append(Document(len(documents), paragraphs))
    return documents


def text_files(folder: Union[str, Path]) -> list[Path]:
    """The plain-text files of a folder (recursively, sorted; hidden files left out)."""
    folder = Path(folder)
    found = [
        path for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]  # fmt: skip
    if not found:
        raise DataFileError(f"{folder}: no text files to build an LM corpus from")
    return found


def build_text_corpus(
    folder: Union[str, Path], output_dir: Union[str, Path], seed: int = 42, train_splits: int = 20
) -> LMCorpusInfo:
    """An LM corpus from a folder of plain text in any language (see :func:`read_text_documents`).

    A corpus already built in ``output_dir`` from the same files with the same seed is reused.
    """
    files = text_files(folder)
    names = [str(path.relative_to(folder)) for path in files]
    existing = load_corpus_info(output_dir)
    if existing is not None and existing.seed == seed and existing.source_files == names:
        return existing
    documents = read_text_documents(files)
    if len(documents) < 3:
        raise DataFileError(
            f"{folder}: {len(documents)} documents; need at least 3 (train, valid, test) separated by blank lines"
        )
    return write_lm_corpus(documents, output_dir, names, seed, train_splits=train_splits)


def write_lm_corpus(
    documents: list[Document],
    output_dir: Union[str, Path],
    source_files: list[str],
    seed: int = 42,
    valid_fraction: float = 0.01,
    test_fraction: float = 0.01,
    train_splits: int = 20,
    forbidden_sentences: Iterable[list[str]] = (),
    skipped_without_body: int = 0,
    train_only: list[Document] = (),
) -> LMCorpusInfo:
    """Split ``documents`` by a seeded shuffle and write flair's TextCorpus layout atomically (see
    :func:`build_lm_corpus` for the arguments).

    ``train_only``: documents added to the training text only, shuffled in among the training documents
    with the same seed (e.g. a NER data set's training split); valid and test stay those of ``documents``,
    so validation figures stay comparable with an LM trained without them.
    """
    splits = split_documents(documents, valid_fraction, test_fraction, seed)
    if train_only:
        splits["train"] = splits["train"] + list(train_only)
        random.Random(f"{seed}-train").shuffle(splits["train"])
    texts = {name: _text(docs) for name, docs in splits.items()}
    leaked = find_sentences(texts.values(), forbidden_sentences)
    if leaked:
        raise DataFileError(f"{len(leaked)} CoNLL test sentences occur in the LM text, e.g. {leaked[0]!r}")

    output_dir = Path(output_dir)
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    work = Path(tempfile.mkdtemp(dir=output_dir.parent, prefix=f".{output_dir.name}."))
    try:
        (work / "train").mkdir()
        for index, chunk in enumerate(_chunks(splits["train"], train_splits), start=1):
            (work / "train" / f"train_split_{index:02d}").write_text(_text(chunk), encoding="utf-8")
        (work / "valid.txt").write_text(texts["valid"], encoding="utf-8")
        (work / "test.txt").write_text(texts["test"], encoding="utf-8")
        for path in sorted(work.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(work).as_posix().encode() + b"\0" + path.read_bytes())
        info = LMCorpusInfo(
            seed=seed,
            documents={name: len(docs) for name, docs in splits.items()},
            characters={name: len(text) for name, text in texts.items()},
            tokens={name: len(text.split()) for name, text in texts.items()},
            skipped_without_body=skipped_without_body,
            sha256=digest.hexdigest(),
            source_files=source_files,
        )
        (work / CORPUS_INFO).write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        work.chmod(0o755)
        os.replace(work, output_dir)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    log.info(
        "LM corpus %s: %s characters, %s tokens (train/valid/test); %d documents without a body skipped",
        output_dir,
        info.characters,
        info.tokens,
        skipped_without_body,
    )
    return info


def describe_corpus(info: Optional[LMCorpusInfo]) -> str:
    """What an LM corpus was built from, in words, for a model card."""
    if info is None:
        return "an unknown corpus (no corpus.json)"
    reuters = [name for name in info.source_files if re.fullmatch(r"reut2-\d{3}\.sgm", name)]
    ner = [name.split(":")[0] for name in info.source_files if ":" in name]
    other = [name for name in info.source_files if name not in reuters and ":" not in name]
    parts = (["Reuters-21578 bodies"] if reuters else []) + [f"the {name} training split's text" for name in ner]
    if other:
        parts.append(
            f"plain text ({len(other)} file{'s' if len(other) > 1 else ''}: {', '.join(other[:3])}{', ...' if len(other) > 3 else ''})"
        )
    return " + ".join(parts)


def load_corpus_info(corpus_dir: Union[str, Path]) -> Optional[LMCorpusInfo]:
    """The corpus.json of a built corpus, or ``None`` when there is none."""
    path = Path(corpus_dir) / CORPUS_INFO
    if not path.is_file():
        return None
    return LMCorpusInfo(**json.loads(path.read_text(encoding="utf-8")))


def find_sentences(texts: Iterable[str], sentences: Iterable[list[str]], min_chars: int = 40) -> list[str]:
    """Sentences (token lists) whose text occurs in ``texts``, compared without whitespace.

    Whitespace is ignored on both sides because CoNLL is tokenized ("U.S. ,")
    and the LM text is not ("U.S.,"). Sentences shorter than ``min_chars``
    non-blank characters are skipped: short headlines ("SOCCER -") repeat by chance.
    """
    haystack = "\x00".join("".join(text.split()) for text in texts)
    hits = []
    for tokens in sentences:
        needle = "".join(tokens)
        if len(needle) >= min_chars and needle in haystack:
            hits.append(" ".join(tokens))
    return hits


def column_documents(blocks: list) -> list[Document]:
    """A column file's sentences as LM documents: one paragraph per sentence (its tokens joined by spaces,
    the form in which flair's character LMs see a sentence), a new document at every ``-DOCSTART-``."""
    documents: list[Document] = []
    current: list[str] = []
    for block in blocks:
        if block.is_docstart:
            if current:
                documents.append(Document(len(documents), current))
            current = []
        else:
            current.append(" ".join(block.tokens))
    if current:
        documents.append(Document(len(documents), current))
    return documents


def prepare_reuters_corpus(
    corpus_dir: Union[str, Path],
    data_dir: Optional[Union[str, Path]] = None,
    mirror: Optional[str] = None,
    seed: int = 42,
    ner_train_text: Optional[str] = None,
) -> LMCorpusInfo:
    """Fetch Reuters-21578 (and the CoNLL dev and test sets, to keep them out) and build the LM corpus once.

    Args:
        corpus_dir: where the corpus goes; an existing corpus built from the same sources with the same
            seed is reused.
        data_dir: the cache; mirror: the data mirror (see ``flair_ner.data.fetch``).
        seed: seed of the document shuffle.
        ner_train_text: a registered column data set (e.g. ``"conllpp"``) whose *training* split's text is
            added to the LM's training text. Its sentences that equal a dev or test sentence (the check below)
            are left out and counted in the log.
    """
    sources = ["reuters21578"] + ([f"{ner_train_text}:train"] if ner_train_text else [])
    existing = load_corpus_info(corpus_dir)
    if existing is not None and existing.seed == seed and _sources(existing) == sources:
        return existing
    sgml = list(fetch_dataset("reuters21578", data_dir, mirror).values())
    # The English news dev and test sets the LMs are used on: no LM text may contain one of their sentences.
    held_out: list[list[str]] = []
    for dataset in ("conllpp", "conll2003"):
        files = fetch_corpus_files(dataset, data_dir, mirror)
        for split in ("dev", "test"):
            held_out.extend(block.tokens for block in iter_sentences(read_blocks(files.paths()[split], files.format)))
    extra: list[Document] = []
    source_files = [Path(path).name for path in sgml]
    if ner_train_text:
        files = fetch_corpus_files(ner_train_text, data_dir, mirror)
        train_path = files.paths()["train"]
        blocks = read_blocks(train_path, files.format)
        kept = _without_held_out(blocks, held_out)
        log.info(
            "%s: %d training sentences overlap a CoNLL dev/test sentence (boilerplate such as standings headers) "
            "and are left out of the LM text", train_path, len(blocks) - len(kept),
        )  # fmt: skip
        extra = column_documents(kept)
        source_files.append(f"{ner_train_text}:train:{train_path.name}")
    documents, counts = read_reuters(sgml)
    return write_lm_corpus(
        documents, corpus_dir, source_files, seed, forbidden_sentences=held_out,
        skipped_without_body=counts.without_body, train_only=extra,
    )  # fmt: skip


def _without_held_out(blocks: list, held_out: list[list[str]]) -> list:
    """``blocks`` without the sentences in which :func:`find_sentences` would find a held-out sentence.

    The check ignores whitespace, sentence ends included, so a hit can lie inside one training sentence
    or span adjacent ones: every sentence that a hit's text touches is dropped.
    """
    sentences = [index for index, block in enumerate(blocks) if not block.is_docstart]
    texts = ["".join(blocks[index].tokens) for index in sentences]
    starts = list(itertools.accumulate((len(text) for text in texts), initial=0))
    haystack = "".join(texts)
    dropped: set[int] = set()
    for hit in {"".join(hit.split()) for hit in find_sentences([haystack], held_out)}:
        at = haystack.find(hit)
        while at >= 0:
            first = bisect.bisect_right(starts, at) - 1
            last = bisect.bisect_left(starts, at + len(hit)) - 1
            dropped.update(sentences[first : last + 1])
            at = haystack.find(hit, at + 1)
    # write_lm_corpus checks the whole LM text again, and refuses it if any held-out sentence is left
    return [block for index, block in enumerate(blocks) if index not in dropped]


def _sources(info: LMCorpusInfo) -> list[str]:
    """The data sets a built corpus came from, in :func:`prepare_reuters_corpus`'s notation."""
    extra = [name.rsplit(":", 1)[0] for name in info.source_files if ":" in name]
    return ["reuters21578"] + extra

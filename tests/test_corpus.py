"""Column-file validation and corpus loading, on the real CoNLL files and on malformed ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from flair_ner.corpus import (
    DOCSTART,
    ColumnFormat,
    CorpusFiles,
    CorpusFormatError,
    Span,
    conll2003_files,
    conllpp_files,
    entity_spans,
    iter_sentences,
    load_corpus,
    load_sentences,
    read_blocks,
)

IOB1 = ColumnFormat(tag_scheme="iob1")


def write(tmp_path: Path, text: str | bytes, name: str = "data.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [Span("PER", 0, 2), Span("LOC", 3, 4)]),  # IOB2
        (["I-PER", "I-PER", "B-PER", "O"], [Span("PER", 0, 2), Span("PER", 2, 3)]),  # IOB1 adjacent entities
        (["I-ORG", "I-LOC"], [Span("ORG", 0, 1), Span("LOC", 1, 2)]),  # IOB1 type change
        (["S-PER", "B-ORG", "E-ORG", "S-ORG"], [Span("PER", 0, 1), Span("ORG", 1, 3), Span("ORG", 3, 4)]),
        (["O", "O"], []),
    ],
)
def test_entity_spans(tags: list[str], spans: list[Span]) -> None:
    assert entity_spans(tags) == spans


def test_real_files_in_both_schemes_give_identical_spans(mirror: Path) -> None:
    """Original train (IOB1) and CoNLL++ train (IOB2) are the same annotation in two schemes."""
    original = list(iter_sentences(read_blocks(mirror / "conll2003" / "eng.train", IOB1)))
    corrected = list(iter_sentences(read_blocks(mirror / "conllpp" / "conllpp_train.txt")))
    assert len(original) == len(corrected) == 14041
    differing_tags = [i for i, (a, b) in enumerate(zip(original, corrected)) if a.tags != b.tags]
    adjacent = [i for i, a in enumerate(original) if any(tag.startswith("B-") for tag in a.tags)]
    assert len(differing_tags) > 5000 and adjacent  # the schemes really differ on these sentences
    assert all(a.spans == b.spans and a.tokens == b.tokens for a, b in zip(original, corrected))
    # "EU rejects German call ...": I-ORG (IOB1) vs B-ORG (IOB2), the same entity
    assert original[0].tags[0] == "I-ORG" and corrected[0].tags[0] == "B-ORG"
    assert original[0].spans == corrected[0].spans == [Span("ORG", 0, 1), Span("MISC", 2, 3), Span("MISC", 6, 7)]


def _slice(source: Path, target: Path, sentences: set[int]) -> None:
    """Copy the chosen sentences (by index, -DOCSTART- blocks not counted) of a column file."""
    blocks = [b for b in source.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    real = [b for b in blocks if not b.startswith(DOCSTART)]
    target.write_text(DOCSTART + " -X- -X- O\n\n" + "\n\n".join(real[i] for i in sorted(sentences)) + "\n")


def test_flair_reads_iob1_and_iob2_to_the_same_spans(tmp_path: Path, mirror: Path) -> None:
    original = list(iter_sentences(read_blocks(mirror / "conll2003" / "eng.train", IOB1)))
    adjacent = [i for i, a in enumerate(original) if any(tag.startswith("B-") for tag in a.tags)][:5]
    chosen = set(range(20)) | set(adjacent)
    spans_by_scheme = []
    for name, source, fmt in (
        ("iob1", mirror / "conll2003" / "eng.train", IOB1),
        ("iob2", mirror / "conllpp" / "conllpp_train.txt", ColumnFormat()),
    ):
        folder = tmp_path / name
        folder.mkdir()
        for split in ("train", "dev", "test"):
            _slice(source, folder / f"{split}.txt", chosen)
        corpus = load_corpus(CorpusFiles(folder, "train.txt", "dev.txt", "test.txt", fmt))
        assert len(corpus.train) == len(chosen)  # -DOCSTART- dropped
        flair_spans = [
            [Span(s.tag, s.tokens[0].idx - 1, s.tokens[-1].idx) for s in sentence.get_spans("ner")]
            for sentence in corpus.train
        ]
        assert flair_spans == [original[i].spans for i in sorted(chosen)]
        spans_by_scheme.append(flair_spans)
    assert spans_by_scheme[0] == spans_by_scheme[1]


def test_docstart_in_both_spellings_anywhere_and_no_final_newline(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n"
        "-DOCSTART- -X- O O\nPeter NNP B-NP B-PER\n\n\n-DOCSTART- -X- O O",
    )
    blocks = read_blocks(path)
    assert [(b.tokens, b.is_docstart, b.line) for b in blocks] == [
        ([DOCSTART], True, 1),
        (["EU", "rejects"], False, 3),
        ([DOCSTART], True, 5),
        (["Peter"], False, 6),
        ([DOCSTART], True, 9),
    ]


def test_real_conll2003_quirks_are_read(mirror: Path) -> None:
    """Marker at the end of the file, '-X- O O' spelling, no final newline (eng.train)."""
    blocks = read_blocks(mirror / "conll2003" / "eng.train", IOB1)
    assert blocks[-1].is_docstart and not blocks[0].is_docstart
    assert sum(b.is_docstart for b in blocks) == 946 and len(blocks) == 14987


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        ("EU NNP B-NP B-ORG\nrejects VBZ\n", ColumnFormat(), r"data.txt:2: expected at least 4 columns .*found 2: 'rejects VBZ'"),
        ("EU NNP B-NP B-ORG\ncall NN I-NP X-FOO\n", ColumnFormat(), r"data.txt:2: tag 'X-FOO' is not O or B-/I-/E-/S- plus a type"),
        ("EU NNP B-NP B-ORG\ncall NN I-NP PER\n", ColumnFormat(), r"data.txt:2: tag 'PER' is not O"),
        ("call NN I-NP O\nEU NNP I-NP I-ORG\n", ColumnFormat(), r"data.txt:2: I-ORG after O: in IOB2 an entity starts with B-"),
        ("EU NNP I-NP B-ORG\n", IOB1, r"data.txt:1: B-ORG after O: in IOB1, B- only separates"),
        ("EU NNP I-NP E-ORG\n", ColumnFormat(tag_scheme="bioes"), r"data.txt:1: E-ORG after O: in BIOES"),
        ("", ColumnFormat(), r"data.txt: file is empty; expected CoNLL column lines"),
        ("\n\n  \n", ColumnFormat(), r"data.txt: file is empty"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path: Path, content: str, fmt: ColumnFormat, message: str) -> None:
    with pytest.raises(CorpusFormatError, match=message) as caught:
        read_blocks(write(tmp_path, content), fmt)
    assert "\n" not in str(caught.value)


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "EU NNP B-NP B-ORG\n\nM\xfcnchen NNP B-NP B-LOC\n".encode("latin-1"))
    with pytest.raises(CorpusFormatError, match=r"data.txt:3: byte 0xfc is not UTF-8; expected UTF-8 text"):
        read_blocks(path)


def test_custom_column_layout(tmp_path: Path) -> None:
    """Any CoNLL-style layout: here token in column 1, tag in column 0, tab separated."""
    path = write(tmp_path, "B-LOC\tMünchen\nO\tist\n\nS-PER\tAnna\n")
    blocks = read_blocks(path, ColumnFormat(text_column=1, tag_column=0, tag_scheme="bioes"))
    assert [b.tokens for b in blocks] == [["München", "ist"], ["Anna"]]
    assert blocks[1].spans == [Span("PER", 0, 1)]


def test_load_corpus_validates_before_flair_reads(tmp_path: Path) -> None:
    for name in ("train.txt", "dev.txt"):
        write(tmp_path, "EU NNP B-NP B-ORG\n", name)
    write(tmp_path, "EU NNP B-NP\n", "test.txt")
    with pytest.raises(CorpusFormatError, match=r"test.txt:1: expected at least 4 columns"):
        load_corpus(CorpusFiles(tmp_path, "train.txt", "dev.txt", "test.txt"))


def test_known_layouts(mirror: Path) -> None:
    assert conllpp_files(mirror / "conllpp").format.tag_scheme == "iob2"
    assert conll2003_files(mirror / "conll2003").format.tag_scheme == "iob1"
    assert all(path.is_file() for path in conll2003_files(mirror / "conll2003").paths().values())


def test_byte_order_mark_is_stripped_and_reported_once(tmp_path: Path, mirror: Path, caplog) -> None:
    folder = tmp_path / "bom"
    folder.mkdir()
    for split in ("train", "dev", "test"):
        _slice(mirror / "conllpp" / "conllpp_train.txt", folder / f"{split}.txt", set(range(5)))
        data = (folder / f"{split}.txt").read_bytes()
        if split != "train":  # dev and test start with their first sentence, train with -DOCSTART-
            data = data.split(b"\n\n", 1)[1]
        (folder / f"{split}.txt").write_bytes(b"\xef\xbb\xbf" + data)
    blocks = read_blocks(folder / "train.txt")
    assert blocks[0].is_docstart and blocks[1].tokens[0] == "EU"  # -DOCSTART- is not read as a sentence
    assert read_blocks(folder / "dev.txt")[0].tokens[0] == "EU"
    corpus = load_corpus(CorpusFiles(folder, "train.txt", "dev.txt", "test.txt"))
    assert len(corpus.train) == 5 and corpus.train[0][0].text == "EU"
    assert corpus.dev[0][0].text == "EU"  # flair's own reader would give "\ufeffEU"
    assert load_sentences(folder / "test.txt")[0][0].text == "EU"
    warnings = [r.getMessage() for r in caplog.records if "byte-order mark" in r.getMessage()]
    assert sorted(warnings) == sorted(
        f"{folder / name}: removed the UTF-8 byte-order mark at the start of the file"
        for name in ("train.txt", "dev.txt", "test.txt")
    )

"""Column-file validation and corpus loading, on the real CoNLL files and on malformed ones."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from conftest import write_slice

from flair_ner.data.corpus import (
    CorpusFormatError,
    fetch_corpus_files,
    iter_sentences,
    load_corpus,
    load_sentences,
    read_blocks,
    read_column_file,
    read_corpus,
    validate_files,
)
from flair_ner.data.registry import (
    ColumnFormat,
    CorpusFiles,
    DOCSTART,
    MULTICONER_COARSE,
    Span,
    entity_spans,
    parse_columns,
    registered_files,
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
        (
            "EU NNP B-NP B-ORG\nrejects VBZ\n",
            ColumnFormat(),
            r"data.txt:2: expected at least 4 columns .*found 2: 'rejects VBZ'",
        ),
        (
            "EU NNP B-NP B-ORG\ncall NN I-NP X-FOO\n",
            ColumnFormat(),
            r"data.txt:2: tag 'X-FOO' is not O or B-/I-/E-/S- plus a type",
        ),
        ("EU NNP B-NP B-ORG\ncall NN I-NP PER\n", ColumnFormat(), r"data.txt:2: tag 'PER' is not O"),
        (
            "call NN I-NP O\nEU NNP I-NP I-ORG\n",
            ColumnFormat(),
            r"data.txt:2: I-ORG after O: in IOB2 an entity starts with B-",
        ),
        ("EU NNP I-NP B-ORG\n", IOB1, r"data.txt:1: B-ORG after O: in IOB1, B- only separates"),
        ("EU NNP I-NP E-ORG\n", ColumnFormat(tag_scheme="bioes"), r"data.txt:1: E-ORG after O: in BIOES"),
        (
            "EU NNP I-NP B-ORG\nsays VBZ I-VP O\n",
            ColumnFormat(tag_scheme="bioes"),
            r"data.txt:2: O after B-ORG: in BIOES, B- is followed by I-/E-",
        ),
        (
            "EU NNP I-NP B-ORG\n",
            ColumnFormat(tag_scheme="bioes"),
            r"data.txt:1: O after B-ORG: in BIOES",
        ),  # B- at the end
        (
            "EU NNP I-NP S-ORG\n",
            ColumnFormat(),
            r'data.txt:1: S-ORG is a BIOES tag, but the file is declared iob2 \(set tag_scheme = "bioes"\)',
        ),
        (
            "EU NNP I-NP B-ORG\nUnion NNP I-NP E-ORG\n",
            ColumnFormat(),
            r"data.txt:2: E-ORG is a BIOES tag, but the file is declared iob2",
        ),
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
    path = write(tmp_path, "S-LOC\tMünchen\nO\tist\n\nS-PER\tAnna\n")
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
    assert registered_files("conllpp", mirror / "conllpp").format.tag_scheme == "iob2"
    assert registered_files("conll2003", mirror / "conll2003").format.tag_scheme == "iob1"
    assert all(path.is_file() for path in registered_files("conll2003", mirror / "conll2003").paths().values())


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


@pytest.mark.parametrize(
    ("content", "scheme", "reason"),
    [
        ("EU B-ORG\nUnion E-ORG\n", "bioes", r"data.txt:2 has E-ORG, a BIOES tag"),
        ("EU I-ORG\nsays O\n", "iob1", r"data.txt:1 opens an entity with I-ORG after O \(IOB2 would use B-\)"),
        (
            "says O\nEU B-ORG\nUnion I-ORG\n",
            "iob2",
            r"data.txt:2 opens an entity with B-ORG after O \(IOB1 would use I-\)",
        ),
        ("says O\n", "iob2", r"no entity that tells IOB1 from IOB2"),
    ],
)
def test_auto_scheme_says_what_it_chose_and_why(tmp_path: Path, caplog, content: str, scheme: str, reason: str) -> None:
    caplog.set_level(logging.INFO, logger="flair_ner")
    path = write(tmp_path, content)
    column_file = read_column_file(path, ColumnFormat(text_column=0, tag_column=1, tag_scheme="auto"))
    assert column_file.scheme == scheme and re.search(reason, column_file.reason)
    assert f"tag scheme {scheme.upper()}, because" in caplog.text


def test_auto_scheme_refuses_a_mix_of_iob1_and_iob2(tmp_path: Path) -> None:
    path = write(tmp_path, "EU I-ORG\n\nsays O\nBonn B-LOC\n")
    with pytest.raises(CorpusFormatError, match=r"data.txt: mixes IOB1 \(.*:1 opens .*\) and IOB2 \(.*:4 opens"):
        read_blocks(path, ColumnFormat(text_column=0, tag_column=1, tag_scheme="auto"))


def test_comment_lines_blank_runs_and_another_layout(tmp_path: Path) -> None:
    """MultiCoNER-like: comment line per sentence, two blank lines between sentences, made-up types."""
    path = write(
        tmp_path,
        "\n# id 1\tdomain=xx\nthe _ _ O\nzorblax _ _ B-Gadget\nprime _ _ I-Gadget\n\n\n"
        "# id 2\tdomain=xx\nmeet _ _ O\nqa _ _ B-Person\n\n\n",
    )
    fmt = ColumnFormat(text_column=0, tag_column=3, document_separator=None, comment_prefix="# id ")
    blocks = read_blocks(path, fmt)
    assert [b.tokens for b in blocks] == [["the", "zorblax", "prime"], ["meet", "qa"]]
    assert [b.spans for b in blocks] == [[Span("Gadget", 1, 3)], [Span("Person", 1, 2)]]
    assert blocks[0].lines == [3, 4, 5]
    without = ColumnFormat(text_column=0, tag_column=3, document_separator=None)
    with pytest.raises(CorpusFormatError, match=r"data.txt:2: tag 'domain=xx' is not O"):
        read_blocks(path, without)  # without the prefix, the comment line is read as a token line


def test_label_map_maps_drops_and_refuses_unmapped_types(tmp_path: Path) -> None:
    path = write(tmp_path, "a B-Artist\nb I-Artist\nc B-Food\nd O\ne B-Drink\n")
    fmt = ColumnFormat(text_column=0, tag_column=1, document_separator=None)
    mapped = read_blocks(path, fmt.with_label_map({"Artist": "PER", "Food": "PROD", "Drink": "O"}))
    assert mapped[0].spans == [Span("PER", 0, 2), Span("PROD", 2, 3)]
    with pytest.raises(CorpusFormatError, match=r"data.txt:5: entity type 'Drink' is not in label_map \(map it"):
        read_blocks(path, fmt.with_label_map({"Artist": "PER", "Food": "PROD"}))


def test_other_encoding_and_its_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "M\xfcnchen B-LOC\n".encode("latin-1"))
    fmt = ColumnFormat(text_column=0, tag_column=1, encoding="latin-1")
    assert read_blocks(path, fmt)[0].tokens == ["München"]
    cyrillic = write(tmp_path, "\xff\xfe B-LOC\n".encode("latin-1"), "bad.txt")
    with pytest.raises(CorpusFormatError, match=r"bad.txt:1: byte 0xff is not ascii"):
        read_blocks(cyrillic, ColumnFormat(text_column=0, tag_column=1, encoding="ascii"))


def test_missing_dev_is_held_out_of_train_with_the_seed(tmp_path: Path, mirror: Path) -> None:
    write_slice(mirror / "conllpp" / "conllpp_train.txt", tmp_path / "train.txt", 50)
    files = CorpusFiles(tmp_path, "train.txt", None, None)
    first, again, other = (read_corpus(files, seed=seed) for seed in (1, 1, 2))
    assert len(first.corpus.train) == 45 and len(first.corpus.dev) == 5 and first.corpus.test is None
    texts = [[s.to_tokenized_string() for s in loaded.corpus.dev] for loaded in (first, again, other)]
    assert texts[0] == texts[1] and texts[0] != texts[2]
    train = {s.to_tokenized_string() for s in first.corpus.train}
    assert not train & set(texts[0])
    assert first.dev_note == f"5 sentences (10%) held out of {tmp_path / 'train.txt'} with seed 1"


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("wnut17", {"train": (3394, 62730, 1975), "dev": (1009, 15733, 836), "test": (1287, 23394, 1079)}),
        ("multiconer2-hi", {"train": (9632, 159454, 12870), "test": (514, 8639, 684)}),
    ],
)
def test_registered_data_sets_download_and_read(tmp_path: Path, mirror: Path, name: str, sizes: dict) -> None:
    """Counts from the mirror's README (checked facts)."""
    files = fetch_corpus_files(name, tmp_path, mirror)
    for split, blocks in validate_files(files).items():
        sentences = list(iter_sentences(blocks))
        counted = (len(sentences), sum(len(b.tokens) for b in sentences), sum(len(b.spans) for b in sentences))
        assert counted == sizes[split], split
    assert set(files.paths()) == set(sizes)


def test_multiconer_coarse_map_covers_every_fine_type(mirror: Path) -> None:
    fine = {
        span.type
        for block in read_blocks(
            mirror / "multiconer2-en" / "en_train.conll", registered_files("multiconer2-en", mirror).format
        )
        for span in block.spans
    }
    assert len(fine) == 33 and fine == set(MULTICONER_COARSE)
    assert set(MULTICONER_COARSE.values()) == {"LOC", "CW", "GRP", "PER", "PROD", "MED"}


@pytest.mark.parametrize(
    ("spec", "columns"), [("0=text,3=ner", (0, 3)), ("1=ner, 0=text, 2=pos", (0, 1)), ("auto", (0, -1))]
)
def test_parse_columns(spec: str, columns: tuple[int, int]) -> None:
    assert parse_columns(spec) == columns


@pytest.mark.parametrize(("spec", "message"), [("0=text", "names no ner column"), ("text,ner", "must look like")])
def test_parse_columns_refuses(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_columns(spec)


def test_auto_columns_read_token_tag_and_conll_files_alike(tmp_path: Path, mirror: Path, caplog) -> None:
    """columns = "auto" (the default for your files): the token first, the tag last, said in the log."""
    conll = tmp_path / "four.txt"
    write_slice(mirror / "conll2003" / "eng.testb", conll, 30)
    two = tmp_path / "two.txt"
    two.write_text(
        "\n".join(
            " ".join((line.split()[0], line.split()[-1])) if line.strip() else ""
            for line in conll.read_text().splitlines()
        )
        + "\n",
        encoding="utf-8",
    )
    text, tag = parse_columns("auto")
    fmt = ColumnFormat(text_column=text, tag_column=tag, tag_scheme="iob1")
    caplog.set_level(logging.INFO, logger="flair_ner")
    four_blocks, two_blocks = read_blocks(conll, fmt), read_blocks(two, fmt)
    assert [(b.tokens, b.spans) for b in four_blocks] == [(b.tokens, b.spans) for b in two_blocks]
    assert sum(len(b.spans) for b in two_blocks) > 10
    assert "two.txt: token in column 0, tag in the last column (2 columns)" in caplog.text
    assert "four.txt: token in column 0, tag in the last column (4 columns)" in caplog.text
    one = tmp_path / "one.txt"
    one.write_text("Anna\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"one.txt:1: expected at least 2 columns \(text in column 0, tag in the last"):
        read_blocks(one, fmt)

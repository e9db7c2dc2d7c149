"""Prediction: offsets into the input, records in = records out, bad records, documents, every format."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from flair.data import Sentence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flair_ner.cli.main import main
from flair_ner.predict.tagging import (
    SHIPPED_MODELS,
    PredictInputError,
    load_tagger,
    predict_stream,
    read_records,
    record_entities,
    resolve_model_path,
    sentence_spans,
    tag_text,
)
from flair_ner.predict.segment import chunks, segment, token_list_spans

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tagger(tiny_run):
    return load_tagger(tiny_run.output_dir)


def run(tagger, data: str | bytes, input_format: str, output_format: str = "jsonl", **options) -> tuple[str, list[str]]:
    out = io.StringIO()
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    records = read_records(io.BytesIO(raw), input_format, options.pop("document", False))
    summary = predict_stream(tagger, records, "input", output_format, out, **options)
    return out.getvalue(), summary.bad


def jsonl(tagger, data: str | bytes, input_format: str = "text", **options) -> list[dict]:
    output, bad = run(tagger, data, input_format, **options)
    assert not bad
    return [json.loads(line) for line in output.split("\n")[:-1]]  # not splitlines(): U+2028 may be in a record


def tagged_record(text: str, entities: list[tuple[int, int, str]]):
    """A text record whose sentences carry the given (first token, last token + 1, type) spans, as a tagger leaves them."""
    record = next(read_records([text.encode("utf-8")], "text"))
    tagged = [Sentence([token.text for token in sentence]) for sentence in record.sentences]
    for first, end, label in entities:
        tagged[0][first:end].add_label("ner", label, 0.9)
    record.predicted = [sentence_spans(sentence) for sentence in tagged]
    return record


def test_offsets_count_in_the_input_not_in_the_retokenised_text() -> None:
    text = "I  flew to\tCalifornia (USA) with   Zoë Ängström-Wu."
    record = tagged_record(text, [(3, 4, "LOC"), (5, 6, "LOC"), (8, 10, "PER")])
    tokens = [token.text for token in record.sentences[0]]
    assert tokens[3] == "California" and tokens[5] == "USA" and tokens[8:10] == ["Zoë", "Ängström-Wu"]
    found = record_entities(record)
    assert [e["text"] for e in found] == ["California", "USA", "Zoë Ängström-Wu"]
    assert found[0]["start"] == text.index("California") == 11  # flair's re-joined text would say 10
    for entity in found:
        assert text[entity["start"] : entity["end"]] == entity["text"]


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=200))
def test_every_token_is_found_where_it_is_in_the_text(text: str) -> None:
    for sentence in segment(text):
        assert 0 < len(sentence) and all(t1.end <= t2.start for t1, t2 in zip(sentence, sentence[1:]))
        for token in sentence:
            written = text[token.start : token.end]
            assert "".join(written.split()) == "".join(token.text.split()) and written.strip() == written
    # no character of the input is lost: every non-whitespace character is inside some token
    covered = "".join(text[token.start : token.end] for sentence in segment(text) for token in sentence)
    assert "".join(covered.split()) == "".join(text.split())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# lines of a UTF-8 file: no line breaks, no lone surrogates (they cannot be encoded, so no input holds them)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=80),
        min_size=1,
        max_size=6,
    )
)
def test_random_unicode_lines_one_record_each_with_true_offsets(tagger, lines: list[str]) -> None:
    records = jsonl(tagger, "\n".join(lines) + "\n")
    assert [record["text"] for record in records] == lines
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]


def test_text_lines_are_documents_split_into_sentences(tagger) -> None:
    text = "Peter Blackburn lives in Brussels. He works for the EU.\n\nJapan beat Syria .\n"
    records = jsonl(tagger, text)
    assert [r["text"] for r in records] == [
        "Peter Blackburn lives in Brussels. He works for the EU.",
        "",
        "Japan beat Syria .",
    ]
    assert records[1]["entities"] == []
    assert [len(s) for s in segment(records[0]["text"])] == [6, 6]


def test_only_newline_ends_a_record(tagger) -> None:
    data = "form\x0cfeed here\r\nline\u2028separator\nnext\x85line and\x1evt\x0bhere\n"
    assert [r["text"] for r in jsonl(tagger, data)] == [
        "form\x0cfeed here",
        "line\u2028separator",
        "next\x85line and\x1evt\x0bhere",
    ]
    raw_separator = '{"text": "A\u2028B", "id": 1}\n'  # valid JSON: U+2028 need not be escaped
    assert jsonl(tagger, raw_separator, "jsonl")[0]["text"] == "A\u2028B"


def test_jsonl_output_escapes_line_and_paragraph_separators(tagger) -> None:
    """A line-splitting reader (str.splitlines, older JavaScript) must see one output line per record."""
    output, bad = run(tagger, "Paris\u2028is\u2029big é\nRome\n", "text")
    assert not bad and "\u2028" not in output and "\u2029" not in output
    lines = output.splitlines()
    assert len(lines) == 2 and "\\u2028" in lines[0] and "é" in lines[0]
    assert json.loads(lines[0])["text"] == "Paris\u2028is\u2029big é"


def test_jsonl_fields_are_carried_and_token_input_gets_token_indices(tagger) -> None:
    data = '{"id": "a1", "tokens": ["Japan", "beat", "Syria"], "meta": {"k": [1, 2]}}\n\n{"text": "Nadim Ladki reported.", "id": 7}\n'
    records = jsonl(tagger, data, "jsonl")
    assert records[0]["id"] == "a1" and records[0]["meta"] == {"k": [1, 2]} and records[1]["id"] == 7
    assert records[0]["tokens"] == ["Japan", "beat", "Syria"] and "entities" in records[1]
    record = next(read_records([b'{"tokens": ["Anna", "met", "Bo", "Li"]}'], "jsonl"))
    tagged = Sentence(["Anna", "met", "Bo", "Li"])
    tagged[2:4].add_label("ner", "PER")
    record.predicted = [sentence_spans(tagged)]
    assert record_entities(record) == [
        {"text": "Bo Li", "type": "PER", "start": 9, "end": 14, "confidence": 1.0, "token_start": 2, "token_end": 4}
    ]


def test_a_whole_file_as_one_document(tagger, tmp_path: Path, capsys) -> None:
    source = tmp_path / "doc.txt"
    source.write_text("Peter Blackburn lives\nin Brussels.\n\nHe works for the EU.\n", encoding="utf-8")
    assert main(["predict", "--model", str(tagger_path(tagger, tmp_path)), "--input", str(source), "--document"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 1 and records[0]["text"] == source.read_text(encoding="utf-8")


def tagger_path(tagger, folder: Path) -> Path:
    path = folder / "model.pt"
    if not path.is_file():
        tagger.save(path)
    return path


def test_long_sentences_are_cut_into_chunks_not_refused(tagger) -> None:
    line = " ".join(f"w{i}" for i in range(1200))
    records = jsonl(tagger, line + "\n")
    assert len(records) == 1 and records[0]["text"] == line
    pieces = list(chunks(token_list_spans([f"w{i}" for i in range(1200)]), max_tokens=500, max_chars=10**6))
    assert [len(p) for p in pieces] == [500, 500, 200] and pieces[1][0].text == "w500"
    huge = list(chunks(token_list_spans(["x" * 5000, "y"]), max_chars=2000))
    assert [[t.text[:1] for t in p] for p in huge] == [["x"], ["y"]]


def test_grouping_does_not_change_the_output(tagger) -> None:
    data = "".join(f"Peter Blackburn {i} lives in Brussels . He met Japan .\n" for i in range(7))
    assert run(tagger, data, "text", group_sentences=3) == run(tagger, data, "text", group_sentences=10_000)


def test_bad_records_do_not_cost_the_others(tagger) -> None:
    data = b'{"text": "Japan beat Syria ."}\n{not json\n{"tokens": ["a", ""]}\n["x"]\n{"text": "M\xfcnchen"}\n{"tokens": ["Peter"]}\n'
    output, bad = run(tagger, data, "jsonl")
    records = [json.loads(line) for line in output.splitlines()]
    # one output record per input record: the bad ones in their place, with the reason
    assert [record.get("text", record.get("error", "tokens")) for record in records] == [
        "Japan beat Syria .",
        "not JSON (Expecting property name enclosed in double quotes)",
        'token 1 is ""; expected a non-blank string',
        'expected an object with "text" (a string) or "tokens" (a list of strings)',
        "byte 0xfc is not UTF-8; expected UTF-8 text",
        "tokens",
    ]
    assert [record.get("line") for record in records] == [None, 2, 3, 4, 5, None]
    assert all(record["entities"] == [] for record in records if "error" in record)
    conll, _ = run(tagger, b"Japan\nbeat\n\n\xff\n\nSyria\n", "conll", "conll")
    assert [line.split()[0] for line in conll.splitlines() if line] == [
        "Japan",
        "beat",
        "Syria",
    ]  # CoNLL: no place for it
    assert bad == [
        "input:2: not JSON (Expecting property name enclosed in double quotes)",
        'input:3: token 1 is ""; expected a non-blank string',
        'input:4: expected an object with "text" (a string) or "tokens" (a list of strings)',
        "input:5: byte 0xfc is not UTF-8; expected UTF-8 text",
    ]


def test_cli_bad_records_exit_1_and_strict_tags_nothing(tiny_run, tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"text": "Japan beat Syria ."}\n{oops\n{"text": "Peter Blackburn"}\n', encoding="utf-8")
    target = tmp_path / "out.jsonl"
    assert main(["predict", "--model", str(tiny_run.final_model), "--input", str(source), "--output", str(target)]) == 1
    err = capsys.readouterr().err
    assert (
        f"{source}:2: not JSON" in err
        and "1 bad record(s) reported above were written as records with an error field; the other 2" in err
    )
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [line.get("text") for line in lines] == ["Japan beat Syria .", None, "Peter Blackburn"] and lines[1][
        "line"
    ] == 2
    strict = tmp_path / "strict.jsonl"
    assert (
        main(
            [
                "predict",
                "--model",
                str(tiny_run.final_model),
                "--input",
                str(source),
                "--output",
                str(strict),
                "--strict",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert f"{source}:2: not JSON" in err and "nothing tagged (--strict)" in err and not strict.exists()
    assert list(tmp_path.glob(".*.tmp")) == []  # nothing half-written


@pytest.mark.parametrize("input_format", ["text", "jsonl", "conll"])
def test_byte_order_mark_is_not_part_of_the_first_token(tagger, input_format: str) -> None:
    data = {
        "text": "EU rejects German call .\n",
        "jsonl": '{"text": "EU rejects German call ."}\n',
        "conll": "EU\nrejects\nGerman\ncall\n.\n",
    }[input_format]
    with_bom = run(tagger, b"\xef\xbb\xbf" + data.encode("utf-8"), input_format)
    assert with_bom == run(tagger, data, input_format)
    assert json.loads(with_bom[0].splitlines()[0])["text"].startswith("EU")


def test_conll_in_conll_out_keeps_columns(tagger, conllpp_slice: Path) -> None:
    data = (conllpp_slice / "conllpp_test.txt").read_text()
    lines = run(tagger, data, "conll", "conll")[0].splitlines()
    first = lines[0].split()
    assert first[:4] == ["SOCCER", "NN", "I-NP", "O"] and len(first) == 5
    assert sum(1 for line in lines if not line) == 80  # one blank line after each of the 80 sentences
    records = jsonl(tagger, data, "conll")
    assert len(records) == 80 and records[0]["tokens"][0] == "SOCCER"


def test_raw_text_api_gives_offsets(tagger, monkeypatch) -> None:
    def first_two_tokens_are_people(tagger, sentences, *args, **kw) -> None:  # a tagger whose output is known
        for sentence in sentences:
            sentence[0:2].add_label("ner", "PER", 1.0)

    monkeypatch.setattr("flair_ner.predict.tagging.predict_sentences", first_two_tokens_are_people)
    text = "Peter  Blackburn lives in Brussels.\tHe works for the EU."
    found = tag_text(tagger, text)
    assert [(e["text"], e["start"], e["end"]) for e in found] == [("Peter  Blackburn", 0, 16), ("He works", 36, 44)]


def test_unknown_formats_are_refused() -> None:
    with pytest.raises(PredictInputError, match="unknown input format 'xml'"):
        list(read_records([b"x"], "xml"))
    with pytest.raises(PredictInputError, match="--document reads text input, not jsonl"):
        list(read_records([b"x"], "jsonl", document=True))


def test_a_document_with_a_bad_byte_names_its_line() -> None:
    (record,) = read_records([b"\xef\xbb\xbfFirst line.\n", b"Second line.\n", b"M\xfcller.\n"], "text", document=True)
    assert (record.line, record.error) == (3, "byte 0xfc is not UTF-8; expected UTF-8 text")
    (record,) = read_records([b"\xef\xbb\xbfFirst line.\n", b"Second line.\n"], "text", document=True)
    assert record.error is None and record.text == "First line.\nSecond line.\n"  # the byte-order mark removed


def test_benchmark_batches_of_whole_documents() -> None:
    from flair_ner.predict.benchmark import document_batches

    sentences = [["a"], ["b"], ["c"], [], ["d"], ["e"], ["f"], ["g"]]
    documents = [0, 0, 1, 1, 2, 2, 2, 3]
    assert document_batches(sentences, documents, 3) == [
        ([["a"], ["b"], ["c"]], [0, 0, 1]),  # the empty sentence of document 1 is not tagged
        ([["d"], ["e"], ["f"]], [2, 2, 2]),
        ([["g"]], [3]),
    ]
    assert [numbers for _, numbers in document_batches(sentences, documents, 2)] == [[0, 0], [1], [2, 2, 2], [3]]


def test_not_a_model(tmp_path: Path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    with pytest.raises(PredictInputError, match=r"notes.pt: not a flair SequenceTagger model \(UnpicklingError"):
        load_tagger(text)
    other = tmp_path / "dict.pt"
    torch.save({"weights": [1, 2, 3]}, other)
    with pytest.raises(PredictInputError, match=r"dict.pt: not a flair SequenceTagger model"):
        load_tagger(other)
    with pytest.raises(PredictInputError, match=r"missing.pt: no such model file"):
        load_tagger(tmp_path / "missing.pt")


def test_a_shipped_model_by_name_unless_a_path_of_that_name_exists(tmp_path: Path, monkeypatch) -> None:
    assert resolve_model_path("conllpp") == SHIPPED_MODELS["conllpp"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conllpp").mkdir()  # a run folder named like the shipped model: the folder is meant
    (tmp_path / "conllpp" / "best-model.pt").write_bytes(b"")
    assert resolve_model_path("conllpp") == Path("conllpp") / "best-model.pt"
    monkeypatch.setitem(SHIPPED_MODELS, "gone", tmp_path / "gone" / "model.pt")
    with pytest.raises(PredictInputError, match=r"gone/model.pt: the shipped model is missing from this installation"):
        resolve_model_path("gone")


def test_model_for_another_label_type(tiny_run, tmp_path: Path) -> None:
    from flair.models import SequenceTagger

    tagger = SequenceTagger.load(tiny_run.final_model)
    tagger.tag_type = "pos"
    tagger.save(tmp_path / "pos.pt")
    with pytest.raises(PredictInputError, match=r"pos.pt: the model predicts 'pos' labels, not 'ner'"):
        load_tagger(tmp_path / "pos.pt")


def test_cli_bad_model_is_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.pt").write_text("nope")
    assert main(["predict", "--model", str(tmp_path / "x.pt"), "--input", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("flair-ner: error:") and "not a flair SequenceTagger model" in err and "\n" not in err


def test_plain_flair_example_script(tiny_run) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "predict_example.py"), str(tiny_run.final_model), "Japan beat Syria ."],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Japan beat Syria ." in result.stdout


def test_cli_stdout_carries_only_predictions(tiny_run, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("Japan beat Syria .\nPeter Blackburn\n")
    result = subprocess.run(
        [sys.executable, "-m", "flair_ner", "predict", "--model", str(tiny_run.final_model), "--input", str(source)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    assert [r["text"] for r in records] == ["Japan beat Syria .", "Peter Blackburn"]
    assert (
        "tagged 2 records" in result.stderr and "SequenceTagger predicts" not in result.stderr
    )  # flair's tag list: -v only


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("Ab9 .,'\"-()?!:;\n\t$%&/ÉüΩ—'’")), max_size=60))
def test_the_kits_segtok_tokens_are_flairs(text: str) -> None:
    """segment.segtok_tokens (no flair import, for the ONNX runtime) tokenises exactly as flair's SegtokTokenizer."""
    from flair.tokenization import SegtokTokenizer

    from flair_ner.predict.segment import segtok_tokens

    assert segtok_tokens(text) == SegtokTokenizer.run_tokenize(text)


def test_reading_and_writing_records_needs_no_flair_torch_or_pandas() -> None:
    code = ("import sys, io; from flair_ner.predict import records; "
            "list(records.read_records([b'Peter lives in Berlin.'], 'text')); "
            "print(sorted(m for m in ('torch', 'flair', 'pandas') if m in sys.modules))")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr

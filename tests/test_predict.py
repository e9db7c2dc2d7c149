"""Prediction: every input and output format, the plain-flair script, and every bad input."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flair_ner.cli import main
from flair_ner.predict import MAX_TOKENS, PredictInputError, load_tagger, predict_stream, read_input, tag_text

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tagger(tiny_run):
    return load_tagger(tiny_run.output_dir)


def run(tagger, data: str | bytes, input_format: str, output_format: str) -> str:
    out = io.StringIO()
    raw = data if isinstance(data, bytes) else data.encode("utf-8")
    predict_stream(tagger, raw, "input", input_format, output_format, out)
    return out.getvalue()


def test_text_to_jsonl(tagger) -> None:
    lines = run(tagger, "EU rejects German call to boycott British lamb.\n\nPeter Blackburn\n", "text", "jsonl").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["tokens"] for r in records] == [
        ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
        ["Peter", "Blackburn"],
    ]
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]
            assert entity["type"] in {"PER", "LOC", "ORG", "MISC"} and 0 <= entity["confidence"] <= 1


@pytest.mark.parametrize("input_format", ["text", "jsonl", "conll"])
def test_byte_order_mark_is_not_part_of_the_first_token(tagger, input_format: str) -> None:
    data = {
        "text": "EU rejects German call .\n",
        "jsonl": '{"text": "EU rejects German call ."}\n',
        "conll": "EU\nrejects\nGerman\ncall\n.\n",
    }[input_format]
    with_bom = run(tagger, b"\xef\xbb\xbf" + data.encode("utf-8"), input_format, "jsonl")
    assert with_bom == run(tagger, data, input_format, "jsonl")
    assert json.loads(with_bom.splitlines()[0])["tokens"][0] == "EU"


def test_conll_in_conll_out_keeps_columns(tagger, conllpp_slice: Path) -> None:
    data = (conllpp_slice / "conllpp_test.txt").read_text()
    lines = run(tagger, data, "conll", "conll").splitlines()
    first = lines[0].split()
    assert first[:4] == ["SOCCER", "NN", "I-NP", "O"] and len(first) == 5
    assert sum(1 for line in lines if not line) == 80  # one blank line after each of the 80 sentences


def test_jsonl_tokens_and_text(tagger) -> None:
    data = '{"tokens": ["Japan", "beat", "Syria"]}\n{"text": "Nadim Ladki reported."}\n'
    records = [json.loads(line) for line in run(tagger, data, "jsonl", "jsonl").splitlines()]
    assert records[0]["tokens"] == ["Japan", "beat", "Syria"] and records[0]["text"] == "Japan beat Syria"
    assert records[1]["tokens"] == ["Nadim", "Ladki", "reported", "."]
    conll = run(tagger, data, "jsonl", "conll").splitlines()
    assert [line.split()[0] for line in conll[:3]] == ["Japan", "beat", "Syria"]


def test_raw_text_api_splits_sentences(tagger) -> None:
    sentences = tag_text(tagger, "Peter Blackburn lives in Brussels. He works for the EU.")
    assert [len(s) for s in sentences] == [6, 6]


def test_cli_predict_from_stdin_and_file(tiny_run, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Japan beat Syria .\n")))
    assert main(["predict", "--model", str(tiny_run.final_model), "--input", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["tokens"] == ["Japan", "beat", "Syria", "."]
    source = tmp_path / "in.jsonl"
    source.write_text('{"tokens": ["Japan"]}\n')
    target = tmp_path / "out.conll"
    assert main(["predict", "--model", str(tiny_run.output_dir), "--input", str(source), "--format", "conll", "--output", str(target)]) == 0
    assert target.read_text().split("\n")[0].split()[0] == "Japan"


@pytest.mark.parametrize(
    ("data", "input_format", "message"),
    [
        (b"", "text", r"input: nothing to tag: the input is empty"),
        (b"\n\n   \n", "text", r"input: nothing to tag: the input is empty"),
        (b"-DOCSTART- -X- -X- O\n\n", "conll", r"input: nothing to tag: the input is without sentences"),
        (("x " * (MAX_TOKENS + 1)).encode(), "text", rf"input:1: {MAX_TOKENS + 1} tokens in one sentence; at most {MAX_TOKENS}"),
        (b"ok line\nM\xfcnchen\n", "text", r"input:2: byte 0xfc is not UTF-8"),
        (b'{"tokens": 3}\n', "jsonl", r'input:1: expected \{"text": "..."\} or \{"tokens": \[...\]\}'),
        (b"{not json\n", "jsonl", r"input:1: not JSON"),
    ],
)
def test_bad_input_is_one_clear_line(data: bytes, input_format: str, message: str) -> None:
    with pytest.raises(PredictInputError, match=message) as caught:
        read_input(data, "input", input_format)
    assert "\n" not in str(caught.value)


def test_blank_lines_between_sentences_are_skipped(tagger) -> None:
    assert len(read_input(b"\nJapan beat Syria .\n\n\nPeter\n", "input", "text")) == 2


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
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Japan beat Syria ." in result.stdout


def test_cli_stdout_carries_only_predictions(tiny_run, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("Japan beat Syria .\nPeter Blackburn\n")
    result = subprocess.run(
        [sys.executable, "-m", "flair_ner", "predict", "--model", str(tiny_run.final_model), "--input", str(source)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]  # every line is JSON
    assert [r["tokens"][0] for r in records] == ["Japan", "Peter"]

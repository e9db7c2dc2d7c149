"""flair-ner export and the ONNX engine, on the tiny stacked tagger (GloVe rows + forward and backward LMs +
BiLSTM-CRF): agreement with torch, the same JSONL as the torch engine, a run without torch or flair, and
one-line refusals of what cannot be exported or read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flair_ner.cli.main import main

REPO = Path(__file__).resolve().parents[1]
TEXT = (
    "Peter Blackburn lives in Brussels and works for the European Union .\n"
    "SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT .\n"
    "Nadim Ladki\n"
    "AL-AIN , United Arab Emirates 1996-12-06\n"
    "Zoë   Ängström-Wu flew to\tZürich on 12 March 2021 ; Müller stayed in Bonn .\n"
)


@pytest.fixture(scope="module")
def exported(tiny_run, conllpp_slice: Path, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export") / "onnx"
    code = main(["export", "--model", str(tiny_run.output_dir), "--output", str(folder),
                 "--sample", str(conllpp_slice / "conllpp_test.txt")])  # fmt: skip
    assert code == 0
    return folder


def test_export_writes_a_self_describing_folder_that_agrees_with_torch(exported: Path, tiny_run) -> None:
    description = json.loads((exported / "export.json").read_text(encoding="utf-8"))
    assert {p.name for p in exported.iterdir()} == {
        "export.json",
        "tagger.onnx",
        "lm_0.onnx",
        "lm_1.onnx",
        "words.json",
        "MODEL_CARD.md",
    }
    card = (exported / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert description["source_sha256"] in card and "flair-ner predict --model <this folder>" in card
    assert description["stack"] == ["words", "lm_0", "lm_1"] and [lm["forward"] for lm in description["lms"]] == [
        True,
        False,
    ]
    assert description["agreement"]["sentences"] == 80 and description["agreement"]["token_agreement"] >= 0.9999
    assert len(description["source_sha256"]) == 64 and description["quantize"] == "none"


def test_onnx_engine_writes_the_same_jsonl_as_torch(
    exported: Path, tiny_run, tmp_path: Path, conllpp_slice: Path
) -> None:
    source = tmp_path / "input.txt"
    source.write_text(TEXT, encoding="utf-8")
    outputs = {}
    for engine, model in (("torch", tiny_run.output_dir), ("onnx", exported)):
        outputs[engine] = tmp_path / f"{engine}.jsonl"
        assert (
            main(
                [
                    "predict",
                    "--model",
                    str(model),
                    "--engine",
                    engine,
                    "--input",
                    str(source),
                    "--output",
                    str(outputs[engine]),
                ]
            )
            == 0
        )
    assert outputs["onnx"].read_bytes() == outputs["torch"].read_bytes()
    assert (
        sum(len(json.loads(line)["entities"]) for line in outputs["torch"].read_text().splitlines()) > 0
    )  # it tags something
    # CoNLL input and output, and engine "auto" choosing ONNX for an export folder
    for name, model in (("torch", tiny_run.output_dir), ("auto", exported)):
        assert main(["predict", "--model", str(model), "--input", str(conllpp_slice / "conllpp_dev.txt"), "--output-format", "conll",
                     "--output", str(tmp_path / f"{name}.conll")]) == 0  # fmt: skip
    assert (tmp_path / "auto.conll").read_bytes() == (tmp_path / "torch.conll").read_bytes()


def test_the_onnx_engine_runs_with_torch_and_flair_unimportable(exported: Path, tmp_path: Path) -> None:
    source = tmp_path / "input.txt"
    source.write_text(TEXT, encoding="utf-8")
    blocker = (
        "import sys\n"
        "for name in ('torch', 'flair', 'pandas', 'transformers'):\n"
        "    sys.modules[name] = None  # import now raises ImportError\n"
        "from flair_ner.cli.main import main\n"
        f"sys.exit(main(['predict', '--model', {str(exported)!r}, '--input', {str(source)!r}]))\n"
    )
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["text"] for record in records] == TEXT.splitlines()


def test_int8_export_is_smaller_and_reports_its_agreement(
    tiny_run, conllpp_slice: Path, exported: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "int8"
    # the tiny 2-epoch model's near-tied scores: int8 flips 0.16 % of its tags on an AVX2-only CPU, under the
    # default 0.1 %; the bar is the caller's (the shipped model keeps 99.97 %, benchmarks/README.md)
    argv = ["export", "--model", str(tiny_run.output_dir), "--quantize", "int8", "--sample",
            str(conllpp_slice / "conllpp_test.txt"), "--min-agreement", "0.99"]  # fmt: skip
    assert main([*argv, "--output", str(folder)]) == 0
    description = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    assert description["quantize"] == "int8" and 0.99 <= description["agreement"]["token_agreement"] <= 1
    # a share above 1 is refused in one line, before anything is exported
    assert main([*argv[:-1], "1.0001", "--output", str(tmp_path / "refused")]) == 2
    assert not (tmp_path / "refused").exists()
    assert (folder / "tagger.onnx").stat().st_size < (exported / "tagger.onnx").stat().st_size


def test_corrupt_truncated_or_incomplete_exports_are_refused_in_one_line(
    exported: Path, tmp_path: Path, capsys
) -> None:
    import shutil

    source = tmp_path / "input.txt"
    source.write_text("Peter lives in Berlin .\n", encoding="utf-8")
    for damage in ("truncate", "garbage", "missing"):
        broken = tmp_path / damage
        shutil.copytree(exported, broken)
        graph = broken / "lm_1.onnx"
        if damage == "truncate":
            graph.write_bytes(graph.read_bytes()[: graph.stat().st_size // 2])
        elif damage == "garbage":
            graph.write_bytes(b"not a graph at all")
        else:
            graph.unlink()
        assert main(["predict", "--model", str(broken), "--input", str(source)]) == 2
        err = capsys.readouterr().err.strip()
        assert "lm_1.onnx" in err and "\n" not in err and "Traceback" not in err, err


def test_export_refuses_what_it_cannot_export_and_a_used_folder(
    tmp_path: Path, exported: Path, conllpp_slice: Path, capsys
) -> None:
    from flair.data import Dictionary
    from flair.embeddings import CharacterEmbeddings
    from flair.models import SequenceTagger

    tags = Dictionary(add_unk=False)
    for tag in ("O", "S-PER", "B-PER", "E-PER", "I-PER"):
        tags.add_item(tag)
    model = tmp_path / "characters.pt"
    characters = Dictionary()
    for character in "abcdefghijklmnopqrstuvwxyz":
        characters.add_item(character)
    embeddings = CharacterEmbeddings(path_to_char_dict=characters)  # a dictionary given: nothing downloads
    SequenceTagger(hidden_size=4, embeddings=embeddings, tag_dictionary=tags, tag_type="ner").save(model)
    sample = str(conllpp_slice / "conllpp_test.txt")
    assert main(["export", "--model", str(model), "--output", str(tmp_path / "out"), "--sample", sample]) == 2
    err = capsys.readouterr().err
    assert "cannot export this model: CharacterEmbeddings" in err and not (tmp_path / "out").exists()
    assert main(["export", "--model", str(model), "--output", str(exported)]) == 2
    assert "is not an empty folder" in capsys.readouterr().err
    assert not list(tmp_path.glob(".*export-*"))  # no staging folder left behind


def test_benchmark_speed_reports_words_per_second_with_an_interval(
    exported: Path, tiny_run, conllpp_slice: Path, capsys
) -> None:
    import re

    for model in (exported, tiny_run.output_dir):
        assert main(["benchmark", "speed", "--model", str(model), "--input", str(conllpp_slice / "conllpp_test.txt"), "--input-format", "conll",
                     "--batch-size", "16"]) == 0  # fmt: skip
        line = capsys.readouterr().out.strip().splitlines()[-1]
        found = re.search(
            r"([\d,]+) words/s \(95 % interval ([\d,]+)-([\d,]+), (\d+) batches of sentences by length\), 80 sentences",
            line,
        )
        assert found, line
        mean, low, high = (int(found.group(i).replace(",", "")) for i in (1, 2, 3))
        assert low <= mean <= high and int(found.group(4)) == 5
    assert line.startswith("TorchEngine") and "peak memory" in line


def test_serve_runs_an_export_folder_on_the_onnx_engine(exported: Path, tiny_run) -> None:
    from fastapi.testclient import TestClient

    from flair_ner.predict.runtime import OnnxEngine
    from flair_ner.predict.serve import create_app, load_models

    [onnx_model, torch_model] = load_models([str(exported), str(tiny_run.output_dir)])
    assert isinstance(onnx_model.engine, OnnxEngine) and type(torch_model.engine).__name__ == "TorchEngine"
    client = TestClient(create_app([onnx_model, torch_model]))
    records = [{"text": line, "n": n} for n, line in enumerate(TEXT.splitlines())]
    answers = {
        name: client.post(f"/predict?model={name}", json=records).json()
        for name in (str(exported), str(tiny_run.output_dir))
    }
    assert answers[str(exported)] == answers[str(tiny_run.output_dir)] and len(answers[str(exported)]) == len(records)


def test_an_export_below_the_required_agreement_is_not_written(
    tiny_run, conllpp_slice: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    import flair_ner.predict.export

    monkeypatch.setitem(flair_ner.predict.export.MINIMUM_AGREEMENT, "none", 1.01)  # no export can reach it
    folder = tmp_path / "refused"
    assert main(["export", "--model", str(tiny_run.output_dir), "--output", str(folder),
                 "--sample", str(conllpp_slice / "conllpp_test.txt")]) == 2  # fmt: skip
    assert "agrees with the torch model on only" in capsys.readouterr().err
    assert not folder.exists() and not list(tmp_path.glob(".*export-*"))

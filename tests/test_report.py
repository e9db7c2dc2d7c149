"""Dataset-size sanity report, the CoNLL-2003 vs CoNLL++ comparison and the command lines around them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from flair_ner.cli.main import main
from flair_ner.data.registry import CorpusFiles, registered_files
from flair_ner.data.report import SIZES_CSV, TEST_DIFF_CSV, AlignmentError, sizes_table, write_sanity_report

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def report(tmp_path_factory, mirror: Path):
    out = tmp_path_factory.mktemp("report")
    return write_sanity_report(
        registered_files("conllpp", mirror / "conllpp"), out, registered_files("conll2003", mirror / "conll2003")
    )


def test_sizes_match_the_paper(report) -> None:
    sizes = report.sizes.set_index("split")
    assert report.all_match
    assert sizes.loc[["train", "dev", "test"], "sentences_with_docstart"].tolist() == [14987, 3466, 3684]
    assert sizes.loc[["train", "dev", "test"], "sentences"].tolist() == [14041, 3250, 3453]
    assert sizes.loc[["train", "dev", "test"], "documents"].tolist() == [946, 216, 231]
    assert sizes.loc[["train", "dev", "test"], "tokens"].tolist() == [203621, 51362, 46435]
    # Table 2 of the paper (entity mentions in train): LOC 7140, MISC 3438, ORG 6321, PER 6600
    assert sizes.loc["train", ["LOC", "MISC", "ORG", "PER"]].tolist() == [7140, 3438, 6321, 6600]
    assert (sizes["entities"] == sizes[["PER", "LOC", "ORG", "MISC"]].sum(axis=1)).all()


def test_csvs_are_written_and_readable(report) -> None:
    sizes = pd.read_csv(report.paths[0])
    assert report.paths[0].name == SIZES_CSV and list(sizes["status"]) == ["match"] * 3
    differences = pd.read_csv(report.paths[1])
    assert report.paths[1].name == TEST_DIFF_CSV
    assert list(differences.columns) == [
        "index",
        "original_line",
        "corrected_line",
        "tokens",
        "original_spans",
        "corrected_spans",
    ]
    assert len(differences) == len(report.differences)
    assert "sentences differ" in report.render() and "match" in report.render()


def test_test_set_differences_are_computed(report) -> None:
    """The CrossWeigh authors state 186; the count here is computed from the two files."""
    differences = report.differences
    assert len(differences) == 186
    assert (differences["original_spans"] != differences["corrected_spans"]).all()
    first = differences.iloc[0]
    assert first["tokens"].startswith("SOCCER - JAPAN GET LUCKY WIN , CHINA IN SURPRISE DEFEAT")
    assert (first["original_spans"], first["corrected_spans"]) == ("LOC[2:3] PER[7:8]", "LOC[2:3] LOC[7:8]")


def test_changed_corpus_shows_mismatch(tmp_path: Path, mirror: Path) -> None:
    """A dev file with one sentence removed no longer matches the paper."""
    text = (mirror / "conllpp" / "conllpp_dev.txt").read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    for name in ("conllpp_train.txt", "conllpp_test.txt"):
        (tmp_path / name).write_bytes((mirror / "conllpp" / name).read_bytes())
    (tmp_path / "conllpp_dev.txt").write_text("\n\n".join(blocks[:5] + blocks[6:]), encoding="utf-8")
    sizes = sizes_table(registered_files("conllpp", tmp_path)).set_index("split")
    assert sizes.loc["dev", "status"].startswith("MISMATCH: sentences_with_docstart")
    assert sizes.loc["train", "status"] == "match"


def test_unalignable_test_sets_are_refused(tmp_path: Path, mirror: Path) -> None:
    (tmp_path / "test.txt").write_text("EU NNP B-NP B-ORG\n", encoding="utf-8")
    mini = CorpusFiles(tmp_path, "test.txt", None, "test.txt")
    with pytest.raises(AlignmentError, match="has 1 sentences, .* has 3453; cannot align"):
        write_sanity_report(registered_files("conllpp", mirror / "conllpp"), tmp_path / "out", original=mini)


def test_report_subcommand(tmp_path: Path, mirror: Path, capsys) -> None:
    status = main(
        ["report", "--compare-with", "conll2003", "--data-dir", str(tmp_path / "data"), "--mirror", str(mirror),
         "--output-dir", str(tmp_path / "out")]
    )  # fmt: skip
    assert status == 0
    assert (tmp_path / "out" / SIZES_CSV).is_file() and (tmp_path / "out" / TEST_DIFF_CSV).is_file()
    assert "186 sentences differ" in capsys.readouterr().out


def test_download_subcommand_error_is_one_line(tmp_path: Path, capsys) -> None:
    status = main(["download", "conllpp", "--data-dir", str(tmp_path), "--mirror", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("flair-ner: error: conllpp_train.txt: could not fetch") and "\n" not in err


@pytest.mark.parametrize("command", [[], ["download"], ["report"], ["run"], ["train"], ["evaluate"], ["grid"], ["pretrain-lm"], ["predict"],
                                     ["browse"], ["compare"], ["serve"]])  # fmt: skip
def test_every_subcommand_has_help(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flair_ner", *command, "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0 and "usage: flair-ner" in result.stdout


def test_bad_config_key_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('dataset = "conllpp"\nepochs = 3\n')
    result = subprocess.run(
        [sys.executable, str(REPO / "experiments" / "conllpp.py"), "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"flair-ner: error: {config}: unknown option 'epochs'")


def test_report_of_another_data_set_has_no_paper_figures(tmp_path: Path, mirror: Path, capsys) -> None:
    status = main(["report", "--dataset", "wnut17", "--data-dir", str(tmp_path / "data"), "--mirror", str(mirror),
                   "--output-dir", str(tmp_path / "out")])  # fmt: skip
    assert status == 0
    sizes = pd.read_csv(tmp_path / "out" / SIZES_CSV, keep_default_na=False).set_index("split")
    assert sizes["status"].tolist() == ["n/a"] * 3 and not any(c.startswith("paper_") for c in sizes.columns)
    assert sizes.loc["test", "entities"] == 1079 and sizes.loc["train", "person"] > 0
    out = capsys.readouterr().out
    assert out.startswith("Dataset sizes\n") and "CoNLL-2003" not in out

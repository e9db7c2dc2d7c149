"""CleanCoNLL dev and test rebuilt from CoNLL-2003 + the pinned annotation and patch files, as a registered data set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from flair_ner.cli.main import main
from flair_ner.data import cleanconll
from flair_ner.data.corpus import fetch_corpus_files, iter_sentences, read_blocks
from flair_ner.errors import DataFileError


@pytest.fixture(scope="module")
def cache(tmp_path_factory, mirror: Path) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    fetch_corpus_files("cleanconll", folder, str(mirror))
    return folder


def test_the_rebuilt_sets_have_the_published_counts_and_pinned_digests(cache: Path, mirror: Path) -> None:
    files = fetch_corpus_files("cleanconll", cache, str(mirror))
    assert files.train is None and files.format.tag_column == cleanconll.TAG_COLUMN
    for split in ("dev", "test"):
        path = files.paths()[split]
        assert path.parent == cache / "cleanconll"
        lines = path.read_text(encoding="utf-8").split("\n")[:-1]
        assert cleanconll.count(lines) == cleanconll.EXPECTED_COUNTS[split]
        assert cleanconll._sha256(path) == cleanconll.REBUILT_SHA256[path.name]
    # the kit's own reader agrees: 3,427 test sentences, 5,725 mentions
    sentences = list(iter_sentences(read_blocks(files.paths()["test"], files.format)))
    assert len(sentences) == 3427 and sum(len(block.spans) for block in sentences) == 5725
    # CleanCoNLL relabelled: the first test sentences' tokens are CoNLL-2003's, some labels differ
    original = list(iter_sentences(read_blocks(mirror / "conll2003" / "eng.testb", fetch_corpus_files(
        "conll2003", cache, str(mirror)).format)))  # fmt: skip
    assert sentences[0].tokens == original[0].tokens == ["SOCCER", "-", "JAPAN", "GET", "LUCKY", "WIN", ",", "CHINA",
                                                         "IN", "SURPRISE", "DEFEAT", "."]  # fmt: skip
    assert sentences[0].spans != original[0].spans  # JAPAN and CHINA: LOC in CoNLL-2003, ORG (the teams) here


def test_a_second_fetch_reuses_the_verified_files(cache: Path, mirror: Path) -> None:
    test = cache / "cleanconll" / "cleanconll_test.txt"
    stamp = test.stat().st_mtime_ns
    fetch_corpus_files("cleanconll", cache, str(mirror))
    assert test.stat().st_mtime_ns == stamp


def test_a_patch_that_does_not_fit_names_its_hunk(tmp_path: Path) -> None:
    lines = ["-DOCSTART-", "", "SOCCER", "JAPAN"]
    patched = cleanconll.apply_normal_diff(lines, "3c3,5\n< SOCCER\n---\n> SOC\n> -\n> CER\n", "p.patch")
    assert patched == [("-DOCSTART-", 0), ("", 1), ("SOC", None), ("-", None), ("CER", None), ("JAPAN", 3)]
    assert cleanconll.apply_normal_diff(lines, "2d1\n< \n", "p.patch") == [("-DOCSTART-", 0), ("SOCCER", 2),
                                                                           ("JAPAN", 3)]  # fmt: skip
    with pytest.raises(
        DataFileError, match=r"p.patch:1: hunk 4c4 removes \['CHINA'\], but those lines are \['JAPAN'\]"
    ):
        cleanconll.apply_normal_diff(lines, "4c4\n< CHINA\n---\n> X\n", "p.patch")
    with pytest.raises(DataFileError, match="p.patch:1: expected a hunk header"):
        cleanconll.apply_normal_diff(lines, "garbage\n", "p.patch")


def test_annotations_that_do_not_align_are_refused_and_nothing_is_written(tmp_path: Path, mirror: Path) -> None:
    folder = tmp_path / "cleanconll"
    shutil.copytree(mirror / "cleanconll", folder)
    conll2003 = {name: mirror / "conll2003" / name for name in ("eng.testa", "eng.testb")}
    annotations = folder / "cleanconll_annotations.test"
    lines = annotations.read_text(encoding="utf-8").split("\n")
    lines[4] = lines[4].replace("\tNNP\t", "\tNN\t", 1)  # JAPAN's POS tag: no longer the CoNLL-2003 line's
    annotations.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(DataFileError, match=r"cleanconll_annotations.test:5: POS 'NN', but eng.testb has 'JAPAN NNP"):
        cleanconll.build(folder, conll2003)
    assert not (folder / "cleanconll_test.txt").exists()
    # the other CoNLL-2003 file in its place: the patch's first hunk does not fit
    with pytest.raises(DataFileError, match=r"test_tokens.patch:\d+: hunk 1132c1132,1134 removes \['SKIING-WORLD'\]"):
        cleanconll.build(folder, {"eng.testa": conll2003["eng.testa"], "eng.testb": conll2003["eng.testa"]})


def test_it_is_for_evaluation_only(tmp_path: Path, capsys) -> None:
    code = main(["run", "--dataset", "cleanconll", "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert "option 'dataset' names cleanconll, which has no training split" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_evaluate_on_a_registered_test_set(tiny_run, cache: Path, mirror: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scored"
    code = main(["evaluate", "--model", str(tiny_run.output_dir), "--dataset", "cleanconll", "--data-dir", str(cache),
                 "--mirror", str(mirror), "--output-dir", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "cleanconll_test.txt scored with" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())["test"]
    assert metrics["tokens"] == 46504 and metrics["scores"]["micro avg"]["support"] == 5725


def test_evaluate_takes_a_test_file_or_a_data_set(tiny_run, tmp_path: Path, capsys) -> None:
    model, out = str(tiny_run.output_dir), str(tmp_path / "out")
    both = ["evaluate", "--model", model, "--dataset", "cleanconll", "--test-file", model, "--output-dir", out]
    assert main(both) == 2 and "option 'dataset' is 'cleanconll' and test_file is set too" in capsys.readouterr().err
    assert main(["evaluate", "--model", model, "--output-dir", out]) == 2
    assert "option 'test_file' is required (or dataset" in capsys.readouterr().err
    assert main(["evaluate", "--model", model, "--dataset", "nope", "--output-dir", out]) == 2
    assert "option 'dataset' must be one of conllpp, conll2003, cleanconll" in capsys.readouterr().err

"""CrossWeigh: entity-disjoint folds, the fold runs as a grid, and the mistakes and weights they give."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from flair_ner.cli.main import main
from flair_ner.data.corpus import iter_sentences, read_blocks
from flair_ner.data.registry import ColumnFormat
from flair_ner.grids.crossweigh import entity_strings, make_folds


@pytest.fixture(scope="module")
def pool(conllpp_slice: Path) -> list:
    fmt = ColumnFormat(tag_scheme="iob2")
    return [
        s for name in ("train", "dev") for s in iter_sentences(read_blocks(conllpp_slice / f"conllpp_{name}.txt", fmt))
    ]


def test_folds_are_entity_disjoint_and_each_iteration_holds_out_every_sentence_once(pool: list) -> None:
    folds = make_folds(pool, folds=5, iterations=2, seed=1)
    assert len(folds) == 10 and len(pool) == 380
    for iteration in (0, 1):
        held = sorted(i for fold in folds if fold.iteration == iteration for i in fold.held_out)
        assert held == list(range(len(pool)))
    for fold in folds:
        held_strings = set().union(*(entity_strings(pool[i]) for i in fold.held_out))
        assert held_strings and not set(fold.train) & set(fold.held_out)
        assert all(not entity_strings(pool[i]) & held_strings for i in fold.train), fold.name
        # only the sentences that share an entity string are left out, not all the others
        assert len(fold.train) > 0.3 * (len(pool) - len(fold.held_out))
    assert folds[0].held_out != folds[5].held_out  # another shuffle in the second iteration
    assert make_folds(pool, folds=5, iterations=2, seed=1) == folds  # the seed decides it


def test_crossweigh_end_to_end_on_a_tiny_slice(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        f'train_file = "{conllpp_slice / "conllpp_train.txt"}"\ndev_file = "{conllpp_slice / "conllpp_dev.txt"}"\n'
        f'test_file = "{conllpp_slice / "conllpp_test.txt"}"\nglove = "{tiny_glove}"\nlms = "none"\n'
        'hidden_size = 8\ntag_scheme = "iob2"\n',
        encoding="utf-8",
    )
    out = tmp_path / "cw"
    command = ["crossweigh", "--config", str(config), "--output-dir", str(out), "--folds", "2", "--iterations", "1",
               "--fold-epochs", "2", "--cpus-per-run", "1"]  # fmt: skip
    assert main(command) == 0, capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pool_sentences"] == 380 and summary["train_sentences"] == 300
    counts = summary["sentences_per_c"]
    assert set(counts) == {"0", "1"} and counts["0"] + counts["1"] == 380
    mistakes = pd.read_csv(out / "mistakes.tsv", sep="\t")
    assert len(mistakes) == counts["1"] and (mistakes["c"] == 1).all() and (mistakes["weight"] == 0.7).all()
    weights = pd.read_csv(out / "weights.tsv", sep="\t")
    train_flagged = mistakes[mistakes["split"] == "train"]
    assert sorted(weights["sentence"]) == sorted(train_flagged["number_in_split"]) and (weights["weight"] == 0.7).all()
    # each fold model's predictions are its held-out part's
    for fold in ("iteration-0-fold-0", "iteration-0-fold-1"):
        held = (out / "folds" / fold / "heldout.txt").read_text().count("\n\n")
        predicted = pd.read_csv(out / "grid" / fold / conllpp_slice.name / "seed-1" / "predictions_test.tsv", sep="\t")
        assert predicted["sentence"].nunique() == held
    # the same command again finds every fold run finished; other settings in the same folder are refused
    assert main(command) == 0
    assert "every cell is finished" in capsys.readouterr().out
    assert main([*command[:-2], "--fold-epochs", "3"]) == 2
    assert "holds a CrossWeigh run with other settings" in capsys.readouterr().err


def test_a_conll_crossweigh_scores_its_flags_against_conllpp_and_cleanconll(
    tmp_path: Path, mirror: Path, tiny_glove: Path, capsys
) -> None:
    from flair_ner.data.corpus import registered_sentences
    from flair_ner.evaluation.label_noise import cleanconll_changes, conllpp_corrections

    config = tmp_path / "conll.toml"
    config.write_text(
        f'dataset = "conllpp"\nmirror = "{mirror}"\ndata_dir = "{tmp_path / "cache"}"\nglove = "{tiny_glove}"\n'
        'lms = "none"\nhidden_size = 8\ntrain_limit = 60\neval_limit = 30\n',
        encoding="utf-8",
    )
    out = tmp_path / "cw"
    command = ["crossweigh", "--config", str(config), "--output-dir", str(out), "--folds", "2", "--iterations", "1",
               "--fold-epochs", "1", "--cpus-per-run", "1"]  # fmt: skip
    assert main(command) == 0, capsys.readouterr().err
    detection = pd.read_csv(out / "detection.csv")
    assert detection["answer_key"].tolist() == ["conllpp-test", "cleanconll-test", "cleanconll-dev"]

    def sentences(name: str, split: str) -> list:
        return registered_sentences(name, split, tmp_path / "cache", mirror)

    # recomputed from test_disagreements.tsv: with 2 folds a test sentence is flagged when both models disagree
    disagreements = pd.read_csv(out / "test_disagreements.tsv", sep="\t")
    assert len(disagreements) == 90  # CoNLL-2003 test cut to the pool's 60 + 30 sentences
    flagged = set(disagreements.loc[disagreements["disagreeing_models"] == 2, "sentence"])
    original = sentences("conll2003", "test")
    keys = {
        "conllpp-test": conllpp_corrections(original, sentences("conllpp", "test")),
        "cleanconll-test": cleanconll_changes(original, sentences("cleanconll", "test"), "cleanconll-test"),
    }
    for name, key in keys.items():
        row = detection.set_index("answer_key").loc[name]
        judged = {i for i in flagged if i in key.universe}
        assert row["flagged"] == len(judged) and row["correct"] == len(judged & key.changed)
        assert row["changed"] == len({i for i in key.changed if i < 90})
    # dev: the pool's 30 dev sentences, flagged by c (mistakes.tsv)
    mistakes = pd.read_csv(out / "mistakes.tsv", sep="\t")
    dev_flags = set(mistakes.loc[mistakes["split"] == "dev", "number_in_split"])
    dev_key = cleanconll_changes(sentences("conll2003", "dev"), sentences("cleanconll", "dev"), "cleanconll-dev")
    row = detection.set_index("answer_key").loc["cleanconll-dev"]
    assert row["sentences"] == len({i for i in dev_key.universe if i < 30})
    assert row["correct"] == len({i for i in dev_flags if i in dev_key.universe and i in dev_key.changed})

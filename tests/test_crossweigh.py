"""CrossWeigh: entity-disjoint folds, the fold runs as a grid, and the mistakes and weights they give."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import USES_RAY

from flair_ner.cli.main import main
from flair_ner.data.corpus import iter_sentences, read_blocks
from flair_ner.data.registry import ColumnFormat
from flair_ner.evaluation.scores import TokenProbabilities
from flair_ner.grids.crossweigh import entity_strings, make_folds

pytestmark = USES_RAY


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
    # each fold model's predictions are its held-out part's, and its token probabilities pick the predicted tags
    entity_tokens = 0
    for fold in ("iteration-0-fold-0", "iteration-0-fold-1", "one-model"):
        held = (out / "folds" / fold / "heldout.txt").read_text().count("\n\n")
        cell = out / "grid" / fold / conllpp_slice.name / "seed-1"
        predicted = pd.read_csv(cell / "predictions_test.tsv", sep="\t")
        assert predicted["sentence"].nunique() == held
        table = TokenProbabilities.read(cell / "token_probabilities_test.npz")
        assert len(table.lengths) == held and table.values.shape == (len(predicted), len(table.tags))
        assert np.allclose(table.values.sum(axis=1), 1, atol=1e-3) and "<STOP>" not in table.tags
        best = [table.tags[i] for i in table.values.argmax(axis=1)]  # BIOES inside the tagger
        # a token's most probable tag is O exactly where its predicted tag is O (flair makes the decoded tag the
        # most probable; the type can differ: flair gives a span the majority type of its tokens' tags)
        assert [tag == "O" for tag in best] == [tag == "O" for tag in predicted["predicted"]]
        entity_tokens += sum(tag != "O" for tag in best)
    assert entity_tokens > 0  # the check above compared real predictions, not only O
    assert (out / "folds" / "one-model" / "heldout.txt").read_text().count("\n\n") == 80  # the pool's dev part
    # cleanlab's flags (from the fold runs' probabilities) and the counts in the summary
    flagged = pd.read_csv(out / "cleanlab.tsv", sep="\t")
    assert list(flagged.columns) == ["split", "number_in_split", "text", "gold", "flagged_tokens", "crossweigh_c"]
    assert summary["cleanlab_flagged_sentences"] == {
        split: int((flagged["split"] == split).sum()) for split in ("train", "dev")
    }
    assert summary["one_model_flagged_sentences"]["dev"] <= 80
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
    table = pd.read_csv(out / "detection.csv")
    assert table["detector"].unique().tolist() == ["crossweigh c>=1", "cleanlab", "one model"]
    assert table["answer_key"].unique().tolist() == ["conllpp-test", "cleanconll-test", "cleanconll-dev"]
    detection = table[table["detector"] == "crossweigh c>=1"]

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
    # cleanlab's and the one model's rows, recomputed from cleanlab.tsv and the one-model cell's predictions
    by_detector = table.set_index(["detector", "answer_key"])
    cleanlab = pd.read_csv(out / "cleanlab.tsv", sep="\t")
    cleanlab_dev = set(cleanlab.loc[cleanlab["split"] == "dev", "number_in_split"])
    row = by_detector.loc[("cleanlab", "cleanconll-dev")]
    assert row["flagged"] == len(cleanlab_dev & dev_key.universe)
    one_model = pd.read_csv(out / "grid" / "one-model" / "conllpp" / "seed-1" / "predictions_conll2003.tsv", sep="\t")
    disagree = one_model.groupby("sentence").apply(lambda rows: (rows["gold"] != rows["predicted"]).any())
    row = by_detector.loc[("one model", "conllpp-test")]
    assert row["flagged"] == int(disagree.sum()) and row["sentences"] == 90


def test_fold_epochs_compares_the_flags_fold_by_fold(tmp_path: Path, conllpp_slice: Path) -> None:
    """Two CrossWeigh folders of the same folds (A: 2 iterations, B: 1, as a 30-epoch check would be), their fold
    runs written by hand: only the folds both finished are compared, sentence by sentence."""
    import subprocess
    import sys

    from flair_ner.config.options import ExperimentConfig, load_config
    from flair_ner.data.registry import iob2_tags
    from flair_ner.grids.crossweigh import prepare

    config_path = tmp_path / "own.toml"
    config_path.write_text(
        f'train_file = "{conllpp_slice / "conllpp_train.txt"}"\ndev_file = "{conllpp_slice / "conllpp_dev.txt"}"\n'
        'tag_scheme = "iob2"\ntrain_limit = 40\neval_limit = 10\n',
        encoding="utf-8",
    )
    config = load_config(ExperimentConfig, config_path)
    # A disagrees with the first 2 held-out sentences that have entities in each fold, B with the first 1 and the
    # 3rd; iteration-0-fold-1 is finished in A only, and A's iteration 1 has no counterpart in B
    flagged = {"a": {"iteration-0-fold-0": [0, 1], "iteration-0-fold-1": [0], "iteration-1-fold-0": [0]},
               "b": {"iteration-0-fold-0": [0, 2]}}  # fmt: skip
    for name, iterations in (("a", 2), ("b", 1)):
        folder = tmp_path / name
        crossweigh = prepare(config, folder, folds=2, iterations=iterations)
        (folder / "crossweigh.json").write_text(json.dumps({"config": str(config_path), "folds": 2,
                                                            "iterations": iterations, "fold_epochs": 10}))  # fmt: skip
        for fold in crossweigh.folds:
            if fold.name not in flagged[name]:
                continue
            with_entities = [i for i in fold.held_out if crossweigh.pool[i].spans]
            wrong = {with_entities[k] for k in flagged[name][fold.name]}
            rows = []
            for number, index in enumerate(fold.held_out):
                sentence = crossweigh.pool[index]
                gold = iob2_tags(len(sentence.tokens), sentence.spans)
                predicted = ["O"] * len(gold) if index in wrong else gold
                rows += [(number, token, g, p) for token, g, p in zip(sentence.tokens, gold, predicted)]
            run = folder / "grid" / fold.name / "own" / "seed-1"
            run.mkdir(parents=True)
            pd.DataFrame(rows, columns=["sentence", "token", "gold", "predicted"]).to_csv(
                run / "predictions_test.tsv", sep="\t", index=False
            )
            (run / "manifest.json").write_text(json.dumps({"status": "complete", "micro_f1": {"test": 0.5}}))
    script = Path(__file__).resolve().parents[1] / "scripts" / "fold_epochs.py"
    result = subprocess.run([sys.executable, str(script), str(tmp_path / "a"), str(tmp_path / "b"), "--output",
                             str(tmp_path / "out.json")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    compared = json.loads((tmp_path / "out.json").read_text())
    (row,) = compared["folds"]  # only iteration-0-fold-0 is finished in both
    assert row["fold"] == "iteration-0-fold-0"
    assert (row["flagged_a"], row["flagged_b"], row["both"], row["only_a"], row["only_b"]) == (2, 2, 1, 1, 1)
    assert row["jaccard"] == round(1 / 3, 4) and compared["all_compared_folds"]["folds"] == 1


def test_sigterm_while_the_pool_store_is_built_leaves_no_partial_folder(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path
) -> None:
    """SIGTERM arrives inside the stack's first embedding batch: the command exits 143 and the store's staging
    folder is gone (it used to be killed outright, leaving a half-written ``.partial`` folder)."""
    import subprocess
    import sys

    config = tmp_path / "tiny.toml"
    config.write_text(
        f'train_file = "{conllpp_slice / "conllpp_train.txt"}"\ndev_file = "{conllpp_slice / "conllpp_dev.txt"}"\n'
        f'glove = "{tiny_glove}"\nlms = "none"\nhidden_size = 8\ntag_scheme = "iob2"\n',
        encoding="utf-8",
    )
    out = tmp_path / "cw"
    script = f"""
import os, signal, sys
from flair.embeddings import StackedEmbeddings
from flair_ner.cli.main import main

embed = StackedEmbeddings.embed
def terminated(self, sentences, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return embed(self, sentences, *args, **kwargs)
StackedEmbeddings.embed = terminated
sys.exit(main(["crossweigh", "--config", {str(config)!r}, "--output-dir", {str(out)!r}, "--folds", "2",
               "--iterations", "1"]))
"""
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert finished.returncode == 143, finished.stderr[-2000:]
    assert out.is_dir() and not [
        path.name for path in out.iterdir() if "partial" in path.name or path.name == "embeddings"
    ]

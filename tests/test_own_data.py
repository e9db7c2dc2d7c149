"""Any data set from the command line: own files in another layout, a language without resources, `evaluate`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO
from seqeval.metrics import classification_report
from seqeval.scheme import IOB2

from flair_ner.cli.main import main
from flair_ner.config.options import ConfigError, ExperimentConfig, load_config
from flair_ner.data.corpus import iter_sentences, read_blocks
from flair_ner.data.registry import MULTICONER_COARSE, Span

NAMES = {"PER": "Person", "LOC": "Place", "ORG": "Outfit", "MISC": "Thing"}


def bioes_tags(spans: list[Span], length: int) -> list[str]:
    tags = ["O"] * length
    for span in spans:
        kind = NAMES[span.type]
        if span.end - span.start == 1:
            tags[span.start] = f"S-{kind}"
            continue
        tags[span.start], tags[span.end - 1] = f"B-{kind}", f"E-{kind}"
        for index in range(span.start + 1, span.end - 1):
            tags[index] = f"I-{kind}"
    return tags


def own_file(source: Path, target: Path, sentences: int) -> Path:
    """CoNLL++ sentences rewritten as a user's file: BIOES, made-up types, a comment line per sentence,
    tag in column 3 of 4, two blank lines between sentences, no document markers."""
    lines = []
    for index, block in enumerate(list(iter_sentences(read_blocks(source)))[:sentences]):
        lines.append(f"# sentence {index}")
        lines += [f"{token} x y {tag}" for token, tag in zip(block.tokens, bioes_tags(block.spans, len(block.tokens)))]
        lines += ["", ""]
    target.write_text("\n".join(lines), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def own_run(tmp_path_factory, mirror: Path, tiny_glove: Path) -> Path:
    folder = tmp_path_factory.mktemp("own")
    train = own_file(mirror / "conllpp" / "conllpp_train.txt", folder / "train.conll", 300)
    test = own_file(mirror / "conllpp" / "conllpp_test.txt", folder / "test.conll", 80)
    out = folder / "run"
    code = main([
        "run", "--train-file", str(train), "--test-file", str(test), "--columns", "0=text,3=ner",
        "--tag-scheme", "auto", "--comment-prefix", "# ", "--glove", str(tiny_glove), "--lms", "none",
        "--hidden-size", "32", "--mini-batch-size", "8", "--max-epochs", "3", "--output-dir", str(out),
    ])  # fmt: skip
    assert code == 0
    return out


def test_own_files_produce_the_full_results_folder(own_run: Path) -> None:
    for name in (
        "dataset_sizes.csv", "best-model.pt", "loss.tsv", "training.log",
        "metrics.csv", "metrics.json", "predictions_test.tsv", "learning_curve.png", "per_type_f1.png", "manifest.json",
    ):  # fmt: skip
        assert (own_run / name).is_file(), name
    assert not (own_run / "final-model.pt").exists() and not (own_run / "checkpoint.pt").exists()
    metrics = pd.read_csv(own_run / "metrics.csv").set_index("label")
    assert set(metrics.index) == {*NAMES.values(), "micro avg", "macro avg", "weighted avg", "token accuracy"}
    manifest = json.loads((own_run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert (
        manifest["data"]["dev"].startswith("30 sentences (10%) held out of")
        and "with seed 1" in manifest["data"]["dev"]
    )
    assert (
        manifest["data"]["tag_scheme"]["train"].startswith("bioes (")
        and "a BIOES tag" in manifest["data"]["tag_scheme"]["train"]
    )
    sizes = pd.read_csv(own_run / "dataset_sizes.csv", keep_default_na=False).set_index("split")
    assert sizes.loc["train", "sentences"] == 300 and sizes.loc["test", "sentences"] == 80
    assert (sizes["status"] == "n/a").all()
    assert (
        "Test data not provided" in (log := (own_run / "training.log").read_text())
        and "flair-ner: flair's test score above is 0" in log
    )


def test_own_files_without_test_skip_evaluation(tmp_path: Path, mirror: Path, tiny_glove: Path) -> None:
    train = own_file(mirror / "conllpp" / "conllpp_train.txt", tmp_path / "train.conll", 60)
    out = tmp_path / "run"
    code = main([
        "run", "--train-file", str(train), "--comment-prefix", "# ", "--glove", str(tiny_glove), "--lms", "none",
        "--hidden-size", "8", "--max-epochs", "1", "--output-dir", str(out),
    ])  # fmt: skip
    assert code == 0
    assert not (out / "metrics.json").exists() and (out / "best-model.pt").exists() or (out / "final-model.pt").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["data"]["test"] is None and manifest["micro_f1"] == {}


def test_a_language_without_resources_trains_on_the_scratch_stack(tmp_path: Path, mirror: Path) -> None:
    out = tmp_path / "hi"
    code = main([
        "run", "--dataset", "multiconer2-hi", "--embeddings", "scratch", "--mirror", str(mirror),
        "--data-dir", str(tmp_path / "data"), "--train-limit", "200", "--eval-limit", "40", "--hidden-size", "16",
        "--max-epochs", "1", "--output-dir", str(out),
    ])  # fmt: skip
    assert code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embeddings"] == [
        "0-Char",
        "1-one-hot-text",
    ]  # nothing English, nothing downloaded; words last (embeddings.py says why)
    assert "held out of" in manifest["data"]["dev"] and manifest["data"]["test"].endswith("hi_dev.conll")
    scores = json.loads((out / "metrics.json").read_text())["multiconer2-hi"]["scores"]
    assert {"micro avg", "macro avg", "weighted avg"} <= set(scores)


def test_evaluate_scores_a_model_like_seqeval(tiny_run, conllpp_slice: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "scored"
    test = conllpp_slice / "conllpp_test.txt"
    assert (
        main(["evaluate", "--model", str(tiny_run.output_dir), "--test-file", str(test), "--output-dir", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "weighted avg" in printed and "token accuracy:" in printed
    predictions = pd.read_csv(out / "predictions_test.tsv", sep="\t", keep_default_na=False)
    y_true = [group["gold"].tolist() for _, group in predictions.groupby("sentence")]
    y_pred = [group["predicted"].tolist() for _, group in predictions.groupby("sentence")]
    theirs = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    ours = pd.read_csv(out / "metrics.csv").set_index("label")
    for label in ("micro avg", "macro avg", "weighted avg"):
        assert ours.loc[label, "f1"] == pytest.approx(theirs[label]["f1-score"]), label
        assert ours.loc[label, "precision"] == pytest.approx(theirs[label]["precision"]), label
    assert (out / "per_type_f1.png").is_file() and (out / "errors.html").is_file()
    # scoring into a folder that has metrics already is refused
    assert (
        main(["evaluate", "--model", str(tiny_run.output_dir), "--test-file", str(test), "--output-dir", str(out)]) == 2
    )
    assert "already holds metrics.json" in capsys.readouterr().err


def test_evaluate_refuses_a_file_the_model_cannot_tag(tiny_run, mirror: Path, tmp_path: Path, capsys) -> None:
    wnut = mirror / "wnut17" / "emerging.dev.conll"
    code = main([
        "evaluate", "--model", str(tiny_run.final_model), "--test-file", str(wnut), "--columns", "0=text,1=ner",
        "--document-separator", "", "--output-dir", str(tmp_path / "out"),
    ])  # fmt: skip
    assert code == 2
    line = capsys.readouterr().err.strip()
    assert "\n" not in line and "emerging.dev.conll: none of its entity types (corporation, creative-work" in line
    assert "is one the model predicts (LOC, MISC, ORG, PER)" in line and not (tmp_path / "out").exists()


def test_evaluate_lists_types_the_model_never_learned(tiny_run, tmp_path: Path, caplog) -> None:
    test = tmp_path / "test.txt"
    test.write_text("Anna B-PER\nmeets O\nZorg B-Alien\n", encoding="utf-8")
    code = main([
        "evaluate", "--model", str(tiny_run.final_model), "--test-file", str(test), "--columns", "0=text,1=ner",
        "--output-dir", str(tmp_path / "out"),
    ])  # fmt: skip
    assert code == 0
    assert "types the model never learned, so every mention of them counts as missed: Alien" in caplog.text
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv").set_index("label")
    assert metrics.loc["Alien", "recall"] == 0 and metrics.loc["Alien", "support"] == 1


def test_label_map_on_the_command_line(tmp_path: Path, capsys) -> None:
    code = main(["run", "--dataset", "conllpp", "--label-map", "PER", "--output-dir", str(tmp_path / "out")])
    assert code == 2
    assert (
        "option 'label_map' expects a table of names or the name of one the kit defines (multiconer2-coarse), "
        "got 'PER'" in capsys.readouterr().err
    )


def test_a_label_map_by_name_is_the_registered_table(tmp_path: Path) -> None:
    overrides = {"dataset": "multiconer2-hi", "label_map": "multiconer2-coarse"}
    assert load_config(ExperimentConfig, overrides=overrides).label_map == MULTICONER_COARSE
    toml = tmp_path / "c.toml"
    toml.write_text('dataset = "multiconer2-hi"\nlabel_map = "multiconer2-coarse"\n')
    assert load_config(ExperimentConfig, toml).label_map == MULTICONER_COARSE
    toml.write_text('dataset = "multiconer2-hi"\nlabel_map = "multiconer-coarse"\n')
    with pytest.raises(ConfigError, match=r"c.toml: option 'label_map' expects .*\(multiconer2-coarse\)"):
        load_config(ExperimentConfig, toml)


@pytest.mark.parametrize("name", ["multiconer2-en-coarse", "multiconer2-hi-coarse", "multiconer2-bn-coarse"])
def test_coarse_configs_map_every_fine_type(name: str) -> None:
    config = load_config(ExperimentConfig, REPO / "experiments" / "configs" / f"{name}.toml")
    assert config.label_map == MULTICONER_COARSE


def test_lm_pretraining_on_a_plain_text_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = tmp_path / "texts"
    texts.mkdir()
    words = "नमस्ते दुनिया यह एक छोटा पाठ है और इसमें कई शब्द हैं".split()
    for part in range(3):
        documents = [
            "\n".join(" ".join(words[(d + i) % len(words)] for i in range(40)) for _ in range(3)) for d in range(20)
        ]
        (texts / f"part{part}.txt").write_text("\n\n".join(documents), encoding="utf-8")
    corpus, out = tmp_path / "corpus", tmp_path / "lm"
    code = main([
        "pretrain-lm", "--text-dir", str(texts), "--corpus-dir", str(corpus), "--output-dir", str(out),
        "--hidden-size", "8", "--embedding-size", "4", "--sequence-length", "20", "--mini-batch-size", "4",
    ])  # fmt: skip
    assert code == 0
    info = json.loads((corpus / "corpus.json").read_text())
    assert info["source_files"] == ["part0.txt", "part1.txt", "part2.txt"] and sum(info["documents"].values()) == 60
    assert "न" in (corpus / "valid.txt").read_text(encoding="utf-8")
    assert (out / "best-lm.pt").is_file() and (out / "final_eval.tsv").is_file()
    # --ship puts it under its own name with a card naming its real corpus, never over the Reuters LMs
    import flair_ner.cli.commands.pretrain_lm

    resources = tmp_path / "resources"
    monkeypatch.setattr(flair_ner.cli.commands.pretrain_lm, "RESOURCES", resources)
    out = out.rename(tmp_path / "hindi-forward")
    code = main([
        "pretrain-lm", "--text-dir", str(texts), "--corpus-dir", str(corpus), "--output-dir", str(out),
        "--hidden-size", "8", "--embedding-size", "4", "--sequence-length", "20", "--mini-batch-size", "4", "--ship",
    ])  # fmt: skip
    assert code == 0
    assert [path.name for path in (resources / "lm").iterdir()] == ["hindi-forward"]
    card = (resources / "lm" / "hindi-forward" / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "pretrained on plain text (3 files: part0.txt, part1.txt, part2.txt)" in card and "Reuters" not in card


def test_a_saved_scratch_model_scores_as_it_did_in_training(tmp_path: Path, conllpp_slice: Path) -> None:
    """The scratch stack (trained word and character embeddings) loaded from disk gives the dev score flair
    logged for its best epoch: its features are neither shuffled on loading nor stale during training."""
    from flair.models import SequenceTagger

    from flair_ner.data.corpus import load_sentences

    out = tmp_path / "run"
    code = main([
        "run", "--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file", str(conllpp_slice / "conllpp_dev.txt"),
        "--embeddings", "scratch", "--hidden-size", "32", "--mini-batch-size", "8", "--max-epochs", "4",
        "--patience", "10", "--train-limit", "200", "--eval-limit", "60", "--output-dir", str(out),
    ])  # fmt: skip
    assert code == 0
    logged = pd.read_csv(out / "loss.tsv", sep="\t")["DEV_F1"]
    assert (
        logged.max() > 0 and logged.iloc[-1] > logged.iloc[0]
    )  # dev scores move with training, not with stale features
    tagger = SequenceTagger.load(out / "best-model.pt")
    dev = load_sentences(conllpp_slice / "conllpp_dev.txt")[:60]
    score = tagger.evaluate(dev, gold_label_type="ner", mini_batch_size=64).main_score
    assert round(score, 4) == round(logged.max(), 4)

"""Reuters SGML parsing, the LM corpus, and character-LM pretraining (tiny, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from flair_ner.lm.train import (
    BEST_MODEL,
    CHECKPOINT,
    FINAL_EVAL,
    SPLIT_LOG,
    LMConfig,
    build_char_dictionary,
    check_split_sizes,
    train_lm,
)
from flair_ner.lm.corpus import (
    ReutersDocument,
    build_lm_corpus,
    clean_body,
    find_sentences,
    parse_sgml,
    ParseCounts,
    read_reuters,
    split_documents,
)

SGML = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="NO" NEWID="1"><DATE>26-FEB-1987</DATE>
<TEXT>&#2;<TITLE>NO BODY HERE</TITLE></TEXT></REUTERS>
<REUTERS TOPICS="YES" NEWID="2"><TEXT>&#2;<TITLE>A &amp; B</TITLE><BODY>Profits at A &amp; B rose
to 5 &lt;pct> in 1986, the company said.
    Shares closed at 12 dlrs.
 Reuter
&#3;</BODY></TEXT></REUTERS>
"""


def test_sgml_entities_sign_off_and_missing_body() -> None:
    counts = ParseCounts()
    documents = parse_sgml(SGML, counts)
    assert (counts.documents, counts.with_body, counts.without_body) == (2, 1, 1)
    assert documents == [
        ReutersDocument(2, ["Profits at A & B rose to 5 <pct> in 1986, the company said.", "Shares closed at 12 dlrs."])
    ]


def test_clean_body_drops_control_characters_and_only_the_final_sign_off() -> None:
    assert clean_body("Reuter shares rose\x05 today.\n Reuter\n&#3;") == ["Reuter shares rose today."]
    assert clean_body("Noranda said. Reuter\n Reuter\n&#3;") == ["Noranda said."]


def test_real_reuters_counts(mirror: Path) -> None:
    documents, counts = read_reuters(sorted((mirror / "reuters21578").glob("reut2-*.sgm")))
    assert (counts.documents, counts.with_body, counts.without_body) == (21578, 19043, 2535)
    text = "".join(p for d in documents for p in d.paragraphs)
    assert 14_000_000 < len(text) < 17_000_000
    assert not any(p.endswith("Reuter") or "\x03" in p for d in documents for p in d.paragraphs)


def test_split_is_deterministic_by_document() -> None:
    documents = [ReutersDocument(i, [f"doc {i}"]) for i in range(200)]
    first = split_documents(documents, 0.1, 0.1, seed=3)
    again = split_documents(list(reversed(documents)), 0.1, 0.1, seed=3)
    other = split_documents(documents, 0.1, 0.1, seed=4)
    assert first == again and first != other
    assert [len(first[s]) for s in ("train", "valid", "test")] == [160, 20, 20]
    ids = [d.doc_id for s in first.values() for d in s]
    assert sorted(ids) == list(range(200))


def test_corpus_layout_and_info(tiny_lm_corpus: Path) -> None:
    assert sorted(p.name for p in (tiny_lm_corpus / "train").iterdir()) == ["train_split_01", "train_split_02"]
    info = json.loads((tiny_lm_corpus / "corpus.json").read_text())
    for split in ("train", "valid", "test"):
        text = (
            (tiny_lm_corpus / f"{split}.txt").read_text()
            if split != "train"
            else "".join(p.read_text() for p in sorted((tiny_lm_corpus / "train").iterdir()))
        )
        assert info["characters"][split] == len(text) and info["tokens"][split] == len(text.split())
    assert len(info["sha256"]) == 64 and info["seed"] == 7


def test_conll_sentences_are_kept_out(tmp_path: Path) -> None:
    sgml = tmp_path / "x.sgm"
    sgml.write_text(SGML.replace("Shares closed at 12 dlrs.", "Germany 's representative to the European Union said ."))
    leaked = ["Germany", "'s", "representative", "to", "the", "European", "Union", "said", "."]
    assert find_sentences(["Germany's representative to the European Union said."], [leaked]) == [" ".join(leaked)]
    with pytest.raises(ValueError, match="1 CoNLL test sentences occur in the LM text"):
        build_lm_corpus(
            [sgml], tmp_path / "corpus", valid_fraction=0.5, test_fraction=0.5, forbidden_sentences=[leaked]
        )
    assert not (tmp_path / "corpus").exists()


def test_char_dictionary_comes_from_the_training_text(tiny_lm_corpus: Path) -> None:
    dictionary = build_char_dictionary(tiny_lm_corpus)
    text = "".join(p.read_text() for p in (tiny_lm_corpus / "train").iterdir())
    assert set(dictionary.get_items()) == set(text) | {"<unk>"}
    assert dictionary.get_idx_for_item("\u2603") == dictionary.get_idx_for_item("<unk>")


def test_tiny_lm_trains_logs_and_loads_in_flair(tiny_lms: dict[str, Path]) -> None:
    from flair.data import Sentence
    from flair.embeddings import FlairEmbeddings

    for direction, path in tiny_lms.items():
        out = path.parent
        log = pd.read_csv(out / SPLIT_LOG, sep="\t")
        assert list(log["split"]) == [1, 2] and (log["valid_bpc"] > 0).all()
        final = pd.read_csv(out / FINAL_EVAL, sep="\t").set_index("split")
        assert final.loc["valid", "bpc"] == pytest.approx(final.loc["valid", "loss"] / 0.6931471805599453)
        embeddings = FlairEmbeddings(str(path))
        assert embeddings.is_forward_lm == (direction == "forward")
        sentence = Sentence("EU rejects German call .")
        embeddings.embed(sentence)
        assert sentence[0].embedding.shape == (16,)


def test_budget_stops_between_splits_and_resume_continues(tmp_path: Path, tiny_lm_corpus: Path) -> None:
    config = LMConfig(
        corpus_dir=str(tiny_lm_corpus),
        output_dir=str(tmp_path),
        hidden_size=8,
        embedding_size=4,
        sequence_length=40,
        mini_batch_size=8,
        max_epochs=2,
        budget_minutes=1e-9,
    )
    train_lm(config)  # the budget is over before the first split: nothing trained
    assert not (tmp_path / CHECKPOINT).exists()
    config.budget_minutes = None
    config.max_epochs = 1
    train_lm(config)
    assert pd.read_csv(tmp_path / SPLIT_LOG, sep="\t")[["epoch", "split"]].values.tolist() == [[1, 1], [1, 2]]
    config.max_epochs = 2
    train_lm(config)  # resumes after epoch 1 instead of starting again
    log = pd.read_csv(tmp_path / SPLIT_LOG, sep="\t")
    assert log[["epoch", "split"]].values.tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert (tmp_path / BEST_MODEL).is_file()


def test_ship_writes_a_loadable_lm_and_its_card(
    tmp_path: Path, tiny_lms: dict[str, Path], tiny_lm_corpus: Path
) -> None:
    from flair.embeddings import FlairEmbeddings

    from flair_ner.lm.train import ship_lm

    config = LMConfig(direction="backward", hidden_size=16, embedding_size=8, sequence_length=40, mini_batch_size=8)
    shipped = ship_lm(tiny_lms["backward"].parent, tmp_path / "reuters-backward", tiny_lm_corpus, config)
    assert not FlairEmbeddings(str(shipped)).is_forward_lm
    card = (tmp_path / "reuters-backward" / "MODEL_CARD.md").read_text()
    sha = json.loads((tiny_lm_corpus / "corpus.json").read_text())["sha256"]
    final = pd.read_csv(tiny_lms["backward"].parent / FINAL_EVAL, sep="\t").set_index("split")
    assert sha in card and f"{final.loc['valid', 'bpc']:.4f} bits per character" in card
    assert "hidden 16" in card and "| direction | backward |" in card


def test_a_corpus_too_short_for_the_streams_is_refused_before_training(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train_split_1").write_text("a" * 400, encoding="utf-8")
    (tmp_path / "valid.txt").write_text("b" * 36, encoding="utf-8")
    (tmp_path / "test.txt").write_text("c" * 400, encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"valid.txt: 36 characters, too few for 100 parallel streams .*use at most 18"
    ):
        check_split_sizes(tmp_path, 100)
    check_split_sizes(tmp_path, 18)  # 2 characters per stream: flair makes a step


def test_an_epoch_that_gains_too_little_ends_training_and_a_rerun_stays_stopped(
    tmp_path: Path, tiny_lm_corpus: Path
) -> None:
    # every epoch gains less than 100 bits per character: training stops after epoch 2, the first with a gain
    config = LMConfig(
        corpus_dir=str(tiny_lm_corpus), output_dir=str(tmp_path), hidden_size=8, embedding_size=4,
        sequence_length=40, mini_batch_size=8, max_epochs=4, min_epoch_gain_bpc=100.0,
    )  # fmt: skip
    train_lm(config)
    epochs = pd.read_csv(tmp_path / SPLIT_LOG, sep="\t")["epoch"].tolist()
    assert epochs == [1, 1, 2, 2]
    snapshots = sorted(path.name for path in tmp_path.glob("best-lm-after-epoch-*.pt"))
    assert snapshots == ["best-lm-after-epoch-1.pt", "best-lm-after-epoch-2.pt"]  # the best LM as each epoch ended
    train_lm(config)  # the same command again: still converged, nothing more trained
    assert pd.read_csv(tmp_path / SPLIT_LOG, sep="\t")["epoch"].tolist() == [1, 1, 2, 2]
    config.min_epoch_gain_bpc = None  # without the stop the same folder trains on to max_epochs
    train_lm(config)
    assert pd.read_csv(tmp_path / SPLIT_LOG, sep="\t")["epoch"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    # the last epoch's snapshot too (no next split starts it), and each one a copy of the best LM of its time
    assert len(list(tmp_path.glob("best-lm-after-epoch-*.pt"))) == 4
    assert (tmp_path / "best-lm-after-epoch-4.pt").read_bytes() == (tmp_path / BEST_MODEL).read_bytes()


def test_ner_training_text_joins_the_lm_corpus_without_its_dev_or_test_sentences() -> None:
    from flair_ner.data.corpus import Block
    from flair_ner.lm.corpus import _without_held_out, column_documents

    held_out = [["Standings", "(", "tabulate", "under", "won", ",", "drawn", ",", "lost", ",", "goals", ")", ":"]]
    blocks = [
        Block(["-DOCSTART-"], ["O"], 1, is_docstart=True),
        Block(["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."], ["O"] * 9, 3),
        Block(["Standings", "(", "tabulate", "under", "won", ","], ["O"] * 6, 5),  # a held-out sentence across two
        Block(["drawn", ",", "lost", ",", "goals", ")", ":"], ["O"] * 7, 7),
        Block(["-DOCSTART-"], ["O"], 9, is_docstart=True),
        Block(["Peter", "Blackburn"], ["B-PER", "I-PER"], 11),
    ]
    kept = _without_held_out(blocks, held_out)
    documents = column_documents(kept)
    assert [document.paragraphs for document in documents] == [
        ["EU rejects German call to boycott British lamb ."],
        ["Peter Blackburn"],
    ]
    assert find_sentences(["".join(p for d in documents for p in d.paragraphs)], held_out) == []


def test_lm_runs_resume_by_the_taggers_folder_rules(tmp_path: Path, tiny_lm_corpus: Path) -> None:
    from flair_ner.runs.folder import RunFolderError

    config = LMConfig(
        corpus_dir=str(tiny_lm_corpus), output_dir=str(tmp_path / "lm"), hidden_size=8, embedding_size=4,
        sequence_length=40, mini_batch_size=8, max_epochs=1,
    )  # fmt: skip
    train_lm(config)
    # a shaping option changed: refused in one line, naming the change, before anything trains
    with pytest.raises(RunFolderError, match=r"holds an unfinished LM run with a different configuration "
                       r"\(hidden_size 8 -> 16\).*--fresh"):  # fmt: skip
        train_lm(LMConfig(**{**config.__dict__, "hidden_size": 16}))
    assert pd.read_csv(tmp_path / "lm" / SPLIT_LOG, sep="\t")["epoch"].tolist() == [1, 1]
    # max_epochs is declared shaping=False for LMs: the same folder trains on
    train_lm(LMConfig(**{**config.__dict__, "max_epochs": 2}))
    assert pd.read_csv(tmp_path / "lm" / SPLIT_LOG, sep="\t")["epoch"].tolist() == [1, 1, 2, 2]
    # --fresh moves the run aside (never deletes) and starts over
    train_lm(LMConfig(**{**config.__dict__, "hidden_size": 16}), fresh=True)
    [old] = tmp_path.glob("lm.old-*")
    assert (old / CHECKPOINT).is_file() and (old / BEST_MODEL).is_file()
    assert pd.read_csv(tmp_path / "lm" / SPLIT_LOG, sep="\t")["epoch"].tolist() == [1, 1]


def test_a_resumed_lm_log_loses_exactly_the_splits_the_checkpoint_does_not_cover(tmp_path: Path) -> None:
    from flair_ner.lm.train import trim_split_lines

    line = (
        "| end of split {s:3d} / 2 | epoch {e:3d} | time: 1.0s | valid loss 1.0 | valid ppl 2.7 | learning rate 20.0\n"
    )
    loss_txt = tmp_path / "loss.txt"
    loss_txt.write_text("".join(line.format(s=s, e=e) for e in (1, 2) for s in (1, 2)) + "free text\n")
    trim_split_lines(loss_txt, epoch=1, done=1)  # checkpoint after split 1 of epoch 2 (0-based epoch 1)
    assert loss_txt.read_text() == line.format(s=1, e=1) + line.format(s=2, e=1) + line.format(s=1, e=2) + "free text\n"

"""Static pooled Flair embeddings: a word's LM vectors pooled over its training occurrences, as a word table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flair_ner.data.corpus import read_blocks, to_sentences
from flair_ner.data.registry import ColumnFormat


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_the_table_pools_each_words_vectors(pooling: str, conllpp_slice: Path, tiny_lms, tmp_path: Path) -> None:
    from flair.embeddings import WordEmbeddings

    from flair_ner.embeddings.pooled import pooled_table
    from flair_ner.embeddings.stacks import flair_embeddings

    lm = flair_embeddings(str(tiny_lms["forward"]))
    blocks = read_blocks(conllpp_slice / "conllpp_train.txt", ColumnFormat(tag_scheme="iob2"))
    sentences = to_sentences(blocks)[:60]
    path = pooled_table(lm, sentences, pooling, tmp_path / "pooled.kv")
    # by hand: each occurrence of "the" in context, pooled
    checked = to_sentences(blocks)[:60]
    lm.embed(checked)
    seen = np.stack([t.get_embedding([lm.name]).numpy() for s in checked for t in s if t.text == "the"])
    assert len(seen) > 3
    expected = seen.mean(axis=0) if pooling == "mean" else seen.max(axis=0)
    table = WordEmbeddings(str(path))
    assert table.embedding_length == lm.embedding_length
    from flair.data import Sentence

    probe = Sentence(["the", "zyxwvut"])
    table.embed(probe)
    assert np.allclose(probe[0].get_embedding().numpy(), expected, atol=1e-5)
    assert not probe[1].get_embedding().any()  # a word the training text lacks: flair's unknown-word zeros
    assert all(not t._embeddings for s in sentences for t in s)  # the pass leaves no vectors behind


def test_a_run_with_pooled_tables_loads_in_plain_flair(
    conllpp_slice: Path, tiny_glove: Path, tiny_lms: dict[str, Path], tmp_path: Path
) -> None:
    from flair_ner.cli.main import main

    out = tmp_path / "run"
    options = ["--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file",
               str(conllpp_slice / "conllpp_dev.txt"), "--test-file", str(conllpp_slice / "conllpp_test.txt"),
               "--glove", str(tiny_glove), "--lms", f"{tiny_lms['forward']},{tiny_lms['backward']}",
               "--hidden-size", "8", "--max-epochs", "1", "--pooled-lms", "min", "--output-dir", str(out)]  # fmt: skip
    assert main(["run", *options]) == 0
    assert sorted(p.name for p in out.glob("pooled-*.kv")) == ["pooled-min-0.kv", "pooled-min-1.kv"]
    assert "| pooled_lms | min |" in (out / "MODEL_CARD.md").read_text()
    import json

    evaluated = out / json.loads((out / "manifest.json").read_text())["evaluated_model"]
    check = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom flair.models import SequenceTagger\nfrom flair.data import Sentence\n"
        "tagger = SequenceTagger.load(sys.argv[1])\nsentence = Sentence('Peter lives in Berlin .')\n"
        "tagger.predict(sentence)\nassert 'flair_ner' not in sys.modules\n"
        "print(tagger.embeddings.embedding_length)"), str(evaluated)],
        capture_output=True, text=True, timeout=300)  # fmt: skip
    assert check.returncode == 0, check.stderr[-2000:]
    from flair_ner.embeddings.stacks import flair_embeddings

    lms = sum(flair_embeddings(str(tiny_lms[direction])).embedding_length for direction in ("forward", "backward"))
    assert int(check.stdout.split()[-1]) == 50 + 2 * lms  # GloVe 50d, the two LMs and their two tables
    assert (
        main(["run", *options[:-2], "--embeddings", "scratch", "--lms", "none", "--output-dir", str(tmp_path / "x")])
        == 2
    )

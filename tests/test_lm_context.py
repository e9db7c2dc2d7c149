"""Documents: sentences linked within their document, and the character LMs reading whole documents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flair_ner.data.corpus import read_blocks, to_sentences
from flair_ner.data.registry import ColumnFormat


@pytest.fixture(scope="module")
def documents(conllpp_slice: Path) -> list:
    """The first 120 sentences of the CoNLL++ slice, linked within their documents."""
    blocks = read_blocks(conllpp_slice / "conllpp_train.txt", ColumnFormat(tag_scheme="iob2"))
    return to_sentences(blocks)[:120]


def test_sentences_are_linked_within_documents_only(conllpp_slice: Path, documents: list, tmp_path: Path) -> None:
    from flair_ner.embeddings.lm_context import documents_of

    blocks = read_blocks(conllpp_slice / "conllpp_train.txt", ColumnFormat(tag_scheme="iob2"))
    markers = [i for i, block in enumerate(blocks) if block.is_docstart]
    first_of_second = markers[1] - 1  # its sentence number: every block before it but the first marker is a sentence
    assert documents[first_of_second].previous_sentence() is None
    assert documents[first_of_second - 1].next_sentence() is None  # the first document's last sentence
    assert documents[first_of_second + 1].previous_sentence() is documents[first_of_second]
    # FLERT's context (flair's left_context) now reaches the sentence before, and stops at the document's start
    assert documents[1].left_context(5) == documents[0].tokens[-5:]
    assert documents[first_of_second].left_context(64) == []
    grouped = documents_of(documents[: first_of_second + 2])
    assert [len(d) for d in grouped[:1]] == [first_of_second] and grouped[1][0] is documents[first_of_second]
    # a file without markers: every sentence stands alone
    plain = tmp_path / "plain.txt"
    plain.write_text("A B-PER\nb O\n\nC B-LOC\n", encoding="utf-8")
    alone = to_sentences(read_blocks(plain, ColumnFormat(tag_column=1, tag_scheme="iob2", document_separator=None)))
    assert alone[1].previous_sentence() is None and len(documents_of(alone)) == 2


def test_each_lm_reads_the_whole_document(documents: list, tiny_lms: dict[str, Path], conllpp_slice: Path) -> None:
    """Forward LM: a document's first sentence gets the vectors it gets alone, the next ones others; backward LM:
    the same for the last sentence (it is read first)."""
    from flair_ner.embeddings.lm_context import documents_of, embed_in_documents
    from flair_ner.embeddings.stacks import flair_embeddings

    document = documents_of(documents)[1]
    assert len(document) >= 3
    for direction, same in (("forward", 0), ("backward", -1)):
        lm = flair_embeddings(str(tiny_lms[direction]))
        alone = to_sentences(read_blocks(conllpp_slice / "conllpp_train.txt", ColumnFormat(tag_scheme="iob2")))
        alone = [sentence for sentence in alone if sentence.to_tokenized_string() in
                 {s.to_tokenized_string() for s in document}]  # fmt: skip
        for sentence in alone:  # sentence by sentence, as flair embeds
            sentence._previous_sentence = sentence._next_sentence = None
        lm.embed(alone)
        embed_in_documents(lm, document, batch_characters=500)  # small batches: several documents per call
        by_text = {sentence.to_tokenized_string(): sentence for sentence in alone}

        def vectors(sentence) -> np.ndarray:
            return np.stack([token.get_embedding([lm.name]).numpy() for token in sentence])

        assert np.allclose(vectors(document[same]), vectors(by_text[document[same].to_tokenized_string()]), atol=1e-5)
        other = document[1] if same == 0 else document[-2]
        assert not np.allclose(vectors(other), vectors(by_text[other.to_tokenized_string()]), atol=1e-3)
        assert all(token.get_embedding([lm.name]).shape == (lm.embedding_length,) for s in document for token in s)


def test_a_run_with_document_context_and_a_file_without_markers(
    conllpp_slice: Path, tiny_glove: Path, tiny_lms: dict[str, Path], tmp_path: Path, capsys
) -> None:
    from flair_ner.cli.main import main

    options = ["--glove", str(tiny_glove), "--lms", f"{tiny_lms['forward']},{tiny_lms['backward']}",
               "--hidden-size", "8", "--max-epochs", "1", "--lm-context", "document"]  # fmt: skip
    files = ["--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file",
             str(conllpp_slice / "conllpp_dev.txt"), "--test-file", str(conllpp_slice / "conllpp_test.txt")]  # fmt: skip
    assert main(["run", *files, *options, "--output-dir", str(tmp_path / "run")]) == 0
    assert "lm_context | document" in (tmp_path / "run" / "MODEL_CARD.md").read_text()
    # evaluate and predict read the context the model was trained with from its run folder, and tag as the run did
    from flair_ner.runs.folder import trained_lm_context

    model = tmp_path / "run"  # a run folder: its best model, else its final one
    assert trained_lm_context(model / "final-model.pt") == "document" and trained_lm_context(model) == "document"
    assert trained_lm_context(tiny_glove) == "sentence" and trained_lm_context("conllpp") == "sentence"  # no run folder
    test = str(conllpp_slice / "conllpp_test.txt")
    assert main(["evaluate", "--model", str(model), "--test-file", test, "--output-dir", str(tmp_path / "e")]) == 0
    ran = (tmp_path / "run" / "predictions_test.tsv").read_text()
    assert (tmp_path / "e" / "predictions_test.tsv").read_text() == ran
    read = []  # the documents the LMs read when predicting: the test file's -DOCSTART- sections
    import flair_ner.embeddings.lm_context as lm_context

    def spy(embeddings, sentences, **kwargs):  # noqa: E306
        read.extend(len(document) for document in lm_context.documents_of(sentences))
        return embed_in_documents(embeddings, sentences, **kwargs)

    embed_in_documents, lm_context.embed_in_documents = lm_context.embed_in_documents, spy
    try:
        out = tmp_path / "predicted.conll"
        assert main(["predict", "--model", str(model), "--input", test, "--input-format", "conll",
                     "--output-format", "conll", "--output", str(out)]) == 0  # fmt: skip
        predicted_reads = list(read)
        # benchmark speed times the model as predict runs it: its batches are whole documents, in input order
        bench = ["benchmark", "speed", "--model", str(model), "--input", test, "--input-format", "conll"]
        assert main([*bench, "--batch-size", "1"]) == 0
        assert "batches of whole documents)" in capsys.readouterr().out
    finally:
        lm_context.embed_in_documents = embed_in_documents
    blocks = read_blocks(conllpp_slice / "conllpp_test.txt", ColumnFormat(tag_scheme="iob2"))
    sizes, size = [], 0
    for block in blocks:
        if block.is_docstart and size:
            sizes.append(size)
        size = 0 if block.is_docstart else size + 1
    assert predicted_reads == [*sizes, size] and len(sizes) > 0
    assert read[len(predicted_reads) + 1 :] == [*sizes, size]  # after predict's and the one warm-up batch
    predicted = [line.split()[-1] for line in out.read_text().splitlines() if line.strip()]
    assert predicted == [line.split("\t")[-1] for line in ran.splitlines()[1:]]
    onnx = ["--engine", "onnx", "--lm-context", "document"]
    assert main(["predict", "--model", str(model), "--input", test, *onnx]) == 2
    assert "the ONNX export reads sentence by sentence" in capsys.readouterr().err
    plain = tmp_path / "plain.txt"
    plain.write_text("A B-PER\nb O\n\nC B-LOC\n\nD O\n", encoding="utf-8")
    assert main(["run", "--train-file", str(plain), *options, "--output-dir", str(tmp_path / "r2")]) == 2
    assert "lm_context = document needs document markers" in capsys.readouterr().err
    assert main(["run", *files, "--method", "fine-tune", "--lm-context", "document"]) == 2
    assert "option 'lm_context' document needs a frozen stack" in capsys.readouterr().err

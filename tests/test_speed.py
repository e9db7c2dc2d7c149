"""The speed levers: bucketed batches, precomputed embeddings, the fast predict path. (No timings: see benchmarks/.)"""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import pytest
import torch

from flair_ner.errors import ConfigError
from flair_ner.training.speed import (
    LengthBucketSampler,
    all_static,
    amp_supported,
    dev_in_length_order,
    precompute_embeddings,
)


class Sized:
    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length


def sampler_over(lengths: list[int], batch_size: int = 8, noise: float = 0.1) -> LengthBucketSampler:
    sampler = LengthBucketSampler(batch_size, noise)
    sampler.set_dataset([Sized(length) for length in lengths])
    return sampler


def test_bucket_batches_cover_every_sentence_once_and_only_the_last_is_partial() -> None:
    lengths = [random.Random(0).randint(1, 60) for _ in range(203)]
    batches = sampler_over(lengths).batches()
    assert sorted(i for batch in batches for i in batch) == list(range(203))
    assert [len(batch) for batch in batches] == [8] * 25 + [3]


def test_bucket_batches_hold_similar_lengths() -> None:
    rng = random.Random(1)
    lengths = [rng.randint(1, 60) for _ in range(400)]
    batches = sampler_over(lengths, noise=0.0).batches()
    spread = max(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread <= 4  # random batches of 8 from 1..60 almost surely span far more
    rng.shuffle(indices := list(range(400)))
    random_spread = max(lengths[i] for i in indices[:8]) - min(lengths[i] for i in indices[:8])
    assert random_spread > spread


def test_bucket_order_is_seeded_and_changes_between_epochs() -> None:
    sampler = sampler_over(list(range(1, 100)))
    random.seed(5)
    first, second = list(sampler), list(sampler)
    random.seed(5)
    assert list(sampler) == first
    assert first != second


def test_dataloader_cuts_the_sampler_order_into_its_batches() -> None:
    from torch.utils.data import DataLoader

    lengths = [random.Random(2).randint(1, 40) for _ in range(50)]
    sampler = sampler_over(lengths, batch_size=8)
    random.seed(3)
    expected = sampler.batches()
    random.seed(3)
    loader = DataLoader(list(range(50)), batch_size=8, sampler=sampler, collate_fn=list)
    assert list(loader) == expected


def test_sampler_pickles_as_its_description() -> None:
    # flair saves the trainer's arguments (this sampler too) inside every model file
    sampler = sampler_over([5] * 10_000)
    assert len(pickle.dumps(sampler)) < 500
    assert pickle.loads(pickle.dumps(sampler)) == "LengthBucketSampler(batch_size=8, noise=0.1)"


def test_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        LengthBucketSampler(0)


def test_dev_is_evaluated_in_length_order_with_the_same_scores(tiny_run, conllpp_slice: Path) -> None:
    from flair.models import SequenceTagger

    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files

    corpus = load_corpus(registered_files("conllpp", conllpp_slice))
    reordered = dev_in_length_order(corpus)
    lengths = [len(sentence) for sentence in reordered.dev]
    assert lengths == sorted(lengths) != [len(sentence) for sentence in corpus.dev]
    assert sorted(map(id, reordered.dev)) == sorted(map(id, corpus.dev))
    assert reordered.train is corpus.train and reordered.test is corpus.test

    tagger = SequenceTagger.load(tiny_run.final_model)
    stored_order = tagger.evaluate(corpus.dev, gold_label_type="ner", mini_batch_size=8)
    length_order = tagger.evaluate(reordered.dev, gold_label_type="ner", mini_batch_size=8)
    assert length_order.main_score == pytest.approx(stored_order.main_score)
    assert length_order.classification_report == stored_order.classification_report

    # the trainer evaluated dev in length order: flair's dev.tsv has one block per sentence
    blocks = (tiny_run.output_dir / "dev.tsv").read_text(encoding="utf-8").strip("\n").split("\n\n")
    written = [len(block.splitlines()) for block in blocks]
    assert written == sorted(written) and len(written) == len(corpus.dev)


def test_precomputed_vectors_equal_flairs_own(tiny_glove: Path, tiny_lms: dict[str, Path]) -> None:
    from flair.data import Sentence

    from flair_ner.embeddings.stacks import default_stack

    stack = default_stack("offline", str(tiny_glove), [str(tiny_lms["forward"]), str(tiny_lms["backward"])])
    texts = ["EU rejects German call to boycott British lamb .", "Peter Blackburn", "BRUSSELS 1996-08-22"]
    batched = [Sentence(text) for text in texts]
    precompute_embeddings(stack, batched, batch_size=2)
    for text, sentence in zip(texts, batched):
        alone = Sentence(text)
        stack.embed(alone)
        for token, reference in zip(sentence, alone):
            assert token.get_embedding().shape == reference.get_embedding().shape
            assert token.get_embedding().allclose(reference.get_embedding(), atol=1e-5)
            # its own memory, not a view into a batch's LM output
            assert token.get_embedding([stack.embeddings[1].name]).untyped_storage().nbytes() == 4 * 16
    assert all_static(stack)


def test_a_trained_embedding_is_not_precomputed() -> None:
    class Trained:
        static_embeddings = False

    class Stack:
        embeddings = [Trained()]

    assert not all_static(Stack())


def test_amp_is_on_for_cuda_and_for_cpus_with_native_bfloat16(monkeypatch) -> None:
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: True)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True)
    assert amp_supported("cpu") is True
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert amp_supported("cpu") is False  # emulated bfloat16 would only be slower
    # CUDA gets amp whatever the CPU has (checked with a CPU without native bfloat16, so that the answer
    # cannot come from the CPU check)
    assert amp_supported("cuda") is True and amp_supported("cuda:1") is True


def test_fast_predict_gives_flairs_labels(tiny_run, conllpp_slice: Path) -> None:
    from flair.data import Sentence
    from flair.models import SequenceTagger

    from flair_ner.data.corpus import load_sentences
    from flair_ner.predict.tagging import predict_sentences

    tagger = SequenceTagger.load(tiny_run.final_model)
    tokens = [[t.text for t in s] for s in load_sentences(conllpp_slice / "conllpp_test.txt")]
    vanilla = [Sentence(t) for t in tokens]
    tagger.predict(vanilla)
    kit = [Sentence(t) for t in tokens]
    predict_sentences(tagger, kit, mini_batch_size=7)

    def spans(sentences):
        return [[(s.unlabeled_identifier, s.tag) for s in sentence.get_spans("ner")] for sentence in sentences]

    assert spans(kit) == spans(vanilla)
    assert sum(map(len, spans(kit))) > 0
    half = [Sentence(t) for t in tokens]
    if amp_supported("cpu"):
        predict_sentences(tagger, half, precision="bf16")
        # bf16 may change a few labels (README), not most: the sentences it tags exactly as fp32 does
        same = sum(a == b for a, b in zip(spans(half), spans(vanilla)))
        assert sum(map(len, spans(half))) > 0 and same >= 0.8 * len(tokens), (same, len(tokens))
    else:  # without native bfloat16 torch's LSTM fails deep inside; the kit refuses first, in one line
        with pytest.raises(ConfigError, match="needs a CPU with native bfloat16"):
            predict_sentences(tagger, half, precision="bf16")
        assert all(not sentence.get_spans("ner") for sentence in half)  # nothing tagged
    with pytest.raises(ValueError, match="precision"):
        predict_sentences(tagger, half, precision="fp8")

    int8 = [Sentence(t) for t in tokens]
    predict_sentences(tagger, int8, precision="int8")
    agree = sum(a == b for x, y in zip(spans(int8), spans(vanilla)) for a, b in zip(x, y))
    assert agree >= 0.8 * sum(map(len, spans(vanilla)))  # quantization changes few labels
    assert type(tagger.rnn) is torch.nn.LSTM  # the caller's model is not quantized in place

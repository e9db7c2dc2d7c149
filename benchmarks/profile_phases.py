"""Vanilla flair's training step, phase by phase, on real CoNLL++ sentences with the real offline stack.

    python benchmarks/profile_phases.py      # first 1,600 training sentences (~1 min)

Embeds the sentences once (flair's ``embed``, batches of 32 in corpus order, as flair's first epoch
does), then runs one epoch of flair's own steps on them, timing each: gold-label tensor, input tensor
from the stored vectors (``_prepare_tensors``), ``forward``, CRF loss, ``backward``, SGD ``step``.
Writes benchmarks/results/profile_phases.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import RESULTS, as_arguments, conllpp_corpus, manifest, write_result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1600)
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_phases.json")
    args = parser.parse_args(argv)

    import flair
    import torch
    from flair.training_utils import store_embeddings

    from flair_ner.config.options import TrainConfig
    from flair_ner.training.speed import compact_embeddings
    from flair_ner.training.train import build_tagger

    corpus, _ = conllpp_corpus()
    sentences = [corpus.train[i] for i in range(args.sentences)]
    flair.set_seed(1)
    tagger = build_tagger(corpus, TrainConfig(embeddings="offline"))
    optimizer = torch.optim.SGD(tagger.parameters(), lr=0.1)
    tokens = sum(len(sentence) for sentence in sentences)

    started = time.perf_counter()
    for start in range(0, len(sentences), 32):
        batch = sentences[start : start + 32]
        tagger.embeddings.embed(batch)
        compact_embeddings(batch)
        store_embeddings(batch, "cpu")
    embedding_seconds = time.perf_counter() - started

    phases = dict.fromkeys(("gold labels", "input tensor", "forward", "CRF loss", "backward", "optimizer step"), 0.0)
    tagger.train()
    for start in range(0, len(sentences), 32):
        batch = sorted(sentences[start : start + 32], key=len, reverse=True)  # as forward_loss sorts
        marks = [time.perf_counter()]
        gold = tagger._prepare_label_tensor(batch)
        marks.append(time.perf_counter())
        inputs, lengths = tagger._prepare_tensors(batch)
        marks.append(time.perf_counter())
        scores = tagger.forward(inputs, lengths)
        marks.append(time.perf_counter())
        loss, _ = tagger._calculate_loss(scores, gold)
        marks.append(time.perf_counter())
        optimizer.zero_grad()
        loss.backward()
        marks.append(time.perf_counter())
        optimizer.step()
        marks.append(time.perf_counter())
        for name, begin, end in zip(phases, marks, marks[1:]):
            phases[name] += end - begin
    step_seconds = sum(phases.values())
    for name, seconds in phases.items():
        print(f"{name:16} {seconds:6.2f} s  {100 * seconds / step_seconds:5.1f} %")
    print(f"{'training step':16} {step_seconds:6.2f} s  = {tokens / step_seconds:,.0f} tokens/s over {tokens:,} tokens")
    print(f"{'LM + GloVe pass':16} {embedding_seconds:6.2f} s  (once, in flair's first epoch)")
    write_result(
        args.output,
        {
            "manifest": manifest(["benchmarks/profile_phases.py", *as_arguments(args)]),
            "sentences": len(sentences),
            "tokens": tokens,
            "phase_seconds": {name: round(seconds, 3) for name, seconds in phases.items()},
            "tokens_per_s": round(tokens / step_seconds),
            "embedding_seconds": round(embedding_seconds, 2),
        },
    )
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

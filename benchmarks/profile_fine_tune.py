"""Where a fine-tuning step's time goes: forward + loss, backward, and the optimizer step, for a transformer as the
kit fine-tunes it (FLERT's tagger: first sub-token, linear layer; AdamW as flair's ``fine_tune`` builds it, one
rate for the transformer and ``decoder_learning_rate`` for the linear layer; batch 16).

    python benchmarks/profile_fine_tune.py                                    # e5-small on MultiCoNER II Hindi, ~4 min
    python benchmarks/profile_fine_tune.py --transformer minilm --dataset conllpp --use-context

Why: e5-small fine-tunes ~23 minutes an epoch on Hindi's ~8,700 short sentences here (2 s a step), where MiniLM
took 177 s an epoch over CoNLL++'s ~14,000 with FLERT context (0.2 s a step). e5-small has twice MiniLM's layers,
but also the XLM-R vocabulary: its word-embedding matrix is 250,038 x 384 = 96 M of its 118 M weights, and
PyTorch gives it a dense gradient and AdamW updates all of it every step although a batch uses a few hundred
rows. This script measures each part on real training batches, with the matrix trained (the kit's recipe) and
frozen (``requires_grad = False``), so that the cost of the matrix is a measured number, not a guess; and the
trained matrix once more with AdamW's fused implementation (``fused=True``: one vectorised pass per tensor; on
CPU torch otherwise updates each tensor with a chain of separate element-wise operations), the same update up to
floating-point rounding.
Nothing is trained for real: the same batches, each part timed with ``time.perf_counter`` after a warm-up batch.
Writes benchmarks/results/profile_fine_tune.json.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from common import RESULTS, as_arguments, manifest, ratio, write_result


def parts_of_a_step(
    tagger, batches: list, learning_rate: float, decoder_learning_rate: float, fused: bool = False
) -> dict[str, float]:
    """Median seconds of forward + loss, backward and optimizer step (with zero_grad) over ``batches`` (the first
    is a warm-up and not counted), with AdamW over the trainable weights as flair's trainer groups them
    (``fused``: torch's fused AdamW instead of its default)."""
    import torch

    embedding_ids = {id(p) for p in tagger.embeddings.parameters()}
    groups = [
        {"params": [p for p in tagger.embeddings.parameters() if p.requires_grad], "lr": learning_rate},
        {"params": [p for p in tagger.parameters() if id(p) not in embedding_ids], "lr": decoder_learning_rate},
    ]
    optimizer = torch.optim.AdamW(groups, **({"fused": True} if fused else {}))
    times: dict[str, list[float]] = {"forward + loss": [], "backward": [], "optimizer step": []}
    tagger.train()
    for number, batch in enumerate(batches):
        started = time.perf_counter()
        loss, count = tagger.forward_loss(batch)
        forward = time.perf_counter()
        (loss / count).backward()
        backward = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)  # as flair's trainer: model.zero_grad() keeps the tensors
        stepped = time.perf_counter()
        for sentence in batch:
            sentence.clear_embeddings()
        if number:
            times["forward + loss"].append(forward - started)
            times["backward"].append(backward - forward)
            times["optimizer step"].append(stepped - backward)
    medians = {part: statistics.median(values) for part, values in times.items()}
    medians["step"] = sum(medians.values())
    medians["fused_adamw"] = bool(optimizer.defaults.get("fused"))  # what torch ran, as the optimizer says
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transformer", default="e5-small", help="minilm, e5-small or a model folder")
    parser.add_argument("--dataset", default="multiconer2-hi", help="a registered data set: its training sentences")
    parser.add_argument("--use-context", action="store_true", help="FLERT context (CoNLL++'s documents)")
    parser.add_argument("--batches", type=int, default=9, help="timed batches, the first a warm-up")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--decoder-learning-rate", type=float, default=2e-2)
    parser.add_argument("--output", default=str(RESULTS / "profile_fine_tune.json"))
    args = parser.parse_args()

    import torch
    from flair.data import Corpus

    from flair_ner.config.options import ExperimentConfig
    from flair_ner.data.corpus import fetch_corpus_files, read_blocks, to_sentences
    from flair_ner.training.train import build_tagger

    files = fetch_corpus_files(args.dataset, mirror=os.environ.get("FLAIR_NER_MIRROR"))
    sentences = to_sentences(read_blocks(files.paths()["train"], files.format))  # linked within documents
    rng = random.Random(1)
    chosen = rng.sample(range(len(sentences)), args.batches * args.batch_size)  # a random batch, as the trainer draws
    batches = [[sentences[i] for i in chosen[n : n + args.batch_size]] for n in range(0, len(chosen), args.batch_size)]
    config = ExperimentConfig(method="fine-tune", transformer=args.transformer, use_context=args.use_context)
    corpus = Corpus(sentences, sentences[:200], None, sample_missing_splits=False)
    results = {}
    # side -> (the word-embedding matrix trained, fused AdamW)
    sides = {"trained": (True, False), "frozen": (False, False), "trained, fused AdamW": (True, True)}
    for setting, (matrix_trained, fused_adamw) in sides.items():
        torch.manual_seed(1)
        tagger = build_tagger(corpus, config)
        matrix = tagger.embeddings.model.get_input_embeddings().weight
        matrix.requires_grad_(matrix_trained)
        results[f"word-embedding matrix {setting}"] = parts_of_a_step(
            tagger, batches, config.learning_rate, args.decoder_learning_rate, fused=fused_adamw
        )
        results[f"word-embedding matrix {setting}"].update(
            matrix_weights=matrix.numel(),
            all_weights=sum(p.numel() for p in tagger.parameters()),
            trained_weights=sum(p.numel() for p in tagger.parameters() if p.requires_grad),
        )
        del tagger
    trained, frozen = results["word-embedding matrix trained"], results["word-embedding matrix frozen"]
    fused = results["word-embedding matrix trained, fused AdamW"]
    tokens = statistics.mean(len(s) for batch in batches[1:] for s in batch)
    print(f"{args.transformer} on {args.dataset} (batch {args.batch_size}, {tokens:.1f} tokens a sentence, "
          f"context {args.use_context}); median seconds per step over {args.batches - 1} batches:")  # fmt: skip
    for part in ("forward + loss", "backward", "optimizer step", "step"):
        print(f"  {part:<16} trained {trained[part]:7.3f}   frozen {frozen[part]:7.3f}   "
              f"trained / frozen {ratio(trained[part], frozen[part])}   fused AdamW {fused[part]:7.3f}   "
              f"trained / fused {ratio(trained[part], fused[part])}")  # fmt: skip
    write_result(
        args.output,
        {
            "manifest": manifest(["benchmarks/profile_fine_tune.py", *as_arguments(args)]),
            "tokens_per_sentence": tokens,
            "results": results,
            "ratio_step_trained_over_frozen": ratio(trained["step"], frozen["step"]),
            "ratio_step_trained_over_fused": ratio(trained["step"], fused["step"]),
        },  # fmt: skip
    )


if __name__ == "__main__":
    main()

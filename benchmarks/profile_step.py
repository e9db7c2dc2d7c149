"""Where a training step's time goes, and what each lever buys: the tagger alone, without flair's trainer.

    python benchmarks/profile_step.py             # ~3 min
    python benchmarks/profile_step.py --profile   # also the torch.profiler table of the kit's setting

Runs forward + CRF loss + backward + SGD step of the default tagger (BiLSTM 256 + CRF over 1,074-dim
inputs: GloVe 50 + two hidden-512 LMs) on random inputs shaped like CoNLL++ training batches (the real
sentence lengths), for each combination of batching (random as flair's trainer, or length-bucketed),
precision (fp32, or bf16 autocast) and batch size. Prints tokens/s; writes benchmarks/results/profile_step.json.
The embedding pass is not included: it is timed by train_speed.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from common import RESULTS, as_arguments, conllpp_corpus, manifest, ratio, write_result

EMBEDDING_LENGTH = 50 + 512 + 512


def placeholder_tagger(tag_names: list[str]):
    import torch
    from flair.data import Dictionary
    from flair.embeddings import TokenEmbeddings
    from flair.models import SequenceTagger

    class Placeholder(TokenEmbeddings):
        """Stands for the stacked embeddings: only the length matters here (inputs are given as tensors)."""

        def __init__(self) -> None:
            self.name = "placeholder"
            super().__init__()
            self.static_embeddings = True

        @property
        def embedding_length(self) -> int:
            return EMBEDDING_LENGTH

        def _add_embeddings_internal(self, sentences):
            return sentences

    dictionary = Dictionary(add_unk=False)
    for name in tag_names:
        dictionary.add_item(name)
    torch.manual_seed(1)
    return SequenceTagger(hidden_size=256, embeddings=Placeholder(), tag_dictionary=dictionary, tag_type="ner")


def batches_of(lengths: list[int], batch_size: int, bucketed: bool, count: int) -> list[list[int]]:
    ordered = sorted(lengths) if bucketed else lengths
    batches = [ordered[i : i + batch_size] for i in range(0, len(ordered), batch_size)]
    random.Random(1).shuffle(batches)
    return batches[:count]


def step(tagger, optimizer, lengths: list[int], bf16: bool) -> None:
    """One training step exactly as flair's forward_loss does it, from a ready sentence tensor."""
    import torch

    lengths = sorted(lengths, reverse=True)
    inputs = torch.randn(len(lengths), lengths[0], EMBEDDING_LENGTH)
    gold = torch.randint(0, len(tagger.label_dictionary), (sum(lengths),))
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        scores = tagger.forward(inputs, torch.tensor(lengths))
    loss = tagger.loss_function((scores[0].float(), scores[1], scores[2]), gold)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=60_000, help="training tokens per measurement")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument(
        "--profile", action="store_true", help="print torch.profiler's top operators for the kit's setting"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_step.json")
    args = parser.parse_args(argv)

    import torch

    corpus, _ = conllpp_corpus()
    lengths = [len(sentence) for sentence in corpus.train]
    random.Random(0).shuffle(lengths)
    tags = sorted({label.value for s in corpus.train for label in s.get_labels("ner")})
    tag_names = ["O"] + [f"{prefix}-{tag}" for tag in tags for prefix in ("B", "I")]
    tagger = placeholder_tagger(tag_names)
    tagger.train()
    optimizer = torch.optim.SGD(tagger.parameters(), lr=0.1)
    mean_length = sum(lengths) / len(lengths)

    rows = []
    for batch_size in args.batch_sizes:
        count = max(1, int(args.tokens / (batch_size * mean_length)))
        for bucketed in (False, True):
            for bf16 in (False, True):
                batches = batches_of(lengths, batch_size, bucketed, count)
                step(tagger, optimizer, batches[0], bf16)  # warm-up
                started = time.perf_counter()
                for batch in batches:
                    step(tagger, optimizer, batch, bf16)
                seconds = time.perf_counter() - started
                tokens = sum(map(sum, batches))
                rows.append(
                    {
                        "batch_size": batch_size,
                        "batching": "bucketed" if bucketed else "random",
                        "precision": "bf16" if bf16 else "fp32",
                        "tokens": tokens,
                        "tokens_per_s": round(tokens / seconds),
                    }
                )
                print(
                    f"batch {batch_size:4} {rows[-1]['batching']:9} {rows[-1]['precision']}: {rows[-1]['tokens_per_s']:>7} tokens/s",
                    flush=True,
                )
    baseline = rows[0]["tokens_per_s"]
    for row in rows:
        row["speedup_over_flair_default"] = ratio(row["tokens_per_s"], baseline)
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as profiler:
            for batch in batches_of(lengths, 32, True, 60):
                step(tagger, optimizer, batch, True)
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
    write_result(args.output, {"manifest": manifest(["benchmarks/profile_step.py", *as_arguments(args)]), "rows": rows})
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

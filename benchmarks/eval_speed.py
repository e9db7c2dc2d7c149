"""Dev evaluation inside training: flair's ``tagger.evaluate`` over CoNLL++ dev in stored order against length order.

    python benchmarks/eval_speed.py            # the model from train_speed.py, about 2 minutes
    python benchmarks/eval_speed.py --model runs/conllpp/best-model.pt

flair's trainer evaluates the dev split after every epoch (28 % of a kit epoch in profile_epoch.py),
cutting it into consecutive batches in the order it is stored; the kit hands it the dev split in length
order (``flair_ner.training.speed.dev_in_length_order``). Both orders are evaluated here exactly as the trainer
does (``evaluate`` with eval batch 64, writing dev.tsv, vectors precomputed once beforehand), in turn,
``--repeats`` times; the median counts. Checks that micro-F1 and the per-type report are the same.
Writes benchmarks/results/eval_speed.json.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, as_arguments, conllpp_corpus, manifest, model_missing, model_parser, ratio, write_result


def padded_positions(lengths: list[int], batch_size: int) -> int:
    """Token positions the BiLSTM and CRF step through when ``lengths`` are batched in this order."""
    return sum(
        max(batch) * len(batch) for batch in (lengths[i : i + batch_size] for i in range(0, len(lengths), batch_size))
    )


def main(argv: list[str] | None = None) -> int:
    parser = model_parser(__doc__)
    parser.add_argument("--limit", type=int, default=None, help="first N dev sentences only")
    parser.add_argument("--eval-batch-size", type=int, default=64, help="the trainer's eval_batch_size")
    parser.add_argument("--output", type=Path, default=RESULTS / "eval_speed.json")
    args = parser.parse_args(argv)
    if model_missing(args.model):
        return 2

    from flair.models import SequenceTagger

    from flair_ner.training.speed import dev_in_length_order, precompute_embeddings
    from flair_ner.training.train import limit_corpus

    tagger = SequenceTagger.load(args.model)
    corpus = limit_corpus(conllpp_corpus()[0], None, args.limit)
    precompute_embeddings(tagger.embeddings, corpus.dev, what="dev sentences")
    orders = {"stored": corpus.dev, "length": dev_in_length_order(corpus).dev}
    seconds: dict[str, list[float]] = {name: [] for name in orders}
    scores, reports = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            for name, dev in orders.items():
                started = time.perf_counter()
                result = tagger.evaluate(
                    dev,
                    gold_label_type=tagger.label_type,
                    out_path=Path(folder) / "dev.tsv",
                    mini_batch_size=args.eval_batch_size,
                    embedding_storage_mode="cpu",
                )
                seconds[name].append(time.perf_counter() - started)
                scores[name], reports[name] = result.main_score, result.classification_report
                print(f"repeat {repeat + 1}/{args.repeats} {name} order: {seconds[name][-1]:.2f} s", flush=True)

    results = {
        name: {
            "seconds": [round(value, 2) for value in seconds[name]],
            "median_seconds": round(statistics.median(seconds[name]), 2),
            "padded_positions": padded_positions([len(sentence) for sentence in dev], args.eval_batch_size),
            "dev_micro_f1": round(100 * scores[name], 2),
        }
        for name, dev in orders.items()
    }
    speedup = ratio(results["stored"]["median_seconds"], results["length"]["median_seconds"])
    same_scores = scores["stored"] == scores["length"] and reports["stored"] == reports["length"]
    tokens = sum(len(sentence) for sentence in corpus.dev)
    print(f"\n{'order':8} {'median s':>9} {'padded positions':>17} {'dev F1':>7}")
    for name, row in results.items():
        print(f"{name:8} {row['median_seconds']:>9} {row['padded_positions']:>17,} {row['dev_micro_f1']:>7}")
    print(
        f"length order {speedup}x faster over {len(corpus.dev)} sentences ({tokens:,} tokens); same scores: {same_scores}"
    )
    write_result(
        args.output,
        {
            "manifest": manifest(
                ["benchmarks/eval_speed.py", *as_arguments(args)], sentences=len(corpus.dev), tokens=tokens
            ),
            "results": results,
            "speedup": speedup,
            "same_scores": same_scores,
        },
    )
    print(f"written: {args.output}")
    return 0 if same_scores else 1


if __name__ == "__main__":
    sys.exit(main())

"""Training speed: the kit's trainer against vanilla flair, same model, same data, same seed, one run.

    python benchmarks/train_speed.py                 # full CoNLL++ train set, 5 epochs per side (~15 min)
    python benchmarks/train_speed.py --epochs 2 --train-limit 2000   # a quick look

Vanilla flair = ``ModelTrainer(tagger, corpus).train(path, learning_rate, mini_batch_size, max_epochs)``
with flair's defaults for everything else (embeddings stored on CPU, random batches, fp32, eval batch 64).
The kit = ``flair_ner.training.train.train_tagger`` with its defaults (precomputed embeddings, length-bucketed
batches, bf16 autocast where the CPU has it, plus its resume checkpoints). Both build the same
``SequenceTagger`` (offline stack: GloVe 6B 50d + reuters forward/backward LMs, BiLSTM 256, CRF).

Prints and writes to benchmarks/results/train_speed.json: seconds per epoch (first, steady = median
of the others, mean including the embedding pass), training tokens/s, time to a dev F1 both reach,
peak resident memory, and dev/test micro-F1 after the same number of epochs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from common import RESULTS, WORK, as_arguments, conllpp_corpus, manifest, peak_rss_mb, ratio, run_child, write_result

from flair_ner.runs import layout

SIDES = ("vanilla", "kit")


def train_side(side: str, args: argparse.Namespace) -> dict:
    """Train one side in this process and describe what happened."""
    import flair
    import pandas as pd
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer

    from flair_ner.config.options import TrainConfig
    from flair_ner.data.corpus import load_sentences
    from flair_ner.evaluation.scores import evaluate_sentences
    from flair_ner.training.plugins import EtaPlugin
    from flair_ner.training.train import build_tagger, limit_corpus, train_tagger

    corpus, files = conllpp_corpus(args.data_dir)
    config = TrainConfig(
        embeddings="offline", glove=args.glove, lms=args.lms, hidden_size=args.hidden_size,
        max_epochs=args.epochs, seed=args.seed, train_limit=args.train_limit, eval_limit=args.eval_limit,
    )  # fmt: skip
    work = args.work_dir / side
    if work.exists():
        import shutil

        shutil.rmtree(work)
    started = time.monotonic()
    if side == "vanilla":
        corpus = limit_corpus(corpus, config.train_limit, config.eval_limit)
        flair.set_seed(config.seed)
        tagger = build_tagger(corpus, config, args.data_dir)
        timer = EtaPlugin(config.max_epochs)  # observes only: seconds from epoch start to end of dev evaluation
        ModelTrainer(tagger, corpus).train(
            work, learning_rate=config.learning_rate, mini_batch_size=config.mini_batch_size,
            max_epochs=config.max_epochs, plugins=[timer],
        )  # fmt: skip
        epoch_seconds, precompute_seconds, amp = timer.epoch_seconds, 0.0, False
    else:
        trained = train_tagger(corpus, work, config, args.data_dir)
        corpus = limit_corpus(corpus, config.train_limit, config.eval_limit)
        tagger = SequenceTagger.load(trained.final_model)  # what users get: loadable by plain flair
        epoch_seconds, precompute_seconds, amp = trained.epoch_seconds, trained.precompute_seconds, trained.use_amp
    training_seconds = time.monotonic() - started
    losses = pd.read_csv(work / layout.LOSS_FILE, sep="\t")
    test = load_sentences(files.paths()["test"], files.format)[: config.eval_limit]
    return {
        "side": side,
        "train_sentences": len(corpus.train),
        "train_tokens": sum(len(sentence) for sentence in corpus.train),
        "precompute_seconds": precompute_seconds,
        "epoch_seconds": epoch_seconds,
        "training_seconds": training_seconds,
        "mixed_precision": amp,
        "dev_f1": [float(value) for value in losses["DEV_F1"]],
        "test_f1": evaluate_sentences(tagger, test, "conllpp").micro_f1,
        "peak_rss_mb": peak_rss_mb(),
    }


def summarize(side: dict) -> dict:
    """Derived figures of one side."""
    epochs = side["epoch_seconds"]
    steady = statistics.median(epochs[1:]) if len(epochs) > 1 else epochs[0]
    return {
        "first_epoch_s": round(side["precompute_seconds"] + epochs[0], 1),
        "steady_epoch_s": round(steady, 1),
        "mean_epoch_s": round((side["precompute_seconds"] + sum(epochs)) / len(epochs), 1),
        "train_tokens_per_s": round(side["train_tokens"] / steady),
        "peak_rss_mb": round(side["peak_rss_mb"]),
        "dev_f1_last": round(100 * side["dev_f1"][-1], 2),
        "test_f1_last": round(100 * side["test_f1"], 2),
    }


def seconds_to_reach(side: dict, target: float) -> float | None:
    """Wall seconds (embedding pass included) until the dev F1 first reaches ``target``."""
    elapsed = side["precompute_seconds"]
    for seconds, f1 in zip(side["epoch_seconds"], side["dev_f1"]):
        elapsed += seconds
        if f1 >= target:
            return round(elapsed, 1)
    return None


def compare(sides: dict[str, dict]) -> dict:
    vanilla, kit = summarize(sides["vanilla"]), summarize(sides["kit"])
    target = min(max(sides["vanilla"]["dev_f1"]), max(sides["kit"]["dev_f1"]))
    reach = {name: seconds_to_reach(side, target) for name, side in sides.items()}
    speedups = {
        key: ratio(vanilla[key], kit[key]) for key in ("first_epoch_s", "steady_epoch_s", "mean_epoch_s", "peak_rss_mb")
    }
    speedups["train_tokens_per_s"] = ratio(kit["train_tokens_per_s"], vanilla["train_tokens_per_s"])
    speedups["time_to_dev_f1"] = ratio(reach["vanilla"], reach["kit"]) if all(reach.values()) else None
    return {
        "vanilla": vanilla,
        "kit": kit,
        "ratio_vanilla_over_kit": speedups,
        "time_to_dev_f1": {"target_dev_f1": round(100 * target, 2), **{f"{k}_s": v for k, v in reach.items()}},
        "f1_difference_kit_minus_vanilla": {
            "dev": round(kit["dev_f1_last"] - vanilla["dev_f1_last"], 2),
            "test": round(kit["test_f1_last"] - vanilla["test_f1_last"], 2),
        },
    }


def print_table(comparison: dict) -> None:
    rows = [
        ("first epoch, s (kit: + embedding pass)", "first_epoch_s"),
        ("steady epoch, s (median of epochs 2..)", "steady_epoch_s"),
        ("mean epoch, s (embedding pass included)", "mean_epoch_s"),
        ("training tokens/s (steady)", "train_tokens_per_s"),
        ("peak RSS, MB", "peak_rss_mb"),
    ]
    print(f"\n{'':42} {'vanilla':>10} {'kit':>10} {'vanilla/kit':>12}")
    for label, key in rows:
        row = (comparison["vanilla"][key], comparison["kit"][key], comparison["ratio_vanilla_over_kit"][key])
        print(f"{label:42} {row[0]:>10} {row[1]:>10} {row[2]!s:>12}")
    reach = comparison["time_to_dev_f1"]
    print(
        f"{'time to dev F1 ' + str(reach['target_dev_f1']) + ', s':42} {reach['vanilla_s']!s:>10} {reach['kit_s']!s:>10}"
        f" {comparison['ratio_vanilla_over_kit']['time_to_dev_f1']!s:>12}"
    )
    for split in ("dev", "test"):
        key = f"{split}_f1_last"
        print(
            f"{split + ' micro-F1 after the last epoch':42} {comparison['vanilla'][key]:>10} {comparison['kit'][key]:>10}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=None, help="first N training sentences only")
    parser.add_argument("--eval-limit", type=int, default=None, help="first N dev and test sentences only")
    parser.add_argument("--hidden-size", type=int, default=256, help="BiLSTM hidden size")
    parser.add_argument("--glove", default=None, help="word vectors (default: offline GloVe 6B 50d)")
    parser.add_argument("--lms", default=None, help="Flair LMs (default: the shipped reuters LMs)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", type=Path, default=RESULTS / "train_speed.json")
    parser.add_argument("--work-dir", type=Path, default=WORK / "train_speed", help="models and logs of both sides")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # child process
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.side:
        write_result(args.result, train_side(args.side, args))
        return 0
    passed = as_arguments(args)
    sides = {
        side: run_child(Path(__file__), [*passed, "--side", side], args.work_dir / f"{side}.json") for side in SIDES
    }
    comparison = compare(sides)
    print_table(comparison)
    settings = {key: value for key, value in vars(args).items() if key not in ("side", "result")}
    write_result(
        args.output,
        {
            "manifest": manifest(["benchmarks/train_speed.py", *passed], **settings),
            "comparison": comparison,
            "sides": sides,
        },
    )
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of the full default offline experiment over several seeds: micro-F1 mean and standard deviation.

    python benchmarks/accuracy.py                          # train-only model selection, seeds 1 2 3
    python benchmarks/accuracy.py --train-with-dev         # train+dev, final model, seeds 1 2 3
    python benchmarks/accuracy.py --seeds 1 --max-epochs 5 # a quick look
    python benchmarks/accuracy.py --seeds 1 --max-epochs 5 --transformer minilm   # the transformer variant

Each seed runs the real entry point (``experiments/conllpp.py --embeddings offline``) into
benchmarks/work/accuracy/<variant>-seed<N>/; a seed whose run finished is not run again, and an
interrupted one resumes from its checkpoint. Writes benchmarks/results/accuracy_<variant>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from common import REPO, RESULTS, WORK, manifest, write_result


def run_seed(seed: int, variant: str, extra: list[str]) -> dict:
    output_dir = WORK / "accuracy" / f"{variant}-seed{seed}"
    metrics = output_dir / "metrics.json"
    if not metrics.is_file():
        command = [
            sys.executable, str(REPO / "experiments" / "conllpp.py"), "--embeddings", "offline",
            "--seed", str(seed), "--output-dir", str(output_dir), *extra,
        ]  # fmt: skip
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)
    run = json.loads((output_dir / "manifest.json").read_text(encoding="utf-8"))
    scores = json.loads(metrics.read_text(encoding="utf-8"))
    return {
        "seed": seed,
        "output_dir": str(output_dir.relative_to(REPO)),
        "evaluated_model": run.get("evaluated_model"),
        "training_seconds": round(run["training_seconds"], 1),
        "epochs": len(run.get("epoch_seconds", [])),
        "micro_f1": {name: round(100 * value["micro_f1"], 2) for name, value in scores.items()},
    }


def mean_std(values: list[float]) -> dict:
    return {
        "mean": round(statistics.mean(values), 2),
        "std": round(statistics.stdev(values), 2) if len(values) > 1 else None,
        "n": len(values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--train-with-dev", action="store_true", help="train on train+dev and evaluate the final model")
    parser.add_argument("--max-epochs", type=int, default=None, help="override the default config's 50 epochs")
    parser.add_argument("--transformer", default=None, help="the transformer variant, e.g. minilm (see README)")
    parser.add_argument("--output", type=Path, default=None, help="default: benchmarks/results/accuracy_<variant>.json")
    args = parser.parse_args(argv)

    variant = "train+dev" if args.train_with_dev else "train"
    extra = ["--train-with-dev", "true"] if args.train_with_dev else []
    if args.transformer:
        variant += f"-{Path(args.transformer).name}"
        extra += ["--transformer", args.transformer]
    if args.max_epochs:
        variant += f"-{args.max_epochs}ep"
        extra += ["--max-epochs", str(args.max_epochs)]
    runs = [run_seed(seed, variant, extra) for seed in args.seeds]
    test_sets = list(runs[0]["micro_f1"])
    summary = {name: mean_std([run["micro_f1"][name] for run in runs]) for name in test_sets}
    summary["training_minutes"] = mean_std([run["training_seconds"] / 60 for run in runs])
    command = ["benchmarks/accuracy.py", "--seeds", *map(str, args.seeds)]
    command += ["--train-with-dev"] if args.train_with_dev else []
    command += ["--transformer", args.transformer] if args.transformer else []
    command += ["--max-epochs", str(args.max_epochs)] if args.max_epochs else []
    output = args.output or RESULTS / f"accuracy_{variant}.json"
    write_result(output, {"manifest": manifest(command, variant=variant), "summary": summary, "runs": runs})
    for name in test_sets:
        stats = summary[name]
        print(f"{variant}: {name} test micro-F1 {stats['mean']:.2f} ± {stats['std']} over seeds {args.seeds}")
    print(f"training minutes per seed: {summary['training_minutes']['mean']}; written: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

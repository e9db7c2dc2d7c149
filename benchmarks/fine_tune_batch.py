"""Fine-tuning speed by mini-batch size: training sentences per second for MiniLM on CoNLL++, one epoch each.

    python benchmarks/fine_tune_batch.py                                 # batches 4, 8, 16, 32 on 1,000 sentences
    python benchmarks/fine_tune_batch.py --batch-sizes 4 16 --train-limit 200

Each size is one real ``python -m flair_ner run --method fine-tune`` (one epoch, the first ``--train-limit``
training and 200 dev sentences, everything else the fine-tune defaults) in its own process, one after
another; the figure is that run's ``train_sentences_per_second`` from epochs.csv (the epoch's wall time,
dev evaluation included). Writes benchmarks/results/fine_tune_batch.json.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from common import REPO, RESULTS, as_arguments, manifest, write_result

from flair_ner.runs import layout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--train-limit", type=int, default=1000)
    parser.add_argument("--transformer", default="minilm")
    parser.add_argument("--output", type=Path, default=RESULTS / "fine_tune_batch.json")
    args = parser.parse_args(argv)

    results = []
    with tempfile.TemporaryDirectory() as folder:
        for size in args.batch_sizes:
            out = Path(folder) / f"batch-{size}"
            command = [
                sys.executable, "-m", "flair_ner", "run", "--method", "fine-tune", "--transformer", args.transformer,
                "--max-epochs", "1", "--mini-batch-size", str(size), "--train-limit", str(args.train_limit),
                "--eval-limit", "200", "--compare-with", "", "--output-dir", str(out),
            ]  # fmt: skip
            print("$", " ".join(command), flush=True)
            subprocess.run(command, check=True, cwd=REPO, env={**os.environ}, stdout=subprocess.DEVNULL)
            epoch = pd.read_csv(out / layout.EPOCH_REPORT).iloc[0]
            results.append({"mini_batch_size": size, "train_sentences_per_second": float(epoch["train_sentences_per_second"]),
                            "epoch_seconds": float(epoch["seconds"]), "dev_f1_after_one_epoch": round(100 * float(epoch["dev_f1"]), 2)})  # fmt: skip
            print(results[-1], flush=True)
    write_result(
        args.output, {"manifest": manifest(["benchmarks/fine_tune_batch.py", *as_arguments(args)]), "results": results}
    )
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

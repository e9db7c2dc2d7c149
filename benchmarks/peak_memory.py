"""Peak memory of a CoNLL++ training run per method, side by side: the default stack, the stack plus frozen
MiniLM, and fine-tuned MiniLM.

    python benchmarks/peak_memory.py                          # all three, one epoch each, the whole corpus
    python benchmarks/peak_memory.py --variants stack minilm

Each variant is one real ``python -m flair_ner run`` of experiments/configs/conllpp.toml (offline embeddings,
``--max-epochs`` epochs, every training, dev and test sentence, CoNLL-2003 test too) in its own process, one after
another; the figure is that run's ``peak_rss_mb`` from manifest.json (the largest resident set of the run's
process). Why one epoch is enough: the memory a run holds is the corpus with its stored embeddings, the model and
one mini-batch's activations, all there from the first epoch on; later epochs reuse them, so a whole run peaks
within a few hundred MB of it (the committed grid cells record the same figure for whole runs: compare there).
Writes benchmarks/results/peak_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, RESULTS, as_arguments, manifest, write_result

from flair_ner.runs import layout

# the run options of each variant on top of experiments/configs/conllpp.toml
VARIANTS: dict[str, list[str]] = {
    "stack": [],
    "minilm": ["--transformer", "minilm"],
    "fine-tune": ["--method", "fine-tune", "--transformer", "minilm"],
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=1, help="epochs per variant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=None, help="first N training sentences only (tests)")
    parser.add_argument("--eval-limit", type=int, default=None, help="first N dev and test sentences only (tests)")
    parser.add_argument("--glove", default=None, help="word vectors (default: offline GloVe 6B 50d)")
    parser.add_argument("--lms", default=None, help="Flair LMs (default: the shipped reuters LMs)")
    parser.add_argument("--output", type=Path, default=RESULTS / "peak_memory.json")
    args = parser.parse_args(argv)

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.variants:
            out = Path(folder) / name
            command = [
                sys.executable, "-m", "flair_ner", "run", "--config", "experiments/configs/conllpp.toml",
                "--embeddings", "offline", *VARIANTS[name], "--max-epochs", str(args.epochs), "--seed", str(args.seed),
                "--output-dir", str(out),
            ]  # fmt: skip
            # the slice and vector options pass through as given; fine-tuning reads only the transformer, so word
            # vectors and LMs go to the stacks alone
            own = ("variants", "epochs", "seed", "output", *(("glove", "lms") if name == "fine-tune" else ()))
            command += as_arguments(args, exclude=own)
            print("$", " ".join(command), flush=True)
            subprocess.run(command, check=True, cwd=REPO, env={**os.environ}, stdout=subprocess.DEVNULL)
            run = json.loads((out / layout.MANIFEST).read_text())
            results[name] = {"peak_rss_mb": run["peak_rss_mb"], "epochs": run["epochs"],
                             "training_seconds": round(run["training_seconds"], 1)}  # fmt: skip
            print(name, results[name], flush=True)
    ratios = {}
    if "stack" in results:
        ratios = {f"{name}_over_stack": round(r["peak_rss_mb"] / results["stack"]["peak_rss_mb"], 2)
                  for name, r in results.items() if name != "stack"}  # fmt: skip
    write_result(args.output, {"manifest": manifest(["benchmarks/peak_memory.py", *as_arguments(args)]),
                               "results": results, "ratio_peak_rss": ratios})  # fmt: skip
    print(json.dumps(ratios))
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

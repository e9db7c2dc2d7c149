"""Where the kit's training epochs go: a py-spy sampling profile of real training, summarised by stage.

    pip install py-spy==0.4.1
    python benchmarks/profile_epoch.py                 # profiles 2 epochs of the default offline training (~3 min)
    python benchmarks/profile_epoch.py --raw FILE      # summarise an existing `py-spy record --format raw` file

Counts, for the samples taken inside flair's training loop (``train_custom``), the share spent in each stage
(inclusive: a stage's callees count for it). Writes benchmarks/results/profile_epoch.json.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from common import REPO, RESULTS, manifest, write_result

LOOP = "train_custom"
# stage name -> a function name (and file) that appears in the stack while that stage runs
STAGES = {
    "dev evaluation (flair evaluate)": "evaluate (flair/nn/model.py",
    "forward + CRF loss": "forward_loss (flair/models/sequence_tagger_model.py",
    "backward": "backward (torch/autograd/__init__.py",
    "input tensor from stored vectors": "_prepare_tensors (flair/models/sequence_tagger_model.py",
    "gold label tensor": "_prepare_label_tensor (flair/models/sequence_tagger_model.py",
    "gradient clipping": "clip_grad_norm_ (torch/nn/utils/clip_grad.py",
    "optimizer step": "step (torch/optim/sgd.py",
    "saving models (best, checkpoint)": "save (flair/nn/model.py",
    "store_embeddings": "store_embeddings (flair/training_utils.py",
}


def summarise(raw: Path) -> dict:
    """Inclusive share of each stage among the samples inside the training loop."""
    counts: Counter = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, number = line.rpartition(" ")
        if LOOP not in stack:
            continue
        samples = int(number)
        total += samples
        for stage, marker in STAGES.items():
            if marker in stack:
                counts[stage] += samples
    return {
        "samples_in_training_loop": total,
        "share_percent": {stage: round(100 * counts[stage] / total, 1) for stage in STAGES} if total else {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=None, help="an existing py-spy raw record to summarise")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_epoch.json")
    args = parser.parse_args(argv)

    training = [
        sys.executable, "-m", "flair_ner", "run", "--config", "experiments/configs/conllpp.toml",
        "--embeddings", "offline", "--max-epochs", str(args.epochs),
    ]  # fmt: skip
    raw = args.raw
    if raw is None:
        work = Path(tempfile.mkdtemp(prefix="profile_epoch-"))
        raw = work / "py-spy.txt"
        record = ["py-spy", "record", "-r", "50", "--format", "raw", "-o", str(raw), "--"]
        subprocess.run([*record, *training, "--output-dir", str(work / "run")], check=True, cwd=REPO)
    summary = summarise(raw)
    for stage, share in summary["share_percent"].items():
        print(f"{share:5.1f} %  {stage}")
    profiled = "py-spy record -r 50 --format raw -- " + " ".join(["python", *training[1:]])
    write_result(args.output, {"manifest": manifest(["benchmarks/profile_epoch.py"], profiled=profiled), **summary})
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmark scripts share: the data, the model config, child processes and the results file.

Each side of a comparison runs in its own child process, so that its peak
resident memory (``ru_maxrss``) is its own; the parent runs the sides one
after the other (never side by side: 2 cores) and writes one JSON file with
both sides, their ratios and a manifest of the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
WORK = REPO / "benchmarks" / "work"  # models and logs of benchmark runs (not committed)
sys.path.insert(0, str(REPO))

from flair_ner.runs import layout  # noqa: E402 - needs the path above
from flair_ner.runs.manifest import git_commit, peak_rss_mb  # noqa: E402, F401 - needs the path above; peak_rss_mb for the benchmarks

# Read when a benchmark starts (it imports this module first), not when it writes its results: the code may
# change while a long benchmark runs.
CODE_COMMIT = git_commit()


TRAINED_MODEL = WORK / "train_speed" / "kit" / layout.FINAL_MODEL  # what train_speed.py leaves for the other benchmarks


def model_parser(description: str):
    """An argument parser with the options of the benchmarks that time a trained model: --model and --repeats."""
    import argparse

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=TRAINED_MODEL, help="a trained SequenceTagger (.pt)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per method, alternating; the median counts")
    return parser


def model_missing(model: Path) -> bool:
    """Says so on stderr when there is no trained model to time."""
    if model.is_file():
        return False
    print(f"error: {model}: no model; run benchmarks/train_speed.py first or pass --model", file=sys.stderr)
    return True


def conllpp_corpus(data_dir: Optional[str] = None, mirror: Optional[str] = None):
    """CoNLL++ as a flair corpus without its test split (as the experiment trains), and the files."""
    from flair.data import Corpus

    from flair_ner.data.corpus import fetch_corpus_files, load_corpus

    files = fetch_corpus_files("conllpp", data_dir, mirror or os.environ.get("FLAIR_NER_MIRROR"))
    corpus = load_corpus(files)
    return Corpus(corpus.train, corpus.dev, None, name=corpus.name, sample_missing_splits=False), files


def run_child(script: Path, arguments: list[str], result_file: Path) -> dict[str, Any]:
    """Run ``script`` with ``arguments`` in a fresh Python process and read the JSON it writes."""
    result_file.parent.mkdir(parents=True, exist_ok=True)
    result_file.unlink(missing_ok=True)
    command = [sys.executable, str(script), *arguments, "--result", str(result_file)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    return json.loads(result_file.read_text(encoding="utf-8"))


def as_arguments(args, exclude: tuple[str, ...] = ("side", "result", "output")) -> list[str]:
    """The parsed options given again as command-line arguments (for the child processes and the manifest)."""
    arguments = []
    for name, value in vars(args).items():
        if name in exclude or value is None or value is False:  # False: a store_true flag not given
            continue
        flag = "--" + name.replace("_", "-")
        values = value if isinstance(value, (list, tuple)) else [value]  # nargs="+": one flag, its values after it
        if value is True:
            values = []
        arguments += [flag, *(_argument(item) for item in values)]
    return arguments


def _argument(value: Any) -> str:
    if isinstance(value, Path) and value.is_relative_to(REPO):
        value = value.relative_to(REPO)  # the command is run from the repository root
    return str(value)


def write_result(path: Path, result: dict[str, Any]) -> None:
    from flair_ner.files import write_text

    write_text(path, json.dumps(result, indent=2, default=str) + "\n")


def manifest(command: list[str], **settings: Any) -> dict[str, Any]:
    """Machine, versions, commit and the command that reproduces the figures.

    Args:
        command: the script and its arguments, as run from the repository root.
        settings: the benchmark's own settings.
    """
    import torch

    from flair_ner.runs.manifest import machine, versions

    return {
        "command": " ".join(["python", *command]),
        "git_commit": CODE_COMMIT,
        "machine": machine(),
        "torch_threads": torch.get_num_threads(),
        "versions": versions(),
        "settings": settings,
    }


def ratio(slow: float, fast: float) -> Optional[float]:
    return round(slow / fast, 2) if fast else None

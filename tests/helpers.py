"""Helpers shared by several test modules (test modules never import one another)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# `make test` runs the suite in two pytest-xdist workers (--dist loadgroup). Tests that start Ray (a grid, CrossWeigh's
# fold grid, ray.init itself) carry this mark, which keeps them on one worker, one after another: a second local
# Ray instance started beside them may find theirs through /tmp/ray and join it instead of starting its own.
USES_RAY = pytest.mark.xdist_group("ray")

# Runs the kit's CLI, sending signal SIGNUM to itself after batch BATCH of epoch EPOCH (epoch 0: never).
STOPPER = """
import os, sys
from flair.trainers.trainer import ModelTrainer
epoch, batch, signum = (int(value) for value in sys.argv[1:4])
dispatch = ModelTrainer.dispatch
def stop_at(self, event, *args, **kw):
    result = dispatch(self, event, *args, **kw)
    if event == "after_training_batch" and kw.get("epoch") == epoch and kw.get("batch_no") == batch:
        os.kill(os.getpid(), signum)
    return result
ModelTrainer.dispatch = stop_at
from flair_ner.cli.main import main
sys.exit(main(sys.argv[4:]))
"""


def train(output: Path, options: list[str], stop: tuple[int, int, int] = (0, 0, 0)) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", STOPPER, *map(str, stop), "run", *options, "--output-dir", str(output)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def grid_file(folder: Path, conllpp_slice: Path, glove: Path, variants: str = "") -> Path:
    """2 variants x 2 seeds of a tiny run on the CoNLL++ slice (no download: the files are named)."""
    path = folder / "tiny.toml"
    path.write_text(
        f"""name = "tiny"
output_dir = "{folder / "grid"}"
baseline = "base"

[config]
train_file = "{conllpp_slice / "conllpp_train.txt"}"
dev_file = "{conllpp_slice / "conllpp_dev.txt"}"
test_file = "{conllpp_slice / "conllpp_test.txt"}"
glove = "{glove}"
own_data_name = "slice"
lms = "none"
hidden_size = 8
max_epochs = 2
train_limit = 120
eval_limit = 40

[axes]
seed = [1, 2]

[variants.base]
[variants.small]
hidden_size = 4
{variants}""",
        encoding="utf-8",
    )
    return path


def save_screenshot(driver, path: Path) -> Path:
    """A PNG of the page, also copied into ``$FLAIR_NER_SCREENSHOTS`` when set (README's pictures come from there)."""
    driver.save_screenshot(str(path))
    if os.environ.get("FLAIR_NER_SCREENSHOTS"):
        folder = Path(os.environ["FLAIR_NER_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
    return path


def not_blank(png: Path) -> bool:
    """The picture shows something: more than 0.3 % of its pixels (a line of text) differ from the background's colour."""
    from matplotlib.image import imread

    pixels = imread(png)[..., :3]
    background = pixels[0, 0]
    return bool((abs(pixels - background).sum(axis=-1) > 0.1).mean() > 0.003)

"""The training checkpoint: everything an interrupted run needs to continue exactly as if it had not stopped.

One file, ``checkpoint.pt``, written atomically after each completed epoch.
It holds the tagger's weights, the optimizer's and the annealing scheduler's
state, the best dev score so far, the random-number generators (Python,
NumPy, torch) and the configuration that shaped the model. The sampler keeps
no state of its own: each epoch's batch order is drawn from Python's ``random``
when the epoch starts, so restoring that generator restores the order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from flair_ner.runs.layout import CHECKPOINT  # noqa: F401 - part of this module's interface
from flair_ner.errors import CheckpointError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.files import atomic_path
from flair_ner.runs.interrupt import critical

FORMAT = 2


def capture_rng() -> dict[str, Any]:
    """The state of every random-number generator training draws from."""
    import torch  # here, not at the top: the CLI checks a run folder before torch loads

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Put back the generators saved by :func:`capture_rng`."""
    import torch  # here, not at the top: the CLI checks a run folder before torch loads

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@dataclass
class TrainingState:
    """What :data:`CHECKPOINT` holds.

    Args:
        epoch: epochs completed.
        model: the tagger as flair saves it (``Model._get_state_dict()``), loadable with ``SequenceTagger.load``.
        optimizer: ``optimizer.state_dict()`` (learning rate included).
        scheduler: the annealing scheduler's counters (``AnnealOnPlateau`` has no ``state_dict``).
        rng: :func:`capture_rng` at the end of the epoch.
        best_score: best dev score so far (``None`` when training on train+dev).
        epoch_seconds: wall time of each completed epoch, across resumes.
        config: the run's configuration; a resume with a different one is refused.
        finished: training reached its end condition (last epoch, or the learning rate fell below its minimum).
    """

    epoch: int
    model: dict[str, Any]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: dict[str, Any]
    best_score: Optional[float] = None
    epoch_seconds: list[float] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    finished: bool = False

    def save(self, path: Path) -> None:
        """Write atomically; a signal during the write is held back until the file is complete."""
        import torch  # here, not at the top: the CLI checks a run folder before torch loads

        with critical(), atomic_path(path) as temporary:
            torch.save({"format": FORMAT, **self.__dict__}, temporary, pickle_protocol=4)


def read_checkpoint_file(path: Path, marker: Any) -> dict[str, Any]:
    """A checkpoint dictionary whose ``format`` is ``marker``, read on the CPU.

    Raises:
        CheckpointError: the file is truncated, corrupt or not a checkpoint of this kit (one line naming it).
    """
    import torch  # here, not at the top: the CLI checks a run folder before torch loads

    try:
        raw = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several types for a torn or foreign file
        raise CheckpointError(
            f"{path}: cannot read the checkpoint, it is truncated or corrupt ({type(error).__name__})"
        ) from None
    if not isinstance(raw, dict) or raw.get("format") != marker:
        raise CheckpointError(f"{path}: not a checkpoint of this version of flair-ner (no format {marker} marker)")
    return raw


def load_state(path: Path) -> TrainingState:
    """Read a checkpoint written by :meth:`TrainingState.save`.

    Raises:
        CheckpointError: the file is truncated, corrupt or not a checkpoint of this kit.
    """
    raw = read_checkpoint_file(path, FORMAT)
    raw.pop("format")
    try:
        return TrainingState(**raw)
    except TypeError as error:
        raise CheckpointError(f"{path}: checkpoint lacks fields ({error})") from None

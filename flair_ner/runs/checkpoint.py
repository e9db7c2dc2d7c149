"""The training checkpoint: everything an interrupted run needs to continue exactly as if it had not stopped.

One mechanism for every kind of run (taggers here, character LMs in :mod:`flair_ner.lm.train`): one file,
``checkpoint.pt``, a dictionary with a ``format`` marker written atomically by :func:`write_checkpoint` and read
by :func:`read_checkpoint_file`; the training logs a resumed run would otherwise repeat are cut back by
:func:`drop_log_lines`; :func:`flair_ner.runs.folder.resume_checkpoint` decides whether a folder's checkpoint may
be resumed.

A tagger's checkpoint is written after each completed epoch.
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
from typing import Any, Callable, Optional

import numpy as np

from flair_ner.runs.layout import CHECKPOINT  # noqa: F401 - part of this module's interface
from flair_ner.errors import CheckpointError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.files import atomic_path, write_text
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
        write_checkpoint(path, FORMAT, self.__dict__)

    @classmethod
    def from_checkpoint(cls, raw: dict[str, Any], path: Path) -> "TrainingState":
        """The state in a dictionary read by :func:`read_checkpoint_file` (``path`` names it in errors).

        Raises:
            CheckpointError: the dictionary lacks fields or has unknown ones.
        """
        fields = {key: value for key, value in raw.items() if key != "format"}
        try:
            return cls(**fields)
        except TypeError as error:
            raise CheckpointError(f"{path}: checkpoint lacks fields ({error})") from None


def write_checkpoint(path: Path, marker: Any, payload: dict[str, Any]) -> None:
    """Save ``{"format": marker, **payload}`` with torch, atomically; a signal during the write is held back until
    the file is complete, so an interrupted run always finds the previous checkpoint or the new one, whole."""
    import torch  # here, not at the top: the CLI checks a run folder before torch loads

    with critical(), atomic_path(path) as temporary:
        torch.save({"format": marker, **payload}, temporary, pickle_protocol=4)


def drop_log_lines(path: Path, keep: Callable[[int, str], bool]) -> None:
    """Keep only the lines of a training log that ``keep(line number from 0, line)`` accepts; the file is
    rewritten (atomically) only when a line goes.

    flair appends to its logs as it trains; a run stopped after a log line was written but before the
    checkpoint that covers it repeats that work when it resumes, and its lines would appear twice. ``keep``
    says which lines the checkpoint covers (headers and free text included)."""
    if not path.is_file():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for number, line in enumerate(lines) if keep(number, line)]
    if kept != lines:
        write_text(path, "".join(kept))


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
    return TrainingState.from_checkpoint(read_checkpoint_file(path, FORMAT), path)

"""A run folder holds exactly one run: a lock while a process writes to it, and the rules for reusing it.

- :func:`locked`: an exclusive ``flock`` on ``<folder>/.lock`` holding the
  writer's pid, removed when the run ends. A second run into the folder is
  refused at once, naming that pid; the kernel drops the lock when its holder
  dies, so a lock file left by a killed process is simply taken over (with a note).
- :func:`resume_checkpoint`: what the folder already holds decides what a new
  run may do: start (empty folder), resume (an unfinished run whose checkpoint
  was made with the same model- and data-shaping configuration), or nothing
  (a finished run, a different configuration, a corrupt checkpoint, files of
  an unknown run). ``fresh=True`` moves the old contents aside first; results
  are never deleted. The same rules serve every kind of run (:class:`RunKind`):
  taggers (:func:`check_run_folder`) and character LMs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Optional

from flair_ner.assets import model_source_path
from flair_ner.runs.layout import LOCK, TRAINING_OUTPUTS  # noqa: F401 - part of this module's interface
from flair_ner.errors import RunFolderError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.runs.checkpoint import CHECKPOINT, FORMAT, CheckpointError, TrainingState, read_checkpoint_file
from flair_ner.config.options import ExperimentConfig, not_shaping
from flair_ner.runs.manifest import MANIFEST

log = logging.getLogger(__name__)

# Options that decide where and how fast a tagger run goes, not the model it makes: a resume may change them
# (declared with ``shaping=False`` beside each option in flair_ner/config/options.py).
NOT_SHAPING = not_shaping(ExperimentConfig)
# Files that only a training run writes: a folder holding them without a manifest holds a run the kit cannot judge.
FINISHED = "complete"


def _try_flock(handle: int, operation: int) -> Optional[str]:
    """Take ``operation`` (``LOCK_EX`` or ``LOCK_SH``) without waiting: ``None`` when taken, else the pid the
    holder wrote into the lock file (``unknown`` if it wrote none yet)."""
    try:
        fcntl.flock(handle, operation | fcntl.LOCK_NB)
        return None
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.EACCES):
            raise
        return os.pread(handle, 64, 0).decode(errors="replace").strip() or "unknown"


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for the block (creating the folder if needed); the lock file is removed when the
    block ends, so a finished folder holds only the run's files.

    Raises:
        RunFolderError: another live process holds the lock (its pid is named).
    """
    folder = Path(folder)
    path = folder / LOCK
    while True:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise RunFolderError(f"output folder {folder}: cannot create its lock file ({error.strerror})") from None
        other = _try_flock(handle, fcntl.LOCK_EX)
        if other is not None:
            os.close(handle)
            raise RunFolderError(
                f"output folder {folder} is in use by another run (pid {other}); "
                "wait for it to finish or choose another --output-dir"
            )
        # the holder removes the file before it unlocks: a lock taken on a file that is no longer the folder's
        # (opened just before its holder removed it) guards nothing, so take the new one instead
        if _same_file(handle, path):
            break
        os.close(handle)
    try:
        stale = os.pread(handle, 64, 0).decode(errors="replace").strip()
        if stale:
            log.warning("output folder %s: took over the lock of pid %s, which is no longer running", folder, stale)
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.unlink(path)  # while still holding the lock: see above
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def _same_file(handle: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(handle)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def holder(folder: Path) -> Optional[str]:
    """The pid written by the live process that holds the folder's lock, or ``None`` when no process holds it.

    A probe with a shared lock, released at once: a run starting in that same instant would be told the folder
    is in use, so this is for reports (``grid --dry-run``), not for deciding who may write."""
    path = Path(folder) / LOCK
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        other = _try_flock(handle, fcntl.LOCK_SH)
        if other is None:
            fcntl.flock(handle, fcntl.LOCK_UN)
        return other
    finally:
        os.close(handle)


def trained_lm_context(model: "str | Path") -> str:
    """What the character LMs of ``model`` read when it was trained, ``sentence`` or ``document``
    (``lm_context``): from the manifest of the run folder the model is, or lies in; ``sentence`` for a model
    without one (a shipped model, a copied file, a model trained outside the kit)."""
    model = model_source_path(model)
    for folder in (model, model.parent) if model.is_dir() else (model.parent,):
        manifest = read_manifest(folder)
        if manifest is not None:
            return manifest.get("config", {}).get("lm_context") or "sentence"
    return "sentence"


def read_manifest(folder: Path) -> Optional[dict[str, Any]]:
    """The folder's ``manifest.json``, or ``None`` when there is none.

    Raises:
        RunFolderError: the manifest is not valid JSON.
    """
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(
            f"{path}: the output folder's manifest is corrupt ({error}); pass --fresh to move the old run aside"
        ) from None
    if not isinstance(manifest, dict):
        raise RunFolderError(
            f"{path}: the output folder's manifest is not a JSON object; pass --fresh to move it aside"
        )
    return manifest


def finished_manifest(folder: Path) -> Optional[dict[str, Any]]:
    """The manifest of a finished run in ``folder``, else ``None`` (no folder, no manifest, or a run that is not
    complete). A manifest without a status was written before runs recorded one, and was final.

    Raises:
        RunFolderError: the manifest is not valid JSON.
    """
    manifest = read_manifest(folder) if Path(folder).is_dir() else None
    return manifest if manifest is not None and manifest.get("status", FINISHED) == FINISHED else None


def config_changes(
    old: dict[str, Any], new: dict[str, Any], not_shaping: frozenset = NOT_SHAPING, defaults: Optional[dict] = None
) -> str:
    """``key old -> new, ...`` for every key whose value differs between two configurations, leaving out
    ``not_shaping``; empty when they agree.

    ``defaults``: values for keys ``old`` lacks because the option was added to the kit after that run started
    (the run had the option's default behaviour)."""
    old = {**{key: value for key, value in (defaults or {}).items() if key in new}, **old}
    keys = sorted(key for key in (set(old) | set(new)) - not_shaping if old.get(key) != new.get(key))
    return ", ".join(f"{key} {old.get(key)!r} -> {new.get(key)!r}" for key in keys)


def move_aside(folder: Path) -> Path:
    """Move the folder's contents (all but the lock) into a new sibling ``<name>.old-<timestamp>``; returns it."""
    folder = Path(folder)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder.with_name(f"{folder.name}.old-{stamp}")
    suffix = 1
    while target.exists():
        target = folder.with_name(f"{folder.name}.old-{stamp}-{suffix}")
        suffix += 1
    target.mkdir()
    for entry in folder.iterdir():
        if entry.name != LOCK:
            shutil.move(str(entry), str(target / entry.name))
    return target


def _contents(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name != LOCK) if folder.is_dir() else []


@dataclass(frozen=True)
class RunKind:
    """What one kind of run keeps in its folder, for :func:`resume_checkpoint`.

    Args:
        name: how messages name a run of this kind ("run", "LM run").
        marker: the ``format`` its checkpoint carries (:func:`~flair_ner.runs.checkpoint.write_checkpoint`).
        config_class: its options; those declared ``shaping=False`` may change on resume, and an option the class
            gained after a checkpoint was written counts as its default there.
        manifest: the run writes ``manifest.json``: a finished run's folder takes no new run, and training files
            without a manifest belong to a run the kit cannot judge.
    """

    name: str
    marker: Any
    config_class: type
    manifest: bool


TAGGER_RUN = RunKind("run", FORMAT, ExperimentConfig, manifest=True)


def resume_checkpoint(folder: Path, config: dict[str, Any], kind: RunKind, fresh: bool = False) -> Optional[dict]:
    """Decide what a run of ``kind`` with ``config`` may do in ``folder``; call it while holding :func:`locked`.

    Args:
        folder: the output folder.
        config: the new run's configuration (``dataclasses.asdict``).
        kind: what kind of run it is.
        fresh: move whatever the folder holds aside and start over.

    Returns:
        The checkpoint dictionary to resume from, or ``None`` to start a new run.

    Raises:
        RunFolderError: the folder holds a finished run, a run with a different
            model- or data-shaping configuration, an unreadable checkpoint or
            manifest, or training files without a manifest.
    """
    folder = Path(folder)
    contents = _contents(folder)
    if not contents:
        return None
    if fresh:
        moved = move_aside(folder)
        log.warning("output folder %s: moved the previous %s aside to %s (--fresh)", folder, kind.name, moved)
        return None
    if kind.manifest:
        manifest = read_manifest(folder)
        if manifest is None:
            if any(name in contents for name in TRAINING_OUTPUTS):
                raise RunFolderError(
                    f"output folder {folder} holds training files but no {MANIFEST}; "
                    "choose another --output-dir or pass --fresh to move them aside"
                )
            return None  # e.g. only the sanity report's CSVs
        status = manifest.get("status", FINISHED)  # manifests written before runs recorded a status were final
        if status == FINISHED:
            raise RunFolderError(
                f"output folder {folder} holds a finished {kind.name} ({MANIFEST}: created "
                f"{manifest.get('created', '?')}); choose another --output-dir or pass --fresh to move it aside"
            )
    if not (folder / CHECKPOINT).is_file():
        return None  # stopped before its first checkpoint: nothing to keep
    try:
        raw = read_checkpoint_file(folder / CHECKPOINT, kind.marker)
    except CheckpointError as error:
        raise RunFolderError(f"{error}; pass --fresh to move the old run aside and start over") from None
    # an option added since the run started had its default, which may depend on the run's method
    old_method = raw.get("config", {}).get("method")
    known = {field.name for field in dataclasses.fields(kind.config_class)}
    defaults = dataclasses.asdict(
        kind.config_class(**({"method": old_method} if old_method and "method" in known else {}))
    )
    changes = config_changes(raw.get("config", {}), config, not_shaping(kind.config_class), defaults=defaults)
    if changes:
        raise RunFolderError(
            f"output folder {folder} holds an unfinished {kind.name} with a different configuration ({changes}); "
            "run it with its own configuration to resume, or pass --fresh to move it aside and start over"
        )
    return raw


def check_run_folder(folder: Path, config: dict[str, Any], fresh: bool = False) -> Optional[TrainingState]:
    """:func:`resume_checkpoint` for a tagger run, its checkpoint read as a :class:`TrainingState`.

    Args:
        folder: the output folder.
        config: the new run's configuration (``dataclasses.asdict``).
        fresh: move whatever the folder holds aside and start over.

    Returns:
        The checkpoint to resume from, or ``None`` to start a new run.

    Raises:
        RunFolderError: the folder holds a finished run, a run with a different
            model- or data-shaping configuration, an unreadable checkpoint or
            manifest, or training files without a manifest.
    """
    raw = resume_checkpoint(folder, config, TAGGER_RUN, fresh)
    if raw is None:
        return None
    try:
        return TrainingState.from_checkpoint(raw, Path(folder) / CHECKPOINT)
    except CheckpointError as error:
        raise RunFolderError(f"{error}; pass --fresh to move the old run aside and start over") from None

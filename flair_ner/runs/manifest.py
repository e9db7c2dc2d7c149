"""``manifest.json``: what a results folder came from (config, code, versions, data digests, timing)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import resource
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable

from flair_ner.runs.layout import MANIFEST  # noqa: F401 - part of this module's interface
from flair_ner.files import write_text

PACKAGES = ("flair", "torch", "gensim", "pandas", "numpy", "pooch", "flair-ner")


def git_commit(folder: Path = Path(__file__).parent) -> str:
    """The checked-out commit (with ``-dirty`` when there are uncommitted changes), or ``unknown``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder, capture_output=True, text=True
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model() -> str:
    """The CPU's model name (``platform.processor()`` is empty on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, Any]:
    """Platform, CPU model, core count and the process's nice value, as recorded in every manifest (a niced
    process yields the cores to anything else running, which its times then show)."""
    return {
        "platform": platform.platform(),
        "processor": cpu_model(),
        "cpu_count": os.cpu_count(),
        "niceness": os.nice(0),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def sha256_of(paths: Iterable[Path]) -> dict[str, str]:
    digests = {}
    for path in paths:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        digests[str(path)] = digest.hexdigest()
    return digests


def write_manifest(output_dir: Path, config: Any, data_files: Iterable[Path], code_commit: str, **run: Any) -> Path:
    """Write ``manifest.json``.

    Args:
        output_dir: the run folder.
        config: the run's configuration (a dataclass or a dict).
        data_files: every data file the run read; their SHA-256 is recorded.
        code_commit: :func:`git_commit` taken when the run *started* (the code may change while it runs).
        run: further run facts (status, events, seed, device, storage mode, timings, ...); ``created`` keeps
            the time the run first started.
    """
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest = {
        "created": run.pop("created", None) or now,
        "updated": now,
        "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else config,
        "git_commit": code_commit,
        "versions": versions(),
        "machine": machine(),
        "data_sha256": sha256_of(data_files),
        **run,
    }
    return write_text(Path(output_dir) / MANIFEST, json.dumps(manifest, indent=2, default=str) + "\n")


def _over_every_process(manifest: dict[str, Any], key: str) -> float:
    """``manifest[key]`` (the last process's seconds) plus the recorded seconds of the epochs an earlier process
    trained before the resume."""
    resumed = manifest.get("resumed_from_epoch") or 0
    return (manifest.get(key) or 0.0) + sum((manifest.get("epoch_seconds") or [])[:resumed])


def run_training_seconds(manifest: dict[str, Any]) -> float:
    """A finished run's training time over all its processes: ``training_seconds`` is the last process's (from
    its start of training to its end), so a run resumed after epoch N adds the recorded seconds of epochs 1..N
    (a run resumed after its last epoch only to be evaluated would otherwise show seconds)."""
    return _over_every_process(manifest, "training_seconds")


def run_total_seconds(manifest: dict[str, Any]) -> float:
    """A finished run's wall time over all its processes (``total_seconds`` is the last process's, from start to
    end, evaluation included): what a grid's cost estimate needs. Earlier processes count their epochs only, so a
    resumed run's figure leaves out the set-up and evaluation an interrupted process did."""
    return _over_every_process(manifest, "total_seconds")

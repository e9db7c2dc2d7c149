"""File helpers: reading text with a clear error, writing results without leaving half-written files behind."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Union

log = logging.getLogger(__name__)

BOM = b"\xef\xbb\xbf"
# Inputs whose byte-order mark was reported already (corpus files are read more than once per run).
_reported_bom: set[str] = set()


@contextlib.contextmanager
def atomic_path(path: Union[str, Path]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    os.chmod(temporary, 0o644)  # mkstemp makes it private; results are meant to be read
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextlib.contextmanager
def atomic_folder(path: Union[str, Path]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; rename it to ``path`` only if the block succeeds.

    A reader never sees a half-written folder: until the rename, ``path`` does not exist (the caller checks that it
    does not exist before).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp's folder is private; the result is an ordinary folder
        staging.rename(path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def write_text(path: Union[str, Path], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(path: Union[str, Path], frame, sep: str = ",") -> Path:
    """Write a pandas DataFrame to ``path`` as CSV (or TSV with ``sep="\\t"``), atomically."""
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, sep=sep)
    return Path(path)


def decode_utf8(data: bytes, name: str, error: type[Exception], hint: str = "") -> str:
    """``data`` as UTF-8 text; bytes that are not raise ``error`` naming ``name:line`` and the byte.

    A UTF-8 byte-order mark at the start (Windows editors write one) is
    removed, with one warning per input: left in, it would glue itself to the
    first token (``\ufeffEU``) or hide a ``-DOCSTART-`` line.
    """
    if data.startswith(BOM):
        if name not in _reported_bom:
            _reported_bom.add(name)
            log.warning("%s: removed the UTF-8 byte-order mark at the start of the file", name)
        data = data[len(BOM) :]
    text, problem = decode_utf8_or_reason(data)
    if problem is not None:
        line, reason = problem
        raise error(f"{name}:{line}: {reason}{hint}")
    return text


def decode_utf8_or_reason(data: bytes) -> tuple[str, Optional[tuple[int, str]]]:
    """``(text, None)``, or ``("", (line, reason))`` naming the line (1-based) of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as problem:
        line = data[: problem.start].count(b"\n") + 1
        return "", (line, f"byte 0x{data[problem.start]:02x} is not UTF-8; expected UTF-8 text")


def one_line(text: str, limit: int) -> str:
    """``text`` with its whitespace collapsed, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."

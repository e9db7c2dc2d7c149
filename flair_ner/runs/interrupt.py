"""Honest interrupts: SIGINT and SIGTERM stop a run cleanly instead of being swallowed by flair.

flair's ``ModelTrainer`` and ``LanguageModelTrainer`` catch ``KeyboardInterrupt``
and then carry on as if training had ended: they save ``final-model.pt``, test
it and return normally. Inside :func:`interruptible`, the two signals raise
:class:`RunInterrupted` instead, a ``BaseException`` that neither trainer
catches, so nothing after the interruption pretends the run finished. Writes
that must not be torn (a checkpoint and its state) run inside :func:`critical`:
a signal arriving there is held back until the block is done.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator, Optional

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class RunInterrupted(BaseException):
    """The run was stopped by SIGINT or SIGTERM.

    Args:
        signum: the signal that stopped it.
        message: one line for the user (what was kept, how to go on); set by the code that knows.
    """

    def __init__(self, signum: int, message: str = "") -> None:
        super().__init__(message or f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum
        self.message = message or str(self)
        # epochs completed and checkpointed when it stopped (set by the trainer)
        self.epoch: Optional[int] = None

    @property
    def exit_code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM (the shell's 128 + signal number)."""
        return EXIT_CODES.get(self.signum, 128 + self.signum)


class _State:
    critical_depth = 0
    pending: Optional[int] = None


def _handler(signum: int, frame: object) -> None:
    if _State.critical_depth > 0:
        _State.pending = signum
        return
    raise RunInterrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGINT/SIGTERM raise :class:`RunInterrupted` inside this block; the previous handlers come back after it.

    Signal handlers can only be set from the main thread; elsewhere (a worker
    thread) the block runs with the handlers it finds.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in EXIT_CODES}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _State.pending = None


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A block that a signal must not tear (e.g. writing a checkpoint); a signal in it is raised at its end."""
    _State.critical_depth += 1
    try:
        yield
    finally:
        _State.critical_depth -= 1
    if _State.critical_depth == 0 and _State.pending is not None:
        signum, _State.pending = _State.pending, None
        raise RunInterrupted(signum)


class StopSignal:
    """What :func:`terminate_as_ctrl_c` saw: ``signum`` is ``SIGTERM`` once one arrived, else ``None``."""

    signum: Optional[int] = None


@contextlib.contextmanager
def terminate_as_ctrl_c() -> Iterator[StopSignal]:
    """SIGTERM raises ``KeyboardInterrupt`` inside this block, as Ctrl-C does, and is recorded in the yielded object.

    For code that waits in a library which passes on only ``KeyboardInterrupt`` from a signal handler (Ray's
    ``wait`` turns any other exception into a ``SystemError``), so :func:`interruptible` cannot be used there.
    Main thread only, like every signal handler; elsewhere the block runs with the handlers it finds.
    """
    seen = StopSignal()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def handler(signum: int, frame: object) -> None:
        seen.signum = signum
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGTERM, previous)

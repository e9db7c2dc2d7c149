"""Direct tests of the pieces everything else stands on: option coercion, critical sections, atomic writes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from flair_ner.config.options import ConfigError, ExperimentConfig, LMConfig, load_config
from flair_ner.files import atomic_path
from flair_ner.runs.interrupt import RunInterrupted, critical, interruptible


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, message",
    [
        ("hidden_size = 64.7", "option 'hidden_size' expects an integer, got 64.7"),
        ("max_epochs = true", "option 'max_epochs' expects an integer, got True"),
        ('learning_rate = "0.1"', "option 'learning_rate' expects a number, got '0.1'"),
        ("amp = 1", "option 'amp' expects true or false, got 1"),
    ],
)
def test_toml_values_must_have_the_options_type(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(ExperimentConfig, toml(tmp_path, text))


def test_an_integer_is_a_number_and_command_line_strings_are_parsed(tmp_path: Path) -> None:
    config = load_config(ExperimentConfig, toml(tmp_path, "learning_rate = 1"), {"max_epochs": "7", "amp": "false"})
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    assert config.max_epochs == 7 and config.amp is False
    assert load_config(LMConfig, None, {"min_epoch_gain_bpc": ""}).min_epoch_gain_bpc is None  # empty: unset
    with pytest.raises(ConfigError, match="command line: option 'max_epochs' expects an integer, got 'seven'"):
        load_config(ExperimentConfig, None, {"max_epochs": "seven"})


def test_a_signal_inside_critical_waits_for_the_block_to_finish() -> None:
    finished = []
    with pytest.raises(RunInterrupted) as stopped, interruptible():
        with critical():
            os.kill(os.getpid(), signal.SIGTERM)
            finished.append("the block ran to its end")
        finished.append("never: the signal is raised when the block ends")
    assert finished == ["the block ran to its end"] and stopped.value.signum == signal.SIGTERM


def test_atomic_path_leaves_the_old_file_and_no_temporary_when_the_block_fails(tmp_path: Path) -> None:
    target = tmp_path / "metrics.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(ZeroDivisionError):
        with atomic_path(target) as temporary:
            temporary.write_text("half", encoding="utf-8")
            1 / 0
    assert target.read_text(encoding="utf-8") == "old" and sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.json"
    ]
    with atomic_path(target) as temporary:
        temporary.write_text("new", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new" and sorted(p.name for p in tmp_path.iterdir()) == [
        "metrics.json"
    ]

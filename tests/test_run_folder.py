"""A folder holds one run, and every configuration error comes before any download or write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flair_ner.runs.checkpoint import CHECKPOINT, TrainingState, capture_rng
from flair_ner.cli.main import main
from flair_ner.config.options import ConfigError, ExperimentConfig, load_config
from flair_ner.runs.folder import LOCK, RunFolderError, check_run_folder, locked
from flair_ner.runs.folder import holder as folder_holder

CONFIG = {"hidden_size": 64, "seed": 1, "output_dir": "a", "device": None}


def interrupted_run(folder: Path, config: dict = CONFIG) -> Path:
    """A folder as an interrupted run leaves it: manifest with status interrupted, a checkpoint after epoch 1."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"created": "then", "status": "interrupted", "events": []}))
    TrainingState(1, {}, {}, {}, capture_rng(), config=dict(config)).save(folder / CHECKPOINT)
    return folder


def one_error_line(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--embeddings", "bogus"], "option 'embeddings' must be one of auto, online, offline, scratch, got 'bogus'"),
        (["--lms", "/nonexistent.pt"], "option 'lms' names '/nonexistent.pt', which is neither a known LM"),
        (["--glove", "/nonexistent"], "option 'glove' is neither online, offline nor an existing vectors file"),
        (["--hidden-size", "-5"], "option 'hidden_size' must be at least 1, got -5"),
        (["--hidden-size", "64.7"], "option 'hidden_size' expects an integer, got '64.7'"),
        (["--anneal-factor", "1.5"], "option 'anneal_factor' must be less than 1"),
        (["--storage-mode", "disk"], "option 'storage_mode' must be one of none, cpu, gpu"),
        (["--dataset", "conll2004"], "option 'dataset' must be one of conllpp, conll2003"),
        (
            ["--transformer", "/no/model"],
            "option 'transformer' is neither minilm, e5-small nor an existing model folder",
        ),
        (["--mirror", "/no/mirror"], "option 'mirror' is neither an http(s) URL nor an existing folder"),
        (["--compare-with", "conll2003, nope"], "option 'compare_with' names 'nope'; each must be one of conllpp"),
    ],
)
def test_config_errors_come_first_and_write_nothing(tmp_path: Path, capsys, options, expected) -> None:
    out, data = tmp_path / "out", tmp_path / "data"
    code = main(["run", *options, "--output-dir", str(out), "--data-dir", str(data)])
    assert code == 2
    line = one_error_line(capsys)
    assert line.startswith("flair-ner: error: command line: ") and expected in line, line
    # that config errors come before torch and flair load is tested in a fresh process (test_errors.py)
    assert not out.exists() and not data.exists()


def test_cuda_without_cuda_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["run", "--device", "cuda", "--output-dir", str(tmp_path / "out")]) == 2
    assert "option 'device' is 'cuda', but this machine has no CUDA device" in one_error_line(capsys)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("hidden_size = 64.7", "option 'hidden_size' expects an integer, got 64.7"),
        ("max_epochs = true", "option 'max_epochs' expects an integer, got True"),
        ("use_crf = 1", "option 'use_crf' expects true or false, got 1"),
        ("glove = 50", "option 'glove' expects a string, got 50"),
        ("max_epoch = 3", "unknown option 'max_epoch'; did you mean 'max_epochs'?"),
        ("hidden_size = ", "cannot read the configuration"),
    ],
)
def test_toml_types_are_strict(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError, match="^" + str(path).replace(".", r"\.")) as error:
        load_config(ExperimentConfig, path)
    assert expected in str(error.value)


def test_a_float_option_takes_a_toml_integer(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text("learning_rate = 1\n")
    assert load_config(ExperimentConfig, tmp_path / "run.toml").learning_rate == 1.0


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nope.toml: configuration file not found"):
        load_config(ExperimentConfig, tmp_path / "nope.toml")


def test_unknown_option_suggests_the_closest(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--max-epocs", "3"])
    assert exit_.value.code == 2
    assert "unrecognized argument '--max-epocs'; did you mean --max-epochs?" in capsys.readouterr().err


def test_output_folder_that_is_a_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").write_text("x")
    assert main(["run", "--output-dir", str(tmp_path / "taken")]) == 2
    line = one_error_line(capsys)
    assert "option 'output_dir' names the output folder" in line and "which is a file, not a folder" in line


def test_second_run_into_a_folder_is_refused_naming_the_holder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import time\nfrom flair_ner.runs.folder import locked\nwith locked({str(out)!r}):\n"
         "    print('locked', flush=True)\n    time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert main(["run", "--output-dir", str(out)]) == 2
        line = one_error_line(capsys)
        assert f"output folder {out} is in use by another run (pid {holder.pid})" in line
        assert folder_holder(out) == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()
    assert folder_holder(out) is None  # killed without a word: no process holds the folder any more
    # the kernel released the dead holder's lock: the next run takes it over, with a note
    with locked(out):
        assert (out / LOCK).read_text().strip() == str(os.getpid())
    assert not (out / LOCK).exists()  # the lock file goes with the run


def test_a_lock_taken_on_a_removed_lock_file_is_given_up_for_the_folders_own(tmp_path: Path, monkeypatch) -> None:
    import flair_ner.runs.folder as folder_module

    out = tmp_path / "run"
    with locked(out):
        stale = os.open(out / LOCK, os.O_RDWR)  # a second run opened the file just before its holder removed it
    opened = []

    def stale_first(path, *args):
        opened.append(path)
        return stale if len(opened) == 1 else os_open(path, *args)

    os_open = os.open
    monkeypatch.setattr(folder_module.os, "open", stale_first)
    with locked(out):
        # the stale file could be locked (nobody holds it) but is no longer the folder's: the folder's own is taken
        assert len(opened) == 2 and (out / LOCK).read_text().strip() == str(os.getpid())


def test_stale_lock_is_taken_over_with_a_note(tmp_path: Path, caplog) -> None:
    tmp_path.joinpath(LOCK).write_text("999999\n")
    with locked(tmp_path):
        pass
    assert "took over the lock of pid 999999" in caplog.text


def test_finished_run_is_never_appended_to(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"created": "2026-01-01", "status": "complete"}))
    (out / "metrics.json").write_text("{}")
    assert main(["run", "--output-dir", str(out)]) == 2
    assert f"output folder {out} holds a finished run" in one_error_line(capsys)
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "metrics.json"]


def test_fresh_moves_the_old_run_aside(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"status": "complete"}))
    with locked(out):
        assert check_run_folder(out, CONFIG, fresh=True) is None
    [old] = tmp_path.glob("run.old-*")
    assert (old / "manifest.json").is_file() and list(out.iterdir()) == []


def test_resume_with_a_different_config_is_refused(tmp_path: Path) -> None:
    out = interrupted_run(tmp_path / "run")
    with pytest.raises(RunFolderError, match=r"different configuration \(hidden_size 64 -> 128, seed 1 -> 2\)"):
        check_run_folder(out, {**CONFIG, "hidden_size": 128, "seed": 2})
    # where the run writes and on which device does not shape the model
    state = check_run_folder(out, {**CONFIG, "output_dir": "b", "device": "cpu"})
    assert state is not None and state.epoch == 1


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_checkpoint_is_one_line_offering_fresh(tmp_path: Path, damage: str) -> None:
    out = interrupted_run(tmp_path / "run")
    data = (out / CHECKPOINT).read_bytes()
    (out / CHECKPOINT).write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a checkpoint")
    with pytest.raises(RunFolderError) as error:
        check_run_folder(out, CONFIG)
    message = str(error.value)
    assert message.startswith(f"{out / CHECKPOINT}: cannot read the checkpoint") and "--fresh" in message
    assert "\n" not in message


def test_corrupt_manifest_is_one_line(tmp_path: Path) -> None:
    out = interrupted_run(tmp_path / "run")
    (out / "manifest.json").write_text('{"status": "interr')
    with pytest.raises(RunFolderError, match=r"manifest.json: the output folder's manifest is corrupt .*--fresh"):
        check_run_folder(out, CONFIG)


def test_training_files_without_a_manifest_are_refused(tmp_path: Path) -> None:
    (tmp_path / "loss.tsv").write_text("EPOCH\n1\n")
    with pytest.raises(RunFolderError, match="holds training files but no manifest.json"):
        check_run_folder(tmp_path, CONFIG)
    (tmp_path / "loss.tsv").unlink()
    (tmp_path / "dataset_sizes.csv").write_text("x")  # what `report` writes: fine to start in
    assert check_run_folder(tmp_path, CONFIG) is None


def test_every_option_has_a_help_group_and_booleans_read_both_ways() -> None:
    import argparse
    import dataclasses

    from flair_ner.config.options import OPTION_GROUPS, EvaluateConfig, LMConfig, add_config_options, overrides_from

    placed = [name for names in OPTION_GROUPS.values() for name in names]
    assert len(placed) == len(set(placed))
    for cls in (ExperimentConfig, EvaluateConfig, LMConfig):
        assert {f.name for f in dataclasses.fields(cls)} <= set(placed), cls.__name__
    parser = argparse.ArgumentParser()
    add_config_options(parser, ExperimentConfig)
    titles = [group.title for group in parser._action_groups[2:]]
    assert titles[:2] == ["data (override the config file)", "embeddings and model (override the config file)"]
    for argv, expected in ((["--no-amp"], "false"), (["--amp"], "true"), (["--amp", "false"], "false"), ([], None)):
        assert overrides_from(parser.parse_args(argv), ExperimentConfig).get("amp") == expected, argv
    assert load_config(ExperimentConfig, None, {"amp": "false", "use_crf": "true"}).amp is False


def test_the_option_reference_is_what_the_config_classes_say() -> None:
    from flair_ner.config.options import options_reference

    reference = (Path(__file__).resolve().parents[1] / "docs" / "options.md").read_text(encoding="utf-8")
    assert reference == options_reference(), "docs/options.md is out of date: run python scripts/options_doc.py"
    assert "| `compare_with` | `unset` |" in reference and "| `amp` | `unset` |" in reference

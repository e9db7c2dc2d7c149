"""Experiment grids on a real local Ray: expansion, skipping, resuming, failures, statistics, two nodes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import ray
from helpers import STOPPER, USES_RAY, grid_file

from flair_ner.cli.main import main
from flair_ner.config.options import ConfigError
from flair_ner.data.registry import Span
from flair_ner.evaluation.scores import score_spans
from flair_ner.grids.grid import adopt, load_grid, run_grid, running_cells
from flair_ner.runs.folder import locked
from flair_ner.grids.summary import paired_bootstrap, weighted_f1, write_summary

pytestmark = USES_RAY


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_grid_expands_into_cells_with_their_folders(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys
) -> None:
    grid = load_grid(grid_file(tmp_path, conllpp_slice, tiny_glove))
    assert [cell.name for cell in grid.cells] == [
        "base/slice/seed-1",
        "base/slice/seed-2",
        "small/slice/seed-1",
        "small/slice/seed-2",
    ]
    assert [cell.config.hidden_size for cell in grid.cells] == [8, 8, 4, 4]
    assert grid.cells[3].folder == tmp_path / "grid" / "small" / "slice" / "seed-2"
    assert main(["grid", str(tmp_path / "tiny.toml"), "--dry-run"]) == 0  # the grid file as the argument
    out = capsys.readouterr().out
    assert "grid tiny: 4 cells" in out and "new         small/slice/seed-2" in out and not (tmp_path / "grid").exists()
    listed = [line.split()[-1] for line in out.splitlines() if line.startswith("  new ")]
    assert listed == ["base/slice/seed-1", "small/slice/seed-1", "base/slice/seed-2", "small/slice/seed-2"]  # run order
    assert main(["grid", "--grid", str(tmp_path / "tiny.toml"), "--dry-run"]) == 0  # or as an option, as before
    assert "grid tiny: 4 cells" in capsys.readouterr().out
    assert main(["grid", "--dry-run"]) == 2
    assert "name one grid file" in capsys.readouterr().err


def test_own_data_is_named_after_its_folder_or_own_data_name(tmp_path: Path, conllpp_slice: Path) -> None:
    from flair_ner.config.options import ExperimentConfig, load_config

    train = str(conllpp_slice / "conllpp_train.txt")
    assert load_config(ExperimentConfig, None, {"train_file": train}).data_label == conllpp_slice.name
    assert load_config(ExperimentConfig, None, {"train_file": train, "own_data_name": "bio"}).data_label == "bio"
    assert load_config(ExperimentConfig, None, {"dataset": "wnut17"}).data_label == "wnut17"
    with pytest.raises(ConfigError, match=r"own_data_name.*must be one folder name .*'a/b'"):
        load_config(ExperimentConfig, None, {"train_file": train, "own_data_name": "a/b"})
    with pytest.raises(ConfigError, match="own_data_name.*train_file is not set"):
        load_config(ExperimentConfig, None, {"own_data_name": "bio"})


def test_grid_errors_name_the_cell(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys) -> None:
    grid_file(tmp_path, conllpp_slice, tiny_glove, "[variants.broken]\nhidden_size = -1\n")
    assert main(["grid", "--grid", str(tmp_path / "tiny.toml"), "--dry-run"]) == 2
    line = capsys.readouterr().err.strip()
    assert "variant 'broken'" in line and "option 'hidden_size' must be at least 1, got -1" in line


def test_local_grid_runs_skips_resumes_and_reports_failures(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, local_ray
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("EU B-ORG\nrejects X-FOO\n", encoding="utf-8")
    path = grid_file(
        tmp_path, conllpp_slice, tiny_glove, f'[variants.broken]\ntrain_file = "{bad}"\ncolumns = "0=text,1=ner"\n'
    )
    grid = load_grid(path)
    # one cell was interrupted in its second epoch before the grid ran: the grid must resume it, not restart it
    interrupted = next(cell for cell in grid.cells if cell.name == "small/slice/seed-2")
    config = tmp_path / "cell.toml"
    config.write_text("\n".join(f"{key} = {json.dumps(value)}" for key, value in dataclasses.asdict(interrupted.config).items()
                                if value is not None) + "\n")  # fmt: skip
    stopped = subprocess.run([sys.executable, "-c", STOPPER, "2", "1", str(signal.SIGINT), "run", "--config", str(config)],
                             capture_output=True, text=True)  # fmt: skip
    assert stopped.returncode == 130, stopped.stderr[-2000:]
    assert interrupted.status() == "interrupted"

    outcome = run_grid(grid, cpus_per_run=1)
    assert {name: status.split(":")[0] for name, status in outcome.statuses.items()} == {
        "base/slice/seed-1": "complete", "base/slice/seed-2": "complete", "small/slice/seed-1": "complete",
        "small/slice/seed-2": "complete", "broken/slice/seed-1": "failed", "broken/slice/seed-2": "failed",
    }  # fmt: skip
    assert (
        "DataFileError" in outcome.failed["broken/slice/seed-1"]
        and "bad.txt:2: tag 'X-FOO'" in outcome.failed["broken/slice/seed-1"]
    )
    events = [e["event"] for e in json.loads((interrupted.folder / "manifest.json").read_text())["events"]]
    assert events == ["started", "interrupted", "resumed", "completed"]
    # each cell trained in a worker process of its own (Ray reuses workers unless told not to)
    pids = [json.loads((cell.folder / "manifest.json").read_text())["events"][-1]["pid"] for cell in grid.cells
            if outcome.statuses[cell.name] == "complete"]  # fmt: skip
    assert len(pids) == 4 and len(set(pids)) == 4, pids
    # seed 1 of every variant first (two cells at a time here), so that a grid stopped part-way leaves paired sets:
    # no seed-2 cell started before both seed-1 cells had
    started = {
        cell.name: _started_in_grid(cell.folder) for cell in grid.cells if outcome.statuses[cell.name] == "complete"
    }
    assert max(started["base/slice/seed-1"], started["small/slice/seed-1"]) <= min(
        started["base/slice/seed-2"], started["small/slice/seed-2"]
    ), started

    paths = write_summary(grid)
    assert {p.name for p in paths} >= {"cells.csv", "summary.csv", "summary.md", "comparison.csv", "grid_slice.png"}
    summary = pd.read_csv(tmp_path / "grid" / "summary.csv").set_index("variant")
    assert summary.loc["base", "n"] == 2 and summary.loc["small", "n"] == 2 and "broken" not in summary.index
    comparison = pd.read_csv(tmp_path / "grid" / "comparison.csv")
    assert comparison["variant"].tolist() == ["small"] and comparison["seeds"].tolist() == ["1 2"]
    assert comparison["ci_low"][0] <= comparison["difference"][0] <= comparison["ci_high"][0]

    again = run_grid(load_grid(path), cpus_per_run=1)  # finished cells are skipped, failed ones retried
    assert sum(status == "skipped" for status in again.statuses.values()) == 4
    assert all(again.statuses[f"broken/slice/seed-{seed}"].startswith("failed") for seed in (1, 2))


def _started_in_grid(folder: Path) -> str:
    """When the grid started (or resumed) this cell: its last ``started`` or ``resumed`` event's time."""
    events = json.loads((folder / "manifest.json").read_text())["events"]
    return [e["time"] for e in events if e["event"] in ("started", "resumed")][-1]


def test_running_cells_are_counted_from_rays_resources_not_from_manifests(local_ray) -> None:
    """A cell killed without a word still says "running" in its manifest; the progress bar asks Ray instead."""

    @ray.remote(num_cpus=1)
    def hold(seconds: float) -> None:
        time.sleep(seconds)

    assert running_cells(pending=3, cpus=1) == 0
    ref = hold.remote(30)
    deadline = time.monotonic() + 60
    while running_cells(pending=3, cpus=1) == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (
        running_cells(pending=3, cpus=1) == 1 and running_cells(pending=3, cpus=2) == 0
    )  # one CPU in use is no two-CPU cell
    ray.cancel(ref, force=True)


def test_a_cell_killed_without_a_word_is_lost_not_running(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys
) -> None:
    """A SIGKILLed cell's manifest still says "running"; only the lock tells whether a process still writes it."""
    grid = load_grid(grid_file(tmp_path, conllpp_slice, tiny_glove))
    cell = grid.cells[0]
    cell.folder.mkdir(parents=True)
    (cell.folder / "manifest.json").write_text(
        json.dumps({"status": "running", "events": [{"event": "started", "pid": 1}]})
    )
    with locked(cell.folder):
        assert cell.status() == "running"  # held: a live run writes it
    assert cell.status() == "lost"
    assert main(["grid", "--grid", str(tmp_path / "tiny.toml"), "--dry-run"]) == 0
    assert f"  lost        {cell.name}" in capsys.readouterr().out.splitlines()


def test_two_node_cluster_places_cells_on_both(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, log_to_driver=False)
        grid = load_grid(grid_file(tmp_path, conllpp_slice, tiny_glove))
        outcome = run_grid(grid, cpus_per_run=1)
        assert all(status == "complete" for status in outcome.statuses.values())
        assert len(set(outcome.nodes.values())) == 2  # cells ran on both nodes
        assert len(pd.read_csv(write_summary(grid)[0])) == 4  # the summary gathered every cell
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_paired_bootstrap_sees_a_real_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(1)
    sentences = 400
    gold = rng.integers(1, 4, size=sentences)

    def counts(recall: float, seed: int) -> np.ndarray:  # noqa: E306 - small helper
        found = np.random.default_rng(seed).binomial(gold, recall)
        return np.stack([found, np.zeros_like(found), gold - found], axis=1)

    baseline = [counts(0.80, seed) for seed in (1, 2, 3)]
    better = [counts(0.90, seed + 10) for seed in (1, 2, 3)]
    same = [counts(0.80, seed + 20) for seed in (1, 2, 3)]
    mean, low, high, p = paired_bootstrap(baseline, better, samples=500)
    assert 0 < low < mean < high and p < 0.01
    mean, low, high, p = paired_bootstrap(baseline, same, samples=500)
    assert low < 0 < high and p > 0.05


def finish_cell(folder: Path, f1: float, found: bool) -> None:
    """A finished cell as a run leaves it (manifest, metrics, predictions), without training: every average is
    ``f1``; the 20 test sentences each hold one PER mention, which the cell finds when ``found``."""
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"status": "complete", "training_seconds": 60}))
    scores = {label: {"f1": f1} for label in ("micro avg", "macro avg", "weighted avg")}
    (folder / "metrics.json").write_text(json.dumps({"test": {"scores": scores, "token_accuracy": 0.9}}))
    rows = [(s, "Anna", "B-PER", "B-PER" if found else "O") for s in range(20)]
    pd.DataFrame(rows, columns=["sentence", "token", "gold", "predicted"]).to_csv(
        folder / "predictions_test.tsv", sep="\t", index=False
    )


def test_summary_only_summarizes_the_finished_cells_and_names_the_others(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys
) -> None:
    grid = load_grid(grid_file(tmp_path, conllpp_slice, tiny_glove))
    for cell in grid.cells[:3]:  # base seeds 1 and 2, small seed 1; small/slice/seed-2 not run
        finish_cell(cell.folder, 0.5, found=cell.variant == "small")
    assert main(["grid", "--grid", str(tmp_path / "tiny.toml"), "--summary-only"]) == 0
    assert "written: " in capsys.readouterr().out and not ray.is_initialized()
    assert grid.cells[3].status() == "new"  # nothing ran
    for cell, minutes in zip(grid.cells[:3], (10, 20, 40)):  # base cells 10 and 20 min, small 40 min
        manifest = json.loads((cell.folder / "manifest.json").read_text())
        (cell.folder / "manifest.json").write_text(json.dumps({**manifest, "total_seconds": 60 * minutes}))
    # the small cell was resumed only to be evaluated: its last process took 1 min after 39 min of epochs
    manifest = json.loads((grid.cells[2].folder / "manifest.json").read_text())
    resumed = {"total_seconds": 60, "resumed_from_epoch": 2, "epoch_seconds": [19 * 60, 20 * 60]}
    (grid.cells[2].folder / "manifest.json").write_text(json.dumps({**manifest, **resumed}))
    assert main(["grid", "--grid", str(tmp_path / "tiny.toml"), "--dry-run"]) == 0
    # the unfinished small cell costs what its own variant's cell took, not the mean of all three (23 min)
    assert "1 cells to run, about 40 cell-minutes" in capsys.readouterr().out
    summary = pd.read_csv(tmp_path / "grid" / "summary.csv").set_index("variant")
    assert summary.loc["base", "n"] == 2 and summary.loc["small", "n"] == 1
    comparison = pd.read_csv(tmp_path / "grid" / "comparison.csv")
    assert (
        comparison["seeds"].tolist() == [1] and comparison["seed_std"].isna().all()
    )  # paired on seed 1 only: no spread
    text = (tmp_path / "grid" / "summary.md").read_text()
    assert "1 of 4 cells are not finished" in text and "- `small/slice/seed-2`: new" in text
    assert "| small | slice | test | 1 | +100.00 | – |" in text


def test_summary_keeps_further_axes_apart(tmp_path: Path, conllpp_slice: Path, tiny_glove: Path) -> None:
    """A grid with an axis beside seed (hidden_size): cells of different sizes are never pooled or paired."""
    path = grid_file(tmp_path, conllpp_slice, tiny_glove)
    path.write_text(path.read_text().replace("seed = [1, 2]", "seed = [1, 2]\nhidden_size = [8, 16]"))
    grid = load_grid(path)
    assert len(grid.cells) == 8 and grid.cells[1].name == "base/slice/hidden_size-16/seed-1"
    for cell in grid.cells:
        found = cell.values["hidden_size"] == 16 or cell.variant == "small"
        finish_cell(cell.folder, 0.5 if cell.values["hidden_size"] == 8 else 0.9, found)
    write_summary(grid)
    summary = pd.read_csv(tmp_path / "grid" / "summary.csv")
    assert len(summary) == 4 and summary["n"].tolist() == [2, 2, 2, 2]
    assert sorted(summary["micro_f1_mean"].round(2).tolist()) == [0.5, 0.5, 0.9, 0.9]
    comparison = pd.read_csv(tmp_path / "grid" / "comparison.csv").set_index("hidden_size")
    assert comparison.loc[8, "difference"] == 1.0  # small finds every mention, base none, at size 8
    assert comparison.loc[16, "difference"] == 0.0 and comparison.loc[16, "verdict"] == "not shown"


def test_a_variant_with_another_label_map_is_summarized_but_not_paired(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path
) -> None:
    """Coarse types against fine ones: both F1s are reported, a difference between them would mean nothing."""
    variants = '[variants.coarse]\nlabel_map = {PER = "PER", LOC = "PLACE", ORG = "GROUP", MISC = "GROUP"}\n'
    grid = load_grid(grid_file(tmp_path, conllpp_slice, tiny_glove, variants))
    for cell in grid.cells:
        finish_cell(cell.folder, 0.5, found=cell.variant != "base")
    write_summary(grid)
    summary = pd.read_csv(tmp_path / "grid" / "summary.csv")
    assert sorted(summary["variant"]) == ["base", "coarse", "small"]
    assert pd.read_csv(tmp_path / "grid" / "comparison.csv")["variant"].tolist() == ["small"]


@pytest.mark.parametrize(
    ("signum", "whole_group", "exit_code"), [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)]
)
def test_ctrl_c_or_sigterm_stops_every_cell_honestly(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, signum: int, whole_group: bool, exit_code: int
) -> None:
    """Ctrl-C in a terminal signals the whole process group: the grid command and its Ray workers. A batch
    scheduler's SIGTERM (or ``kill``) reaches the grid command alone, which must stop the cells itself."""
    path = grid_file(tmp_path, conllpp_slice, tiny_glove)
    # long enough cells (many short epochs) that the interrupt lands mid-run
    path.write_text(path.read_text().replace("max_epochs = 2", "max_epochs = 200\npatience = 200"))
    grid = load_grid(path)
    command = [sys.executable, "-m", "flair_ner", "grid", "--grid", str(path), "--cpus-per-run", "1"]
    # SIGINT's default action restored in the driver: a test run started in the background of a non-interactive
    # shell (nohup ... &) inherits SIGINT ignored, which the driver and its Ray workers would inherit in turn
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.monotonic() + 300
    # wait until two cells are training (each has written its first epoch's checkpoint)
    while sum((cell.folder / "checkpoint.pt").is_file() for cell in grid.cells) < 2:
        assert driver.poll() is None and time.monotonic() < deadline, driver.communicate()[1][-3000:]
        time.sleep(0.5)
    if whole_group:
        os.killpg(driver.pid, signum)
    else:
        os.kill(driver.pid, signum)
    out, err = driver.communicate(timeout=300)
    assert driver.returncode == exit_code, err[-3000:]
    if not whole_group:
        assert "grid tiny interrupted by SIGTERM: its running cells were stopped" in err
    statuses = {cell.name: cell.status() for cell in grid.cells}
    assert list(statuses.values()).count("interrupted") >= 2 and "complete" not in statuses.values(), statuses
    assert not (tmp_path / "grid" / "summary.csv").exists()  # no summary of a half-run grid
    leftovers = [p for p in (tmp_path / "grid").rglob("*") if p.name.endswith(".tmp") or p.name == "final-model.pt"]
    assert leftovers == []
    for cell in grid.cells:
        if statuses[cell.name] == "interrupted":
            manifest = json.loads((cell.folder / "manifest.json").read_text())
            assert manifest["events"][-1]["event"] == "interrupted" and not (cell.folder / "metrics.json").exists()
            assert manifest["machine"]["niceness"] == os.nice(0)  # a plain run's priority, not Ray's nice 15


def test_a_finished_run_made_outside_the_grid_is_adopted_as_its_matching_cell(
    tmp_path: Path, conllpp_slice: Path, tiny_glove: Path, capsys
) -> None:
    path = grid_file(tmp_path, conllpp_slice, tiny_glove)
    grid = load_grid(path)
    cell = next(cell for cell in grid.cells if cell.name == "small/slice/seed-2")
    config = tmp_path / "cell.toml"  # the cell's own options, run by hand into a folder of the user's
    config.write_text("\n".join(f"{key} = {json.dumps(value)}" for key, value in dataclasses.asdict(cell.config).items()
                                if value is not None and key != "output_dir") + "\n")  # fmt: skip
    mine = tmp_path / "my-run"
    done = subprocess.run([sys.executable, "-m", "flair_ner", "run", "--config", str(config), "--output-dir", str(mine)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]

    assert main(["grid", "--grid", str(path), "--adopt", str(mine), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would adopt {mine} as cell small/slice/seed-2" in out and cell.status() == "new"
    # nothing finished in the grid yet: the other 3 cells are estimated from the run it would adopt
    minutes = json.loads((mine / "manifest.json").read_text())["total_seconds"] / 60
    assert "  adopt       small/slice/seed-2" in out
    assert f"3 cells to run, about {3 * minutes:.0f} cell-minutes" in out and f"finished, {minutes:.0f} min)" in out

    assert adopt(grid, mine).name == "small/slice/seed-2" and cell.status() == "complete"
    manifest = json.loads((cell.folder / "manifest.json").read_text())
    assert manifest["adopted_from"] == str(mine) and manifest["config"]["output_dir"] == str(cell.folder)
    assert (cell.folder / "metrics.json").read_text() == (mine / "metrics.json").read_text()
    assert (cell.folder / manifest["evaluated_model"]).is_file() and not (cell.folder / ".lock").exists()
    assert [p.name for p in cell.folder.parent.iterdir()] == ["seed-2"]  # no staging copy left beside it

    with pytest.raises(ConfigError, match="cell small/slice/seed-2 already holds a run"):
        adopt(grid, mine)
    other = tmp_path / "other-run"
    shutil.copytree(mine, other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "config": {**manifest["config"], "hidden_size": 5}}))
    with pytest.raises(
        ConfigError, match=r"matches no cell of grid tiny; the closest, \S+, differs in hidden_size 5 -> "
    ):
        adopt(grid, other)
    # a run from before glove_rows existed was evaluated with every word-vector row: not today's default cell
    early = {key: value for key, value in manifest["config"].items() if key != "glove_rows"}
    (other / "manifest.json").write_text(json.dumps({**manifest, "config": early}))
    with pytest.raises(ConfigError, match=r"differs in glove_rows 0 -> 200000"):
        adopt(grid, other)
    (other / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    with pytest.raises(ConfigError, match="the run is interrupted, not complete"):
        adopt(grid, other)
    assert main(["grid", "--grid", str(path), "--adopt", str(tmp_path / "nothing"), "--dry-run"]) == 2
    assert f"{tmp_path / 'nothing'}: no manifest.json there" in capsys.readouterr().err


def test_an_early_runs_metrics_without_weighted_f1_get_it_derived_as_the_scorer_defines_it() -> None:
    gold = [[Span("PER", 0, 1), Span("PER", 2, 3), Span("PER", 4, 5), Span("LOC", 6, 7)], [Span("ORG", 0, 2)]]
    predicted = [[Span("PER", 0, 1), Span("PER", 2, 3), Span("LOC", 6, 7)], [Span("ORG", 0, 1)]]
    scores = score_spans(gold, predicted).set_index("label").to_dict("index")
    early = {label: row for label, row in scores.items() if label != "weighted avg"}
    assert (
        weighted_f1(early) == pytest.approx(scores["weighted avg"]["f1"])
        and weighted_f1(scores) == scores["weighted avg"]["f1"]
    )
    assert weighted_f1(early) != pytest.approx(scores["macro avg"]["f1"])  # the weights matter in this example


def test_a_resumed_runs_training_time_counts_the_epochs_before_the_resume() -> None:
    from flair_ner.runs.manifest import run_total_seconds, run_training_seconds

    # e5-small on Hindi: 2 epochs trained, then resumed only to evaluate (its last process trained 6 s)
    resumed = {"training_seconds": 6.0, "resumed_from_epoch": 2, "epoch_seconds": [1380.4, 1326.1]}
    assert run_training_seconds(resumed) == pytest.approx(2712.5)
    assert run_training_seconds({"training_seconds": 90.0, "resumed_from_epoch": 0, "epoch_seconds": [40, 45]}) == 90
    assert run_training_seconds({}) == 0
    assert run_total_seconds({**resumed, "total_seconds": 30.0}) == pytest.approx(2736.5)

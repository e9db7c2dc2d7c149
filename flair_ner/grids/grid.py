"""Experiment grids on Ray: variants x axes (seeds, data sets, any run option), each cell one run of the pipeline.

A grid is a TOML file::

    name = "ablation"                          # default: the file's name
    base = "experiments/configs/conllpp.toml"  # a run config (optional)
    output_dir = "runs/grids/ablation"         # the grid folder (default: runs/grids/<name>; relative to the working directory)
    baseline = "full"                          # the variant the others are compared with

    [config]                                   # run options for every cell (override base)
    max_epochs = 50

    [axes]                                     # lists: every combination is a cell
    seed = [1, 2, 3]

    [variants.full]                            # named variants: run options on top
    [variants.no-lms]
    lms = "none"

Each cell is exactly one :func:`flair_ner.runs.experiment.run_experiment` in its own
folder ``<grid>/<variant>/<data set>/seed-<n>/`` (other axes add ``<key>-<value>/``),
with its own manifest, checkpoint and lock, so everything a run guarantees
(exact resume, honest interrupts, one run per folder) holds per cell. Cells run
as Ray tasks; Ray schedules them on one machine or a cluster. Re-running a grid
skips finished cells, resumes interrupted ones and re-runs failed ones. A
finished run made outside the grid (``run``, ``make run``) can be adopted as the
cell whose configuration it matches (:func:`adopt`), instead of training it again.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import json
import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tqdm import tqdm

from flair_ner.config.options import (
    BEFORE_THE_OPTION,
    DEFAULT_TRACKING_STORE,
    ConfigError,
    ExperimentConfig,
    check_option_name,
    load_config,
)
from flair_ner.data.fetch import resolve_data_dir, resolve_mirror
from flair_ner.files import write_text
from flair_ner.runs.interrupt import RunInterrupted, terminate_as_ctrl_c
from flair_ner.runs.manifest import MANIFEST, run_total_seconds
from flair_ner.runs.folder import FINISHED, LOCK, NOT_SHAPING, RunFolderError, config_changes, holder, read_manifest

log = logging.getLogger(__name__)

GRID_KEYS = {"name", "base", "output_dir", "baseline", "config", "axes", "variants"}
# Options that name files or folders: made absolute, because Ray workers need not share the driver's folder.
PATH_OPTIONS = ("train_file", "dev_file", "test_file", "data_dir", "output_dir")
# how often the progress bar recounts running cells while none finishes
PROGRESS_SECONDS = 10.0


@dataclass
class Cell:
    """One run of the grid.

    Args:
        variant: the variant's name.
        values: this cell's axis values (e.g. ``{"seed": 2}``).
        config: the cell's full run configuration (validated).
    """

    variant: str
    values: dict[str, Any]
    config: ExperimentConfig

    @property
    def folder(self) -> Path:
        return Path(self.config.output_dir)

    @property
    def name(self) -> str:
        """``variant/data set/seed-n[/key-value…]``, the cell's folder inside the grid."""
        return "/".join(_cell_parts(self.variant, self.config, self.values))

    def status(self) -> str:
        """``complete``, ``interrupted``, ``failed``, ``running``, ``lost`` or ``new``.

        ``lost``: the manifest says "running" but no process holds the folder, so the run was killed without a
        word (SIGKILL, out of memory, its node died); like ``interrupted``, it resumes from its checkpoint."""
        try:
            manifest = read_manifest(self.folder) if self.folder.is_dir() else None
        except RunFolderError:
            return "failed"
        if manifest is None:
            return "new"
        status = manifest.get("status", FINISHED)
        if status == "running" and holder(self.folder) is None:
            return "lost"
        return status


@dataclass
class Grid:
    """A loaded grid file: its cells and where they go."""

    name: str
    path: Path
    output_dir: Path
    baseline: str
    variants: list[str]
    cells: list[Cell] = field(default_factory=list)


def _cell_parts(variant: str, config: ExperimentConfig, values: dict[str, Any]) -> list[str]:
    extra = [f"{key}-{value}" for key, value in values.items() if key not in ("seed", "dataset")]
    return [variant, config.data_label, *extra, f"seed-{config.seed}"]


def _absolute(value: Optional[str]) -> Optional[str]:
    return str(Path(value).resolve()) if value else value


def _self_contained(overrides: dict[str, Any]) -> dict[str, Any]:
    """Paths made absolute, and the data cache and mirror resolved now, so that a worker anywhere finds them."""
    fixed = dict(overrides)
    for key in PATH_OPTIONS:
        if fixed.get(key):
            fixed[key] = _absolute(fixed[key])
    if fixed.get("glove") and fixed["glove"] not in ("online", "offline") and Path(fixed["glove"]).exists():
        fixed["glove"] = _absolute(fixed["glove"])
    if fixed.get("lms"):
        fixed["lms"] = ",".join(_absolute(name) if Path(name).is_file() else name for name in fixed["lms"].split(","))
    mirror = resolve_mirror(fixed.get("mirror"))
    if mirror and not mirror.startswith(("http://", "https://")):
        mirror = _absolute(mirror)
    fixed["mirror"] = mirror
    fixed["data_dir"] = _absolute(str(resolve_data_dir(fixed.get("data_dir"))))
    if fixed.get("track") and "://" not in (fixed.get("tracking_uri") or ""):  # a store folder, default mlruns/
        fixed["tracking_uri"] = _absolute(fixed.get("tracking_uri") or DEFAULT_TRACKING_STORE)
    return fixed


def load_grid(path: Path, output_dir: Optional[Path] = None) -> Grid:
    """Read a grid file and expand it into cells, every cell's configuration validated now.

    Raises:
        ConfigError: an unknown key, an axis that is not a list, an unknown baseline,
            or any cell's configuration error (named with the cell).
    """
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: cannot read the grid: {error}") from None
    unknown = set(table) - GRID_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: unknown grid key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(GRID_KEYS))}"
        )
    name = table.get("name", path.stem)
    grid_dir = Path(output_dir or table.get("output_dir") or Path("runs") / "grids" / name).resolve()
    base = table.get("base")
    if base is not None and not Path(base).is_file():
        beside = path.parent / base
        base = beside if beside.is_file() else base
    axes = table.get("axes", {})
    for key, values in axes.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: axis {key!r} must be a non-empty list, got {values!r}")
    variants = table.get("variants") or {"base": {}}
    baseline = table.get("baseline", next(iter(variants)))
    if baseline not in variants:
        raise ConfigError(f"{path}: baseline {baseline!r} is not a variant ({', '.join(variants)})")
    grid = Grid(name, path, grid_dir, baseline, list(variants))
    # every key checked once, named by the table it stands in (load_config would call them "command line")
    sections = {"[config]": table.get("config", {}), "axes": axes, **{f"variant {v!r}": o for v, o in variants.items()}}
    for section, keys in sections.items():
        for key in keys:
            check_option_name(ExperimentConfig, key, f"{path} ({section})")
    for variant, options in variants.items():
        for combination in itertools.product(*axes.values()) if axes else [()]:
            values = dict(zip(axes, combination))
            overrides = {**table.get("config", {}), **options, **values}
            where = f"{path} (variant {variant!r}, {values})"
            try:
                config = load_config(ExperimentConfig, base, _self_contained(overrides))
            except ConfigError as error:
                raise ConfigError(f"{where}: {error}") from None
            folder = grid_dir.joinpath(*_cell_parts(variant, config, values))
            grid.cells.append(Cell(variant, values, dataclasses.replace(config, output_dir=str(folder))))
    names = [cell.name for cell in grid.cells]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: two cells would share a folder; give each variant or axis value its own")
    return grid


def adopt(grid: Grid, folder: Path, dry_run: bool = False) -> Cell:
    """Copy a finished run folder made outside the grid into the cell whose configuration it matches.

    "Matches" means every option that shapes the model or the data is equal (options the run predates count
    with what the kit did before them, :data:`~flair_ner.config.options.BEFORE_THE_OPTION`, else with their defaults;
    where the run went, its device and speed options do not count: :data:`NOT_SHAPING`).
    The copy (models included, lock and temporary files left out) is made beside the cell's folder and renamed
    into place, and its manifest names the folder it was adopted from; the original stays as it was.

    Args:
        grid: the loaded grid.
        folder: a finished run folder (its manifest says ``complete``).
        dry_run: find the cell and check everything, but copy nothing.

    Returns:
        The cell the run now fills.

    Raises:
        ConfigError: the folder holds no finished run, its configuration matches no cell (the closest cell
            and the differing options are named), or the matching cell already holds a run.
    """
    folder = Path(folder)
    try:
        manifest = read_manifest(folder) if folder.is_dir() else None
    except RunFolderError as error:
        raise ConfigError(str(error)) from None
    if manifest is None:
        raise ConfigError(f"{folder}: no {MANIFEST} there; only a run folder the kit wrote can be adopted")
    status = manifest.get("status", FINISHED)
    if status != FINISHED or not isinstance(manifest.get("config"), dict):
        raise ConfigError(
            f"{folder}: the run is {status}, not complete; finish it (run its command again) before adopting it"
        )
    # the grid's cells name files by absolute path; the run's relative ones are read from the working directory
    config = {key: _absolute(value) if key in PATH_OPTIONS and key not in NOT_SHAPING else value
              for key, value in manifest["config"].items()}  # fmt: skip
    defaults = {**dataclasses.asdict(ExperimentConfig()), **BEFORE_THE_OPTION}
    changes = {
        cell.name: config_changes(config, dataclasses.asdict(cell.config), defaults=defaults) for cell in grid.cells
    }
    matching = [cell for cell in grid.cells if not changes[cell.name]]
    if not matching:
        closest = min(grid.cells, key=lambda cell: changes[cell.name].count(" -> "))
        raise ConfigError(f"{folder}: its run configuration matches no cell of grid {grid.name}; "
                          f"the closest, {closest.name}, differs in {changes[closest.name]}")  # fmt: skip
    free = [cell for cell in matching if cell.status() == "new"]
    if not free:
        raise ConfigError(f"{folder}: cell {matching[0].name} already holds a run ({matching[0].status()}); "
                          "adopting would replace it, so nothing was copied")  # fmt: skip
    cell = free[0]
    leftovers = [entry.name for entry in cell.folder.iterdir() if entry.name != LOCK] if cell.folder.is_dir() else []
    if leftovers:
        raise ConfigError(f"{cell.folder}: holds files without a manifest ({', '.join(sorted(leftovers))}); "
                          "move them away before adopting a run there")  # fmt: skip
    if dry_run:
        return cell
    staging = cell.folder.with_name(f".{cell.folder.name}.adopting")
    shutil.rmtree(staging, ignore_errors=True)  # a copy an earlier, interrupted adoption left
    shutil.copytree(folder, staging, ignore=shutil.ignore_patterns(LOCK, ".*.tmp", ".*.kept"))
    # "status" said outright: manifests from before the kit wrote one are complete by their absence of it
    adopted = {**manifest, "status": FINISHED, "config": {**manifest["config"], "output_dir": str(cell.folder)},
               "adopted_from": str(folder.resolve())}  # fmt: skip
    write_text(staging / MANIFEST, json.dumps(adopted, indent=2, default=str) + "\n")
    if cell.folder.is_dir():
        shutil.rmtree(cell.folder)  # empty apart from a released lock (checked above)
    staging.rename(cell.folder)
    return cell


def run_cell(config: dict[str, Any], cpus: Optional[int] = None, tags: Optional[dict] = None) -> dict[str, Any]:
    """Run one cell (in a Ray worker): the whole pipeline into the cell's folder; returns its scores and node.

    ``tags`` (grid name, variant) go to MLflow when the cell is tracked."""
    import ray  # here, not at the top: a grid file is checked before Ray loads
    import torch  # the worker's own thread count: Ray gives each cell its CPUs

    from flair_ner.runs.experiment import run_experiment  # the worker imports flair, not the driver

    if cpus:
        torch.set_num_threads(cpus)
    result = run_experiment(ExperimentConfig(**config), tags=tags)
    return {"micro_f1": result.micro_f1, "node": ray.get_runtime_context().get_node_id()}


@dataclass
class GridOutcome:
    """What a grid run did: cell name -> status (``complete``, ``skipped``, ``failed: …``, ``interrupted``)."""

    statuses: dict[str, str]
    nodes: dict[str, str]

    @property
    def failed(self) -> dict[str, str]:
        return {name: status for name, status in self.statuses.items() if status.startswith("failed")}


def run_order(cells: list[Cell]) -> list[Cell]:
    """The cells in the order they are started: axis values by axis values (seed 1 of every variant, then seed 2, …).

    A grid stopped part-way (a session's end, a batch limit) then leaves complete paired sets, each of which
    already compares every variant with the baseline on the same seed, instead of every seed of the baseline and
    none of the variants. Within one set the variants keep the grid file's order."""

    def paired_set(cell: Cell) -> str:
        return json.dumps(cell.values, sort_keys=True, default=str)

    sets: dict[str, int] = {}
    for cell in cells:
        sets.setdefault(paired_set(cell), len(sets))
    return sorted(cells, key=lambda cell: sets[paired_set(cell)])


def describe(grid: Grid, adopting: Optional[dict[str, Path]] = None) -> str:
    """The cell list with each cell's status and the estimated cost of the unfinished ones.

    Each unfinished cell is estimated from the mean wall time of its own variant's finished cells (variants can
    differ twofold: a GloVe-only cell takes half a full one), or of all finished cells where its variant has none.
    ``adopting``: cell name -> a finished run folder that ``--adopt`` would copy into it (``--dry-run``): the cell
    is listed as ``adopt`` and its run's time counts as a finished cell's."""
    adopting = adopting or {}
    lines = [f"grid {grid.name}: {len(grid.cells)} cells into {grid.output_dir} (baseline: {grid.baseline}), "
             "in the order they run"]  # fmt: skip
    minutes: dict[str, list[float]] = {}
    todo: list[Cell] = []
    for cell in run_order(grid.cells):
        status = "adopt" if cell.name in adopting else cell.status()
        lines.append(f"  {status:<11} {cell.name}")
        if status not in (FINISHED, "adopt"):
            todo.append(cell)
            continue
        manifest = read_manifest(adopting.get(cell.name, cell.folder)) or {}
        if manifest.get("total_seconds"):  # over every process: a cell resumed only to evaluate took hours, not seconds
            minutes.setdefault(cell.variant, []).append(run_total_seconds(manifest) / 60)
    finished = [value for values in minutes.values() for value in values]
    if not todo:
        lines.append("every cell is finished")
    elif finished:
        overall = sum(finished) / len(finished)
        cost = sum(sum(minutes[c.variant]) / len(minutes[c.variant]) if c.variant in minutes else overall for c in todo)
        lines.append(f"{len(todo)} cells to run, about {cost:.0f} cell-minutes (each cell: the mean of its variant's "
                     f"finished cells, else of all {len(finished)} finished, {overall:.0f} min)")  # fmt: skip
    else:
        lines.append(f"{len(todo)} cells to run; no finished cell yet to estimate their cost from")
    return "\n".join(lines)


def _error_line(error: BaseException) -> str:
    from ray.exceptions import RayTaskError

    cause = error.cause if isinstance(error, RayTaskError) and error.cause is not None else error
    text = " ".join(str(cause).split()) or type(cause).__name__
    return f"{type(cause).__name__}: {text[:300]}"


def running_cells(pending: int, cpus: float) -> int:
    """How many of the pending cells are running now: the CPUs Ray has handed out, in cells.

    Ray's own accounting, not the cells' manifests: a cell killed without a word (its node died, SIGKILL)
    still says "running" in its manifest while it waits in the queue to be resumed."""
    import ray  # here, not at the top: a grid file is checked before Ray loads

    in_use = ray.cluster_resources().get("CPU", 0) - ray.available_resources().get("CPU", 0)
    return max(0, min(pending, int(in_use // cpus)))


def run_grid(
    grid: Grid,
    address: Optional[str] = None,
    cpus_per_run: Optional[float] = None,
    gpus_per_run: float = 0,
) -> GridOutcome:
    """Run every cell that is not finished as a Ray task; failed cells are reported, the others go on.

    Args:
        grid: the loaded grid.
        address: an existing Ray cluster (``auto`` or ``ray://host:port``); ``None``: a local Ray sized to the machine.
        cpus_per_run: CPUs per cell (default: all of one machine, so cells never share cores).
        gpus_per_run: GPUs per cell.

    Raises:
        KeyboardInterrupt, RunInterrupted: Ctrl-C, or SIGINT/SIGTERM sent to this process (a batch scheduler's
            stop, ``kill``), after cancelling every running cell (each stops honestly and resumes next time).
    """
    import ray  # here, not at the top: a grid file is checked before Ray loads
    from ray.exceptions import RayTaskError, TaskCancelledError

    statuses = {cell.name: "skipped" for cell in grid.cells if cell.status() == FINISHED}
    todo = [cell for cell in run_order(grid.cells) if cell.name not in statuses]
    nodes: dict[str, str] = {}
    if not todo:
        log.info("grid %s: every cell is finished already", grid.name)
        return GridOutcome(statuses, nodes)
    started_here = not ray.is_initialized()
    if started_here:
        env = {key: value for key, value in os.environ.items() if key.startswith("FLAIR_NER_")}
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,  # every cell has its own training.log
            runtime_env={"env_vars": env} if env else None,
            # Ray starts its workers at nice 15, so a cell would yield the cores to anything else on the machine
            # (an epoch took 14 times as long beside a test run); a cell is one run, at a plain run's priority
            **({} if address else {"_system_config": {"worker_niceness": 0}}),
        )
    cpus = cpus_per_run or max(1, int(ray.cluster_resources().get("CPU", 1) / max(1, len(ray.nodes()))))
    # max_calls=1: each cell in a fresh worker process, which exits after it, so that no cell inherits another's
    # memory (a CoNLL++ cell leaves ~6 GB resident), GPU memory or module-level state
    task = ray.remote(num_cpus=cpus, num_gpus=gpus_per_run, max_retries=0, max_calls=1)(run_cell)
    # submitted in run order: Ray starts a node's queued tasks first in, first out
    pending = {
        task.remote(dataclasses.asdict(cell.config), int(cpus), {"grid": grid.name, "variant": cell.variant}): cell
        for cell in todo
    }
    progress = tqdm(total=len(todo), desc=f"grid {grid.name}", unit="cell")
    # SIGTERM (a batch scheduler's stop, kill) stops the grid as Ctrl-C does; by default the driver would just
    # die and leave its cells to be killed with the local Ray, unannounced
    with terminate_as_ctrl_c() as stop:
        try:
            while pending:
                # a timeout so that the running count is refreshed while long cells train
                done, _ = ray.wait(list(pending), num_returns=1, timeout=PROGRESS_SECONDS)
                for ref in done:
                    cell = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                        statuses[cell.name], nodes[cell.name] = FINISHED, result["node"]
                    except (RayTaskError, TaskCancelledError) as error:
                        statuses[cell.name] = f"failed: {_error_line(error)}"
                        log.error("grid %s: cell %s failed: %s", grid.name, cell.name, _error_line(error))
                    progress.update(1)
                failed = sum(status.startswith("failed") for status in statuses.values())
                running = running_cells(len(pending), cpus)
                progress.set_postfix(running=running, queued=len(pending) - running, failed=failed)
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)  # a KeyboardInterrupt in the task: the run stops honestly and resumes next time
            ray.wait(list(pending), num_returns=len(pending), timeout=120)
            if stop.signum is None:
                raise
            raise RunInterrupted(stop.signum, f"grid {grid.name} interrupted by SIGTERM: its running cells were "
                                 "stopped and resume from their checkpoints; run the same command to go on") from None  # fmt: skip
        finally:
            progress.close()
            if started_here:
                ray.shutdown()
    return GridOutcome(statuses, nodes)

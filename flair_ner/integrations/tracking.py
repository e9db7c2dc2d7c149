"""Experiment tracking in MLflow: a run's configuration, per-epoch metrics, final scores and result files.

:class:`MlflowRun` is one kit run as one MLflow run (a resumed kit run continues the same MLflow run:
its id is kept in ``manifest.json``); :class:`MlflowPlugin` is the flair trainer plugin that logs each
epoch. Everything goes through ``MlflowClient`` with explicit run ids, so nothing depends on MLflow's
process-wide "active run" (grid cells run side by side in Ray workers).

The default store is the folder ``mlruns/``: an SQLite database (``mlruns/mlflow.db``; MLflow 3 keeps
its plain-file store in maintenance mode and refuses it by default) and the files under
``mlruns/artifacts/``. ``mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db`` shows them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import time
import urllib.parse
from pathlib import Path
from typing import Iterable, Iterator, Optional

from flair.trainers.plugins import TrainerPlugin
from mlflow.entities import Metric, Param, RunStatus
from mlflow.tracking import MlflowClient

from flair_ner.runs import layout
from flair_ner.config.options import DEFAULT_TRACKING_STORE
from flair_ner.training.plugins import EtaPlugin

log = logging.getLogger(__name__)

# MLflow refuses longer parameter values
MAX_PARAM_LENGTH = 6000
# Files of a finished run that go to MLflow as artifacts (models stay in the run folder: they are large).
ARTIFACTS = (
    layout.METRICS_CSV,
    layout.METRICS_JSON,
    layout.MANIFEST,
    layout.LEARNING_CURVE,
    layout.PER_TYPE_F1,
    layout.confusion_plot("*"),
    layout.SIZES_CSV,
    layout.TEST_DIFF_CSV,
    layout.LOSS_FILE,
    layout.EPOCH_REPORT,
    layout.TRAINING_LOG,
)


def tracking_uri(uri: Optional[str]) -> str:
    """``uri`` as given when it names a server or database (``http://``, ``sqlite:///``, ...); a folder (default
    ``mlruns``), also as MLflow's classic ``file://`` form, becomes the SQLite store inside it (MLflow's file
    store is deprecated and cannot be shared by grid cells)."""
    if uri and uri.startswith("file://"):
        uri = urllib.parse.unquote(urllib.parse.urlparse(uri).path)
    if uri and "://" in uri:
        return uri
    folder = Path(uri or DEFAULT_TRACKING_STORE).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def _local_artifacts(uri: str) -> Optional[str]:
    """Where a local SQLite store keeps its experiments' files (beside the database), else ``None`` (the server's)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
    return None


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """One process at a time sets up a local SQLite store (its first use runs MLflow's database migrations,
    which race when grid cells start together) and creates experiments in it."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    with open(Path(uri.removeprefix("sqlite:///")).with_name(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _flat(values: dict, prefix: str = "") -> Iterable[tuple[str, str]]:
    for key, value in values.items():
        if isinstance(value, dict) and value and prefix == "" and key != "label_map":
            yield from _flat(value, f"{key}.")
        else:
            text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
            yield prefix + key, text[:MAX_PARAM_LENGTH]


class MlflowRun:
    """One kit run in MLflow.

    Args:
        uri: the tracking URI (see :func:`tracking_uri`).
        experiment: the MLflow experiment (created when missing).
        run_name: the run's name (the kit uses the run folder's name).
        run_id: an MLflow run to continue (a resumed kit run); ``None``: a new run.
        tags: tags for a new run (data set, embeddings, seed, git commit, grid and variant).
    """

    def __init__(
        self, uri: str, experiment: str, run_name: str, run_id: Optional[str] = None, tags: Optional[dict] = None
    ) -> None:
        self.uri = uri
        with _store_lock(uri):
            self.client = MlflowClient(tracking_uri=uri)
            found = self.client.get_experiment_by_name(experiment)
            experiment_id = (
                found.experiment_id
                if found
                else self.client.create_experiment(experiment, artifact_location=_local_artifacts(uri))
            )
        if run_id:
            self.run_id = run_id
            self.client.update_run(run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        else:
            tags = {key: str(value) for key, value in (tags or {}).items() if value is not None}
            self.run_id = self.client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id

    def log_params(self, config: dict) -> None:
        """Every configuration value as a parameter (nested tables flattened; a resumed run logs the same values)."""
        if self.client.get_run(self.run_id).data.params:
            return  # MLflow parameters cannot change; a resumed run has them already
        params = [Param(key, value) for key, value in _flat(config)]
        for start in range(0, len(params), 100):  # MLflow takes at most 100 parameters per call
            self.client.log_batch(self.run_id, params=params[start : start + 100])

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self.client.log_metric(self.run_id, key, float(value), step=step)

    def log_results(self, results: Iterable) -> None:
        """Each test set's micro/macro/weighted F1, per-type F1 and token accuracy, under ``test_<name>/``."""
        now = int(time.time() * 1000)
        metrics = []
        for result in results:
            scores = result.scores.set_index("label")
            for label, row in scores.iterrows():
                name = label.replace(" avg", "") if label.endswith(" avg") else label
                metrics.append(Metric(f"test_{result.name}/{name}_f1", float(row["f1"]), now, 0))
            metrics.append(Metric(f"test_{result.name}/token_accuracy", float(result.token_accuracy), now, 0))
        for start in range(0, len(metrics), 1000):
            self.client.log_batch(self.run_id, metrics=metrics[start : start + 1000])

    def log_files(self, folder: Path, patterns: Iterable[str] = ARTIFACTS) -> None:
        """The run folder's files that match ``patterns`` (names or globs), as the run's artifacts."""
        for pattern in patterns:
            for path in sorted(Path(folder).glob(pattern)):
                self.client.log_artifact(self.run_id, str(path))

    def end(self, status: str) -> None:
        """``FINISHED``, ``KILLED`` (interrupted: the kit run resumes it) or ``FAILED``."""
        self.client.set_terminated(self.run_id, status)


class MlflowPlugin(TrainerPlugin):
    """Logs every epoch of flair's training loop to an :class:`MlflowRun`: the training loss, every dev
    score flair computes (loss, per-type and averaged precision/recall/F1, accuracy), the learning rate
    and the epoch's seconds, each at step = epoch.

    The epoch's seconds are the run's :class:`~flair_ner.training.plugins.EtaPlugin`'s (found among the trainer's
    plugins), so that MLflow, ``epochs.csv`` and the ETA agree; without one, no ``epoch_seconds`` is logged.
    """

    def __init__(self, run: MlflowRun) -> None:
        super().__init__()
        self.run = run

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kw) -> None:
        self.run.log_metric("learning_rate", self.trainer.optimizer.param_groups[0]["lr"], epoch)

    @TrainerPlugin.hook
    def metric_recorded(self, record) -> None:
        # per-batch records (train/batch_loss, gradient norms, learning-rate lists) would be thousands of points
        if record.is_scalar and record.name.parts[0] in ("train", "dev") and "batch_loss" not in record.name.parts:
            key = "/".join(str(part) for part in record.name.parts).replace(" ", "_")
            self.run.log_metric(key, record.value, record.global_step)

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kw) -> None:
        # train_tagger attaches the timer before any extra plugin, so it has timed this epoch by now
        timer = next((plugin for plugin in self.trainer.plugins if isinstance(plugin, EtaPlugin)), None)
        if timer is not None and timer.epoch_seconds:
            self.run.log_metric("epoch_seconds", timer.epoch_seconds[-1], epoch)

    @property
    def attach_to_all_processes(self) -> bool:
        return False

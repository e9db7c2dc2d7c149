"""The kit's flair trainer plugins, one concern each (as flair's own ``flair/trainers/plugins``).

- :class:`ResumePlugin`: a :class:`~flair_ner.runs.checkpoint.TrainingState` after
  every epoch, restored exactly when a run continues.
- :class:`EtaPlugin`: epoch timing and an overall ETA line.
- :class:`EpochReportPlugin`: ``epochs.csv``, one row per epoch (losses, dev P/R/F1, token accuracy, lr, speed).
- :class:`CompactEmbeddingsPlugin`: stored embeddings that do not pin whole LM outputs.
- :class:`DropTrainedDevEmbeddingsPlugin`: dev vectors of trained embeddings recomputed at every evaluation.
- :class:`TestPassNotePlugin`: says in training.log why flair's own test score is 0.
- :class:`EpochProgressBarPlugin`: a progress bar over each epoch's mini-batches (rate, time left);
  :func:`no_flair_bars` turns flair's own bars off where they show nothing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import pandas as pd
from flair.file_utils import Tqdm
from flair.trainers.plugins import TrainerPlugin
from flair.trainers.plugins.functional.anneal_on_plateau import AnnealingPlugin
from flair.trainers.plugins.functional.linear_scheduler import LinearSchedulerPlugin
from tqdm import tqdm

from flair_ner.runs.layout import BEST_MODEL  # noqa: F401 - part of this module's interface
from flair_ner.runs.checkpoint import CHECKPOINT, TrainingState, capture_rng, restore_rng
from flair_ner.evaluation.scores import iob2_tags, score_spans, spans_of
from flair_ner.files import write_csv
from flair_ner.training.speed import compact_embeddings

log = logging.getLogger(__name__)

# AnnealOnPlateau keeps its state in these attributes and has no state_dict().
SCHEDULER_FIELDS = ("best", "best_aux", "num_bad_epochs", "last_epoch", "cooldown_counter", "effective_patience")


def _plain(value: Any) -> Any:
    """A plain number (flair keeps some scores as zero-dimensional tensors)."""
    return value if value is None or isinstance(value, (int, str)) else float(value)


class EtaPlugin(TrainerPlugin):
    """Times every epoch (training and dev evaluation) and estimates the time left.

    Args:
        max_epochs: the run's last epoch.
        window: how many recent epochs the estimate averages (the first one also embeds every sentence).
        epoch_seconds: times of epochs completed before a resume, so that they carry over.
    """

    def __init__(self, max_epochs: int, window: int = 3, epoch_seconds: Optional[list[float]] = None) -> None:
        super().__init__()
        self.max_epochs = max_epochs
        self.window = window
        self.epoch_started = 0.0
        self.epoch_seconds: list[float] = list(epoch_seconds or [])

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kw) -> None:
        self.epoch_started = time.monotonic()

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kw) -> None:
        self.epoch_seconds.append(time.monotonic() - self.epoch_started)

    def seconds_left(self, epoch: int) -> float:
        """After ``epoch``: the recent mean epoch time times the epochs left (an upper bound: annealing may stop early)."""
        recent = self.epoch_seconds[-self.window :]
        return (self.max_epochs - epoch) * sum(recent) / max(1, len(recent))

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "max_epochs": self.max_epochs, "window": self.window}


class CompactEmbeddingsPlugin(TrainerPlugin):
    """Applies :func:`~flair_ner.training.speed.compact_embeddings` to each training batch and to the dev set after evaluation."""

    @TrainerPlugin.hook
    def after_training_batch(self, batch, **kw) -> None:
        compact_embeddings(batch)

    @TrainerPlugin.hook
    def after_evaluation(self, **kw) -> None:
        if self.corpus.dev is not None:
            compact_embeddings(self.corpus.dev)


class DropTrainedDevEmbeddingsPlugin(TrainerPlugin):
    """Removes the dev sentences' vectors of trained embeddings (scratch words and characters) after each
    evaluation, so that the next evaluation computes them with the weights of then.

    flair keeps stored vectors between epochs and clears trained ones after every training batch, but it tells
    them apart by ``requires_grad``, which is off during evaluation: with storage mode ``cpu`` or ``gpu`` the
    dev vectors of epoch 1 would be reused for good, and every later dev score (model selection, annealing)
    would be computed from stale features.

    Args:
        names: the trained embeddings' names.
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = names

    @TrainerPlugin.hook
    def after_evaluation(self, **kw) -> None:
        for sentence in self.corpus.dev or []:
            sentence.clear_embeddings(self.names)


class TestPassNotePlugin(TrainerPlugin):
    """Ends training.log with why flair reported "Test data not provided setting final score to 0".

    The kit hands flair a corpus without a test split on purpose: it evaluates
    the chosen model on every test set itself, after training, with the full
    per-class report.
    """

    @TrainerPlugin.hook
    def after_training(self, **kw) -> None:
        logging.getLogger("flair").info(
            "(flair-ner: flair's test score above is 0 because the kit keeps the test sets out of flair's training "
            "loop; it evaluates the chosen model on each test set itself next: see metrics.csv and the terminal)"
        )


class EpochProgressBarPlugin(TrainerPlugin):
    """A tqdm bar over each epoch's mini-batches, with its rate and the time left.

    flair itself only logs a line every tenth of an epoch, so an epoch of minutes shows nothing for a long
    time; its evaluation pass draws a bar of its own. The bar goes to stderr and only when stderr is a terminal
    (``disable=None``), so logs, CI and training.log keep flair's lines alone.

    Args:
        disable: ``None`` (a bar in terminals only), ``True`` (never) or ``False`` (always, e.g. in tests).
    """

    def __init__(self, disable: Optional[bool] = None) -> None:
        super().__init__()
        self.disable = disable
        self.bar: Optional[tqdm] = None

    @TrainerPlugin.hook
    def before_training_batch(self, batch_no: int, total_number_of_batches: int, epoch: int, **kw) -> None:
        if batch_no == 0:
            self._close()
            self.bar = tqdm(total=total_number_of_batches, desc=f"epoch {epoch}", unit=" batches",
                            disable=self.disable, leave=False)  # fmt: skip

    @TrainerPlugin.hook
    def after_training_batch(self, batch_no: int, **kw) -> None:
        if self.bar is not None:
            self.bar.update(1)

    @TrainerPlugin.hook
    def after_training_epoch(self, **kw) -> None:
        self._close()

    @TrainerPlugin.hook("_training_finally")
    def _training_finally(self, **kw) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochReportPlugin(TrainerPlugin):
    """One row per epoch in ``epochs.csv`` and one line in the terminal and training.log, as a Hugging Face
    Trainer user reads them: training loss, dev loss, dev micro precision/recall/F1 and token accuracy (from
    the dev predictions flair just made: seqeval's definitions), learning rate, seconds, training sentences
    per second and the time left.

    Args:
        path: the CSV file (rewritten whole after every epoch; a resumed run first drops the rows of epochs
            after its checkpoint, which it trains again).
        timer: the run's :class:`EtaPlugin` (epoch times and the estimate of the time left).
        start_epoch: the epoch the run continues after (0 for a new run).
    """

    def __init__(self, path: Path, timer: EtaPlugin, start_epoch: int = 0) -> None:
        super().__init__()
        self.path = Path(path)
        self.timer = timer
        self.rows: list[dict[str, Any]] = []
        if start_epoch and self.path.is_file():
            self.rows = [row for row in pd.read_csv(self.path).to_dict("records") if row["epoch"] <= start_epoch]
        self.epoch_started = 0.0
        self.values: dict[str, float] = {}

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kw) -> None:
        self.epoch_started = time.monotonic()
        self.values = {}

    @TrainerPlugin.hook
    def metric_recorded(self, record) -> None:
        if record.is_scalar and tuple(record.name.parts) in (("train", "loss"), ("dev", "loss")):
            self.values["_".join(record.name.parts)] = float(record.value)

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kw) -> None:
        seconds = self.timer.epoch_seconds[-1] if self.timer.epoch_seconds else time.monotonic() - self.epoch_started
        # the rate after the epoch's last step, before annealing may lower it (as flair's loss.tsv has it)
        learning_rate = self.trainer.optimizer.param_groups[0]["lr"]
        row = {"epoch": epoch, "learning_rate": learning_rate, "train_loss": self.values.get("train_loss"),
               "dev_loss": self.values.get("dev_loss")}  # fmt: skip
        dev = list(self.corpus.dev) if self.corpus.dev is not None else []
        if dev and any(sentence.get_labels("predicted") or sentence.get_labels("ner") for sentence in dev):
            gold = [spans_of(sentence, "ner") for sentence in dev]
            predicted = [spans_of(sentence, "predicted") for sentence in dev]
            micro = score_spans(gold, predicted).set_index("label").loc["micro avg"]
            tags = [(g, p) for sentence, gs, ps in zip(dev, gold, predicted)
                    for g, p in zip(iob2_tags(len(sentence), gs), iob2_tags(len(sentence), ps))]  # fmt: skip
            row.update(dev_precision=micro["precision"], dev_recall=micro["recall"], dev_f1=micro["f1"],
                       dev_token_accuracy=sum(g == p for g, p in tags) / max(1, len(tags)))  # fmt: skip
        row.update(seconds=round(seconds, 2), train_sentences_per_second=round(len(self.corpus.train) / seconds, 1))
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row]
        write_csv(self.path, pd.DataFrame(self.rows))
        dev_text = (f"dev P {100 * row['dev_precision']:.2f} R {100 * row['dev_recall']:.2f} F1 {100 * row['dev_f1']:.2f}"
                    f" token accuracy {100 * row['dev_token_accuracy']:.2f}" if "dev_f1" in row else "no dev set")  # fmt: skip
        # flair's logger: the line goes to the terminal and to training.log
        logging.getLogger("flair").info(
            "epoch %d/%d: train loss %.4f, %s, lr %.2g, %.0f s (%.0f sentences/s), about %.0f min left at most",
            epoch, self.timer.max_epochs, row["train_loss"] or float("nan"), dev_text, row["learning_rate"], seconds,
            row["train_sentences_per_second"], self.timer.seconds_left(epoch) / 60,
        )  # fmt: skip


class AnnealingState:
    """What :class:`ResumePlugin` saves and restores of flair's AnnealOnPlateau (SGD runs); it has no state_dict()."""

    def __init__(self, annealing: AnnealingPlugin) -> None:
        self.plugin = annealing

    def state(self) -> dict[str, Any]:
        return {name: _plain(getattr(self.plugin.scheduler, name)) for name in SCHEDULER_FIELDS}

    def load(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self.plugin.scheduler, name, value)
        self.plugin.store_learning_rate()

    def ended_training(self) -> bool:
        """Whether flair stopped because the learning rate fell below the minimum (an end condition)."""
        return all(lr < self.plugin.min_learning_rate for lr in self.plugin.current_learning_rate)


class LinearScheduleState:
    """What :class:`ResumePlugin` saves and restores of flair's linear warmup/decay schedule (fine-tuning)."""

    def __init__(self, schedule: LinearSchedulerPlugin) -> None:
        self.plugin = schedule

    def state(self) -> dict[str, Any]:
        return self.plugin.scheduler.state_dict()

    def load(self, state: dict[str, Any]) -> None:
        self.plugin.scheduler.load_state_dict(state)
        self.plugin.store_learning_rate()

    def ended_training(self) -> bool:
        return False  # the schedule never stops training early


class ResumePlugin(TrainerPlugin):
    """Writes ``checkpoint.pt`` after every epoch and, in a resumed run, restores it before the first epoch.

    The checkpoint is written when the next epoch starts (or when training
    ends), after flair has saved ``best-model.pt`` and appended the epoch to
    ``loss.tsv``, so that everything on disk belongs to the same epoch. The
    random-number generators are captured and restored at that same point,
    which makes the rest of a resumed run repeat the uninterrupted one.

    flair keeps its best dev score in a local variable, so in a resumed run its
    first epoch always looks best; this plugin keeps the better ``best-model.pt``
    from before the interruption (set aside while flair writes, then put back).

    Args:
        base_path: the run folder.
        schedule: the run's learning-rate schedule (:class:`AnnealingState` or :class:`LinearScheduleState`),
            saved and restored.
        epoch_timer: the run's :class:`EtaPlugin`, whose epoch times are saved.
        config: the run's configuration, stored in the checkpoint.
        restore: the checkpoint to continue from, or ``None`` for a new run.
        maximize: whether dev scores are compared (``False`` when training on train+dev).
    """

    def __init__(
        self,
        base_path: Path,
        schedule: AnnealingState | LinearScheduleState,
        epoch_timer: EtaPlugin,
        config: dict[str, Any],
        restore: Optional[TrainingState] = None,
        maximize: bool = True,
    ) -> None:
        super().__init__()
        self.base_path = Path(base_path)
        self.schedule = schedule
        self.epoch_timer = epoch_timer
        self.config = config
        self.restore = restore
        self.maximize = maximize
        self.best_score: Optional[float] = restore.best_score if restore else None
        self.completed_epoch = restore.epoch if restore else 0
        self.saved_epoch = self.completed_epoch
        self.reached_end = restore.finished if restore else False
        self._saved_as_finished = self.reached_end
        self._kept: Optional[Path] = None

    def _put_back_best_model(self) -> None:
        if self._kept is not None:
            self._kept.replace(self.base_path / BEST_MODEL)
            self._kept = None

    def state(self) -> TrainingState:
        """The trainer's state now (call between epochs)."""
        return TrainingState(
            epoch=self.completed_epoch,
            model=self.model._get_state_dict(),
            optimizer=self.trainer.optimizer.state_dict(),
            scheduler=self.schedule.state(),
            rng=capture_rng(),
            best_score=self.best_score,
            epoch_seconds=list(self.epoch_timer.epoch_seconds),
            config=self.config,
            finished=self.reached_end,
        )

    def save(self) -> None:
        """Write the checkpoint of the last completed epoch (once per epoch, and once more when training ends)."""
        if self.completed_epoch > self.saved_epoch or (self.reached_end and not self._saved_as_finished):
            self._saved_as_finished = self.reached_end
            self.state().save(self.base_path / CHECKPOINT)
            self.saved_epoch = self.completed_epoch

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kw) -> None:
        self._put_back_best_model()
        if self.restore is not None:
            self.trainer.optimizer.load_state_dict(self.restore.optimizer)
            self.schedule.load(self.restore.scheduler)
            restore_rng(self.restore.rng)
            log.info("resumed after epoch %d: optimizer, schedule, random state and best score restored", epoch - 1)
            self.restore = None
        else:
            self.save()

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, current_model_is_best: bool, validation_scores: tuple, **kw) -> None:
        self.completed_epoch = epoch
        score = float(validation_scores[0]) if self.maximize and validation_scores else None
        if score is not None and current_model_is_best:
            existing = self.base_path / BEST_MODEL
            if self.best_score is not None and score <= self.best_score and existing.is_file():
                # flair is about to save this epoch as best; an earlier process had a better one
                self._kept = existing.with_name(f".{BEST_MODEL}.kept")
                existing.replace(self._kept)
            else:
                self.best_score = score

    @TrainerPlugin.hook
    def after_training_loop(self, **kw) -> None:
        self._put_back_best_model()
        self.reached_end = True
        self.save()

    @TrainerPlugin.hook
    def training_interrupt(self, **kw) -> None:
        # flair dispatches this for its own stop (learning rate below the minimum: an end condition) and for a
        # KeyboardInterrupt that got past the kit's signal handlers (not an end: the caller reports it).
        self._put_back_best_model()
        self.reached_end = self.schedule.ended_training()
        if self.reached_end:
            self.save()

    @TrainerPlugin.hook("_training_finally")
    def put_back_best_model(self, **kw) -> None:
        self._put_back_best_model()

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "base_path": str(self.base_path), "maximize": self.maximize}


@contextlib.contextmanager
def no_flair_bars() -> Iterator[None]:
    """flair's own progress bars off inside the block (its label-dictionary pass draws empty "0it" bars)."""
    saved, original = Tqdm.__dict__["tqdm"], Tqdm.tqdm
    Tqdm.tqdm = staticmethod(lambda *args, **kwargs: original(*args, **{**kwargs, "disable": True}))
    try:
        yield
    finally:
        Tqdm.tqdm = saved

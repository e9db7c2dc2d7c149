"""Training the BiLSTM-CRF tagger: flair's ``SequenceTagger`` over stacked embeddings, with flair's ``ModelTrainer``.

The kit adds, as flair trainer plugins: resuming after an interruption
(:class:`ResumePlugin`), an overall ETA line (:class:`EtaPlugin`), and
stored embeddings that do not pin whole LM outputs in memory
(:class:`CompactEmbeddingsPlugin`). Its CPU speed levers (embeddings computed
once, length-bucketed batches, bf16 autocast) live in :mod:`flair_ner.speed`.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from flair.trainers.plugins import TrainerPlugin
from flair.trainers.plugins.functional.anneal_on_plateau import AnnealingPlugin

from flair_ner.config import TrainConfig
from flair_ner.files import atomic_path, write_text

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
RESUME_STATE = "resume.json"
FINAL_MODEL = "final-model.pt"
BEST_MODEL = "best-model.pt"
STORAGE_MODES = ("none", "cpu", "gpu")


def choose_device(requested: Optional[str] = None) -> str:
    """``cuda`` when requested or available, else ``cpu``."""
    import torch

    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def choose_storage_mode(requested: Optional[str] = None, device: Optional[str] = None) -> str:
    """Embeddings storage: ``gpu`` when training on CUDA (no copies back and forth), else ``cpu``."""
    if requested:
        if requested not in STORAGE_MODES:
            raise ValueError(f"storage_mode must be one of {', '.join(STORAGE_MODES)}, not {requested!r}")
        return requested
    return "gpu" if choose_device(device).startswith("cuda") else "cpu"


class ResumePlugin(TrainerPlugin):
    """After every epoch, save the model and the trainer's state so that training can resume.

    flair 0.15 can start from a given epoch (``train(epoch=...)``) but keeps the
    learning rate, the annealing state and the best dev score in memory only.
    This plugin writes them to ``resume.json`` beside ``checkpoint.pt`` and
    restores them. Because flair's own best score starts again from zero in a
    resumed run, it would overwrite a better ``best-model.pt`` from before the
    interruption; the plugin sets that file aside and puts it back.
    """

    def __init__(self, base_path: Path, restore: Optional[dict[str, Any]] = None, maximize: bool = True) -> None:
        super().__init__()
        self.base_path = Path(base_path)
        self.restore = restore
        self.maximize = maximize
        self.best_score: Optional[float] = (restore or {}).get("best_score")
        self._kept: Optional[Path] = None

    def _scheduler(self):
        for plugin in self.trainer.plugins:
            if hasattr(plugin, "scheduler"):
                return plugin.scheduler
        return None

    def _put_back_best_model(self) -> None:
        if self._kept is not None:
            self._kept.replace(self.base_path / BEST_MODEL)
            self._kept = None

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kw) -> None:
        self._put_back_best_model()
        scheduler = self._scheduler()
        if self.restore and scheduler is not None:
            for name, value in self.restore["scheduler"].items():
                setattr(scheduler, name, value)
            log.info("resumed at epoch %d with annealing state %s", epoch, self.restore["scheduler"])
            self.restore = None

    @TrainerPlugin.hook("after_training_loop", "_training_finally")
    def put_back_best_model(self, **kw) -> None:
        self._put_back_best_model()

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, current_model_is_best: bool, validation_scores: tuple, **kw) -> None:
        score = float(validation_scores[0]) if self.maximize and validation_scores else None
        if score is not None and current_model_is_best:
            existing = self.base_path / BEST_MODEL
            if self.best_score is not None and score <= self.best_score and existing.is_file():
                # flair is about to save this epoch as best; an earlier run had a better one
                self._kept = existing.with_name(f".{BEST_MODEL}.kept")
                existing.replace(self._kept)
            else:
                self.best_score = score
        scheduler = self._scheduler()
        state = {
            "epoch": epoch,
            "learning_rate": [group["lr"] for group in self.trainer.optimizer.param_groups][0],
            "best_score": self.best_score,
            "scheduler": {
                name: _plain(getattr(scheduler, name))
                for name in ("best", "best_aux", "num_bad_epochs", "last_epoch", "cooldown_counter", "effective_patience")
            }
            if scheduler is not None
            else {},
        }
        with atomic_path(self.base_path / CHECKPOINT) as temporary:
            self.model.save(temporary)
        write_text(self.base_path / RESUME_STATE, json.dumps(state, indent=2) + "\n")


def compact_embeddings(sentences) -> int:
    """Give every stored token embedding its own memory; returns how many were copied.

    flair's ``FlairEmbeddings`` store each token's vector as a view into the LM's
    output for the whole batch (characters x sentences x hidden), and
    ``store_embeddings(..., "cpu")`` does not copy on the CPU, so every batch's
    full LM output stays alive: on CoNLL++ with two hidden-512 LMs that was
    18.5 GB of resident memory instead of about 1 GB.
    """
    copied = 0
    for sentence in sentences:
        for token in sentence:
            for name in list(token._embeddings):  # flair has no public iterator over named embeddings
                vector = token.get_embedding([name])
                if vector.untyped_storage().nbytes() > vector.nbytes:
                    token.set_embedding(name, vector.clone())
                    copied += 1
    return copied


class CompactEmbeddingsPlugin(TrainerPlugin):
    """Applies :func:`compact_embeddings` to each training batch and to the dev set after each evaluation."""

    @TrainerPlugin.hook
    def after_training_batch(self, batch, **kw) -> None:
        compact_embeddings(batch)

    @TrainerPlugin.hook
    def after_evaluation(self, **kw) -> None:
        if self.corpus.dev is not None:
            compact_embeddings(self.corpus.dev)


def _plain(value: Any) -> Any:
    """A JSON-safe number (flair keeps some scores as zero-dimensional tensors)."""
    return value if value is None or isinstance(value, (int, str)) else float(value)


class EtaPlugin(TrainerPlugin):
    """One line per epoch: epochs done, recent seconds per epoch, and the estimated time to the last epoch."""

    def __init__(self, max_epochs: int, window: int = 3) -> None:
        super().__init__()
        self.max_epochs = max_epochs
        self.window = window
        self.epoch_started = 0.0
        self.epoch_seconds: list[float] = []

    @TrainerPlugin.hook
    def before_training_epoch(self, epoch: int, **kw) -> None:
        self.epoch_started = time.monotonic()

    @TrainerPlugin.hook
    def after_evaluation(self, epoch: int, **kw) -> None:
        self.epoch_seconds.append(time.monotonic() - self.epoch_started)
        # Recent epochs only: the first one also computes (and stores) every embedding once.
        recent = self.epoch_seconds[-self.window :]
        mean = sum(recent) / len(recent)
        remaining = (self.max_epochs - epoch) * mean
        log.info(
            "ETA: epoch %d/%d done, %.0f s/epoch lately, about %.0f min left (at most, if no early stop)",
            epoch,
            self.max_epochs,
            mean,
            remaining / 60,
        )


def build_tagger(corpus, config: TrainConfig, data_dir=None):
    """``SequenceTagger(hidden_size, use_crf, tag_type="ner")`` over the configured stacked embeddings."""
    from flair.models import SequenceTagger

    from flair_ner.embeddings import default_stack

    label_dictionary = corpus.make_label_dictionary(label_type="ner", add_unk=False)
    embeddings = default_stack(config.embeddings, config.glove, config.lm_names(), data_dir, config.transformer)
    return SequenceTagger(
        hidden_size=config.hidden_size,
        embeddings=embeddings,
        tag_dictionary=label_dictionary,
        tag_type="ner",
        use_crf=config.use_crf,
    )


def limit_corpus(corpus, train_limit: Optional[int], eval_limit: Optional[int]):
    """The first N sentences of each split (for smoke runs), as a new flair ``Corpus``."""
    from flair.data import Corpus
    from torch.utils.data import Subset

    def head(dataset, limit):
        if dataset is None or limit is None or limit >= len(dataset):
            return dataset
        return Subset(dataset, range(limit))

    if train_limit is None and eval_limit is None:
        return corpus
    return Corpus(
        head(corpus.train, train_limit),
        head(corpus.dev, eval_limit),
        head(corpus.test, eval_limit),
        name=corpus.name,
        sample_missing_splits=False,
    )


@dataclass
class TrainResult:
    """What :func:`train_tagger` produced."""

    output_dir: Path
    final_model: Path
    best_model: Optional[Path]
    device: str
    storage_mode: str
    epoch_seconds: list[float]
    total_seconds: float
    resumed_from_epoch: int
    embeddings: list[str]
    precompute_seconds: float = 0.0
    use_amp: bool = False


def train_tagger(corpus, output_dir: Path, config: TrainConfig, data_dir=None) -> TrainResult:
    """Train (or resume) the tagger on a flair corpus; writes final-model.pt, best-model.pt, loss.tsv, training.log.

    Args:
        corpus: flair ``Corpus`` with an ``ner`` span layer (see ``flair_ner.corpus.load_corpus``).
        output_dir: the run folder; a ``checkpoint.pt`` there is resumed from.
        config: model and training options.
        data_dir: cache for offline embeddings.
    """
    import flair
    import torch
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer

    from flair_ner.speed import LengthBucketSampler, all_static, amp_supported, dev_in_length_order, precompute_embeddings

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = choose_device(config.device)
    flair.device = torch.device(device)
    storage_mode = choose_storage_mode(config.storage_mode, device)
    corpus = limit_corpus(corpus, config.train_limit, config.eval_limit)
    if config.bucket_batches:
        corpus = dev_in_length_order(corpus)

    start_epoch, learning_rate, restore = 0, config.learning_rate, None
    state_file = output_dir / RESUME_STATE
    if (output_dir / CHECKPOINT).is_file() and state_file.is_file():
        restore = json.loads(state_file.read_text(encoding="utf-8"))
        start_epoch, learning_rate = restore["epoch"], restore["learning_rate"]
        log.info("resuming %s after epoch %d at learning rate %g", output_dir, start_epoch, learning_rate)
    # Seeded per starting epoch: deterministic, and a resumed run does not replay epoch 1's shuffles.
    flair.set_seed(config.seed + start_epoch)
    if restore is None:
        tagger = build_tagger(corpus, config, data_dir)
    else:
        tagger = SequenceTagger.load(output_dir / CHECKPOINT)

    eta = EtaPlugin(config.max_epochs)
    started = time.monotonic()
    use_amp = amp_supported(device) if config.amp is None else config.amp
    precompute = config.precompute and storage_mode != "none" and all_static(tagger.embeddings)
    precompute_seconds = 0.0
    if precompute:
        splits = {"train": corpus.train, "dev": corpus.dev}
        for name, split in splits.items():
            if split is not None:
                precompute_seconds += precompute_embeddings(tagger.embeddings, split, what=f"{name} sentences")
    log.info(
        "speed levers: precomputed embeddings %s, length-bucketed batches %s, mixed precision %s",
        precompute,
        config.bucket_batches,
        use_amp,
    )
    ModelTrainer(tagger, corpus).train(
        output_dir,
        learning_rate=learning_rate,
        mini_batch_size=config.mini_batch_size,
        max_epochs=config.max_epochs,
        train_with_dev=config.train_with_dev,
        embeddings_storage_mode=storage_mode,
        eval_batch_size=config.eval_batch_size,
        sampler=LengthBucketSampler(config.mini_batch_size) if config.bucket_batches else None,
        use_amp=use_amp,
        epoch=start_epoch,
        # annealing first, so that the state saved for resuming is the state after this epoch's step
        attach_default_scheduler=False,
        plugins=[
            AnnealingPlugin(
                base_path=output_dir,
                min_learning_rate=0.0001,
                anneal_factor=config.anneal_factor,
                patience=config.patience,
                initial_extra_patience=0,
                anneal_with_restarts=False,
            ),
            ResumePlugin(output_dir, restore, maximize=not config.train_with_dev),
            eta,
            # precomputed vectors are compact already; otherwise flair stores views into LM outputs
            *([] if precompute else [CompactEmbeddingsPlugin()]),
        ],
    )
    best = output_dir / BEST_MODEL
    return TrainResult(
        output_dir=output_dir,
        final_model=output_dir / FINAL_MODEL,
        best_model=best if best.is_file() else None,
        device=device,
        storage_mode=storage_mode,
        epoch_seconds=eta.epoch_seconds,
        total_seconds=time.monotonic() - started,
        resumed_from_epoch=start_epoch,
        embeddings=[embedding.name for embedding in tagger.embeddings.embeddings],
        precompute_seconds=precompute_seconds,
        use_amp=use_amp,
    )

"""Training the BiLSTM-CRF tagger: flair's ``SequenceTagger`` over stacked embeddings, with flair's ``ModelTrainer``.

The kit adds flair trainer plugins (:mod:`flair_ner.training.plugins`): an exact
checkpoint after every epoch and its restore (:class:`ResumePlugin`), epoch
timing with an ETA (:class:`EtaPlugin`), and stored embeddings that do not pin
whole LM outputs in memory (:class:`CompactEmbeddingsPlugin`). SIGINT/SIGTERM
stop training without a "final" model (:mod:`flair_ner.runs.interrupt`). Its CPU
speed levers (embeddings computed once, length-bucketed batches, bf16
autocast) live in :mod:`flair_ner.training.speed`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import flair
import torch
from flair.models import SequenceTagger
from flair.trainers import ModelTrainer
from flair.trainers.plugins.functional.anneal_on_plateau import AnnealingPlugin
from flair.trainers.plugins.functional.linear_scheduler import LinearSchedulerPlugin

from flair_ner.runs.layout import EPOCH_REPORT, FINAL_MODEL, LOSS_FILE  # noqa: F401 - part of this module's interface
from flair_ner.errors import ConfigError
from flair_ner.runs.checkpoint import CHECKPOINT, TrainingState, drop_log_lines, load_state
from flair_ner.config.options import STORAGE_MODES, TrainConfig
from flair_ner.embeddings.stacks import default_stack, glove_embeddings, stack_members, transformer_embeddings
from flair_ner.runs.interrupt import RunInterrupted, interruptible
from flair_ner.training.plugins import (
    no_flair_bars,
    BEST_MODEL,
    AnnealingState,
    CompactEmbeddingsPlugin,
    DropTrainedDevEmbeddingsPlugin,
    EpochProgressBarPlugin,
    EpochReportPlugin,
    EtaPlugin,
    LinearScheduleState,
    ResumePlugin,
    TestPassNotePlugin,
)
from flair_ner.training.speed import (
    LengthBucketSampler,
    all_static,
    amp_supported,
    dev_in_length_order,
    precompute_embeddings,
)

log = logging.getLogger(__name__)

MIN_LEARNING_RATE = 0.0001


def choose_device(requested: Optional[str] = None) -> str:
    """``cuda`` when requested or available, else ``cpu``."""
    if requested:
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def choose_storage_mode(requested: Optional[str] = None, device: Optional[str] = None) -> str:
    """Embeddings storage: ``gpu`` when training on CUDA (no copies back and forth), else ``cpu``."""
    if requested:
        if requested not in STORAGE_MODES:
            raise ConfigError(f"storage_mode must be one of {', '.join(STORAGE_MODES)}, not {requested!r}")
        return requested
    return "gpu" if choose_device(device).startswith("cuda") else "cpu"


def configured_stack(config: TrainConfig, data_dir=None, corpus=None):
    """The stacked embeddings ``config`` names (:func:`~flair_ner.embeddings.stacks.default_stack`; the scratch
    stack learns its vocabularies from ``corpus``), before any pooled tables."""
    return default_stack(
        config.embeddings,
        config.glove,
        config.lm_names(),
        data_dir,
        config.transformer,
        corpus=corpus,
        transformer_layers=config.transformer_layers,
    )


def build_tagger(corpus, config: TrainConfig, data_dir=None, output_dir: Optional[Path] = None):
    """``SequenceTagger(hidden_size, use_crf, word_dropout, locked_dropout, tag_type="ner")`` over the configured
    stacked embeddings; for ``method = "fine-tune"``, FLERT's tagger: the fine-tuned transformer's last layer
    (first sub-token), no RNN, no reprojection, a linear layer (or a CRF) on top. With ``pooled_lms``, each Flair
    LM's pooled table is built from ``corpus.train`` and written into ``output_dir`` first
    (:mod:`flair_ner.embeddings.pooled`)."""
    with no_flair_bars():
        label_dictionary = corpus.make_label_dictionary(label_type="ner", add_unk=False)
    # A type that only dev has (a small or --train-limit'ed training split) would crash flair's dev loss with a
    # bare IndexError: added after the training split's types, so a dictionary that lacks none is unchanged.
    for sentence in corpus.dev or []:
        for span in sentence.get_spans("ner"):
            label_dictionary.add_item(span.get_label("ner").value)
    if config.method == "fine-tune":
        return SequenceTagger(
            hidden_size=config.hidden_size,  # unused without an RNN
            embeddings=transformer_embeddings(
                config.transformer, fine_tune=True, use_context=config.use_context, data_dir=data_dir
            ),
            tag_dictionary=label_dictionary,
            tag_type="ner",
            use_crf=config.use_crf,
            use_rnn=False,
            reproject_embeddings=False,
            word_dropout=config.word_dropout,
            locked_dropout=config.locked_dropout,
        )
    embeddings = configured_stack(config, data_dir, corpus)
    if config.pooled_lms:
        from flair.embeddings import StackedEmbeddings

        from flair_ner.embeddings.lm_context import context_lms
        from flair_ner.embeddings.pooled import pooled_table

        parts = list(embeddings.embeddings)
        for number, lm in enumerate(context_lms(embeddings)):
            path = Path(output_dir or ".") / f"pooled-{config.pooled_lms}-{number}.kv"
            table = glove_embeddings(str(pooled_table(lm, corpus.train, config.pooled_lms, path, config.lm_context)))
            table.name = f"{len(parts)}-{table.name}"  # the stack's naming, which a second stack would repeat
            parts.append(table)
        embeddings = StackedEmbeddings(parts, overwrite_names=False)
    return SequenceTagger(
        hidden_size=config.hidden_size,
        embeddings=embeddings,
        tag_dictionary=label_dictionary,
        tag_type="ner",
        use_crf=config.use_crf,
        word_dropout=config.word_dropout,
        locked_dropout=config.locked_dropout,
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
    """What :func:`train_tagger` produced (training reached its end condition)."""

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
    epochs: int = 0
    train_sentences: int = 0


def trim_loss_file(path: Path, epochs: int) -> None:
    """Keep only the header and the rows of the first ``epochs`` epochs of flair's ``loss.tsv``.

    A run stopped after flair appended an epoch's row but before that epoch's
    checkpoint was written repeats the epoch when it resumes; without trimming
    the row would appear twice.
    """
    if epochs == 0 or (path.is_file() and path.stat().st_size == 0):
        path.unlink(missing_ok=True)
        return

    def covered(number: int, line: str) -> bool:
        first = line.split("\t", 1)[0]
        return number == 0 or (first.isdigit() and int(first) <= epochs)  # the header, or an epoch the checkpoint holds

    drop_log_lines(path, covered)


def train_tagger(
    corpus,
    output_dir: Path,
    config: TrainConfig,
    data_dir=None,
    state: Optional[TrainingState] = None,
    plugins: Sequence = (),
) -> TrainResult:
    """Train the tagger on a flair corpus, or continue it from ``checkpoint.pt``.

    Writes final-model.pt, best-model.pt, checkpoint.pt, loss.tsv and
    training.log. On the CPU a continued run ends with the same weights as an
    uninterrupted one (see :class:`~flair_ner.training.plugins.ResumePlugin`).

    Args:
        corpus: flair ``Corpus`` with an ``ner`` span layer (see ``flair_ner.data.corpus.load_corpus``).
        output_dir: the run folder.
        config: model and training options.
        data_dir: cache for offline embeddings.
        state: the checkpoint to continue from; ``None``: ``output_dir/checkpoint.pt`` if it exists.
        plugins: further flair trainer plugins (e.g. :class:`~flair_ner.integrations.tracking.MlflowPlugin`).

    Raises:
        RunInterrupted: SIGINT or SIGTERM stopped training; the message says after which epoch it resumes.
        CheckpointError: ``checkpoint.pt`` is unreadable.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    device = choose_device(config.device)
    flair.device = torch.device(device)
    fine_tune = config.method == "fine-tune"
    # fine-tuned embeddings change every step: storing them between epochs would only cost memory
    storage_mode = (
        "none" if fine_tune and config.storage_mode is None else choose_storage_mode(config.storage_mode, device)
    )
    weights = None
    if config.sentence_weights:  # checked before anything slow; numbered in the whole training file
        from flair_ner.training.sentence_weights import read_sentence_weights

        weights = read_sentence_weights(config.sentence_weights, len(corpus.train))
    corpus = limit_corpus(corpus, config.train_limit, config.eval_limit)
    if config.bucket_batches:
        corpus = dev_in_length_order(corpus)
    if state is None and (output_dir / CHECKPOINT).is_file():
        state = load_state(output_dir / CHECKPOINT)
    start_epoch = state.epoch if state else 0
    trim_loss_file(output_dir / LOSS_FILE, start_epoch)

    # The random state of a resumed run comes from its checkpoint (ResumePlugin), not from this seed.
    flair.set_seed(config.seed)
    if state is None:
        tagger = build_tagger(corpus, config, data_dir, output_dir)
    else:
        tagger = SequenceTagger.load(state.model)
        log.info("resuming %s after epoch %d", output_dir, start_epoch)

    started = time.monotonic()
    use_amp = amp_supported(device) if config.amp is None else config.amp
    precompute = config.precompute and storage_mode != "none" and all_static(tagger.embeddings)
    if config.lm_context == "document" and not precompute:
        # flair's own epoch-1 embedding would read sentence by sentence: a model trained on other vectors
        raise ConfigError("lm_context = document needs a frozen stack precomputed before training (storage_mode cpu)")
    precompute_seconds = 0.0
    trained_names = [part.name for part in stack_members(tagger.embeddings) if not part.static_embeddings]
    if precompute:
        store = None
        if config.embedding_store:
            from flair_ner.embeddings.store import EmbeddingStore

            store = EmbeddingStore.open(Path(config.embedding_store), tagger.embeddings)
        splits = {"train": corpus.train, "dev": corpus.dev}
        if config.lm_context == "document":  # the LMs first, over whole documents; the rest of the stack below
            from flair_ner.embeddings.lm_context import embed_in_documents

            precompute_seconds += embed_in_documents(tagger.embeddings, [s for split in splits.values() if split
                                                                         for s in split])  # fmt: skip
        for name, split in splits.items():
            if split is not None:
                pending = store.load_into(split) if store else split
                if store:
                    log.info("%s: %d of %d %s sentences from the embedding store", config.embedding_store,
                             len(split) - len(pending), len(split), name)  # fmt: skip
                precompute_seconds += precompute_embeddings(tagger.embeddings, pending, what=f"{name} sentences")
    log.info(
        "speed levers: precomputed embeddings %s, length-bucketed batches %s, mixed precision %s%s",
        precompute,
        config.bucket_batches,
        use_amp,
        f", fused AdamW {config.fused_adamw}" if fine_tune else "",
    )
    if config.schedule == "linear":
        # a linear warmup then linear decay to 0 over all steps (flair's fine_tune with AdamW; FLERT)
        schedule_plugin = LinearSchedulerPlugin(warmup_fraction=config.warmup_fraction)
        schedule = LinearScheduleState(schedule_plugin)
    else:
        schedule_plugin = AnnealingPlugin(
            base_path=output_dir,
            min_learning_rate=MIN_LEARNING_RATE,
            anneal_factor=config.anneal_factor,
            patience=config.patience,
            initial_extra_patience=0,
            anneal_with_restarts=False,
        )
        schedule = AnnealingState(schedule_plugin)
    eta = EtaPlugin(config.max_epochs, epoch_seconds=state.epoch_seconds if state else None)
    resume = ResumePlugin(
        output_dir, schedule, eta, dataclasses.asdict(config), restore=state, maximize=not config.train_with_dev
    )
    trainer = ModelTrainer(tagger, corpus)
    weighting = contextlib.nullcontext()
    if weights is not None:
        from flair_ner.training.sentence_weights import attach_weights, weighted

        log.info("sentence weights: %d training sentences weigh other than 1", attach_weights(corpus.train, weights))
        weighting = weighted(tagger)
    try:
        with interruptible(), weighting:
            (trainer.fine_tune if fine_tune else trainer.train)(
                output_dir,
                learning_rate=config.learning_rate,
                decoder_learning_rate=config.decoder_learning_rate,
                mini_batch_size=config.mini_batch_size,
                # a run that ended (e.g. on its minimum learning rate) and was stopped afterwards trains no further
                max_epochs=start_epoch if state and state.finished else config.max_epochs,
                train_with_dev=config.train_with_dev,
                embeddings_storage_mode=storage_mode,
                eval_batch_size=config.eval_batch_size,
                sampler=LengthBucketSampler(config.mini_batch_size) if config.bucket_batches else None,
                use_amp=use_amp,
                epoch=start_epoch,
                attach_default_scheduler=False,
                # as in the stack runs, the best model on dev is kept and evaluated (FLERT evaluates the final one)
                **({"use_final_model_for_eval": False} if fine_tune else {}),
                # flair passes the rest to the optimizer: torch's fused AdamW (config.fused_adamw)
                **({"fused": True} if fine_tune and config.fused_adamw else {}),
                # the checkpoint plugin sees each epoch's evaluation before annealing, which may stop training there
                plugins=[
                    resume,
                    eta,
                    EpochReportPlugin(output_dir / EPOCH_REPORT, eta, start_epoch),
                    EpochProgressBarPlugin(),
                    schedule_plugin,
                    *([] if corpus.test is not None else [TestPassNotePlugin()]),
                    # precomputed vectors are compact already; otherwise flair stores views into LM outputs
                    *([] if precompute or fine_tune else [CompactEmbeddingsPlugin()]),
                    *(
                        [DropTrainedDevEmbeddingsPlugin(trained_names)]
                        if trained_names and storage_mode != "none"
                        else []
                    ),
                    *plugins,
                ],
            )
            if not resume.reached_end:
                # a KeyboardInterrupt that flair caught itself (it then saved a half-trained final model)
                raise RunInterrupted(signal.SIGINT)
    except RunInterrupted as interrupted:
        (output_dir / FINAL_MODEL).unlink(missing_ok=True)
        interrupted.epoch = resume.saved_epoch
        interrupted.message = (
            f"interrupted after epoch {resume.saved_epoch} of {config.max_epochs}; run the same command to resume"
            if resume.saved_epoch
            else "interrupted before the first epoch ended; run the same command to start again"
        )
        raise
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
        embeddings=[part.name for part in stack_members(tagger.embeddings)],
        precompute_seconds=precompute_seconds,
        use_amp=use_amp,
        epochs=resume.completed_epoch,
        train_sentences=len(corpus.train),
    )

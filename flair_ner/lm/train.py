"""Pretraining forward/backward character language models with flair's ``LanguageModelTrainer``.

What the kit adds around flair's trainer:

* a character dictionary built from the LM's own training text (never flair's
  downloaded ``common-chars``);
* a wall-time budget, checked between training splits, after flair has
  validated the previous split;
* a complete checkpoint between splits (weights, optimizer, the learning-rate
  scheduler flair does not save, best loss, random state, split order), from
  which an interrupted run continues exactly (:class:`_ResumableSplits`);
* honest interrupts: SIGINT/SIGTERM stop without a final evaluation (:mod:`flair_ner.runs.interrupt`);
* a TSV of validation loss, perplexity and bits per character after every
  split, and the best model's loss on valid and test.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import os
import random
import re
import shlex
import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Optional

import flair
import pandas as pd
import torch
from flair.data import Dictionary
from flair.models import LanguageModel
from flair.trainers import language_model_trainer as lm_trainer_module
from flair.trainers.language_model_trainer import LanguageModelTrainer, TextCorpus

from flair_ner.runs.layout import (
    LM_BEST_MODEL,
    LM_CHECKPOINT,
    LM_COMMANDS,
    LM_DICTIONARY,
    LM_EPOCH_SNAPSHOT,
    LM_FINAL_EVAL,
    LM_LOSS,
    LM_SPLIT_LOG,
    MODEL_CARD,
)
from flair_ner.errors import DataFileError
from flair_ner.runs.checkpoint import capture_rng, drop_log_lines, restore_rng, write_checkpoint
from flair_ner.config.options import LMConfig
from flair_ner.data.fetch import MIRROR_ENV
from flair_ner.files import atomic_path, write_csv, write_text
from flair_ner.runs.interrupt import RunInterrupted, interruptible
from flair_ner.lm.corpus import describe_corpus, load_corpus_info
from flair_ner.runs.folder import RunFolderError, RunKind, locked, resume_checkpoint

log = logging.getLogger(__name__)

CHECKPOINT, BEST_MODEL, SPLIT_LOG, FINAL_EVAL, DICTIONARY = (
    LM_CHECKPOINT,
    LM_BEST_MODEL,
    LM_SPLIT_LOG,
    LM_FINAL_EVAL,
    LM_DICTIONARY,
)


def build_char_dictionary(corpus_dir: Path, min_count: int = 1):
    """A flair ``Dictionary`` (with ``<unk>``) of the characters of the training text, most frequent first."""
    counts: collections.Counter = collections.Counter()
    for path in sorted((Path(corpus_dir) / "train").iterdir()):
        counts.update(path.read_text(encoding="utf-8"))
    dictionary = Dictionary(add_unk=True)
    for char, count in counts.most_common():
        if count >= min_count:
            dictionary.add_item(char)
    return dictionary


LM_STATE_FORMAT = "flair-ner-lm-1"
# An LM run's checkpoint and folder rules are the tagger's (flair_ner/runs/), with its own format marker; a
# continued LM run may change the options LMConfig declares shaping=False (where things are, how long it trains).
LM_RUN = RunKind("LM run", LM_STATE_FORMAT, LMConfig, manifest=False)


def split_order(count: int, epoch: int, seed: int) -> list[int]:
    """The order of the training splits in ``epoch`` (0-based): as stored in the first, shuffled in later ones.

    flair shuffles later epochs with a ``DataLoader`` whose permutation cannot
    be recovered after an interruption; this order is a pure function of the
    seed and the epoch, so a resumed epoch continues the same sequence.
    """
    order = list(range(count))
    if epoch > 0:
        random.Random(f"{seed}-{epoch}").shuffle(order)
    return order


class _ResumableSplits:
    """flair's training-split dataset, made to checkpoint between splits, stop on a deadline and resume exactly.

    flair reads one split at a time through a ``DataLoader`` (``num_workers=0``),
    so ``__getitem__`` runs between splits, after the previous one was trained,
    validated and logged. There the whole training state is written
    (``on_split_done``); raising ``KeyboardInterrupt`` there is flair's own
    way to end training early (the wall-time budget). Splits are served in
    :func:`split_order`, whatever index the ``DataLoader`` asks for.

    Args:
        splits: flair's training splits (a ``TextDataset``).
        epoch: 0-based epoch the first served split belongs to.
        done: splits of that epoch already trained (a resumed run skips them).
        deadline: ``time.monotonic()`` after which training stops.
        seed: the run's seed, for :func:`split_order`.
        on_split_done: called with (epoch, splits done in it) at every point between splits.
        rng: random state to restore before the first split (a resumed run).
        on_epoch_done: called with the 0-based epoch that just ended; returning ``True`` ends training
            there (the epoch gained too little). Called again for the same epoch after a resume there.
    """

    def __init__(
        self, splits, trainer, epoch: int, done: int, deadline: Optional[float], seed: int, on_split_done, rng=None,
        on_epoch_done=None,
    ) -> None:  # fmt: skip
        self.splits, self.trainer, self.epoch, self.done = splits, trainer, epoch, done
        self.deadline, self.seed, self.on_split_done, self.rng = deadline, seed, on_split_done, rng
        self.on_epoch_done = on_epoch_done
        self.started = False
        self.stopped_by_budget = False

    def __len__(self) -> int:
        # asked when an epoch starts: a resumed epoch has only its remaining splits left
        return len(self.splits) - self.done if self.done < len(self.splits) else len(self.splits)

    def __getitem__(self, index: int):
        if self.rng is not None:
            restore_rng(self.rng)
            self.rng = None
        elif self.started:
            self.on_split_done(self.epoch, self.done)
        if self.done == len(self.splits):  # the previous split ended an epoch
            if self.on_epoch_done is not None and self.on_epoch_done(self.epoch):
                raise KeyboardInterrupt  # flair's own way to end training early
            self.epoch, self.done = self.epoch + 1, 0
        self.started = True
        if self.deadline is not None and time.monotonic() > self.deadline:
            log.info("wall-time budget reached: stopping after the last completed split")
            self.stopped_by_budget = True
            raise KeyboardInterrupt
        item = self.splits[split_order(len(self.splits), self.epoch, self.seed)[self.done]]
        self.done += 1
        if self.done == len(self.splits):
            # flair numbers the next epoch's splits from trainer.split, which it never resets after a resume
            self.trainer.split = 0
        return item


class _RecordedScheduler:
    """Captures the ``ReduceLROnPlateau`` that flair's LM trainer creates inside ``train`` (and restores its state).

    flair keeps that scheduler in a local variable and never saves it; its
    patience counter and best loss decide when the learning rate drops, so an
    exact resume needs them. Within the block, the trainer module's
    ``ReduceLROnPlateau`` name points to a subclass that records itself.
    """

    def __init__(self, restore: Optional[dict] = None) -> None:
        self.restore = restore
        self.scheduler = None

    def __enter__(self) -> "_RecordedScheduler":
        recorder = self
        original = self.original = lm_trainer_module.ReduceLROnPlateau

        class Recorded(original):  # type: ignore[misc, valid-type]
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, **kwargs)
                if recorder.restore is not None:
                    self.load_state_dict(recorder.restore)
                recorder.scheduler = self

        lm_trainer_module.ReduceLROnPlateau = Recorded
        return self

    def __exit__(self, *exc) -> None:
        lm_trainer_module.ReduceLROnPlateau = self.original


def _model_state(model) -> dict:
    """The LM as flair's ``LanguageModel.save_checkpoint`` stores it, without the trainer's fields."""
    return {
        "state_dict": model.state_dict(),
        "dictionary": model.dictionary,
        "is_forward_lm": model.is_forward_lm,
        "hidden_size": model.hidden_size,
        "nlayers": model.nlayers,
        "embedding_size": model.embedding_size,
        "nout": model.nout,
        "document_delimiter": model.document_delimiter,
        "dropout": model.dropout,
        "recurrent_type": model.recurrent_type,
    }


def _model_from_state(state: dict):
    model = LanguageModel(
        dictionary=state["dictionary"],
        is_forward_lm=state["is_forward_lm"],
        hidden_size=state["hidden_size"],
        nlayers=state["nlayers"],
        embedding_size=state["embedding_size"],
        nout=state["nout"],
        document_delimiter=state["document_delimiter"],
        dropout=state["dropout"],
        recurrent_type=state["recurrent_type"],
    )
    model.load_state_dict(state["state_dict"])
    return model


def trim_split_lines(loss_txt: Path, epoch: int, done: int) -> None:
    """Drop flair's ``loss.txt`` lines of splits after (epoch, done): a resumed run trains them again."""

    def covered(number: int, line: str) -> bool:
        match = _SPLIT_LINE.search(line)
        return not match or (int(match.group(3)) - 1, int(match.group(1))) <= (epoch, done)

    drop_log_lines(loss_txt, covered)


_SPLIT_LINE = re.compile(
    r"end of split\s+(\d+) /\s*(\d+) \| epoch\s+(\d+) \| time:\s*([\d.]+)s \| valid loss ([\d.]+) \| "
    r"valid ppl ([\d.]+) \| learning rate ([\d.]+)"
)


def split_log(loss_txt: Path) -> pd.DataFrame:
    """flair's ``loss.txt`` as a table: one row per validated split, with bits per character."""
    rows = []
    for line in loss_txt.read_text(encoding="utf-8").splitlines() if loss_txt.exists() else []:
        match = _SPLIT_LINE.search(line)
        if match:
            split, splits, epoch, seconds, loss, ppl, lr = match.groups()
            rows.append(
                {
                    "epoch": int(epoch),
                    "split": int(split),
                    "splits": int(splits),
                    "seconds": float(seconds),
                    "valid_loss": float(loss),
                    "valid_ppl": float(ppl),
                    "valid_bpc": float(loss) / math.log(2),
                    "learning_rate": float(lr),
                }
            )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["hours_trained"] = frame["seconds"].cumsum() / 3600
    return frame


def _cross_entropy(model, text: str, config: LMConfig) -> float:
    """Mean cross-entropy per character (nats) of ``model`` on ``text``, as flair's trainer measures it."""
    ids = torch.tensor([model.dictionary.get_idx_for_item(char) for char in text], dtype=torch.long)
    if not model.is_forward_lm:
        ids = ids.flip(0)
    batches = LanguageModelTrainer._batchify(ids, config.mini_batch_size)
    trainer = LanguageModelTrainer(model, corpus=_DictionaryOnly(model.dictionary))
    return trainer.evaluate(batches, config.mini_batch_size, config.sequence_length)


@dataclass
class _DictionaryOnly:
    """The one attribute of a ``TextCorpus`` that ``LanguageModelTrainer.evaluate`` reads."""

    dictionary: object


def evaluate_lm(model_path: Path, corpus_dir: Path, config: LMConfig) -> pd.DataFrame:
    """Loss, perplexity and bits per character of a saved LM on ``valid.txt`` and ``test.txt``."""
    model = LanguageModel.load_language_model(model_path)
    rows = []
    for split in ("valid", "test"):
        text = (Path(corpus_dir) / f"{split}.txt").read_text(encoding="utf-8")
        loss = _cross_entropy(model, text, config)
        rows.append(
            {"split": split, "characters": len(text), "loss": loss, "ppl": math.exp(loss), "bpc": loss / math.log(2)}
        )
    return pd.DataFrame(rows)


def train_lm(config: LMConfig, fresh: bool = False) -> pd.DataFrame:
    """Train one character LM, or continue it exactly where it stopped; returns the best model's valid/test evaluation.

    Output folder: ``best-lm.pt`` (loadable by ``FlairEmbeddings(path)``),
    ``checkpoint.pt`` (the whole training state, after every split), flair's
    ``loss.txt`` and ``training.log``, ``training_log.tsv`` and ``final_eval.tsv``.
    On the CPU a run stopped at any point (SIGINT, SIGTERM, SIGKILL) and
    continued ends with the same model as an uninterrupted one.

    Args:
        config: the LM and how to train it.
        fresh: move an earlier run in the output folder aside and start over.

    Raises:
        RunFolderError: the folder is in use, or holds a run with a different configuration or a torn checkpoint.
        RunInterrupted: SIGINT or SIGTERM; the same call resumes.
    """
    corpus_dir, output_dir = Path(config.corpus_dir), Path(config.output_dir)
    if not (corpus_dir / "train").is_dir():
        raise DataFileError(f"{corpus_dir}: no LM corpus here (expected train/, valid.txt, test.txt)")
    check_split_sizes(corpus_dir, config.mini_batch_size)
    with locked(output_dir):
        state = resume_checkpoint(output_dir, dataclasses.asdict(config), LM_RUN, fresh)
        return _train_lm(config, corpus_dir, output_dir, state)


def check_split_sizes(corpus_dir: Path, mini_batch_size: int) -> None:
    """Refuse, before any training, a corpus file too short for ``mini_batch_size`` parallel character streams.

    flair cuts each file into ``mini_batch_size`` streams and steps through them; a stream of fewer than two
    characters gives no step at all, and flair's evaluation then fails deep inside with
    ``'int' object has no attribute 'item'``.
    """
    for path in [corpus_dir / "valid.txt", corpus_dir / "test.txt", *sorted((corpus_dir / "train").iterdir())]:
        characters = len(path.read_text(encoding="utf-8"))
        if characters < 2 * mini_batch_size:
            raise DataFileError(
                f"{path}: {characters} characters, too few for {mini_batch_size} parallel streams "
                f"(--mini-batch-size); use at most {max(1, characters // 2)}, or give the LM more text"
            )


def _train_lm(config: LMConfig, corpus_dir: Path, output_dir: Path, state: Optional[dict]) -> pd.DataFrame:
    flair.set_seed(config.seed)
    flair.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    forward = config.direction == "forward"
    deadline = time.monotonic() + config.budget_minutes * 60 if config.budget_minutes else None

    if state is not None:
        model = _model_from_state(state["model"])
        corpus = TextCorpus(corpus_dir, model.dictionary, forward=forward, character_level=True)
        epoch, done = state["epoch"], state["done"]
        trim_split_lines(output_dir / LM_LOSS, epoch, done)
        trainer = LanguageModelTrainer(
            model, corpus, epoch=epoch, split=done, loss=state["best_loss"], optimizer_state=state["optimizer"]
        )
        log.info("resuming %s: epoch %d, after split %d", output_dir, epoch + 1, done)
    else:
        dictionary = build_char_dictionary(corpus_dir, config.min_char_count)
        dictionary.save(output_dir / DICTIONARY)
        corpus = TextCorpus(corpus_dir, dictionary, forward=forward, character_level=True)
        model = LanguageModel(
            dictionary,
            is_forward_lm=forward,
            hidden_size=config.hidden_size,
            nlayers=config.nlayers,
            embedding_size=config.embedding_size,
            dropout=config.dropout,
        )
        trainer, epoch, done = LanguageModelTrainer(model, corpus), 0, 0
    if done == len(corpus.train):  # stopped at an epoch's end: flair starts the next epoch itself
        trainer.epoch, trainer.split = epoch + 1, 0
    recorded = _RecordedScheduler(state["scheduler"] if state else None)
    last_saved = {"at": (epoch, done)}
    # flair keeps the best validation loss in a local variable; the kit follows every validation to save it
    best = {"loss": trainer.loss}
    evaluate = trainer.evaluate

    def tracked_evaluate(*args, **kwargs) -> float:
        loss = evaluate(*args, **kwargs)
        best["loss"] = min(best["loss"], loss)
        return loss

    trainer.evaluate = tracked_evaluate
    # the best validation loss at the end of each 0-based epoch, for the epoch-gain stop and the log
    epoch_best: dict[int, float] = dict(state.get("epoch_best", {})) if state else {}

    def snapshot(at_epoch: int) -> None:
        """Keep the best LM as the 0-based epoch ``at_epoch`` ended (once; a resume there finds it made)."""
        target = output_dir / LM_EPOCH_SNAPSHOT.format(epoch=at_epoch + 1)
        if (output_dir / BEST_MODEL).is_file() and not target.is_file():
            with atomic_path(target) as temporary:
                shutil.copyfile(output_dir / BEST_MODEL, temporary)

    def epoch_done(at_epoch: int) -> bool:
        snapshot(at_epoch)
        epoch_best.setdefault(at_epoch, best["loss"])
        bpc = epoch_best[at_epoch] / math.log(2)
        previous = epoch_best.get(at_epoch - 1)
        gain = None if previous is None else (previous - epoch_best[at_epoch]) / math.log(2)
        log.info(
            "epoch %d ended: best validation %.4f bits per character%s", at_epoch + 1, bpc,
            "" if gain is None else f" ({gain:+.4f} on epoch {at_epoch})",
        )  # fmt: skip
        if gain is not None and config.min_epoch_gain_bpc is not None and gain < config.min_epoch_gain_bpc:
            log.info(
                "epoch %d gained less than %s bits per character: stopping", at_epoch + 1, config.min_epoch_gain_bpc
            )
            return True
        return False

    def save_state(at_epoch: int, splits_done: int) -> None:
        if (at_epoch, splits_done) == last_saved["at"]:
            return
        new_state = {
            "epoch": at_epoch,
            "done": splits_done,
            "model": _model_state(trainer.model),
            "optimizer": recorded.scheduler.optimizer.state_dict(),
            "scheduler": recorded.scheduler.state_dict(),
            "best_loss": best["loss"],
            "rng": capture_rng(),
            "config": dataclasses.asdict(config),
            "epoch_best": dict(epoch_best),
        }
        write_checkpoint(output_dir / CHECKPOINT, LM_STATE_FORMAT, new_state)
        last_saved["at"] = (at_epoch, splits_done)

    splits = _ResumableSplits(
        corpus.train, trainer, epoch, done, deadline, config.seed, save_state, rng=state["rng"] if state else None,
        on_epoch_done=epoch_done,
    )  # fmt: skip
    corpus.train = splits
    try:
        with recorded, interruptible():
            trainer.train(
                output_dir,
                sequence_length=config.sequence_length,
                learning_rate=config.learning_rate,
                mini_batch_size=config.mini_batch_size,
                anneal_factor=config.anneal_factor,
                patience=config.patience,
                max_epochs=config.max_epochs,
                checkpoint=False,  # the kit writes its own, complete checkpoint between splits
                num_workers=0,
            )
            if splits.started and not splits.stopped_by_budget:
                save_state(splits.epoch, splits.done)  # the last split, which no later fetch follows
                if splits.done == len(splits.splits):  # the last epoch ended too (no fetch calls epoch_done)
                    snapshot(splits.epoch)
    except RunInterrupted as interrupted:
        at_epoch, splits_done = last_saved["at"]
        interrupted.epoch = at_epoch
        interrupted.message = (
            f"interrupted after split {splits_done} of epoch {at_epoch + 1}; run the same command to resume"
            if (at_epoch, splits_done) != (0, 0)
            else "interrupted before the first split ended; run the same command to start again"
        )
        raise
    history = split_log(output_dir / LM_LOSS)
    if not history.empty:
        # flair counts the splits once, when a run starts, so a resumed run's loss.txt says "split 2 / 1"
        history["splits"] = len(splits.splits)
    write_csv(output_dir / SPLIT_LOG, history, sep="\t")
    if not (output_dir / BEST_MODEL).is_file():
        log.warning("%s: no split finished within the budget; nothing to evaluate yet", output_dir)
        return pd.DataFrame(columns=["split", "characters", "loss", "ppl", "bpc"])
    final = evaluate_lm(output_dir / BEST_MODEL, corpus_dir, config)
    write_csv(output_dir / FINAL_EVAL, final, sep="\t")
    log.info("best %s LM: %s", config.direction, final.to_dict("records"))
    return final


COMMANDS = LM_COMMANDS


def record_command(output_dir: Path, argv: list[str]) -> None:
    """Append the command line of a pretraining run to the run folder (for the model card)."""
    prefix = f"{MIRROR_ENV}={shlex.quote(os.environ[MIRROR_ENV])} " if os.environ.get(MIRROR_ENV) else ""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(output_dir) / COMMANDS, "a", encoding="utf-8") as handle:
        handle.write(prefix + shlex.join(argv) + "\n")


def ship_lm(run_dir: Path, destination: Path, corpus_dir: Path, config: LMConfig) -> Path:
    """Copy a run's ``best-lm.pt`` to ``destination/lm.pt`` and write its MODEL_CARD.md.

    The card holds what reproduces and judges the model: the commands that trained
    it, the corpus digest, hours trained, final validation/test perplexity and
    bits per character, the architecture and the date.
    """
    run_dir, destination = Path(run_dir), Path(destination)
    best = run_dir / BEST_MODEL
    if not best.is_file():
        raise RunFolderError(f"{best}: no trained LM to ship")
    final = evaluate_lm(best, corpus_dir, config).set_index("split")
    history = split_log(run_dir / LM_LOSS)
    info = load_corpus_info(corpus_dir)
    commands = (run_dir / COMMANDS).read_text(encoding="utf-8").strip() if (run_dir / COMMANDS).is_file() else "unknown"
    with atomic_path(destination / "lm.pt") as temporary:
        shutil.copyfile(best, temporary)
    hours = history["seconds"].sum() / 3600 if not history.empty else 0.0
    epochs = (
        f"{history['epoch'].max()} (last split {history['split'].iloc[-1]}/{history['splits'].iloc[-1]})"
        if not history.empty
        else "0"
    )
    corpus = describe_corpus(info)
    card = f"""# {destination.name}: a {config.direction} character LM pretrained on {corpus}

Loadable with plain flair, `FlairEmbeddings("<this folder>/lm.pt")`, or by name
through the kit, `flair_ner.embeddings.stacks.flair_embeddings("{destination.name}")`.

| | |
|---|---|
| direction | {config.direction} |
| architecture | 1-layer LSTM{"" if config.nlayers == 1 else f" x{config.nlayers}"}, hidden {config.hidden_size}, character embedding {config.embedding_size}, dropout {config.dropout} |
| training | SGD lr {config.learning_rate}, anneal x{config.anneal_factor} after {config.patience} stalled splits, sequence length {config.sequence_length}, batch {config.mini_batch_size} |
| corpus | {corpus}, `{Path(corpus_dir).name}` (seed {info.seed if info else "?"}), train {info.characters["train"] if info else "?"} characters |
| corpus SHA-256 | `{info.sha256 if info else "unknown"}` |
| trained | {hours:.2f} hours on CPU, epochs {epochs} |
| validation | perplexity {final.loc["valid", "ppl"]:.3f}, {final.loc["valid", "bpc"]:.4f} bits per character ({final.loc["valid", "characters"]} characters) |
| test | perplexity {final.loc["test", "ppl"]:.3f}, {final.loc["test", "bpc"]:.4f} bits per character ({final.loc["test", "characters"]} characters) |
| date | {date.today().isoformat()} |

The character dictionary was built from the training text (no `common-chars` download).

## Command

```
{commands}
```

Figures above were measured by `flair_ner.lm.train.evaluate_lm` on the best model
(lowest validation loss); the per-split history is in the run folder's
`training_log.tsv`.
"""
    write_text(destination / MODEL_CARD, card)
    return destination / "lm.pt"

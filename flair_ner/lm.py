"""Pretraining forward/backward character language models with flair's ``LanguageModelTrainer``.

What the kit adds around flair's trainer:

* a character dictionary built from the LM's own training text (never flair's
  downloaded ``common-chars``);
* a wall-time budget, checked between training splits, after flair has
  validated and checkpointed the previous split;
* resuming from flair's ``checkpoint.pt`` at the split where it stopped;
* a TSV of validation loss, perplexity and bits per character after every
  split, and the best model's loss on valid and test.
"""

from __future__ import annotations

import collections
import logging
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from flair_ner.config import option
from flair_ner.files import write_csv

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
BEST_MODEL = "best-lm.pt"
SPLIT_LOG = "training_log.tsv"
FINAL_EVAL = "final_eval.tsv"
DICTIONARY = "char_dictionary.pkl"


@dataclass
class LMConfig:
    """A character LM and how to train it (``python experiments/pretrain_lm.py``)."""

    direction: str = option("forward", "forward or backward")
    corpus_dir: str = option("data/lm/reuters", "flair TextCorpus folder (train/, valid.txt, test.txt)")
    output_dir: Optional[str] = option(None, "where checkpoints, best-lm.pt and the logs go; unset: data/lm/reuters-<direction>")
    hidden_size: int = option(512, "LSTM hidden size (512 keeps the model file near 6 MB)")
    nlayers: int = option(1, "LSTM layers")
    embedding_size: int = option(100, "character embedding size")
    dropout: float = option(0.1, "dropout on the LSTM output")
    sequence_length: int = option(250, "characters per truncated-BPTT step")
    mini_batch_size: int = option(100, "parallel character streams")
    learning_rate: float = option(20.0, "SGD learning rate (flair's default for LMs)")
    anneal_factor: float = option(0.25, "factor applied to the learning rate when validation loss stalls")
    patience: int = option(3, "splits without improvement before annealing")
    max_epochs: int = option(1, "passes over the training text")
    budget_minutes: Optional[float] = option(None, "stop after the split that crosses this many minutes (this run)")
    min_char_count: int = option(1, "characters seen fewer times in the training text map to <unk>")
    seed: int = option(1, "random seed")
    data_dir: Optional[str] = option(None, "download cache; unset: $FLAIR_NER_DATA, else data/")
    mirror: Optional[str] = option(None, "data mirror folder or URL; unset: $FLAIR_NER_MIRROR, else upstream")
    corpus_seed: int = option(42, "seed of the document shuffle that makes the LM corpus's train/valid/test")

    def __post_init__(self) -> None:
        if self.direction not in ("forward", "backward"):
            raise ValueError(f"direction must be forward or backward, not {self.direction!r}")
        if self.output_dir is None:
            self.output_dir = f"data/lm/reuters-{self.direction}"


def build_char_dictionary(corpus_dir: Path, min_count: int = 1):
    """A flair ``Dictionary`` (with ``<unk>``) of the characters of the training text, most frequent first."""
    from flair.data import Dictionary

    counts: collections.Counter = collections.Counter()
    for path in sorted((Path(corpus_dir) / "train").iterdir()):
        counts.update(path.read_text(encoding="utf-8"))
    dictionary = Dictionary(add_unk=True)
    for char, count in counts.most_common():
        if count >= min_count:
            dictionary.add_item(char)
    return dictionary


class _BudgetedSplits:
    """flair's training-split dataset, made to stop on a deadline and to resume mid-epoch.

    flair reads one split at a time through a ``DataLoader`` (``num_workers=0``),
    so ``__getitem__`` runs between splits, after the previous one was
    validated and checkpointed. Raising ``KeyboardInterrupt`` there is flair's
    own way to end training early. On resume, the first pass skips the splits
    the checkpoint already covers; later epochs see every split.
    """

    def __init__(self, splits, skip: int, deadline: Optional[float]) -> None:
        self.splits, self.skip, self.deadline = splits, skip, deadline
        self.served = 0

    def __len__(self) -> int:
        return len(self.splits) - self.skip

    def __getitem__(self, index: int):
        if self.deadline is not None and time.monotonic() > self.deadline:
            log.info("wall-time budget reached: stopping after the last completed split")
            raise KeyboardInterrupt
        item = self.splits[index + self.skip]
        self.served += 1
        if self.served == len(self):
            self.skip, self.served = 0, 0
        return item


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
    import torch
    from flair.trainers.language_model_trainer import LanguageModelTrainer

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
    from flair.models import LanguageModel

    model = LanguageModel.load_language_model(model_path)
    rows = []
    for split in ("valid", "test"):
        text = (Path(corpus_dir) / f"{split}.txt").read_text(encoding="utf-8")
        loss = _cross_entropy(model, text, config)
        rows.append(
            {"split": split, "characters": len(text), "loss": loss, "ppl": math.exp(loss), "bpc": loss / math.log(2)}
        )
    return pd.DataFrame(rows)


def train_lm(config: LMConfig) -> pd.DataFrame:
    """Train (or resume) one character LM; returns the best model's valid/test evaluation.

    Output folder: ``best-lm.pt`` (loadable by ``FlairEmbeddings(path)``),
    ``checkpoint.pt`` (for resuming), flair's ``loss.txt`` and ``training.log``,
    ``training_log.tsv`` and ``final_eval.tsv``.
    """
    import flair
    import torch
    from flair.models import LanguageModel
    from flair.trainers.language_model_trainer import LanguageModelTrainer, TextCorpus

    flair.set_seed(config.seed)
    flair.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    corpus_dir, output_dir = Path(config.corpus_dir), Path(config.output_dir)
    if not (corpus_dir / "train").is_dir():
        raise FileNotFoundError(f"{corpus_dir}: no LM corpus here (expected train/, valid.txt, test.txt)")
    output_dir.mkdir(parents=True, exist_ok=True)
    forward = config.direction == "forward"
    deadline = time.monotonic() + config.budget_minutes * 60 if config.budget_minutes else None

    checkpoint = output_dir / CHECKPOINT
    if checkpoint.exists():
        state = LanguageModel.load_checkpoint(checkpoint)
        dictionary = state["model"].dictionary
        corpus = TextCorpus(corpus_dir, dictionary, forward=forward, character_level=True)
        trainer = LanguageModelTrainer.load_checkpoint(checkpoint, corpus)
        skip = trainer.split if trainer.split < len(corpus.train) else 0
        if skip == 0:
            trainer.epoch, trainer.split = trainer.epoch + 1, 0
        log.info("resuming from %s: epoch %d, after split %d", checkpoint, trainer.epoch + 1, skip)
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
        trainer, skip = LanguageModelTrainer(model, corpus), 0
    corpus.train = _BudgetedSplits(corpus.train, skip, deadline)

    trainer.train(
        output_dir,
        sequence_length=config.sequence_length,
        learning_rate=config.learning_rate,
        mini_batch_size=config.mini_batch_size,
        anneal_factor=config.anneal_factor,
        patience=config.patience,
        max_epochs=config.max_epochs,
        checkpoint=True,
        num_workers=0,
    )
    write_csv(output_dir / SPLIT_LOG, split_log(output_dir / "loss.txt"), sep="\t")
    if not (output_dir / BEST_MODEL).is_file():
        log.warning("%s: no split finished within the budget; nothing to evaluate yet", output_dir)
        return pd.DataFrame(columns=["split", "characters", "loss", "ppl", "bpc"])
    final = evaluate_lm(output_dir / BEST_MODEL, corpus_dir, config)
    write_csv(output_dir / FINAL_EVAL, final, sep="\t")
    log.info("best %s LM: %s", config.direction, final.to_dict("records"))
    return final


COMMANDS = "commands.txt"


def record_command(output_dir: Path, argv: list[str]) -> None:
    """Append the command line of a pretraining run to the run folder (for the model card)."""
    import os
    import shlex

    from flair_ner.download import MIRROR_ENV

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
    import shutil
    from datetime import date

    from flair_ner.files import atomic_path, write_text
    from flair_ner.lm_corpus import load_corpus_info

    run_dir, destination = Path(run_dir), Path(destination)
    best = run_dir / BEST_MODEL
    if not best.is_file():
        raise FileNotFoundError(f"{best}: no trained LM to ship")
    final = evaluate_lm(best, corpus_dir, config).set_index("split")
    history = split_log(run_dir / "loss.txt")
    info = load_corpus_info(corpus_dir)
    commands = (run_dir / COMMANDS).read_text(encoding="utf-8").strip() if (run_dir / COMMANDS).is_file() else "unknown"
    with atomic_path(destination / "lm.pt") as temporary:
        shutil.copyfile(best, temporary)
    hours = history["seconds"].sum() / 3600 if not history.empty else 0.0
    epochs = f"{history['epoch'].max()} (last split {history['split'].iloc[-1]}/{history['splits'].iloc[-1]})" if not history.empty else "0"
    card = f"""# {destination.name}: a {config.direction} character LM pretrained on Reuters-21578

Loadable with plain flair, `FlairEmbeddings("<this folder>/lm.pt")`, or by name
through the kit, `flair_ner.embeddings.flair_embeddings("{destination.name}")`.

| | |
|---|---|
| direction | {config.direction} |
| architecture | 1-layer LSTM{'' if config.nlayers == 1 else f' x{config.nlayers}'}, hidden {config.hidden_size}, character embedding {config.embedding_size}, dropout {config.dropout} |
| training | SGD lr {config.learning_rate}, anneal x{config.anneal_factor} after {config.patience} stalled splits, sequence length {config.sequence_length}, batch {config.mini_batch_size} |
| corpus | Reuters-21578 bodies, `data/lm/reuters` (seed {info.seed if info else '?'}), train {info.characters['train'] if info else '?'} characters |
| corpus SHA-256 | `{info.sha256 if info else 'unknown'}` |
| trained | {hours:.2f} hours on CPU, epochs {epochs} |
| validation | perplexity {final.loc['valid', 'ppl']:.3f}, {final.loc['valid', 'bpc']:.4f} bits per character ({final.loc['valid', 'characters']} characters) |
| test | perplexity {final.loc['test', 'ppl']:.3f}, {final.loc['test', 'bpc']:.4f} bits per character ({final.loc['test', 'characters']} characters) |
| date | {date.today().isoformat()} |

The character dictionary was built from the training text (no `common-chars` download).

## Command

```
{commands}
```

Figures above were measured by `flair_ner.lm.evaluate_lm` on the best model
(lowest validation loss); the per-split history is in the run folder's
`training_log.tsv`.
"""
    write_text(destination / "MODEL_CARD.md", card)
    return destination / "lm.pt"

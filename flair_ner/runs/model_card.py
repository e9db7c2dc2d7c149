"""MODEL_CARD.md of a finished run folder: what the model is, what it was trained and tested on, how, and its limits.

Written from the folder's own records (``manifest.json``, ``metrics.csv``) at the end of every run, so it can be
rebuilt for any finished folder (:func:`write_model_card`); the scores in it are the run's, never typed in.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Union

import pandas as pd

from flair_ner.files import write_text
from flair_ner.runs.layout import MANIFEST, METRICS_CSV, MODEL_CARD
from flair_ner.runs.manifest import run_training_seconds

# the config keys that describe the model and its training, per method (the card lists them; manifest.json has
# every key)
MODEL_KEYS = {
    "stack": ("method", "embeddings", "glove", "lms", "lm_context", "pooled_lms", "transformer", "transformer_layers", "hidden_size", "use_crf",
              "learning_rate", "mini_batch_size", "max_epochs", "schedule", "patience", "anneal_factor",
              "train_with_dev", "seed", "train_limit", "eval_limit"),
    "fine-tune": ("method", "transformer", "use_crf", "learning_rate", "decoder_learning_rate", "mini_batch_size", "max_epochs",
                  "warmup_fraction", "use_context", "train_with_dev", "seed", "train_limit", "eval_limit"),
}  # fmt: skip


def _percent(value: float) -> str:
    return f"{100 * value:.2f}"


def _scores(metrics: pd.DataFrame) -> list[str]:
    rows = [
        "| test set | micro-F1 | macro-F1 | weighted-F1 | precision | recall | entities |",
        "|---|---|---|---|---|---|---|",
    ]
    for test_set, table in metrics.groupby("test_set", sort=False):
        by_label = table.set_index("label")
        micro = by_label.loc["micro avg"]

        def f1(label: str) -> str:
            return _percent(by_label.loc[label, "f1"]) if label in by_label.index else "-"

        rows.append(f"| {test_set} | **{_percent(micro['f1'])}** | {f1('macro avg')} | {f1('weighted avg')} | "
                    f"{_percent(micro['precision'])} | {_percent(micro['recall'])} | {int(micro['support'])} |")  # fmt: skip
    return rows


def equivalent_command(config: dict) -> str:
    """A ``flair-ner run`` command line with this configuration: every option that differs from its default."""
    import dataclasses
    import shlex

    from flair_ner.config.options import ExperimentConfig

    defaults = dataclasses.asdict(ExperimentConfig(method=config.get("method", "stack")))
    words = ["flair-ner", "run"]
    for key, value in config.items():
        if key in defaults and value != defaults[key] and value is not None:
            words += ["--" + key.replace("_", "-"), str(value).lower() if isinstance(value, bool) else str(value)]
    return shlex.join(words)


def run_model_card(folder: Union[str, Path]) -> str:
    """The card's text for a finished run folder."""
    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    config = manifest["config"]
    data = manifest.get("data") or {}
    metrics_path = folder / METRICS_CSV
    metrics = pd.read_csv(metrics_path) if metrics_path.is_file() else None
    types = sorted({label for label in metrics["label"] if " " not in label}) if metrics is not None else []
    name = config.get("dataset") or "own column files"
    method = ("fine-tuned transformer " + str(config.get("transformer"))) if config.get("method") == "fine-tune" \
        else "BiLSTM-CRF over stacked embeddings"  # fmt: skip
    epochs = manifest.get("epoch_seconds") or []
    commands = [event["command"] for event in manifest.get("events", []) if event.get("command")]
    lines = [
        f"# {folder.name}: a {method} for named entities, trained by flair-ner",
        "",
        'Load it with plain flair: `SequenceTagger.load("<this folder>/'
        + str(manifest.get("evaluated_model"))
        + '")`, '
        "or with the kit: `flair-ner predict --model <this folder>`, `flair-ner serve --model <this folder>`, "
        "`flair-ner export --model <this folder>` (ONNX, stacked taggers).",
        "",
        "| | |",
        "|---|---|",
        f"| data set | {name} |",
        *(
            [f"| train | `{data.get('train')}` |", f"| dev | {data.get('dev')} |", f"| test | `{data.get('test')}` |"]
            if data
            else ["| files | see *Data files* below (an older run: its manifest names no splits) |"]
        ),
        f"| entity types | {', '.join(types) if types else '-'} |",
        f"| model | {method}; embeddings: {', '.join(str(e) for e in manifest.get('embeddings') or []) or '-'} |",
        f"| file | {manifest.get('evaluated_model')} ({'the best dev epoch' if manifest.get('evaluated_model') == 'best-model.pt' else 'after the last epoch'}) |",
        f"| training | {manifest.get('epochs') or len(epochs)} epochs, {run_training_seconds(manifest) / 60:.1f} min"
        + (f" (median epoch {statistics.median(epochs):.0f} s)" if epochs else "")
        + f" on {manifest.get('device')} ({(manifest.get('machine') or {}).get('processor', '?')}, "
        f"{(manifest.get('machine') or {}).get('cpu_count', '?')} CPUs); peak memory "
        + (f"{manifest['peak_rss_mb']} MB |" if manifest.get("peak_rss_mb") else "not recorded |"),
        f"| commit | `{manifest.get('git_commit')}` |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in (manifest.get("versions") or {}).items()) + " |",
        f"| finished | {manifest.get('updated') or manifest.get('created')} |",
        "",
        "## Test scores (metrics.csv)",
        "",
        *(_scores(metrics) if metrics is not None else ["No test set: the model was not evaluated."]),
        "",
        "## Data files (SHA-256)",
        "",
        *[f"- `{path}`: `{digest}`" for path, digest in (manifest.get("data_sha256") or {}).items()],
        "",
        "## How it was trained",
        "",
        *(
            [f"    {command}" for command in commands]
            or [
                "The command was not recorded (a grid cell, or a run older than the record); this one has the same "
                "configuration:",
                "",
                f"    {equivalent_command(config)}",
            ]
        ),  # fmt: skip
        "",
        "| option | value |",
        "|---|---|",
        *[
            f"| {key} | {config[key]} |"
            for key in MODEL_KEYS[config.get("method", "stack")]
            if key in config and config[key] is not None and (key != "transformer_layers" or config.get("transformer"))
        ],
        "",
        "## Intended use and limits",
        "",
        f"Tags {', '.join(types) if types else 'the training data’s entity types'} in text like its training data: "
        "the same language, domain and tokenisation (one token per word, as in the column files). The scores above "
        f"are one run (seed {config.get('seed')}) on the test sets named; another seed moves them by a few tenths "
        "(README's grids give the spread), and text from another domain or period scores lower, often much lower. "
        "The training labels have mistakes of their own (CoNLL-2003's are known to), and the model learns them too. "
        "Not a substitute for checking the output where a wrong entity matters.",
    ]
    if config.get("train_limit") or config.get("eval_limit"):
        lines += ["", f"**A smoke run**: trained on the first {config.get('train_limit')} sentences and tested on the "
                      f"first {config.get('eval_limit')}; its scores say nothing about the method."]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_model_card(folder: Union[str, Path]) -> Path:
    """Write ``MODEL_CARD.md`` into a finished run folder (atomically) and return its path."""
    return write_text(Path(folder) / MODEL_CARD, run_model_card(folder))

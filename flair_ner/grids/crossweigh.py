"""CrossWeigh (Wang et al., EMNLP 2019): find likely label mistakes by entity-disjoint cross-validation, as a grid.

The procedure as the authors define it (ZihanWangKi/CrossWeigh, ``split.py`` and ``collect.py``):

1. The pool is train + dev. For each of ``iterations`` iterations, shuffle it (seed: the run's seed + the
   iteration) and cut it into ``folds`` parts.
2. For each part: train on every other pool sentence **except** those that contain an entity surface string
   (its tokens joined by spaces, any type) that occurs in the held-out part; tag the held-out part.
3. Per sentence, ``c`` = the number of iterations in which the predicted entities differ from the gold ones;
   its weight is ``epsilon ** c``.

Here the k × t fold trainings are ordinary runs of the kit (own column files written into the CrossWeigh
folder), run as one grid (:mod:`flair_ner.grids.grid`: resumable, on Ray, ``--dry-run``), so each fold model
is exactly what ``flair-ner run`` trains. :func:`collect` reads their ``predictions_test.tsv`` back and
writes ``mistakes.tsv``, ``summary.json`` and ``weights.tsv``, which ``sentence_weights`` trains from.

For a CoNLL run every fold model also tags CoNLL-2003 test (never in the pool), so each test sentence gets a
disagreement count too (``test_disagreements.tsv``), and ``detection.csv`` scores the flagged sentences against
the answer keys of :mod:`flair_ner.evaluation.label_noise`: CoNLL++'s corrections of the test set, and
CleanCoNLL's changes of the test and dev sets (dev is in the pool: the procedure's own case). A test sentence
counts as flagged in an iteration when most of that iteration's fold models disagree with its gold spans.

Two other detectors run beside it on the same runs: cleanlab (``cleanlab.tsv``): the fold runs also write each
held-out token's tag probabilities, and cleanlab's token-classification filter reads them (a pool sentence's are
the mean over the iterations, a test sentence's the mean over every fold model); and one ordinary model
(the grid's ``one-model`` cell, trained on the pool's training sentences with the fold runs' settings), whose
disagreements with the gold spans of the dev sentences and of CoNLL-2003 test are the trivial baseline.
With a frozen stack the pool's vectors are computed once (:func:`pool_store`) and every fold run reads its
training vectors from there (``embedding_store``), so a fold costs only its BiLSTM-CRF and its test sets.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
from flair_ner.config.options import ExperimentConfig
from flair_ner.data.corpus import Block, fetch_corpus_files, iter_sentences, read_blocks, registered_sentences
from flair_ner.data.registry import Span, iob2_tags
from flair_ner.errors import ConfigError, RunFolderError
from flair_ner.evaluation.label_noise import (
    AnswerKey,
    cleanconll_changes,
    cleanlab_flags,
    conllpp_corrections,
    detection_scores,
)
from flair_ner.evaluation.scores import TokenProbabilities, entity_outcomes, read_predictions, tagged_sentences
from flair_ner.files import write_csv, write_text
from flair_ner.runs.layout import predictions_file, token_probabilities_file

log = logging.getLogger(__name__)

FOLDS_DIR, GRID_DIR, GRID_TOML = "folds", "grid", "grid.toml"  # the fold files, the fold runs, their grid file
STORE_DIR = "embeddings"  # the pool's frozen vectors, computed once for every fold run (embeddings.store)
SETTINGS_JSON = "crossweigh.json"  # the folds, iterations and fold epochs a folder was made with
MISTAKES_TSV, SUMMARY_JSON, WEIGHTS_TSV = "mistakes.tsv", "summary.json", "weights.tsv"
TEST_DISAGREEMENTS_TSV, DETECTION_CSV = "test_disagreements.tsv", "detection.csv"
CLEANLAB_TSV = "cleanlab.tsv"  # the sentences cleanlab flags, beside CrossWeigh's count
REPORTS = (MISTAKES_TSV, WEIGHTS_TSV, SUMMARY_JSON, CLEANLAB_TSV, TEST_DISAGREEMENTS_TSV, DETECTION_CSV)
ORIGINAL_TEST = "conll2003"  # tagged by every fold model of a CoNLL run
ONE_MODEL = "one-model"  # the grid cell of the trivial baseline: trained on the pool's train part, tags its dev part


@dataclass(frozen=True)
class Fold:
    """One fold of one iteration: the pool sentences it holds out, and the ones it trains on."""

    iteration: int
    index: int
    held_out: tuple[int, ...]
    train: tuple[int, ...]

    @property
    def name(self) -> str:
        return f"iteration-{self.iteration}-fold-{self.index}"


def entity_strings(sentence: Block) -> set[str]:
    """The surface strings of a sentence's entities (tokens joined by spaces; the type does not count)."""
    return {" ".join(sentence.tokens[span.start : span.end]) for span in sentence.spans}


def make_folds(pool: list[Block], folds: int, iterations: int, seed: int) -> list[Fold]:
    """CrossWeigh's entity-disjoint folds of ``pool`` (see the module docstring)."""
    if folds < 2 or folds > len(pool):
        raise ConfigError(f"folds must be between 2 and the pool's {len(pool)} sentences, got {folds}")
    strings = [entity_strings(sentence) for sentence in pool]
    made = []
    for iteration in range(iterations):
        order = list(range(len(pool)))
        random.Random(seed + iteration).shuffle(order)
        for index in range(folds):
            held_out = sorted(order[index::folds])
            held = set(held_out)
            held_strings = set().union(*(strings[i] for i in held_out))
            train = tuple(i for i in range(len(pool)) if i not in held and not strings[i] & held_strings)
            made.append(Fold(iteration, index, tuple(held_out), train))
    return made


def _column_text(sentences: list[Block]) -> str:
    """Token and IOB2 tag per line, a blank line after each sentence (what the fold runs read)."""
    return "".join(
        "".join(f"{token} {tag}\n" for token, tag in zip(s.tokens, iob2_tags(len(s.tokens), s.spans))) + "\n"
        for s in sentences
    )


@dataclass
class CrossWeigh:
    """A CrossWeigh run: its folder, the pool, the folds and the grid of fold runs.

    Args:
        folder: where everything goes (``folds/``, ``grid/``, and the reports).
        pool: train + dev sentences, train first, each in file order (document markers left out).
        train_sentences: how many of the pool are training sentences (``weights.tsv`` numbers only them).
        folds: the folds of every iteration.
        original_test: CoNLL-2003 test's sentences, when every fold model also tags them.
        test_keys: answer keys over ``original_test``'s sentences (CoNLL++'s corrections, CleanCoNLL's changes).
        dev_keys: answer keys over the pool's dev sentences, numbered within dev (CleanCoNLL's changes).
    """

    folder: Path
    pool: list[Block]
    train_sentences: int
    folds: list[Fold]
    original_test: Optional[list[Block]] = None
    test_keys: list[AnswerKey] = dataclasses.field(default_factory=list)
    dev_keys: list[AnswerKey] = dataclasses.field(default_factory=list)


def prepare(config: ExperimentConfig, folder: Path, folds: int = 10, iterations: int = 3) -> CrossWeigh:
    """Read the pool of ``config``'s data (its first ``train_limit`` training and ``eval_limit`` dev sentences,
    when set), cut the folds and write their column files (once: a rerun finds them).

    Raises:
        ConfigError: no dev file (CrossWeigh's pool is train + dev), or folds out of range.
    """
    if config.train_file:
        files = config.own_files()
    else:
        files = fetch_corpus_files(
            config.data_name, config.data_dir, config.mirror, config.download_deadline, config.label_map
        )
    paths = files.paths()
    if "dev" not in paths or "train" not in paths:
        raise ConfigError(f"{config.data_name}: CrossWeigh's pool is train + dev, and this data set has no dev file")
    # the config's limits cut the pool (e.g. the quick profile's slice)
    train = list(iter_sentences(read_blocks(paths["train"], files.format)))[: config.train_limit]
    pool = train + list(iter_sentences(read_blocks(paths["dev"], files.format)))[: config.eval_limit]
    made = make_folds(pool, folds, iterations, config.seed)
    original, test_keys, dev_keys = None, [], []
    if config.data_name in ("conllpp", "conll2003") and not config.train_file and not config.label_map:

        def sentences(name: str, split: str) -> list[Block]:
            return registered_sentences(name, split, config.data_dir, config.mirror, config.download_deadline)

        full_test, full_dev = sentences(ORIGINAL_TEST, "test"), sentences(ORIGINAL_TEST, "dev")
        original = full_test[: len(pool)]  # as many as the fold runs tag (their eval_limit is the pool's size)
        in_pool = len(pool) - len(train)  # the dev sentences the pool holds
        test_keys = [
            _restricted(conllpp_corrections(full_test, sentences("conllpp", "test")), len(original)),
            _restricted(
                cleanconll_changes(full_test, sentences("cleanconll", "test"), "cleanconll-test"), len(original)
            ),
        ]
        dev_keys = [
            _restricted(cleanconll_changes(full_dev, sentences("cleanconll", "dev"), "cleanconll-dev"), in_pool)
        ]
    folder = Path(folder)
    parts = {fold.name: (fold.train, fold.held_out) for fold in made}
    parts[ONE_MODEL] = (range(len(train)), range(len(train), len(pool)))
    for name, (trained, held_out) in parts.items():
        target = folder / FOLDS_DIR / name
        if not (target / "heldout.txt").is_file():
            write_text(target / "train.txt", _column_text([pool[i] for i in trained]))
            write_text(target / "heldout.txt", _column_text([pool[i] for i in held_out]))
    return CrossWeigh(folder, pool, len(train), made, original, test_keys, dev_keys)


def _restricted(key: AnswerKey, first: int) -> AnswerKey:
    """``key`` over its first ``first`` sentences only (a pool or test set cut by the config's limits)."""
    kept = frozenset(i for i in key.universe if i < first)
    return dataclasses.replace(key, changed=key.changed & kept, universe=kept)


# options that say what the data is: the fold runs get their own files, already mapped and cut
_DATA_OPTIONS = {
    "dataset", "train_file", "dev_file", "test_file", "compare_with", "columns", "tag_scheme", "encoding",
    "document_separator", "comment_prefix", "label_map", "output_dir", "train_limit", "eval_limit", "max_epochs",
    "sentence_weights", "own_data_name", "token_probabilities", "embedding_store",
}  # fmt: skip


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a TOML basic string


def uses_store(config: ExperimentConfig) -> bool:
    """Whether the fold runs read the pool's vectors from one store: the stack is frozen (no fine-tuning, no
    embeddings learned from the data), the LMs read sentences alone (document context is computed per run) and no
    pooled tables are built from each run's own training part."""
    return (
        config.method == "stack"
        and config.embeddings != "scratch"
        and config.precompute
        and config.lm_context == "sentence"
        and not config.pooled_lms
        and config.storage_mode != "none"
    )


def pool_store(crossweigh: CrossWeigh, config: ExperimentConfig) -> Path:
    """The pool's embedding store (``<folder>/embeddings``): built on the first call, checked against the
    config's stack after.

    Raises:
        ConfigError: the store was computed with another stack, or this stack has trained parts.
    """
    from flair_ner.data.corpus import to_sentences
    from flair_ner.embeddings.store import EmbeddingStore, build_store
    from flair_ner.training.speed import all_static
    from flair_ner.training.train import configured_stack

    folder = crossweigh.folder / STORE_DIR
    stack = configured_stack(config, config.data_dir)
    if not all_static(stack):
        raise ConfigError(f"{config.embeddings}: this stack has trained parts; an embedding store needs a frozen one")
    if folder.exists():
        EmbeddingStore.open(folder, stack)
    else:
        build_store(folder, stack, to_sentences(crossweigh.pool))
    return folder


def grid_text(crossweigh: CrossWeigh, config: ExperimentConfig, fold_epochs: int, store: Optional[Path] = None) -> str:
    """The fold runs as a grid file: ``config``'s model and training options (written out, so that nothing of
    its data options reaches a fold), one variant per fold with its files and one for the one-model baseline,
    ``fold_epochs`` epochs each, each writing its test tokens' tag probabilities (and reading the pool's vectors
    from ``store``, when given)."""
    folder = crossweigh.folder.resolve()
    everything = len(crossweigh.pool)  # limits no fold can reach: the pool was cut already
    lines = [
        'name = "crossweigh"',
        f"output_dir = {_toml_value(folder / GRID_DIR)}",
        'baseline = "' + crossweigh.folds[0].name + '"',
        "",
        "[config]",
    ]
    for key, value in dataclasses.asdict(config).items():
        if value is not None and key not in _DATA_OPTIONS:
            lines.append(f"{key} = {_toml_value(value)}")
    compare = ORIGINAL_TEST if crossweigh.original_test is not None else ""
    lines += [
        f"max_epochs = {fold_epochs}",
        f"train_limit = {everything}",
        f"eval_limit = {everything}",
        f'compare_with = "{compare}"',
        "token_probabilities = true",
        *([f"embedding_store = {_toml_value(store.resolve())}"] if store else []),
        # the fold cells' folders: <grid>/<fold>/<the pool's data>/seed-N
        f"own_data_name = {_toml_value(config.data_label)}",
        'columns = "0=text,1=ner"',
        'tag_scheme = "iob2"',
        'document_separator = ""',
    ]
    for name in [fold.name for fold in crossweigh.folds] + [ONE_MODEL]:
        files = folder / FOLDS_DIR / name
        lines += ["", f"[variants.{name}]", f"train_file = {_toml_value(files / 'train.txt')}",
                  f"test_file = {_toml_value(files / 'heldout.txt')}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _spans_text(tokens: list[str], spans: list[Span]) -> str:
    return " ".join(f"{span.type}:{' '.join(tokens[span.start : span.end])}" for span in spans) or "-"


def collect(crossweigh: CrossWeigh, cells: dict[str, Path], epsilon: float) -> dict:
    """Read every fold run's predictions, count each pool sentence's disagreements and write the reports.

    Args:
        crossweigh: what :func:`prepare` made.
        cells: fold name -> its finished run folder.
        epsilon: a sentence weighs ``epsilon ** c``.

    Returns:
        The summary (also written to ``summary.json``).

    Raises:
        RunFolderError: a fold run's predictions do not match its held-out part.
    """
    counts = [0] * len(crossweigh.pool)
    predicted: dict[int, list[str]] = {}
    kinds: Counter = Counter()
    types: Counter = Counter()
    test_counts = [0] * len(crossweigh.original_test or [])
    iterations = max(fold.iteration for fold in crossweigh.folds) + 1
    # per iteration, per test sentence: how many of that iteration's fold models disagree with its gold spans
    test_by_iteration = [[0] * len(test_counts) for _ in range(iterations)]
    for fold in crossweigh.folds:
        folder = cells[fold.name]
        table = tagged_sentences(read_predictions(folder / predictions_file("test")), str(folder))
        if len(table) != len(fold.held_out):
            raise RunFolderError(
                f"{folder}: {len(table)} predicted sentences, but the fold holds out {len(fold.held_out)}"
            )
        for index, row in zip(fold.held_out, table):
            if set(row.gold) != set(crossweigh.pool[index].spans) or row.tokens != crossweigh.pool[index].tokens:
                raise RunFolderError(
                    f"{folder}: sentence {row.id} is not pool sentence {index}; were the folds rewritten?"
                )
            if set(row.predicted) != set(crossweigh.pool[index].spans):
                counts[index] += 1
                predicted.setdefault(index, []).append(f"{fold.name}: {_spans_text(row.tokens, row.predicted)}")
                for outcome in entity_outcomes(crossweigh.pool[index].spans, row.predicted):
                    if outcome.kind != "correct":
                        kinds[outcome.kind] += 1
                        types[outcome.type] += 1
        if crossweigh.original_test is not None:
            tested = tagged_sentences(read_predictions(folder / predictions_file(ORIGINAL_TEST)), str(folder))
            for index, row in enumerate(tested):
                disagrees = set(row.predicted) != set(row.gold)
                test_counts[index] += disagrees
                test_by_iteration[fold.iteration][index] += disagrees
    import pandas as pd

    rows = [
        {"sentence": i, "split": "train" if i < crossweigh.train_sentences else "dev",
         "number_in_split": i if i < crossweigh.train_sentences else i - crossweigh.train_sentences,
         "text": " ".join(s.tokens), "gold": _spans_text(s.tokens, s.spans), "c": counts[i],
         "weight": epsilon ** counts[i], "predictions": " | ".join(predicted.get(i, []))}
        for i, s in enumerate(crossweigh.pool) if counts[i]
    ]  # fmt: skip
    columns = ["sentence", "split", "number_in_split", "text", "gold", "c", "weight", "predictions"]
    write_csv(crossweigh.folder / MISTAKES_TSV, pd.DataFrame(rows, columns=columns), sep="\t")
    weights = "".join(
        f"{i}\t{epsilon ** counts[i]!r}\n" for i in range(crossweigh.train_sentences) if counts[i]
    )  # sentences with c = 0 weigh 1 without a row
    write_text(crossweigh.folder / WEIGHTS_TSV, "sentence\tweight\n" + weights)
    if crossweigh.original_test is not None:
        test_rows = [{"sentence": i, "text": " ".join(s.tokens), "gold": _spans_text(s.tokens, s.spans),
                      "disagreeing_models": test_counts[i]} for i, s in enumerate(crossweigh.original_test)]  # fmt: skip
        write_csv(crossweigh.folder / TEST_DISAGREEMENTS_TSV, pd.DataFrame(test_rows), sep="\t")
    dev_numbers = range(crossweigh.train_sentences, len(crossweigh.pool))
    cleanlab = _cleanlab(crossweigh, cells)
    if cleanlab is not None:
        pool_flags, test_flags = cleanlab
        rows = [
            {"split": "train" if i < crossweigh.train_sentences else "dev",
             "number_in_split": i if i < crossweigh.train_sentences else i - crossweigh.train_sentences,
             "text": " ".join(crossweigh.pool[i].tokens), "gold": _spans_text(crossweigh.pool[i].tokens,
             crossweigh.pool[i].spans), "flagged_tokens": _tokens_text(crossweigh.pool[i].tokens, tokens),
             "crossweigh_c": counts[i]}
            for i, tokens in pool_flags.items()
        ] + [
            {"split": ORIGINAL_TEST + "-test", "number_in_split": i, "text": " ".join(crossweigh.original_test[i].tokens),
             "gold": _spans_text(crossweigh.original_test[i].tokens, crossweigh.original_test[i].spans),
             "flagged_tokens": _tokens_text(crossweigh.original_test[i].tokens, tokens),
             "crossweigh_c": test_counts[i]}
            for i, tokens in test_flags.items()
        ]  # fmt: skip
        columns = ["split", "number_in_split", "text", "gold", "flagged_tokens", "crossweigh_c"]
        write_csv(crossweigh.folder / CLEANLAB_TSV, pd.DataFrame(rows, columns=columns), sep="\t")
    one_model = _one_model_flags(crossweigh, cells[ONE_MODEL]) if ONE_MODEL in cells else None
    if crossweigh.test_keys or crossweigh.dev_keys:
        folds_per_iteration = len(crossweigh.folds) // iterations
        # c of a test sentence: the iterations in which most of the fold models disagree with its gold spans
        test_c = [sum(2 * row[i] > folds_per_iteration for row in test_by_iteration) for i in range(len(test_counts))]
        dev_c = counts[crossweigh.train_sentences :]
        # per detector: (the flagged test sentences, the flagged dev sentences, numbered within dev)
        detectors = {
            f"crossweigh c>={least}": ({i for i, c in enumerate(test_c) if c >= least},
                                       {i for i, c in enumerate(dev_c) if c >= least})
            for least in range(1, iterations + 1)
        }  # fmt: skip
        if cleanlab is not None:
            detectors["cleanlab"] = (set(test_flags), {i - crossweigh.train_sentences for i in pool_flags
                                                       if i in dev_numbers})  # fmt: skip
        if one_model is not None:
            detectors["one model"] = one_model
        detection = [
            {"detector": name, "answer_key": key.name, "sentences": len(key.universe),
             **detection_scores(flags[part], key)}
            for part, keys in ((0, crossweigh.test_keys), (1, crossweigh.dev_keys))
            for key in keys for name, flags in detectors.items()
        ]  # fmt: skip
        write_csv(crossweigh.folder / DETECTION_CSV, pd.DataFrame(detection).round(4))
    summary = {
        "pool_sentences": len(crossweigh.pool),
        "train_sentences": crossweigh.train_sentences,
        "folds": len(crossweigh.folds) // iterations,
        "iterations": iterations,
        "epsilon": epsilon,
        "sentences_per_c": {str(c): counts.count(c) for c in range(iterations + 1)},
        "disagreeing_entities_per_kind": dict(sorted(kinds.items())),
        "disagreeing_entities_per_type": dict(sorted(types.items())),
        "fold_train_sentences": {fold.name: len(fold.train) for fold in crossweigh.folds},
    }
    if cleanlab is not None:
        summary["cleanlab_flagged_sentences"] = {
            "train": sum(i < crossweigh.train_sentences for i in pool_flags),
            "dev": sum(i in dev_numbers for i in pool_flags),
            **({f"{ORIGINAL_TEST}-test": len(test_flags)} if crossweigh.original_test is not None else {}),
        }
    if one_model is not None:
        summary["one_model_flagged_sentences"] = {
            "dev": len(one_model[1]),
            **({f"{ORIGINAL_TEST}-test": len(one_model[0])} if crossweigh.original_test is not None else {}),
        }
    write_text(crossweigh.folder / SUMMARY_JSON, json.dumps(summary, indent=1) + "\n")
    return summary


def _tokens_text(tokens: list[str], positions: list[int]) -> str:
    return " ".join(f"{position}:{tokens[position]}" for position in positions)


def _cleanlab(
    crossweigh: CrossWeigh, cells: dict[str, Path]
) -> Optional[tuple[dict[int, list[int]], dict[int, list[int]]]]:
    """cleanlab's flags over the pool and over the original test set (see the module docstring), or ``None``
    when a fold run wrote no token probabilities (made before the kit wrote them)."""
    names = [ORIGINAL_TEST] if crossweigh.original_test is not None else []
    files = {(fold, name): cells[fold.name] / token_probabilities_file(name)
             for fold in crossweigh.folds for name in ["test", *names]}  # fmt: skip
    missing = [path for path in files.values() if not path.is_file()]
    if missing:
        log.warning("cleanlab skipped: %d fold runs wrote no token probabilities (e.g. %s)", len(missing), missing[0])
        return None
    tags: list[str] = []  # the union of every fold model's tags, in order of appearance
    for path in files.values():
        with np.load(path) as stored:
            tags += [str(tag) for tag in stored["tags"] if str(tag) not in tags]
    column = {tag: index for index, tag in enumerate(tags)}

    def means(sentences: list[Block], name: str, held: dict) -> list[np.ndarray]:
        sums = [np.zeros((len(sentence.tokens), len(tags))) for sentence in sentences]
        seen = [0] * len(sentences)
        for fold in crossweigh.folds:
            table = TokenProbabilities.read(files[fold, name])
            columns = [column[tag] for tag in table.tags]
            numbers = held[fold]
            blocks = table.sentences()
            if len(blocks) != len(numbers):
                raise RunFolderError(f"{files[fold, name]}: {len(blocks)} sentences, but the fold tags {len(numbers)}")
            for number, block in zip(numbers, blocks):
                if block.shape[0] != len(sentences[number].tokens):
                    raise RunFolderError(
                        f"{files[fold, name]}: sentence {number}'s token count differs from the pool's"
                    )
                sums[number][:, columns] += block
                seen[number] += 1
        return [total / max(count, 1) for total, count in zip(sums, seen)]

    pool = means(crossweigh.pool, "test", {fold: fold.held_out for fold in crossweigh.folds})
    pool_flags = cleanlab_flags(crossweigh.pool, pool, tags)
    test_flags: dict[int, list[int]] = {}
    if crossweigh.original_test is not None:
        everything = range(len(crossweigh.original_test))
        test = means(crossweigh.original_test, ORIGINAL_TEST, {fold: everything for fold in crossweigh.folds})
        test_flags = cleanlab_flags(crossweigh.original_test, test, tags)
    return pool_flags, test_flags


def _one_model_flags(crossweigh: CrossWeigh, folder: Path) -> tuple[set[int], set[int]]:
    """The one-model baseline: the original test sentences and the dev sentences (numbered within dev) whose
    predicted spans differ from the gold ones.

    Raises:
        RunFolderError: its predictions do not hold the pool's dev sentences.
    """
    dev = crossweigh.pool[crossweigh.train_sentences :]
    table = tagged_sentences(read_predictions(folder / predictions_file("test")), str(folder))
    if [row.tokens for row in table] != [sentence.tokens for sentence in dev]:
        raise RunFolderError(
            f"{folder}: its test predictions are not the pool's dev sentences; were the folds rewritten?"
        )
    dev_flags = {i for i, row in enumerate(table) if set(row.predicted) != set(row.gold)}
    test_flags: set[int] = set()
    if crossweigh.original_test is not None:
        tested = tagged_sentences(read_predictions(folder / predictions_file(ORIGINAL_TEST)), str(folder))
        test_flags = {i for i, row in enumerate(tested) if set(row.predicted) != set(row.gold)}
    return test_flags, dev_flags

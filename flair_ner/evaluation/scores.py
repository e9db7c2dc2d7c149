"""Entity-level evaluation with conlleval semantics, on any number of test sets.

An entity counts as right only when its type and both boundaries match a
gold entity.  Scores are micro- and macro-averaged precision, recall and F1
plus per-type P/R/F1/support; predictions are written as columns
(token, gold, predicted) for error analysis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd

from flair_ner.data.registry import Span, entity_spans, iob2_tags
from flair_ner.errors import RunFolderError
from flair_ner.files import atomic_path, write_csv, write_text
from flair_ner.runs.layout import METRICS_CSV, METRICS_JSON, predictions_file, token_probabilities_file

PREDICTED = "predicted"
AVERAGES = ("micro avg", "macro avg", "weighted avg")
ACCURACY = "token accuracy"


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score_spans(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]]) -> pd.DataFrame:
    """Per-type and averaged scores for aligned sentences of gold and predicted spans.

    Returns:
        One row per entity type, then ``micro avg``, ``macro avg`` (the plain
        mean over types) and ``weighted avg`` (the mean weighted by each type's
        support, as seqeval's and scikit-learn's reports define it); columns
        precision, recall, f1, support (gold entities), tp, fp, fn.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold sentences but {len(predicted)} predicted ones")
    counts: dict[str, list[int]] = {}
    for gold_spans, predicted_spans in zip(gold, predicted):
        gold_set, predicted_set = set(gold_spans), set(predicted_spans)
        for span in gold_set | predicted_set:
            tp_fp_fn = counts.setdefault(span.type, [0, 0, 0])
            if span in gold_set and span in predicted_set:
                tp_fp_fn[0] += 1
            elif span in predicted_set:
                tp_fp_fn[1] += 1
            else:
                tp_fp_fn[2] += 1
    rows = []
    for entity_type in sorted(counts):
        tp, fp, fn = counts[entity_type]
        rows.append({"label": entity_type, **_row(tp, fp, fn)})
    tp, fp, fn = (sum(c[i] for c in counts.values()) for i in range(3))
    rows.append({"label": "micro avg", **_row(tp, fp, fn)})
    per_type = pd.DataFrame(rows[:-1])
    macro = {
        "label": "macro avg",
        "precision": per_type["precision"].mean() if len(per_type) else 0.0,
        "recall": per_type["recall"].mean() if len(per_type) else 0.0,
        "f1": per_type["f1"].mean() if len(per_type) else 0.0,
        "support": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }
    weights = per_type["support"] if len(per_type) else pd.Series(dtype=float)
    total = weights.sum() if len(per_type) else 0
    weighted = {
        "label": "weighted avg",
        **{
            metric: float((per_type[metric] * weights).sum() / total) if total else 0.0
            for metric in ("precision", "recall", "f1")
        },
        "support": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }
    return pd.DataFrame(rows + [macro, weighted])


def _row(tp: int, fp: int, fn: int) -> dict:
    precision, recall, f1 = _prf(tp, fp, fn)
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn, "tp": tp, "fp": fp, "fn": fn}


# What became of an entity: one of these for every gold entity and for every predicted one that overlaps none.
CORRECT, WRONG_TYPE, BOUNDARY, MISSED, SPURIOUS = "correct", "wrong type", "boundary", "missed", "spurious"
ERROR_KINDS = (WRONG_TYPE, BOUNDARY, MISSED, SPURIOUS)


@dataclass(frozen=True)
class EntityOutcome:
    """One gold entity and what the prediction made of it, or one spurious predicted entity.

    Attributes:
        kind: ``correct`` (type and both boundaries match), ``boundary`` (a prediction of the same type
            overlaps it, with other boundaries), ``wrong type`` (only predictions of another type overlap it;
            their boundaries may differ too), ``missed`` (no prediction overlaps it) or ``spurious`` (a
            predicted entity that overlaps no gold entity).
        gold: the gold entity (``None`` for a spurious one).
        predicted: the prediction it was matched with or mistaken for (``None`` when missed).
    """

    kind: str
    gold: Optional[Span]
    predicted: Optional[Span]

    @property
    def type(self) -> str:
        """The gold type (the predicted one for a spurious entity)."""
        return (self.gold or self.predicted).type  # type: ignore[union-attr]


def entity_outcomes(gold: Sequence[Span], predicted: Sequence[Span]) -> list[EntityOutcome]:
    """Every gold entity of one sentence with its :class:`EntityOutcome`, then the spurious predictions.

    The one classification of errors in the kit: the confusion chart counts these, the error browser shows them.
    """
    outcomes = []
    for span in gold:
        overlapping = [p for p in predicted if p.start < span.end and span.start < p.end]
        same_type = [p for p in overlapping if p.type == span.type]
        if span in predicted:
            outcomes.append(EntityOutcome(CORRECT, span, span))
        elif same_type:
            outcomes.append(EntityOutcome(BOUNDARY, span, same_type[0]))
        elif overlapping:
            outcomes.append(EntityOutcome(WRONG_TYPE, span, overlapping[0]))
        else:
            outcomes.append(EntityOutcome(MISSED, span, None))
    for span in predicted:
        if not any(g.start < span.end and span.start < g.end for g in gold):
            outcomes.append(EntityOutcome(SPURIOUS, None, span))
    return outcomes


def spans_of(sentence, label_type: str) -> list[Span]:
    """A flair sentence's spans of one label type as :class:`Span` (token offsets, end exclusive)."""
    return [
        Span(span.get_label(label_type).value, span.tokens[0].idx - 1, span.tokens[-1].idx)
        for span in sentence.get_spans(label_type)
    ]


# flair's tag dictionary of a CRF tagger holds these beside the real tags; they never tag a token
NOT_TAGS = ("<START>", "<STOP>", "<unk>")


@dataclass
class TokenProbabilities:
    """Each token's probability per tag, as flair's tagger gives them (``return_probabilities_for_all_classes``).

    With a CRF these are flair's per-position softmax over the Viterbi scores, the predicted tag's made the largest
    (not the CRF's marginals); without one, the softmax of the emission scores. The CRF's ``<START>`` and
    ``<STOP>`` columns are dropped and each row renormalised to sum to 1 over the real tags.

    Args:
        tags: the column names (the tagger's tags in its scheme, BIOES for the kit's taggers).
        lengths: tokens per sentence, in the test set's order.
        values: one row per token (all sentences one after another), one column per tag.
    """

    tags: list[str]
    lengths: np.ndarray
    values: np.ndarray

    def sentences(self) -> list[np.ndarray]:
        """One (tokens x tags) block per sentence."""
        return np.split(self.values, np.cumsum(self.lengths)[:-1]) if len(self.lengths) else []

    def write(self, path: Path) -> Path:
        """Save as ``.npz`` (arrays ``tags``, ``lengths``, ``values``), atomically."""
        with atomic_path(path) as temporary, open(temporary, "wb") as handle:
            np.savez_compressed(handle, tags=np.array(self.tags), lengths=self.lengths, values=self.values)
        return Path(path)

    @classmethod
    def read(cls, path: Path) -> "TokenProbabilities":
        with np.load(path) as stored:
            return cls([str(tag) for tag in stored["tags"]], stored["lengths"], stored["values"])


@dataclass
class EvaluationResult:
    """Scores and predictions of one model on one test set (and each token's tag probabilities, when asked)."""

    name: str
    scores: pd.DataFrame
    predictions: pd.DataFrame
    probabilities: Optional[TokenProbabilities] = None

    @property
    def micro_f1(self) -> float:
        return float(self.scores.set_index("label").loc["micro avg", "f1"])

    @property
    def token_accuracy(self) -> float:
        """Share of tokens whose predicted IOB2 tag equals the gold one (``O`` tokens included)."""
        if self.predictions.empty:
            return 0.0
        return float((self.predictions["gold"] == self.predictions["predicted"]).mean())


def render_scores(result: EvaluationResult) -> str:
    """The per-class report as a text table: one row per type, the three averages, token accuracy."""
    table = result.scores.set_index("label")[["precision", "recall", "f1", "support"]].copy()
    for column in ("precision", "recall", "f1"):
        table[column] = (100 * table[column]).map("{:.2f}".format)
    table.index.name = None
    lines = table.to_string().splitlines()
    types = len(table) - sum(label in AVERAGES for label in table.index)
    rule = "-" * max(len(line) for line in lines)
    tokens = len(result.predictions)
    return "\n".join(
        [
            *lines[: 1 + types],
            rule,
            *lines[1 + types :],
            f"{ACCURACY}: {100 * result.token_accuracy:.2f} ({tokens} tokens)",
        ]
    )


def evaluate_sentences(
    tagger,
    sentences: list,
    name: str,
    mini_batch_size: int = 64,
    probabilities: bool = False,
    lm_context: str = "sentence",
) -> EvaluationResult:
    """Predict ``sentences`` (flair Sentences with gold ``ner`` spans) and score them.

    Args:
        tagger: a flair SequenceTagger.
        sentences: what it tags.
        name: the test set's name (file names, tables).
        mini_batch_size: sentences per batch.
        probabilities: also keep each token's probability per tag (:class:`TokenProbabilities`); the predicted
            labels are the same either way.
        lm_context: what the model's character LMs read, as it was trained: ``sentence`` or ``document``
            (:mod:`flair_ner.embeddings.lm_context`; documents are the linked sentences).
    """
    if lm_context == "document":
        from flair_ner.embeddings.lm_context import embed_in_documents

        embed_in_documents(tagger.embeddings, sentences)
    tagger.predict(
        sentences,
        mini_batch_size=mini_batch_size,
        label_name=PREDICTED,
        return_probabilities_for_all_classes=probabilities,
    )
    gold = [spans_of(sentence, "ner") for sentence in sentences]
    predicted = [spans_of(sentence, PREDICTED) for sentence in sentences]
    rows = []
    for index, (sentence, gold_spans, predicted_spans) in enumerate(zip(sentences, gold, predicted)):
        gold_tags, predicted_tags = iob2_tags(len(sentence), gold_spans), iob2_tags(len(sentence), predicted_spans)
        for token, gold_tag, predicted_tag in zip(sentence, gold_tags, predicted_tags):
            rows.append({"sentence": index, "token": token.text, "gold": gold_tag, "predicted": predicted_tag})
    table = _token_probabilities(sentences) if probabilities else None
    return EvaluationResult(name, score_spans(gold, predicted), pd.DataFrame(rows), table)


def _token_probabilities(sentences: list) -> TokenProbabilities:
    """The per-tag probabilities ``tagger.predict`` left on each token, as one table."""
    # every token lists the tagger's whole dictionary, in the same order
    first = next((token for sentence in sentences for token in sentence), None)
    listed = [label.value for label in first.get_tags_proba_dist(PREDICTED)] if first is not None else []
    tags = [tag for tag in listed if tag not in NOT_TAGS]
    column = {tag: index for index, tag in enumerate(tags)}
    values = np.zeros((sum(len(sentence) for sentence in sentences), len(tags)), dtype=np.float32)
    row = 0
    for sentence in sentences:
        for token in sentence:
            for label in token.get_tags_proba_dist(PREDICTED):
                if label.value in column:
                    values[row, column[label.value]] = label.score
            row += 1
    totals = values.sum(axis=1, keepdims=True)
    values = np.divide(values, totals, out=np.full_like(values, 1 / max(len(tags), 1)), where=totals > 0)
    lengths = np.array([len(sentence) for sentence in sentences], dtype=np.int64)
    return TokenProbabilities(tags, lengths, values)


PREDICTION_COLUMNS = ("sentence", "token", "gold", "predicted")


@dataclass
class TaggedSentence:
    """One test sentence as a predictions table (``predictions_<set>.tsv``) holds it.

    Attributes:
        id: its number in the table's ``sentence`` column.
        tokens: its tokens.
        gold: the gold entities, decoded from the ``gold`` tags.
        predicted: the predicted entities, decoded from the ``predicted`` tags.
        lines: the first and last line of its rows in the TSV (line 1 is the header).
    """

    id: int
    tokens: list[str]
    gold: list[Span]
    predicted: list[Span]
    lines: tuple[int, int]


def tagged_sentences(predictions: pd.DataFrame, source: str = "predictions table") -> list[TaggedSentence]:
    """The sentences of a predictions table (``sentence, token, gold, predicted``; a sentence's rows together,
    in the order :func:`write_results` writes them), entities decoded with conlleval's rules.

    Args:
        predictions: the table (:attr:`EvaluationResult.predictions`, or :func:`read_predictions` of a TSV).
        source: what the table is, in error messages (the TSV's path).

    Raises:
        RunFolderError: a column is missing, or a sentence's rows are not together.
    """
    missing = [column for column in PREDICTION_COLUMNS if column not in predictions.columns]
    if missing:
        raise RunFolderError(
            f"{source}: expected the columns {', '.join(PREDICTION_COLUMNS)}; missing {', '.join(missing)}"
        )
    ids = predictions["sentence"].tolist()
    tokens, gold, predicted = (predictions[column].astype(str).tolist() for column in ("token", "gold", "predicted"))
    sentences: list[TaggedSentence] = []
    seen: set = set()
    start = 0
    for index in range(1, len(ids) + 1):  # plain lists: a pandas groupby costs 50 µs a sentence
        if index < len(ids) and ids[index] == ids[start]:
            continue
        if ids[start] in seen:
            raise RunFolderError(
                f"{source}:{start + 2}: sentence {ids[start]} again; expected each sentence's rows together"
            )
        seen.add(ids[start])
        sentences.append(TaggedSentence(int(ids[start]), tokens[start:index], entity_spans(gold[start:index]),
                                        entity_spans(predicted[start:index]), (start + 2, index + 1)))  # fmt: skip
        start = index
    return sentences


def entity_counts(sentences: Sequence[TaggedSentence]) -> np.ndarray:
    """Per sentence, in the given order, its (tp, fp, fn) entity counts: the layout the paired bootstrap takes."""
    rows = [(len(set(s.gold) & set(s.predicted)), len(set(s.predicted) - set(s.gold)), len(set(s.gold) - set(s.predicted)))
            for s in sentences]  # fmt: skip
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def read_predictions(path: Path) -> pd.DataFrame:
    """A ``predictions_<set>.tsv`` as strings (a token ``NA`` or ``null`` stays a token).

    Raises:
        RunFolderError: a column is missing.
    """
    table = pd.read_csv(path, sep="\t", keep_default_na=False, dtype={"token": str, "gold": str, "predicted": str})
    missing = [column for column in PREDICTION_COLUMNS if column not in table.columns]
    if missing:
        raise RunFolderError(
            f"{path}: expected the columns {', '.join(PREDICTION_COLUMNS)}; missing {', '.join(missing)}"
        )
    return table


def metrics_table(results: list[EvaluationResult]) -> pd.DataFrame:
    """What ``metrics.csv`` holds: per test set one row per type and average, and a ``token accuracy`` row
    (its value in the f1 column, its token count as support, as scikit-learn's report lays it out)."""
    table = pd.concat(
        [
            pd.concat(
                [
                    result.scores,
                    pd.DataFrame(
                        [{"label": ACCURACY, "f1": result.token_accuracy, "support": len(result.predictions)}]
                    ),
                ],
                ignore_index=True,
            ).assign(test_set=result.name)
            for result in results
        ],
        ignore_index=True,
    )
    return table[["test_set", *[c for c in table.columns if c != "test_set"]]]


def write_results(results: list[EvaluationResult], output_dir: Path) -> list[Path]:
    """``metrics.csv`` (:func:`metrics_table`) / ``metrics.json`` (all test sets) and ``predictions_<name>.tsv``
    per test set."""
    output_dir = Path(output_dir)
    paths = [write_csv(output_dir / METRICS_CSV, metrics_table(results))]
    summary = {
        result.name: {
            "micro_f1": result.micro_f1,
            "token_accuracy": result.token_accuracy,
            "tokens": len(result.predictions),
            "scores": result.scores.set_index("label").to_dict(orient="index"),
        }
        for result in results
    }
    paths.append(write_text(output_dir / METRICS_JSON, json.dumps(summary, indent=2) + "\n"))
    for result in results:
        paths.append(write_csv(output_dir / predictions_file(result.name), result.predictions, sep="\t"))
        if result.probabilities is not None:
            paths.append(result.probabilities.write(output_dir / token_probabilities_file(result.name)))
    return paths

"""See what a model got wrong: ``errors.html`` for a run and ``compare.html`` for two runs, one file each.

Both pages are self-contained (styles, script and data inlined, the data compressed; nothing loads from the
network; any browser since 2023 opens them), built from the predictions of a run (in memory at the end of a run
or ``evaluate``; from ``predictions_<set>.tsv`` for a finished run folder). Each sentence is drawn with its gold entities and the predicted ones side by side, one
colour per type; the four error kinds of :func:`flair_ner.evaluation.scores.entity_outcomes` (wrong type, boundary,
missed, spurious) each look different. Filters by error kind and entity type, a search box and pages keep
3,453 CoNLL++ test sentences or MultiCoNER's 33 types usable. Every error links to its lines in the
predictions TSV.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Iterable, Optional, Sequence

import pandas as pd

from flair_ner.assets import RESOURCES
from flair_ner.data.registry import Span
from flair_ner.errors import RunFolderError
from flair_ner.evaluation.scores import (
    ACCURACY,
    AVERAGES,
    BOUNDARY,
    CORRECT,
    ERROR_KINDS,
    SPURIOUS,
    WRONG_TYPE,
    EvaluationResult,
    TaggedSentence,
    entity_counts,
    entity_outcomes,
    read_predictions,
    score_spans,
    tagged_sentences,
)
from flair_ner.files import write_text
from flair_ner.runs.layout import ERRORS_HTML, METRICS_CSV, PREDICTIONS, predictions_file

ASSETS = RESOURCES / "html"
PAGE_SIZE = 50
# the comparison's verdict per differing sentence
A_RIGHT, B_RIGHT, BOTH_WRONG = "A right, B wrong", "B right, A wrong", "both wrong"


def _prediction_marks(gold: Sequence[Span], predicted: Sequence[Span]) -> list[list]:
    """Marks for the predicted row: correct (no kind), spurious (overlaps no gold entity), boundary (overlaps a
    gold entity of its type) or wrong type."""
    marks = []
    for span in predicted:
        overlapping = [g for g in gold if g.start < span.end and span.start < g.end]
        if span in gold:
            marks.append([span.start, span.end, span.type])
        elif not overlapping:
            marks.append([span.start, span.end, span.type, SPURIOUS])
        elif any(g.type == span.type for g in overlapping):
            marks.append([span.start, span.end, span.type, BOUNDARY])
        else:
            marks.append([span.start, span.end, span.type, WRONG_TYPE, overlapping[0].type])
    return marks


def _gold_marks_and_errors(sentence: TaggedSentence) -> tuple[list[list], list[list[str]]]:
    marks, items = [], []
    for outcome in entity_outcomes(sentence.gold, sentence.predicted):
        if outcome.kind != CORRECT:
            items.append([outcome.kind, outcome.type])
        if outcome.gold is None:
            continue
        span = outcome.gold
        if outcome.kind == CORRECT:
            marks.append([span.start, span.end, span.type])
        elif outcome.kind == WRONG_TYPE:
            marks.append([span.start, span.end, span.type, WRONG_TYPE, outcome.predicted.type])
        else:
            marks.append([span.start, span.end, span.type, outcome.kind])
    return marks, items


def _types(sentences: Iterable[TaggedSentence]) -> list[str]:
    return sorted({span.type for s in sentences for span in [*s.gold, *s.predicted]})


def _table(frame: pd.DataFrame, table_id: str, average_rows: Iterable[str] = ()) -> str:
    """An HTML table of ``frame`` (index as the first column); rows named in ``average_rows`` set apart."""
    averages = set(average_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [frame.index.name or "", *frame.columns])
    body = []
    for label, row in frame.iterrows():
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
        css = ' class="average"' if label in averages else ""
        body.append(f'<tr{css} data-label="{html.escape(str(label))}"><td>{html.escape(str(label))}</td>{cells}</tr>')
    return f'<table class="scores" id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _percent(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    shown = frame.copy()
    for column in columns:
        shown[column] = (100 * shown[column]).map("{:.2f}".format)
    return shown


def _score_table(scores: pd.DataFrame, token_accuracy: float, tokens: int, table_id: str) -> str:
    """The per-type table as metrics.csv has it: P/R/F1 in %, support, tp, fp, fn; the averages; token accuracy."""
    table = scores.set_index("label")[["precision", "recall", "f1", "support", "tp", "fp", "fn"]]
    table = _percent(table, ("precision", "recall", "f1")).astype({"support": int, "tp": int, "fp": int, "fn": int})
    table.index.name = "label"
    accuracy = f'<p class="muted">{ACCURACY}: {100 * token_accuracy:.2f} % of {tokens} tokens</p>'
    return _table(table, table_id, AVERAGES) + accuracy


def _page(title: str, subtitle: str, summaries: str, legend: str, data: dict) -> str:
    # The sentences as gzip-compressed JSON in base64 (the page inflates it with the browser's own
    # DecompressionStream): a fifth of the size, which matters for pages kept in every run folder.
    # mtime=0: the same predictions give the same file.
    packed = gzip.compress(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), mtime=0)
    payload = base64.b64encode(packed).decode("ascii")
    template = Template((ASSETS / "viewer.html").read_text(encoding="utf-8"))
    return template.substitute(
        title=html.escape(title), subtitle=subtitle, summaries=summaries, legend=legend, data=payload,
        style=(ASSETS / "viewer.css").read_text(encoding="utf-8"), script=(ASSETS / "viewer.js").read_text(encoding="utf-8"),
    )  # fmt: skip


ERROR_LEGEND = (
    'Marks: <span class="ent" style="--c:#cde">correct<sup>TYPE</sup></span>'
    '<span class="ent k-wrong-type" style="--c:#cde">wrong type<sup>GOLD → PREDICTED</sup></span>'
    '<span class="ent k-boundary" style="--c:#cde">boundary<sup>TYPE boundary</sup></span>'
    '<span class="ent k-missed" style="--c:#cde">missed<sup>TYPE missed</sup></span>'
    '<span class="ent k-spurious" style="--c:#cde">spurious<sup>TYPE spurious</sup></span>'
    " — a gold entity counts once, under its gold type; a spurious one under its predicted type"
    " (as the entity confusion chart counts them)."
)


@dataclass
class TestSetPredictions:
    """What errors.html shows of one test set: the scored predictions and where they are kept."""

    name: str
    predictions: pd.DataFrame
    scores: pd.DataFrame
    token_accuracy: float
    source: str = "predictions table"  # where the predictions come from, for error messages

    @classmethod
    def of(cls, result: EvaluationResult) -> "TestSetPredictions":
        return cls(result.name, result.predictions, result.scores, result.token_accuracy)


def error_page(test_sets: Sequence[TestSetPredictions], title: str) -> str:
    """The HTML of errors.html for ``test_sets`` (one selectable section each)."""
    from flair_ner.evaluation.plots import entity_confusion

    sets, summaries = [], []
    for index, test_set in enumerate(test_sets):
        sentences = tagged_sentences(test_set.predictions, test_set.source)
        payload = []
        kinds = {kind: 0 for kind in ERROR_KINDS}
        for sentence in sentences:
            gold_marks, items = _gold_marks_and_errors(sentence)
            for kind, _ in items:
                kinds[kind] += 1
            payload.append({
                "id": sentence.id, "lines": sentence.lines, "tokens": sentence.tokens, "items": items,
                "rows": [["gold", gold_marks], ["predicted", _prediction_marks(sentence.gold, sentence.predicted)]],
            })  # fmt: skip
        sets.append({"name": test_set.name, "file": predictions_file(test_set.name), "types": _types(sentences),
                     "kinds": list(ERROR_KINDS), "sentences": payload})  # fmt: skip
        micro = test_set.scores.set_index("label").loc["micro avg"]
        confusion = entity_confusion(test_set.predictions)
        confusion.index.name = "gold \\ predicted"
        counts = pd.DataFrame({"entities": kinds}).rename_axis("error kind")
        summaries.append(
            f'<section class="set-summary" data-set="{index}"><h2>Test set {html.escape(test_set.name)}</h2>'
            f'<p id="totals-{index}">{len(sentences)} sentences, {int(micro["support"])} gold entities, '
            f"{int(micro['tp'] + micro['fp'])} predicted: {int(micro['tp'])} correct, {int(micro['fp'])} false positives, "
            f"{int(micro['fn'])} false negatives; micro-F1 {100 * micro['f1']:.2f} (the figures of {METRICS_CSV})</p>"
            f"<details open><summary>Scores per type</summary>"
            f"{_score_table(test_set.scores, test_set.token_accuracy, len(test_set.predictions), f'scores-{index}')}</details>"
            f"<details><summary>Errors by kind and the entity confusion counts</summary>"
            f"{_table(counts, f'kinds-{index}')}{_table(confusion, f'confusion-{index}')}</details></section>"
        )
    data = {"sets": sets, "page_size": PAGE_SIZE, "item_name": "errors", "default_kind": "",
            "kind_options": [["", "all errors"], ["*", "all sentences"]]}  # fmt: skip
    subtitle = ("Gold entities above, predicted below, one colour per type. The filters count errors; "
                "“all sentences” also shows the sentences without one.")  # fmt: skip
    return _page(title, subtitle, "".join(summaries), ERROR_LEGEND, data)


def write_error_page(test_sets: Sequence[TestSetPredictions], output_dir: Path, title: Optional[str] = None) -> Path:
    """``errors.html`` in ``output_dir`` (written whole or not at all)."""
    output_dir = Path(output_dir)
    page = error_page(test_sets, title or f"Errors of {output_dir}")  # the folder as the run or the user named it
    return write_text(output_dir / ERRORS_HTML, page)


def run_test_sets(run_dir: Path) -> list[TestSetPredictions]:
    """The test sets a finished run folder scored (``predictions_<set>.tsv`` with its rows in ``metrics.csv``).

    Raises:
        RunFolderError: not a folder, or it holds no predictions file or no metrics.csv.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunFolderError(f"{run_dir}: not a folder; expected a finished run folder (with {METRICS_CSV})")
    metrics_path = run_dir / METRICS_CSV
    prefix, suffix = PREDICTIONS.split("{}")
    files = sorted(run_dir.glob(PREDICTIONS.format("*")))
    if not files or not metrics_path.is_file():
        raise RunFolderError(
            f"{run_dir}: holds no {PREDICTIONS.format('<test set>')} or no {METRICS_CSV}; "
            "expected a run folder whose run finished its test evaluation"
        )
    metrics = pd.read_csv(metrics_path)
    by_name = {path.name[len(prefix) : -len(suffix)]: path for path in files}
    sets = []
    order = list(dict.fromkeys(metrics["test_set"]))  # the run's own test set first, as the run printed them
    for name in sorted(by_name, key=lambda n: order.index(n) if n in order else len(order)):
        rows = metrics[metrics["test_set"] == name]
        if rows.empty:
            raise RunFolderError(
                f"{metrics_path}: has no rows for test set {name!r}, whose {by_name[name].name} is in the folder"
            )
        predictions = read_predictions(by_name[name])
        scores = rows[rows["label"] != ACCURACY].drop(columns="test_set").reset_index(drop=True)
        # runs from before metrics.csv had the row: the same share, from the predictions
        accuracy = float((predictions["gold"] == predictions["predicted"]).mean()) if len(predictions) else 0.0
        sets.append(TestSetPredictions(name, predictions, scores, accuracy, str(by_name[name])))
    return sets


# ---------------------------------------------------------------- two runs


def _same_sentences(name: str, a: list[TaggedSentence], b: list[TaggedSentence], runs: tuple[Path, Path]) -> None:
    if len(a) != len(b):
        raise RunFolderError(
            f"{runs[0]} and {runs[1]} scored different test sets {name!r}: {len(a)} against {len(b)} sentences"
        )
    for left, right in zip(a, b):
        if left.tokens != right.tokens or left.gold != right.gold:
            what = "tokens" if left.tokens != right.tokens else "gold entities"
            raise RunFolderError(
                f"{runs[0]} and {runs[1]} scored different test sets {name!r}: sentence {left.id} has other {what}"
            )


@dataclass(frozen=True)
class RunDifference:
    """Two runs on one test set: their micro-F1 and the paired-bootstrap difference B minus A (as fractions).

    Args:
        test_set: the test set's name.
        sentences: its sentences (the bootstrap resamples them).
        micro_f1_a: run A's micro-F1.
        micro_f1_b: run B's micro-F1.
        difference: the mean bootstrap difference B minus A.
        low: the 95 % interval's lower end.
        high: its upper end.
        p_value: the bootstrap's two-sided p-value.
        differing_sentences: the sentences the two runs tag differently.
    """

    test_set: str
    sentences: int
    micro_f1_a: float
    micro_f1_b: float
    difference: float
    low: float
    high: float
    p_value: float
    differing_sentences: int

    def line(self) -> str:
        """One line for a terminal, in points."""
        return (
            f"{self.test_set}: A {100 * self.micro_f1_a:.2f}, B {100 * self.micro_f1_b:.2f}; B - A = "
            f"{100 * self.difference:+.2f} points, 95 % interval [{100 * self.low:+.2f}, {100 * self.high:+.2f}], "
            f"p = {self.p_value:.3f} ({self.sentences} sentences, {self.differing_sentences} tagged differently)"
        )


def compare_runs(run_a: Path, run_b: Path) -> tuple[str, list[RunDifference]]:
    """The HTML of compare.html: the test sets both runs scored, the sentences they tag differently, per-type wins
    and losses and the paired-bootstrap difference in micro-F1 (B minus A); and those differences.

    Raises:
        RunFolderError: a run folder without predictions, no test set in common, or a test set the two runs
            scored on different sentences.
    """
    runs = (Path(run_a), Path(run_b))
    sets_a = {s.name: s for s in run_test_sets(runs[0])}
    sets_b = {s.name: s for s in run_test_sets(runs[1])}
    common = [name for name in sets_a if name in sets_b]
    if not common:
        raise RunFolderError(
            f"{runs[0]} ({', '.join(sets_a)}) and {runs[1]} ({', '.join(sets_b)}) scored no test set in common"
        )
    sets, summaries, differences = [], [], []
    for index, name in enumerate(common):
        a = tagged_sentences(sets_a[name].predictions, sets_a[name].source)
        b = tagged_sentences(sets_b[name].predictions, sets_b[name].source)
        _same_sentences(name, a, b, runs)
        payload = []
        for left, right in zip(a, b):
            if set(left.predicted) == set(right.predicted):
                continue
            gold = set(left.gold)
            verdict = (
                A_RIGHT if set(left.predicted) == gold else B_RIGHT if set(right.predicted) == gold else BOTH_WRONG
            )
            differing = set(left.predicted) ^ set(right.predicted)
            payload.append({
                "id": left.id, "lines": left.lines, "tokens": left.tokens, "note": verdict,
                "items": [[verdict, entity_type] for entity_type in sorted({span.type for span in differing})],
                "rows": [["gold", [[s.start, s.end, s.type] for s in left.gold]],
                         ["A", _prediction_marks(left.gold, left.predicted)],
                         ["B", _prediction_marks(right.gold, right.predicted)]],
            })  # fmt: skip
        sets.append({"name": name, "file": predictions_file(name), "types": _types(a + b),
                     "kinds": [A_RIGHT, B_RIGHT, BOTH_WRONG], "sentences": payload})  # fmt: skip
        scores = [score_spans([s.gold for s in run], [s.predicted for s in run]).set_index("label") for run in (a, b)]
        differences.append(_difference(name, a, b, scores))
        summaries.append(_comparison_summary(index, differences[-1], a, b, scores))
    data = {"sets": sets, "page_size": PAGE_SIZE, "item_name": "differences", "default_kind": "",
            "kind_options": [["", "every difference"]]}  # fmt: skip
    subtitle = (f"A = {html.escape(str(runs[0]))}, B = {html.escape(str(runs[1]))}. The sentences the two runs tag "
                "differently: gold entities, then A's and B's predictions. Links point into the runs' "
                "predictions TSVs (the same lines in both).")  # fmt: skip
    page = _page(f"{runs[0]} (A) against {runs[1]} (B)", subtitle, "".join(summaries), ERROR_LEGEND, data)
    return page, differences


def _difference(
    name: str, a: list[TaggedSentence], b: list[TaggedSentence], scores: list[pd.DataFrame]
) -> RunDifference:
    """The paired-bootstrap difference of one test set; ``scores``: A's and B's score tables (by label)."""
    # the grid's statistics (summary loads grid)
    from flair_ner.grids.summary import paired_bootstrap

    difference, low, high, p_value = paired_bootstrap([entity_counts(a)], [entity_counts(b)])
    micro = [table.loc["micro avg", "f1"] for table in scores]
    differing = sum(set(x.predicted) != set(y.predicted) for x, y in zip(a, b))
    return RunDifference(name, len(a), float(micro[0]), float(micro[1]), float(difference), float(low), float(high),
                         float(p_value), differing)  # fmt: skip


def _comparison_summary(
    index: int, found: RunDifference, a: list[TaggedSentence], b: list[TaggedSentence], scores: list[pd.DataFrame]
) -> str:
    """The paired-bootstrap difference and the wins and losses per type of one test set."""
    from flair_ner.grids.summary import BOOTSTRAP_SAMPLES

    name, difference, low, high, p_value = found.test_set, found.difference, found.low, found.high, found.p_value
    scores_a, scores_b = scores
    rows = {}
    for entity_type in _types(a + b):
        found_a = found_b = spurious_a = spurious_b = 0
        for left, right in zip(a, b):
            gold = {s for s in left.gold if s.type == entity_type}
            pa = {s for s in left.predicted if s.type == entity_type}
            pb = {s for s in right.predicted if s.type == entity_type}
            found_a += len((gold & pa) - pb)
            found_b += len((gold & pb) - pa)
            spurious_a += len((pa - gold) - pb)
            spurious_b += len((pb - gold) - pa)
        f1_a = scores_a["f1"].get(entity_type, 0.0)
        f1_b = scores_b["f1"].get(entity_type, 0.0)
        rows[entity_type] = {"only A finds": found_a, "only B finds": found_b, "only A's false positives": spurious_a,
                             "only B's false positives": spurious_b, "F1 A": f"{100 * f1_a:.2f}",
                             "F1 B": f"{100 * f1_b:.2f}", "B − A": f"{100 * (f1_b - f1_a):+.2f}"}  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("type")
    differing = found.differing_sentences
    verdict = "shown" if low > 0 or high < 0 else "not shown (the interval contains 0)"
    micro_a, micro_b = found.micro_f1_a, found.micro_f1_b
    return (
        f'<section class="set-summary" data-set="{index}"><h2>Test set {html.escape(name)}</h2>'
        f'<p id="difference-{index}">micro-F1 A {100 * micro_a:.2f}, B {100 * micro_b:.2f}; B − A = '
        f"{100 * difference:+.2f} points, 95 % interval [{100 * low:+.2f}, {100 * high:+.2f}], p = {p_value:.3f} "
        f"(paired bootstrap over the {len(a)} test sentences, {BOOTSTRAP_SAMPLES} resamples, as the grid computes it): "
        f"a difference {verdict}. {differing} sentences are tagged differently.</p>"
        f"<details open><summary>Wins and losses per type</summary>{_table(table, f'wins-{index}')}</details></section>"
    )


def write_compare_page(run_a: Path, run_b: Path, output: Path) -> tuple[Path, list[RunDifference]]:
    """``compare.html`` (or ``output``) for two runs, written whole or not at all; and the differences it shows."""
    page, differences = compare_runs(run_a, run_b)
    return write_text(Path(output), page), differences

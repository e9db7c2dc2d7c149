"""The entity scorer (conlleval semantics), cross-checked against seqeval's strict IOB2 mode."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from seqeval.metrics import accuracy_score, classification_report
from seqeval.scheme import IOB2

from flair_ner.data.corpus import iter_sentences, read_blocks
from flair_ner.data.registry import ColumnFormat, Span
from flair_ner.evaluation.scores import evaluate_sentences, iob2_tags, render_scores, score_spans, write_results


def test_hand_computed_scores() -> None:
    gold = [[Span("PER", 0, 2), Span("LOC", 3, 4)], [Span("ORG", 0, 1)]]
    predicted = [[Span("PER", 0, 2), Span("LOC", 3, 5)], [Span("ORG", 0, 1), Span("PER", 2, 3)]]
    scores = score_spans(gold, predicted).set_index("label")
    assert scores.loc["PER", ["tp", "fp", "fn"]].tolist() == [1, 1, 0]
    assert scores.loc["LOC", ["precision", "recall", "f1"]].tolist() == [0.0, 0.0, 0.0]  # wrong end: wrong entity
    assert scores.loc["micro avg", ["precision", "recall"]].tolist() == [0.5, 2 / 3]
    assert scores.loc["micro avg", "f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert scores.loc["macro avg", "f1"] == pytest.approx((2 / 3 + 0 + 1) / 3)


def test_weighted_average_weighs_by_support() -> None:
    gold = [[Span("PER", 0, 1), Span("PER", 2, 3), Span("PER", 4, 5), Span("LOC", 6, 7)]]
    predicted = [[Span("PER", 0, 1), Span("PER", 2, 3), Span("PER", 4, 5)]]  # PER all right, LOC missed
    scores = score_spans(gold, predicted).set_index("label")
    assert scores.loc["macro avg", "f1"] == pytest.approx(0.5)
    assert scores.loc["weighted avg", "f1"] == pytest.approx(0.75)  # (3 * 1.0 + 1 * 0.0) / 4
    assert scores.loc["weighted avg", "support"] == 4


def _seqeval(gold: list[list[Span]], predicted: list[list[Span]], lengths: list[int]) -> dict:
    y_true = [iob2_tags(n, spans) for n, spans in zip(lengths, gold)]
    y_pred = [iob2_tags(n, spans) for n, spans in zip(lengths, predicted)]
    return classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)


def _assert_same(ours: pd.DataFrame, theirs: dict) -> None:
    ours = ours.set_index("label")
    averages = ("micro avg", "macro avg", "weighted avg")
    for label in [*[t for t in ours.index if t not in averages], *averages]:
        for metric, column in (("precision", "precision"), ("recall", "recall"), ("f1-score", "f1")):
            assert ours.loc[label, column] == pytest.approx(theirs[label][metric]), (label, metric)
        assert ours.loc[label, "support"] == theirs[label]["support"]


def test_scorer_matches_seqeval_on_the_two_test_set_versions(mirror: Path) -> None:
    """Score the original CoNLL-2003 test annotation as if it were a prediction of CoNLL++'s."""
    gold = list(iter_sentences(read_blocks(mirror / "conllpp" / "conllpp_test.txt")))
    other = list(iter_sentences(read_blocks(mirror / "conll2003" / "eng.testb", ColumnFormat(tag_scheme="iob1"))))
    ours = score_spans([s.spans for s in gold], [s.spans for s in other])
    _assert_same(ours, _seqeval([s.spans for s in gold], [s.spans for s in other], [len(s.tokens) for s in gold]))
    assert 0.95 < ours.set_index("label").loc["micro avg", "f1"] < 1.0


def test_scorer_matches_seqeval_on_model_predictions(tiny_run, conllpp_slice: Path, tmp_path: Path) -> None:
    from flair.models import SequenceTagger

    from flair_ner.data.corpus import load_sentences

    sentences = load_sentences(conllpp_slice / "conllpp_test.txt")
    result = evaluate_sentences(SequenceTagger.load(tiny_run.final_model), sentences, "conllpp")
    predictions = result.predictions
    y_true = [group["gold"].tolist() for _, group in predictions.groupby("sentence")]
    y_pred = [group["predicted"].tolist() for _, group in predictions.groupby("sentence")]
    theirs = classification_report(y_true, y_pred, mode="strict", scheme=IOB2, output_dict=True, zero_division=0)
    _assert_same(result.scores, theirs)  # per type, micro, macro and weighted averages
    assert result.scores.set_index("label").loc["micro avg", "support"] > 0
    assert result.token_accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert 0 < result.token_accuracy < 1

    paths = write_results([result], tmp_path)
    assert [p.name for p in paths] == ["metrics.csv", "metrics.json", "predictions_conllpp.tsv"]
    assert list(pd.read_csv(paths[2], sep="\t").columns) == ["sentence", "token", "gold", "predicted"]
    table = pd.read_csv(paths[0]).set_index("label")
    assert {"micro avg", "macro avg", "weighted avg"} <= set(table.index)
    assert table.loc["token accuracy", "f1"] == pytest.approx(result.token_accuracy)
    assert table.loc["token accuracy", "support"] == len(predictions)
    rendered = render_scores(result)
    assert "weighted avg" in rendered and f"token accuracy: {100 * result.token_accuracy:.2f}" in rendered


def test_iob2_tags() -> None:
    assert iob2_tags(5, [Span("PER", 0, 2), Span("LOC", 3, 4)]) == ["B-PER", "I-PER", "O", "B-LOC", "O"]


def test_entity_confusion_counts_type_errors_boundaries_misses_and_spurious() -> None:
    from flair_ner.evaluation.plots import BOUNDARY, MISSED, SPURIOUS, entity_confusion

    rows = [  # sentence, token, gold, predicted
        (0, "Peter", "B-PER", "B-PER"), (0, "Blackburn", "I-PER", "I-PER"),      # found
        (0, "in", "O", "O"), (0, "EU", "B-ORG", "B-LOC"),                         # ORG taken for LOC
        (1, "New", "B-LOC", "O"), (1, "York", "I-LOC", "B-LOC"),                 # LOC with other boundaries
        (1, "Times", "O", "O"), (1, "Acme", "B-ORG", "O"),                        # ORG missed
        (2, "Monday", "O", "B-MISC"),                                             # spurious MISC
    ]  # fmt: skip
    table = entity_confusion(pd.DataFrame(rows, columns=["sentence", "token", "gold", "predicted"]))
    assert table.loc["PER", "PER"] == 1 and table.loc["ORG", "LOC"] == 1 and table.loc["LOC", BOUNDARY] == 1
    assert table.loc["ORG", MISSED] == 1 and table.loc[SPURIOUS, "MISC"] == 1
    assert int(table.to_numpy().sum()) == 5


def _drawn(monkeypatch) -> list:
    """The figures the plot functions save (instead of writing them)."""
    import flair_ner.evaluation.plots as plots

    figures = []
    monkeypatch.setattr(plots, "save_figure", lambda figure, path: figures.append(figure) or path)
    return figures


def test_per_type_chart_of_a_single_type_shows_its_precision_recall_and_f1(monkeypatch, tmp_path: Path) -> None:
    from flair_ner.evaluation.plots import plot_per_type_f1

    figures = _drawn(monkeypatch)
    rows = [{"test_set": "test", "label": label, "precision": 0.9, "recall": 0.6, "f1": 0.72, "support": 10}
            for label in ("PER", "micro avg", "macro avg", "weighted avg")]  # fmt: skip
    plot_per_type_f1(pd.DataFrame(rows), tmp_path / "one.png")
    axis = figures[0].axes[0]
    assert [label.get_text() for label in axis.get_yticklabels()] == ["F1", "recall", "precision"]
    assert sorted(round(bar.get_width(), 1) for bar in axis.patches) == [60.0, 72.0, 90.0]
    assert "PER" in axis.get_title()
    rows.insert(0, {"test_set": "test", "label": "LOC", "precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 4})
    plot_per_type_f1(pd.DataFrame(rows), tmp_path / "two.png")
    labels = [label.get_text() for label in figures[1].axes[0].get_yticklabels()]
    assert labels == ["weighted avg", "macro avg", "micro avg", "PER", "LOC"]


def test_confusion_chart_has_one_colour_scale_and_the_test_files_title(monkeypatch, tmp_path: Path) -> None:
    from matplotlib.colors import LogNorm

    from flair_ner.evaluation.plots import confusion_title, plot_entity_confusion

    figures = _drawn(monkeypatch)
    table = pd.DataFrame([(0, "Paris", "B-LOC", "B-LOC"), (0, "rocks", "O", "B-ORG")] * 1 +
                         [(i, "Rome", "B-LOC", "B-LOC") for i in range(1, 700)], columns=["sentence", "token", "gold", "predicted"])  # fmt: skip
    plot_entity_confusion(table, tmp_path / "c.png", confusion_title(Path("data/test.txt")))
    heat_map, colour_bar = figures[0].axes
    assert heat_map.get_title() == "test.txt: gold type against prediction"
    image = heat_map.get_images()[0]
    assert isinstance(image.norm, LogNorm) and image.norm.vmax == 700  # one scale: counts, the largest at the top
    # colours follow counts, not shares of a row: the one spurious entity (all of its row) is the palest cell,
    # the 700 correct LOC the darkest
    colours = image.norm(image.get_array())
    assert colours[-1].min() == 0.0 and colours[0, 0] == 1.0

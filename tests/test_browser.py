"""errors.html and compare.html in a real browser (headless Chromium): the filters count what the predictions
hold, errors look like their kind, pictures are not blank."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from flair_ner.evaluation.scores import WRONG_TYPE, entity_outcomes, read_predictions, tagged_sentences
from flair_ner.evaluation.plots import BOUNDARY, MISSED, SPURIOUS, entity_confusion
from flair_ner.grids.summary import paired_bootstrap, sentence_counts
from helpers import not_blank, save_screenshot, train

REPO = Path(__file__).resolve().parents[1]
REFERENCE_RUN = REPO / "results" / "conllpp"


def flair_ner(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flair_ner", *arguments], capture_output=True, text=True, timeout=300)


def counts_by_kind(predictions: pd.DataFrame, entity_type: str = "") -> dict[str, int]:
    """Error counts per kind from the confusion table (the chart's tabulation, not the page's)."""
    table = entity_confusion(predictions)
    types = [t for t in table.index if t != SPURIOUS]
    rows = [entity_type] if entity_type else types
    return {
        "wrong type": int(sum(table.loc[row, column] for row in rows for column in types if column != row)),
        "boundary": int(table.loc[rows, BOUNDARY].sum()),
        "missed": int(table.loc[rows, MISSED].sum()),
        "spurious": int(table.loc[SPURIOUS, rows].sum()),
    }


def open_page(driver, path: Path) -> None:
    """Open a page and wait until it has unpacked its data and drawn its sentences."""
    driver.get(path.as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "yes")


def shown(driver) -> tuple[int, int]:
    count = driver.find_element(By.ID, "count")
    return int(count.get_attribute("data-items")), int(count.get_attribute("data-sentences"))


def choose(driver, element_id: str, value: str) -> None:
    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory, conllpp_slice: Path, tiny_glove: Path) -> tuple[Path, Path]:
    """Two real quick runs (4 epochs on the 300 sentences of the CoNLL++ slice) that differ in hidden size."""
    folder = tmp_path_factory.mktemp("runs")
    options = ["--train-file", str(conllpp_slice / "conllpp_train.txt"), "--dev-file", str(conllpp_slice / "conllpp_dev.txt"),
               "--test-file", str(conllpp_slice / "conllpp_test.txt"), "--glove", str(tiny_glove), "--lms", "none",
               "--max-epochs", "4"]  # fmt: skip
    runs = []
    for name, hidden in (("small", "8"), ("large", "16")):
        result = train(folder / name, options + ["--hidden-size", hidden])
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(folder / name)
    return runs[0], runs[1]


def test_a_quick_runs_error_page_counts_what_its_predictions_hold(chromium, quick_runs, tmp_path: Path) -> None:
    run = quick_runs[1]
    assert (run / "errors.html").is_file()  # every run writes it
    predictions = read_predictions(run / "predictions_test.tsv")
    metrics = pd.read_csv(run / "metrics.csv").set_index("label")
    open_page(chromium, run / "errors.html")
    expected = counts_by_kind(predictions)
    assert shown(chromium)[0] == sum(expected.values())
    for kind, count in expected.items():
        choose(chromium, "kind", kind)
        assert shown(chromium)[0] == count, kind
        # on the page, as many marks of the kind as it counts (gold row, or predicted row for spurious ones)
        if shown(chromium)[1] <= 50:
            row = "predicted" if kind == "spurious" else "gold"
            marks = chromium.find_elements(
                By.XPATH, f"//div[@class='row'][span[@class='who']='{row}']//span[@data-kind='{kind}']"
            )
            assert len(marks) == count, kind
    # gold entities missed or mistyped or cut wrong are exactly metrics.csv's false negatives
    assert expected["wrong type"] + expected["boundary"] + expected["missed"] == metrics.loc["micro avg", "fn"]
    choose(chromium, "kind", "*")
    assert shown(chromium)[1] == predictions["sentence"].nunique()
    # the per-type table is metrics.csv's
    for label in (
        "micro avg",
        *[t for t in metrics.index if t not in ("macro avg", "weighted avg", "micro avg", "token accuracy")],
    ):
        cells = chromium.find_elements(By.CSS_SELECTOR, f"#scores-0 tr[data-label='{label}'] td")
        assert [int(cells[i].text) for i in (4, 5, 6, 7)] == [
            int(metrics.loc[label, c]) for c in ("support", "tp", "fp", "fn")
        ]
    assert not_blank(save_screenshot(chromium, tmp_path / "quick-errors.png"))


def test_the_reference_runs_error_page(chromium, tmp_path: Path) -> None:
    """The committed CoNLL++ reference run: its page rebuilt by `browse`, filters, a known wrong-type error."""
    run = tmp_path / "conllpp"
    run.mkdir()
    for path in REFERENCE_RUN.glob("predictions_*.tsv"):
        shutil.copy(path, run)
    shutil.copy(REFERENCE_RUN / "metrics.csv", run)
    result = flair_ner("browse", str(run))
    assert result.returncode == 0, result.stderr
    assert re.search(r"errors\.html \(\d\.\d MB\)", result.stdout)
    predictions = read_predictions(run / "predictions_conllpp.tsv")
    open_page(chromium, run / "errors.html")
    assert (
        Select(chromium.find_element(By.ID, "set")).first_selected_option.text == "conllpp"
    )  # the run's own set first
    for entity_type in ("", "ORG"):
        choose(chromium, "type", entity_type)
        for kind, count in counts_by_kind(predictions, entity_type).items():
            choose(chromium, "kind", kind)
            assert shown(chromium)[0] == count, (entity_type, kind)
    # a wrong-type error, found here from the TSV, is drawn as one on the page
    sentence, outcome = next((s, o) for s in tagged_sentences(predictions) for o in entity_outcomes(s.gold, s.predicted)
                             if o.kind == WRONG_TYPE and len(s.tokens) > 6)  # fmt: skip
    choose(chromium, "type", "")
    choose(chromium, "kind", "wrong type")
    search = chromium.find_element(By.ID, "search")
    search.send_keys(" ".join(sentence.tokens))
    assert shown(chromium)[1] >= 1
    block = chromium.find_element(By.CSS_SELECTOR, f".sentence[data-id='{sentence.id}']")
    gold = block.find_element(
        By.XPATH, ".//div[@class='row'][span[@class='who']='gold']//span[@data-kind='wrong type']"
    )
    assert gold.text.replace("\n", " ").endswith(f"{outcome.gold.type} → {outcome.predicted.type}")
    assert " ".join(sentence.tokens[outcome.gold.start : outcome.gold.end]) in gold.text
    link = block.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href").endswith("predictions_conllpp.tsv")
    assert f"lines {sentence.lines[0]}–{sentence.lines[1]}" in block.text
    # those lines of the TSV are that sentence's
    lines = (run / "predictions_conllpp.tsv").read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[1] for line in lines[sentence.lines[0] - 1 : sentence.lines[1]]] == sentence.tokens
    search.send_keys(Keys.CONTROL, "a", Keys.DELETE)  # as a user empties it (clear() fires no input event)
    choose(chromium, "kind", "")
    # pages: 50 sentences at a time
    assert len(chromium.find_elements(By.CSS_SELECTOR, ".sentence")) == 50
    chromium.find_element(By.ID, "next").click()
    assert chromium.find_element(By.ID, "page").text.startswith("page 2 of")
    chromium.find_element(By.ID, "previous").click()
    assert not_blank(save_screenshot(chromium, tmp_path / "errors-html.png"))


def test_compare_two_runs(chromium, quick_runs, tmp_path: Path) -> None:
    small, large = quick_runs
    output = tmp_path / "compare.html"
    result = flair_ner("compare", str(small), str(large), "--output", str(output), "--table", str(tmp_path / "d.csv"))
    assert result.returncode == 0, result.stderr
    a, b = (tagged_sentences(read_predictions(run / "predictions_test.tsv")) for run in quick_runs)
    differing = [(x, y) for x, y in zip(a, b) if set(x.predicted) != set(y.predicted)]
    a_right = sum(set(x.predicted) == set(x.gold) for x, _ in differing)
    b_right = sum(set(y.predicted) == set(y.gold) for _, y in differing)
    open_page(chromium, output)
    assert shown(chromium)[1] == len(differing)
    choose(chromium, "kind", "A right, B wrong")
    assert shown(chromium)[1] == a_right
    choose(chromium, "kind", "B right, A wrong")
    assert shown(chromium)[1] == b_right
    choose(chromium, "kind", "both wrong")
    assert shown(chromium)[1] == len(differing) - a_right - b_right
    # the paired bootstrap the grid computes, from the TSVs
    difference, low, high, _ = paired_bootstrap(
        *([sentence_counts(run / "predictions_test.tsv")] for run in quick_runs)
    )
    assert difference != 0  # the runs differ in F1, so the check below compares real figures
    text = chromium.find_element(By.ID, "difference-0").text
    assert f"B − A = {100 * difference:+.2f} points, 95 % interval [{100 * low:+.2f}, {100 * high:+.2f}]" in text
    # the same figures on the terminal and in the table
    assert (
        f"B - A = {100 * difference:+.2f} points, 95 % interval [{100 * low:+.2f}, {100 * high:+.2f}]" in result.stdout
    )
    table = pd.read_csv(tmp_path / "d.csv")
    assert table[["test_set", "difference", "low", "high"]].values.tolist() == [["test", difference, low, high]]
    assert not_blank(save_screenshot(chromium, tmp_path / "quick-compare.png"))


def test_compare_refuses_runs_on_different_test_sets(quick_runs, tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(quick_runs[0], other)
    table = pd.read_csv(other / "predictions_test.tsv", sep="\t", keep_default_na=False)
    table.loc[0, "token"] = "Changed"
    table.to_csv(other / "predictions_test.tsv", sep="\t", index=False)
    result = flair_ner("compare", str(quick_runs[1]), str(other), "--output", str(tmp_path / "c.html"))
    assert (
        result.returncode == 2 and "sentence 0 has other tokens" in result.stderr and "Traceback" not in result.stderr
    )
    result = flair_ner("browse", str(tmp_path / "nothing-here"))
    assert result.returncode == 2 and "not a folder" in result.stderr
    assert not (tmp_path / "c.html").exists()
    # a predictions file with a sentence's rows apart (its first row moved to the end), or without its gold column
    pd.concat([table.iloc[1:], table.iloc[:1]]).to_csv(other / "predictions_test.tsv", sep="\t", index=False)
    result = flair_ner("browse", str(other))
    assert (
        result.returncode == 2
        and f"{other / 'predictions_test.tsv'}:" in result.stderr
        and "rows together" in result.stderr
    )
    table.drop(columns="gold").to_csv(other / "predictions_test.tsv", sep="\t", index=False)
    result = flair_ner("browse", str(other))
    assert result.returncode == 2 and "missing gold" in result.stderr and "Traceback" not in result.stderr


def test_the_page_embeds_no_network_resource(quick_runs) -> None:
    page = (quick_runs[0] / "errors.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    packed = re.search(
        r'<script type="application/octet-stream" id="data" data-encoding="gzip\+base64">(.*?)</script>', page, re.S
    )
    data = json.loads(gzip.decompress(base64.b64decode(packed.group(1))))
    assert [s["name"] for s in data["sets"]] == ["test"]

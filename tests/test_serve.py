"""flair-ner serve, started for real on 127.0.0.1 with the shipped model: the API, its refusals, the demo page
and the API documentation in headless Chromium, and a bounded load test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from helpers import not_blank, save_screenshot

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
import serve_load  # noqa: E402 - the benchmark's server start and client are the ones under test here


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> str:
    port, log = serve_load.free_port(), tmp_path_factory.mktemp("serve") / "server.log"
    process = serve_load.start_server("conllpp", port, log, ["--max-body-bytes", "100000"])
    yield f"http://127.0.0.1:{port}"
    assert serve_load.stop_server(process, log)  # SIGTERM stops it cleanly
    assert "Uvicorn running on http://127.0.0.1:" in log.read_text()  # 127.0.0.1 unless told otherwise


def post_bytes(url: str, data: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_predict_answers_as_predict_writes(server: str) -> None:
    with urllib.request.urlopen(f"{server}/health") as answer:
        health = json.loads(answer.read())
    assert health["status"] == "ok" and health["models"][0]["types"] == ["LOC", "MISC", "ORG", "PER"]
    text = "George Washington went to Washington."
    status, answer, _ = serve_load.post(f"{server}/predict", {"text": text, "id": "a-7"})
    assert status == 200 and answer["id"] == "a-7"  # other fields carried through
    assert [(e["text"], e["type"]) for e in answer["entities"]] == [("George Washington", "PER"), ("Washington", "LOC")]
    # offsets count code points, in any script; several documents in one request come back in order
    texts = ["Über 😀 Nacht flog Angela Merkel nach Zürich .", "Wie geht es dir ?", "Barack Obama visited Berlin ."]
    status, answers, _ = serve_load.post(f"{server}/predict", [{"text": t} for t in texts])
    assert status == 200 and [a["text"] for a in answers] == texts
    assert sum(len(a["entities"]) for a in answers) >= 3
    for record in answers:
        for entity in record["entities"]:
            assert record["text"][entity["start"] : entity["end"]] == entity["text"]
            assert 0 < entity["confidence"] <= 1
    status, answer, _ = serve_load.post(
        f"{server}/predict?model=conllpp", {"tokens": ["Angela", "Merkel", "visited", "Paris"]}
    )
    assert status == 200 and answer["entities"][0]["token_start"] == 0 and answer["entities"][0]["token_end"] == 2


def test_bad_requests_get_a_4xx_naming_the_field_and_the_server_keeps_serving(server: str) -> None:
    assert post_bytes(f"{server}/predict", b'{"text": "a') == (400, post_bytes(f"{server}/predict", b'{"text": "a')[1])
    status, answer = post_bytes(f"{server}/predict", b'{"text": "a')
    assert status == 400 and answer["field"] == "body" and "not JSON" in answer["error"]
    status, answer = post_bytes(f"{server}/predict", b'{"txt": "George"}')
    assert status == 422 and answer["field"] == "text"
    status, answer = post_bytes(f"{server}/predict", json.dumps([{"text": "a"}, {"tokens": ["a", 3]}]).encode())
    assert status == 422 and answer["field"] == "[1].tokens[1]"
    status, answer = post_bytes(f"{server}/predict?model=other", b'{"text": "a"}')
    assert status == 404 and answer["field"] == "model"
    status, answer = post_bytes(f"{server}/predict", json.dumps({"text": "x" * 10_000_000}).encode())
    assert status == 413 and answer["field"] == "body"
    status, answer, _ = serve_load.post(f"{server}/predict", {"text": "Paris is in France ."})
    assert status == 200 and {e["type"] for e in answer["entities"]} == {"LOC"}


def test_demo_page_and_api_docs_in_a_browser(server: str, chromium, tmp_path: Path) -> None:
    chromium.get(server + "/")
    chromium.find_element(By.ID, "text").send_keys("George Washington went to Washington.")
    chromium.find_element(By.ID, "tag").click()
    marks = WebDriverWait(chromium, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#result .ent"))
    found = [
        (m.get_attribute("data-type"), chromium.execute_script("return arguments[0].firstChild.textContent", m))
        for m in marks
    ]
    assert found == [("PER", "George Washington"), ("LOC", "Washington")]
    assert all(0 < float(m.get_attribute("data-confidence")) <= 1 for m in marks)
    assert chromium.find_element(By.ID, "status").text == "2 entities"
    chromium.set_window_size(1100, 420)
    assert not_blank(save_screenshot(chromium, tmp_path / "serve-demo.png"))
    chromium.set_window_size(1280, 1300)
    # the OpenAPI documentation renders without a network (Swagger UI's files come with the kit)
    chromium.get(server + "/docs")
    WebDriverWait(chromium, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))
    paths = {e.text for e in chromium.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert {"/predict", "/health"} <= paths


def test_bounded_load_loses_no_answer(tmp_path: Path, mirror: Path) -> None:
    output = tmp_path / "serve.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "serve_load.py"), "--requests", "40", "--concurrency", "8",
         "--sentences", "40", "--output", str(output)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "FLAIR_NER_MIRROR": str(mirror)},
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    figures = json.loads(output.read_text(encoding="utf-8"))
    assert figures["answered"] == 40 and figures["lost_or_wrong_count"] == 0 and figures["server_shut_down_cleanly"]
    assert 0 < figures["latency_ms"]["p50"] <= figures["latency_ms"]["p95"] <= figures["latency_ms"]["max"]
    assert figures["entities"] > 20


def test_a_bad_model_is_refused_in_one_line_before_serving(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "flair_ner", "serve", "--model", str(tmp_path / "none.pt")],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 2 and "none.pt: no such model file or run folder" in result.stderr
    assert "Traceback" not in result.stderr and "flair" not in result.stderr.replace("flair-ner", "")

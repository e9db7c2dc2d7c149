"""A bounded load test of ``flair-ner serve``: requests/s and latency, and that no answer is lost or mixed up.

    python benchmarks/serve_load.py                                     # the shipped model, 500 requests, 8 at a time
    python benchmarks/serve_load.py --requests 50 --concurrency 4 --output /tmp/serve.json   # a quick look

Starts ``python -m flair_ner serve --model M`` on 127.0.0.1 (a free port) in a child process, waits for
``/health``, then sends ``--requests`` POST /predict requests, ``--concurrency`` at a time, each one CoNLL++
test sentence as ``{"text": ..., "id": n}``, and stops the server. An answer counts only if it is 200, carries
back its own ``id`` and every entity's offsets cut its text out of the request's text. Latency is measured per
request on the client (send to full answer). The server tags one request at a time (a lock per model), so the
concurrency measures queueing, not parallel tagging. Writes benchmarks/results/serve.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from common import RESULTS, as_arguments, manifest, write_result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(
    model: str, port: int, log: Path, extra: Sequence[str] = (), timeout: float = 180.0
) -> subprocess.Popen:
    """``flair-ner serve`` on 127.0.0.1:``port``, its output into ``log``, returned once ``/health`` answers (the
    model is loaded). A file, not a pipe: uvicorn logs every request, and a full pipe would stall the server."""
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen([sys.executable, "-m", "flair_ner", "serve", "--model", model, "--port", str(port), *extra],
                                   stdout=output, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    process.terminate()
    raise RuntimeError(f"the server did not answer /health within {timeout:.0f} s")


def stop_server(process: subprocess.Popen, log: Path) -> bool:
    """SIGTERM, as a service manager stops it; whether it shut down cleanly (uvicorn finishes the requests in
    flight, says so, then ends by the signal it received, so the exit status itself is -15)."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False
    return "Application shutdown complete" in log.read_text(encoding="utf-8", errors="replace")


def post(url: str, body: dict, timeout: float = 120.0) -> tuple[int, dict, float]:
    """(status, decoded answer, seconds) of one POST."""
    data = json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"}, method="POST")
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read()), time.perf_counter() - started
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), time.perf_counter() - started


def load(base_url: str, texts: list[str], requests: int, concurrency: int) -> dict:
    """Send ``requests`` requests (text ``i % len(texts)``), ``concurrency`` at a time; what came back."""

    def one(index: int) -> dict:
        text = texts[index % len(texts)]
        try:
            status, answer, seconds = post(f"{base_url}/predict", {"text": text, "id": index})
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            return {"index": index, "ok": False, "why": f"no answer: {error}"}
        if status != 200:
            return {"index": index, "ok": False, "why": f"status {status}: {answer}"}
        if answer.get("id") != index or answer.get("text") != text:
            return {"index": index, "ok": False, "why": f"another request's answer (id {answer.get('id')})"}
        if any(text[e["start"] : e["end"]] != e["text"] for e in answer["entities"]):
            return {"index": index, "ok": False, "why": "an entity's offsets do not cut out its text"}
        return {"index": index, "ok": True, "seconds": seconds, "entities": len(answer["entities"])}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outcomes = list(pool.map(one, range(requests)))
    wall = time.perf_counter() - started
    latencies = sorted(o["seconds"] for o in outcomes if o["ok"])
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return {
        "requests": requests,
        "concurrency": concurrency,
        "answered": len(latencies),
        "lost_or_wrong": [o for o in outcomes if not o["ok"]][:10],
        "lost_or_wrong_count": sum(not o["ok"] for o in outcomes),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(len(latencies) / wall, 2) if wall else None,
        "latency_ms": {
            "p50": round(1000 * quantiles[49], 1) if latencies else None,
            "p95": round(1000 * quantiles[94], 1) if latencies else None,
            "max": round(1000 * latencies[-1], 1) if latencies else None,
        },
        "entities": sum(o.get("entities", 0) for o in outcomes),
    }


def sentences_to_send(limit: int) -> list[str]:
    """CoNLL++ test sentences, tokens joined by spaces (from the mirror or the cache)."""
    from flair_ner.data.corpus import fetch_corpus_files, load_sentences

    files = fetch_corpus_files("conllpp", mirror=os.environ.get("FLAIR_NER_MIRROR"))
    sentences = load_sentences(files.paths()["test"], files.format)[:limit]
    return [" ".join(token.text for token in sentence) for sentence in sentences if len(sentence)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", default="conllpp", help="what flair-ner serve --model takes (default: the shipped model)"
    )
    parser.add_argument("--requests", type=int, default=500, help="requests in all (default: 500)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default: 8)")
    parser.add_argument(
        "--sentences", type=int, default=500, help="distinct CoNLL++ test sentences sent (default: 500)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "serve.json", help="where the JSON goes")
    args = parser.parse_args()
    texts = sentences_to_send(args.sentences)
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "server.log"
    started = time.perf_counter()
    server = start_server(args.model, port, log)
    startup = time.perf_counter() - started
    try:
        result = load(f"http://127.0.0.1:{port}", texts, args.requests, args.concurrency)
    finally:
        clean = stop_server(server, log)
    result["server_startup_seconds"] = round(startup, 2)
    result["server_shut_down_cleanly"] = clean
    result["manifest"] = manifest(["benchmarks/serve_load.py", *as_arguments(args)], model=args.model)
    write_result(args.output, result)
    print(json.dumps({k: v for k, v in result.items() if k != "manifest"}, indent=2))
    return 0 if result["lost_or_wrong_count"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

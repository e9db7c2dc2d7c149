"""Shared fixtures: the local data mirror and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_mirror() -> Path:
    """``$FLAIR_NER_MIRROR`` or ``../shared/datasets`` beside the repository."""
    candidate = Path(os.environ.get("FLAIR_NER_MIRROR") or REPO.parent / "shared" / "datasets")
    if not (candidate / "SHA256SUMS").is_file():
        pytest.fail(f"the data mirror is missing: expected {candidate} (set FLAIR_NER_MIRROR)", pytrace=False)
    return candidate


@pytest.fixture(scope="session")
def mirror() -> Path:
    return find_mirror()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests say where data comes from; the caller's environment must not decide it."""
    monkeypatch.delenv("FLAIR_NER_MIRROR", raising=False)
    monkeypatch.delenv("FLAIR_NER_DATA", raising=False)


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``/<mode>/<dataset>/<file>`` from the mirror.

    Modes: ``good`` (the file), ``corrupt`` (one byte changed), ``truncated``
    (the full Content-Length announced, half the body sent, connection closed);
    anything else is a 404.
    """

    root: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = self.path.strip("/").split("/", 1)
        source = self.root / parts[1] if len(parts) == 2 else None
        mode = parts[0]
        if source is None or not source.is_file() or mode not in ("good", "corrupt", "truncated"):
            self.send_error(404, "not found")
            return
        body = source.read_bytes()
        if mode == "corrupt":
            body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode != "truncated" else body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@pytest.fixture(scope="session")
def http_mirror(mirror: Path) -> Iterator[str]:
    """Base URL of an HTTP server on 127.0.0.1 serving the mirror (see ``_MirrorHandler``)."""
    handler = type("Handler", (_MirrorHandler,), {"root": mirror})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()

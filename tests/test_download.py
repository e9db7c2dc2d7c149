"""Downloaders: local and HTTP mirrors, digest mismatch, truncated transfer, 404, offline, archives."""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from flair_ner.data import fetch as download
from flair_ner.data.fetch import DownloadError, fetch_dataset
from flair_ner.data.registry import DATASETS, DataFile, Dataset


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(folder: Path) -> list[str]:
    """Anything in the cache folder besides verified files (temporary or partial files)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in {f.name for f in DATASETS["conllpp"].files})


def test_local_mirror_fetches_verified_files_once(tmp_path: Path, mirror: Path, monkeypatch) -> None:
    paths = fetch_dataset("conllpp", tmp_path, mirror)
    assert sorted(paths) == ["conllpp_dev.txt", "conllpp_test.txt", "conllpp_train.txt"]
    for name, path in paths.items():
        assert path.parent == tmp_path / "conllpp"
        assert sha256(path) == DATASETS["conllpp"].file(name).sha256

    def no_fetch(*args, **kwargs):
        raise AssertionError("a verified file was fetched again")

    monkeypatch.setattr(download, "_fetch_one", no_fetch)
    assert fetch_dataset("conllpp", tmp_path, mirror) == paths


def test_environment_variables_choose_cache_and_mirror(tmp_path: Path, mirror: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLAIR_NER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("FLAIR_NER_MIRROR", str(mirror))
    paths = fetch_dataset("conll2003")
    assert all(path.parent == tmp_path / "cache" / "conll2003" for path in paths.values())


def test_corrupted_cache_entry_is_fetched_again(tmp_path: Path, mirror: Path, caplog) -> None:
    target = tmp_path / "conllpp" / "conllpp_dev.txt"
    target.parent.mkdir(parents=True)
    target.write_text("not the real file\n")
    fetch_dataset("conllpp", tmp_path, mirror)
    assert sha256(target) == DATASETS["conllpp"].file("conllpp_dev.txt").sha256
    assert "expected c02eb198" in caplog.text


def test_http_mirror_success(tmp_path: Path, http_mirror: str) -> None:
    paths = fetch_dataset("conllpp", tmp_path, f"{http_mirror}/good")
    assert sha256(paths["conllpp_test.txt"]) == DATASETS["conllpp"].file("conllpp_test.txt").sha256
    assert leftovers(tmp_path / "conllpp") == []


def test_digest_mismatch_is_reported_and_removed(tmp_path: Path, http_mirror: str) -> None:
    with pytest.raises(DownloadError) as caught:
        fetch_dataset("conllpp", tmp_path, f"{http_mirror}/corrupt")
    message = str(caught.value)
    expected = DATASETS["conllpp"].file("conllpp_train.txt").sha256
    assert "\n" not in message
    assert message.startswith("conllpp_train.txt: SHA-256 mismatch")
    assert f"expected {expected}" in message
    assert "got " in message and message.split("got ")[1][:64] != expected
    assert not (tmp_path / "conllpp" / "conllpp_train.txt").exists()
    assert leftovers(tmp_path / "conllpp") == []


def test_truncated_transfer_leaves_nothing_under_the_final_name(tmp_path: Path, http_mirror: str) -> None:
    with pytest.raises(DownloadError, match=r"conllpp_train.txt: (could not fetch|SHA-256 mismatch)"):
        fetch_dataset("conllpp", tmp_path, f"{http_mirror}/truncated")
    assert list((tmp_path / "conllpp").iterdir()) == []


def test_404_names_every_file_and_no_mirror_hint_when_a_mirror_is_set(tmp_path: Path, http_mirror: str) -> None:
    with pytest.raises(DownloadError) as caught:
        fetch_dataset("conllpp", tmp_path, f"{http_mirror}/missing")
    message = str(caught.value)
    for name in ("conllpp_train.txt", "conllpp_dev.txt", "conllpp_test.txt"):  # all tried, all named
        assert f"{http_mirror}/missing/conllpp/{name}" in message
    assert "(3 of 3 files of conllpp failed)" in message
    assert "404" in message and "--mirror" not in message and "\n" not in message
    assert leftovers(tmp_path / "conllpp") == []


def test_one_failing_file_does_not_stop_the_others(tmp_path: Path, mirror: Path) -> None:
    partial = tmp_path / "mirror" / "conllpp"
    partial.mkdir(parents=True)
    for name in ("conllpp_dev.txt", "conllpp_test.txt"):
        (partial / name).write_bytes((mirror / "conllpp" / name).read_bytes())
    with pytest.raises(
        DownloadError, match=r"^conllpp_train.txt: could not fetch .*no such file in the mirror"
    ) as caught:
        fetch_dataset("conllpp", tmp_path / "cache", tmp_path / "mirror")
    assert "conllpp_dev.txt" not in str(caught.value)
    assert sorted(p.name for p in (tmp_path / "cache" / "conllpp").iterdir()) == ["conllpp_dev.txt", "conllpp_test.txt"]


def test_trickling_server_hits_the_overall_deadline(tmp_path: Path, http_mirror: str, monkeypatch) -> None:
    monkeypatch.setenv("FLAIR_NER_DOWNLOAD_DEADLINE", "1")
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"conllpp_train.txt: could not fetch .*gave up after the 1 s deadline"):
        fetch_dataset("conllpp", tmp_path, f"{http_mirror}/trickle")
    assert time.monotonic() - started < 3 * 2  # three files, each cut at ~1 s (0.2 s per byte)
    assert leftovers(tmp_path / "conllpp") == [] and list((tmp_path / "conllpp").iterdir()) == []


def test_scratch_of_a_killed_download_is_removed(tmp_path: Path, mirror: Path) -> None:
    folder = tmp_path / "cache" / "conllpp"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = folder / f".download-{dead.stdout.strip()}-abc"
    stale.mkdir(parents=True)
    (stale / "tmpxyz").write_bytes(b"")
    fetch_dataset("conllpp", tmp_path / "cache", mirror)
    assert not stale.exists()


def test_missing_file_in_local_mirror(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"conllpp_train.txt: could not fetch .*no such file in the mirror"):
        fetch_dataset("conllpp", tmp_path / "cache", tmp_path / "empty-mirror")


def test_dead_network_fails_fast_with_hint(tmp_path: Path, monkeypatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/conllpp_dev.txt"
    dead = Dataset("deadnet", (DataFile("conllpp_dev.txt", "0" * 64, url),))
    monkeypatch.setitem(DATASETS, "deadnet", dead)
    started = time.monotonic()
    with pytest.raises(DownloadError) as caught:
        fetch_dataset("deadnet", tmp_path)
    assert time.monotonic() - started < 15
    assert url in str(caught.value) and "FLAIR_NER_MIRROR" in str(caught.value)


def test_unknown_dataset(tmp_path: Path) -> None:
    known = "conllpp, conll2003, cleanconll, wnut17, multiconer2-en, multiconer2-hi, multiconer2-bn, reuters21578"
    with pytest.raises(DownloadError, match=f"unknown data set 'nope'; known: {known}"):
        fetch_dataset("nope", tmp_path)


def _tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _serve_tarball(tmp_path: Path, monkeypatch, members: dict[str, bytes], pinned: dict[str, str]) -> Path:
    """A data set whose files only come out of an archive, 'downloaded' from a local path."""
    archive = tmp_path / "upstream.tar.gz"
    archive.write_bytes(_tarball(members))

    def local_retrieve(url, known_hash, path, downloader=None, **kwargs):
        assert url == "https://example.invalid/upstream.tar.gz" and known_hash is None
        return str(archive)

    monkeypatch.setattr(download.pooch, "retrieve", local_retrieve)
    dataset = Dataset(
        "archived",
        tuple(DataFile(name, digest) for name, digest in pinned.items()),
        archive_url="https://example.invalid/upstream.tar.gz",
    )
    monkeypatch.setitem(DATASETS, "archived", dataset)
    return tmp_path / "cache"


def test_archive_members_are_extracted_and_verified(tmp_path: Path, mirror: Path, monkeypatch) -> None:
    real = {name: (mirror / "reuters21578" / name).read_bytes() for name in ("reut2-000.sgm", "reut2-001.sgm")}
    pinned = {name: DATASETS["reuters21578"].file(name).sha256 for name in real}
    members = {f"./{name}": data for name, data in real.items()} | {"README.txt": b"other file"}
    cache = _serve_tarball(tmp_path, monkeypatch, members, pinned)
    paths = fetch_dataset("archived", cache)
    assert {name: sha256(path) for name, path in paths.items()} == pinned
    assert sorted(p.name for p in (cache / "archived").iterdir()) == sorted(pinned)


def test_archive_member_with_wrong_digest_is_not_kept(tmp_path: Path, monkeypatch) -> None:
    cache = _serve_tarball(tmp_path, monkeypatch, {"a.sgm": b"tampered"}, {"a.sgm": "1" * 64})
    with pytest.raises(DownloadError, match=f"a.sgm: SHA-256 mismatch .*expected {'1' * 64}, got "):
        fetch_dataset("archived", cache)
    assert not (cache / "archived" / "a.sgm").exists()


def test_archive_with_unsafe_member_is_refused(tmp_path: Path, monkeypatch) -> None:
    cache = _serve_tarball(tmp_path, monkeypatch, {"../../escape.sgm": b"x"}, {"escape.sgm": "2" * 64})
    with pytest.raises(DownloadError, match="refused an unsafe archive member"):
        fetch_dataset("archived", cache)
    assert not (tmp_path / "escape.sgm").exists()


def test_one_per_user_cache_by_default(tmp_path: Path, monkeypatch) -> None:
    from flair_ner.config.options import LMConfig
    from flair_ner.data.fetch import DEFAULT_DATA_DIR, resolve_data_dir

    assert (
        resolve_data_dir() == DEFAULT_DATA_DIR
        and DEFAULT_DATA_DIR.is_absolute()
        and "flair-ner" in DEFAULT_DATA_DIR.parts
    )
    monkeypatch.setenv("FLAIR_NER_DATA", str(tmp_path / "old"))  # the variable's earlier name still works
    assert resolve_data_dir() == tmp_path / "old"
    monkeypatch.setenv("FLAIR_NER_CACHE", str(tmp_path / "cache"))
    assert resolve_data_dir() == tmp_path / "cache"
    lm = LMConfig(direction="backward")  # the LM corpus is a cache entry; the LM's training is a run
    assert Path(lm.corpus_dir) == tmp_path / "cache" / "lm" / "reuters" and lm.output_dir == "runs/lm/reuters-backward"

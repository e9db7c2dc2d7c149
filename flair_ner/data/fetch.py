"""Verified downloads of the data sets the kit uses.

Every data set is declared once, in :data:`flair_ner.data.registry.DATASETS`: its files, each
with its upstream URL and pinned SHA-256 (spaCy-assets style), beside its column format.  Files are
fetched with pooch into a cache folder, checked against their digest and
never fetched twice.  A mirror (a local folder laid out as
``<mirror>/<dataset>/<file>`` or an http(s) base URL with the same layout)
replaces every upstream URL and goes through the same checks.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterator, Optional, Union

import pooch
import requests
import urllib3

from flair_ner.data.registry import DATASETS, DataFile, Dataset
from flair_ner.errors import DownloadError  # noqa: F401 - raised here, part of this module's interface
from flair_ner.files import one_line

log = logging.getLogger(__name__)

# The one cache for everything the kit downloads or derives (data sets, converted GloVe, LM corpora), reused
# from any working directory. FLAIR_NER_DATA is its earlier name, still read.
DATA_DIR_ENV = "FLAIR_NER_CACHE"
OLD_DATA_DIR_ENV = "FLAIR_NER_DATA"
MIRROR_ENV = "FLAIR_NER_MIRROR"
DEFAULT_DATA_DIR = Path(pooch.os_cache("flair-ner"))  # ~/.cache/flair-ner on Linux

# Connect fast, read patiently: a dead network must fail within seconds, a slow
# one may still deliver a large file.
HTTP_TIMEOUT = (10, 120)
# Overall wall time one file may take (seconds): a server that trickles bytes
# never trips the per-read timeout above. $FLAIR_NER_DOWNLOAD_DEADLINE overrides it.
DEADLINE_ENV = "FLAIR_NER_DOWNLOAD_DEADLINE"
DEFAULT_DEADLINE = 900.0
# Scratch folders of transfers in progress, inside the data set's folder: <prefix><pid>-<random>.
SCRATCH_PREFIX = ".download-"
# How many times a failed or corrupted transfer is tried again before giving up.
RETRIES = 1


class DeadlineExceeded(RuntimeError):
    """A transfer ran past its overall deadline (not retried: a retry would double the wait)."""


class DeadlineDownloader:
    """A pooch downloader over HTTP(S) with an overall deadline per file, pooch's retries included.

    The deadline starts at the first attempt and holds whatever the server does: the connect and read
    timeouts never reach past it (a server that accepts the connection and sends nothing is cut when the
    deadline passes), a timer closes a transfer still running then, and a retry after it fails at once.

    Args:
        deadline: seconds the whole transfer may take.
        timeout: ``(connect, read)`` timeouts in seconds for requests, each capped by the time left.
    """

    def __init__(self, deadline: float, timeout: tuple[float, float] = HTTP_TIMEOUT) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.stop_at: Optional[float] = None

    def _left(self) -> float:
        left = self.stop_at - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"gave up after the {self.deadline:g} s deadline (${DEADLINE_ENV})")
        return left

    def __call__(self, url: str, output_file: Union[str, object], pooch_object: object = None) -> None:
        if self.stop_at is None:  # the first attempt: pooch's retries share its deadline
            self.stop_at = time.monotonic() + self.deadline
        left = self._left()
        try:
            with requests.get(
                url, stream=True, timeout=(min(self.timeout[0], left), min(self.timeout[1], left))
            ) as response:
                watchdog = threading.Timer(self._left(), response.close)
                watchdog.daemon = True
                watchdog.start()
                try:
                    response.raise_for_status()
                    with contextlib.ExitStack() as stack:
                        handle = (
                            stack.enter_context(open(output_file, "wb"))
                            if isinstance(output_file, (str, Path))
                            else output_file
                        )
                        try:
                            while chunk := response.raw.read1(1 << 16, decode_content=True):
                                handle.write(chunk)
                                self._left()
                        except urllib3.exceptions.HTTPError as error:  # a broken transfer: retried like requests' own
                            raise requests.exceptions.ConnectionError(error) from error
                finally:
                    watchdog.cancel()
        except (requests.RequestException, OSError, ValueError, AttributeError):
            self._left()  # past the deadline, any failure of the cut transfer is the deadline's
            raise
        self._left()


def resolve_deadline(deadline: Optional[float] = None) -> float:
    """The per-file deadline: the argument, else ``$FLAIR_NER_DOWNLOAD_DEADLINE``, else :data:`DEFAULT_DEADLINE`."""
    if deadline is not None:
        return float(deadline)
    text = os.environ.get(DEADLINE_ENV)
    if not text:
        return DEFAULT_DEADLINE
    try:
        value = float(text)
    except ValueError:
        raise DownloadError(f"${DEADLINE_ENV} must be a number of seconds, not {text!r}") from None
    if value <= 0:
        raise DownloadError(f"${DEADLINE_ENV} must be positive, not {text!r}")
    return value


def resolve_data_dir(data_dir: Union[str, Path, None] = None) -> Path:
    """The cache folder: the argument, else ``$FLAIR_NER_CACHE`` (or ``$FLAIR_NER_DATA``), else the per-user cache
    (``~/.cache/flair-ner`` on Linux)."""
    return Path(data_dir or os.environ.get(DATA_DIR_ENV) or os.environ.get(OLD_DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def resolve_mirror(mirror: Union[str, Path, None] = None) -> Optional[str]:
    """The mirror: the argument, else ``$FLAIR_NER_MIRROR``, else none (upstream)."""
    chosen = mirror or os.environ.get(MIRROR_ENV) or None
    return str(chosen) if chosen else None


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _copy_local(url: str, output_file: Union[str, object], pooch_object: object = None) -> None:
    """A pooch downloader that reads from a local folder instead of the network."""
    source = Path(url)
    if not source.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such file in the mirror", str(source))
    if isinstance(output_file, (str, Path)):
        shutil.copyfile(source, output_file)
    else:
        with open(source, "rb") as handle:
            shutil.copyfileobj(handle, output_file)


@contextlib.contextmanager
def scratch_folder(folder: Path) -> Iterator[Path]:
    """A private folder inside ``folder`` for one transfer, removed whatever happens (left-overs of killed
    processes are removed by the next fetch, see :func:`remove_stale_scratch`)."""
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=folder) as scratch:
        yield Path(scratch)


def remove_stale_scratch(folder: Path) -> None:
    """Remove scratch folders whose process is gone (killed mid-transfer), so no partial file stays behind."""
    for entry in folder.glob(f"{SCRATCH_PREFIX}*"):
        pid = entry.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fetch_one(url: str, data_file: DataFile, folder: Path, deadline: float) -> Path:
    """Fetch ``url`` into ``folder/data_file.name``, verified.

    pooch fetches into a private scratch folder and the file is renamed into
    place only after its digest matched, so a failed, interrupted or corrupted
    transfer leaves nothing behind, under the final name or any other.
    """
    downloader = _copy_local if not _is_url(url) else DeadlineDownloader(deadline)
    try:
        with scratch_folder(folder) as scratch:
            fetcher = pooch.create(
                path=scratch,
                base_url="",
                registry={data_file.name: f"sha256:{data_file.sha256}"},
                urls={data_file.name: url},
                retry_if_failed=RETRIES,
            )
            fetched = Path(fetcher.fetch(data_file.name, downloader=downloader))
            os.replace(fetched, folder / data_file.name)
            return folder / data_file.name
    except (requests.RequestException, OSError, DeadlineExceeded) as error:  # network, HTTP status, deadline, mirror
        # (before ValueError: requests' InvalidURL is both)
        raise DownloadError(f"{data_file.name}: could not fetch {url} ({_one_line(error)})") from None
    except ValueError as error:
        if "does not match the known hash" not in str(error):
            raise  # not pooch's digest check: a bug, shown with its traceback
        actual = _digest_from_pooch_error(str(error))
        raise DownloadError(
            f"{data_file.name}: SHA-256 mismatch for {url}: expected {data_file.sha256}, got {actual}; "
            "the corrupted copy was removed"
        ) from None


def _digest_from_pooch_error(message: str) -> str:
    # pooch says: "... does not match the known hash: expected <pinned> but got <actual>. Deleted ..."
    match = re.search(r"but got ([0-9a-f]+)", message)
    return match.group(1) if match else "an unknown digest"


def _one_line(error: BaseException) -> str:
    return one_line(str(error), 200) or type(error).__name__


def _is_verified(path: Path, data_file: DataFile) -> bool:
    return path.is_file() and pooch.file_hash(str(path), alg="sha256") == data_file.sha256


def _fetch_from_archive(dataset: Dataset, missing: list[DataFile], folder: Path, deadline: float) -> None:
    """Download the data set's tarball and extract the missing files, verified one by one."""
    assert dataset.archive_url is not None
    with scratch_folder(folder) as scratch:
        try:
            archive = pooch.retrieve(
                dataset.archive_url, known_hash=None, path=scratch, downloader=DeadlineDownloader(deadline)
            )
        except (requests.RequestException, OSError, DeadlineExceeded) as error:
            raise DownloadError(f"{dataset.name}: could not fetch {dataset.archive_url} ({_one_line(error)})") from None
        extract_archive_members(Path(archive), missing, folder)


def extract_archive_members(archive: Path, wanted: list[DataFile], folder: Path) -> None:
    """Extract ``wanted`` files from a tarball into ``folder`` and verify each digest.

    Extraction uses tarfile's ``data`` filter (no absolute paths, links out of
    the folder or device files) into a temporary folder; each file is renamed
    into place only after its digest matched.
    """
    by_name = {data_file.name: data_file for data_file in wanted}
    with tarfile.open(archive) as tar, tempfile.TemporaryDirectory(dir=folder) as scratch:
        members = [member for member in tar.getmembers() if Path(member.name).name in by_name and member.isfile()]
        found = {Path(member.name).name for member in members}
        absent = sorted(set(by_name) - found)
        if absent:
            raise DownloadError(f"{archive}: archive lacks {', '.join(absent)}")
        try:
            tar.extractall(scratch, members=members, filter="data")
        except tarfile.FilterError as error:
            raise DownloadError(f"{archive}: refused an unsafe archive member ({error})") from None
        for member in members:
            data_file = by_name[Path(member.name).name]
            extracted = Path(scratch) / member.name
            actual = pooch.file_hash(str(extracted), alg="sha256")
            if actual != data_file.sha256:
                raise DownloadError(
                    f"{data_file.name}: SHA-256 mismatch in {archive}: expected {data_file.sha256}, got {actual}"
                )
            os.replace(extracted, folder / data_file.name)


def fetch_dataset(
    name: str,
    data_dir: Union[str, Path, None] = None,
    mirror: Union[str, Path, None] = None,
    deadline: Optional[float] = None,
) -> dict[str, Path]:
    """Make every file of data set ``name`` present and verified in the cache.

    Args:
        name: a key of :data:`~flair_ner.data.registry.DATASETS` (``conllpp``, ``conll2003``, ``reuters21578``, ...).
        data_dir: cache folder; default: see :func:`resolve_data_dir`.
        mirror: local folder or http(s) base URL laid out as ``<mirror>/<dataset>/<file>``;
            default ``$FLAIR_NER_MIRROR``, else the upstream URLs.
        deadline: seconds one file's transfer may take; default ``$FLAIR_NER_DOWNLOAD_DEADLINE`` or 900.

    Returns:
        File name -> path of the verified file in the cache (and of the files built from them, if the data set
        builds any: CleanCoNLL's rebuilt dev and test sets).

    Raises:
        DownloadError: after trying every file, one line naming each file that could not be
            fetched or did not match its digest, with its URL; a mirror is suggested only when none was set.
    """
    if name not in DATASETS:
        raise DownloadError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    dataset = DATASETS[name]
    folder = resolve_data_dir(data_dir) / dataset.name
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_scratch(folder)
    source = resolve_mirror(mirror)
    seconds = resolve_deadline(deadline)

    paths: dict[str, Path] = {}
    failures: list[str] = []
    from_archive: list[DataFile] = []
    for data_file in dataset.files:
        target = folder / data_file.name
        if _is_verified(target, data_file):
            paths[data_file.name] = target
            continue
        if target.exists():
            log.warning(
                "%s: cached copy has SHA-256 %s, expected %s; fetching it again",
                target,
                pooch.file_hash(str(target), alg="sha256"),
                data_file.sha256,
            )
            target.unlink()
        if source is not None:
            url = _mirror_location(source, dataset.name, data_file.name)
        elif data_file.url is not None:
            url = data_file.url
        else:
            from_archive.append(data_file)
            continue
        try:  # every file is tried, so that one report names everything that is missing
            paths[data_file.name] = _fetch_one(url, data_file, folder, seconds)
        except DownloadError as error:
            failures.append(str(error))

    if from_archive:
        try:
            _fetch_from_archive(dataset, from_archive, folder, seconds)
            paths.update({data_file.name: folder / data_file.name for data_file in from_archive})
        except DownloadError as error:
            failures.append(str(error))
    if failures:
        hint = "" if source is not None else f"; no network? set a mirror with --mirror PATH_OR_URL or ${MIRROR_ENV}"
        count = (
            f" ({len(failures)} of {len(dataset.files)} files of {dataset.name} failed)" if len(failures) > 1 else ""
        )
        raise DownloadError("; ".join(failures) + count + hint)
    paths = {data_file.name: paths[data_file.name] for data_file in dataset.files}
    if dataset.build is not None:
        paths.update(dataset.build(folder, fetch_dataset(dataset.built_from, data_dir, mirror, deadline)))
    return paths


def _mirror_location(mirror: str, dataset: str, file_name: str) -> str:
    if _is_url(mirror):
        return f"{mirror.rstrip('/')}/{dataset}/{file_name}"
    return str(Path(mirror).expanduser().resolve() / dataset / file_name)

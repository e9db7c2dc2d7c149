"""Verified downloads of the data sets the kit uses.

Every data set is declared once in :data:`DATASETS` as a list of files, each
with its upstream URL and pinned SHA-256 (spaCy-assets style).  Files are
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional, Union

import pooch
import requests
import urllib3

from flair_ner.data import cleanconll
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

_CROSSWEIGH = "https://raw.githubusercontent.com/ZihanWangKi/CrossWeigh/77d0c2d/data/"
_HSCRF = "https://raw.githubusercontent.com/ZhixiuYe/HSCRF-pytorch/3479f4594af3a704da85689c0b1a67cee1b600de/data/"
_REUTERS_TARBALL = "https://kdd.ics.uci.edu/databases/reuters21578/reuters21578.tar.gz"
_CLEANCONLL = "https://raw.githubusercontent.com/flairNLP/CleanCoNLL/bedc569f0983ddd39c2c729fb5df64be710bcab4/data/"
_WNUT17 = "https://raw.githubusercontent.com/leondz/emerging_entities_17/e52a2d2a71ac1a051ca2d532eef28653c5c02603/"
_MULTICONER2 = (
    "https://raw.githubusercontent.com/honghanhh/templateNER/1c9835509d3c4ea8f47f20226ea1490360929465/public_data/"
)
# MultiCoNER II public data: language code -> (folder upstream, SHA-256 of train, SHA-256 of dev)
_MULTICONER2_FILES = {
    "en": (
        "EN-English",
        "1e1af77f95e92aa287c40feb7c10b384192c8ff026c916114a54713f331138ea",
        "cef0633da09ab2ee3386576818acad0aef47e124ca7c7ec557e18de6974326df",
    ),
    "hi": (
        "HI-Hindi",
        "615a4026c191bd7d871651dd4629ed93281d16b8c441b06bccf935e416593313",
        "b25fa13c93635e489da1d2f2c9895ae5642916f6cbeccd49b0a7bd76159a5e60",
    ),
    "bn": (
        "BN-Bangla",
        "2d584c5d528003fa00717712f02918e579f02f83044120e7cf94363e573849da",
        "a005da8249be9db1031829cdd0fd737d83df6ceb3d030604d3543bdcc79c3026",
    ),
}
_LANGUAGES = {"en": "English", "hi": "Hindi", "bn": "Bangla"}


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


@dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    Args:
        name: file name inside the data set's folder (cache and mirror alike).
        sha256: pinned SHA-256 of the file's bytes.
        url: upstream URL of the file itself, or ``None`` when it only comes
            out of the data set's archive.
    """

    name: str
    sha256: str
    url: Optional[str] = None


@dataclass(frozen=True)
class Dataset:
    """A data set: a named folder of verified files.

    Args:
        name: folder name under the cache and the mirror.
        files: the files, each with its digest.
        archive_url: upstream tarball holding the files when they have no URL
            of their own. Its own digest is not pinned (no trusted copy of the
            archive exists to take it from); the extracted files are verified.
        description: one line for ``--help`` and the README.
        built_from: another data set whose files ``build`` needs (fetched first, verified).
        build: writes files derived from this data set's and ``built_from``'s files into this data set's
            folder, verified, and returns them by name (e.g. CleanCoNLL: annotations + CoNLL-2003 tokens).
    """

    name: str
    files: tuple[DataFile, ...]
    archive_url: Optional[str] = None
    description: str = ""
    built_from: Optional[str] = None
    build: Optional[Callable[[Path, dict[str, Path]], dict[str, Path]]] = None

    def file(self, name: str) -> DataFile:
        for data_file in self.files:
            if data_file.name == name:
                return data_file
        raise KeyError(f"data set {self.name!r} has no file {name!r}")


_REUTERS_SHA256 = (
    "686f5cf549930e23184bcba2328c7d01348df20f7167ff25e6d3495090c3f822",
    "b7fc3231dd9f95fb53518f8d5739d41524fa8dacdb21ddb7f612d9a475c14ea1",
    "99f18068d0518952987dedd78c622e5c2a584e357d264d3754696c815f3e6628",
    "24c0aec30c53acfeceff6df391a278282f61febdea3852e74f1ae01af088d5bd",
    "726342c19a65873330b412378cd6a3f0d512035f5223146ddd60930c62eb6ff0",
    "d09de619b6dd2d047d5124681f6df90550abaf592020d1c1ce338ae9b91522e7",
    "b5535c0d66b01f4976f84621a4a795afbc00d2c4bd0a1b7ae426df6630fb361d",
    "aa706007ec84a03537a3921ca976d60e11b3f99e4b9e9b2d5c81dd384d2c2062",
    "a3994583694a00b7c744097c1d7eabfcf90f2e6650cc21663e46828035a336cb",
    "29995f606dd1a9bdf907eacc9d879846c716860d9d9141676979474aaea39c7d",
    "996df6008089bd09fa5b28a4d2eb0ee5f7b9d4601cde566fed3926ac82960fa3",
    "d3a2782015247d9c2bffb8926267827fdd449c70d619435ef01a25a1c56a53ca",
    "da31035d483851f2aebce5b66d779e5e2c0ac9dcfe098596c6d544e81c5604ab",
    "8f7700bc0455fac3fcc12377ced4807b7df8aba1f21ecad059b9cc2b1cf0b8be",
    "ef936bd3e0f36cf722afa9a6957563549775af32e9e28b4f539c8737ceda83ab",
    "6d3bcec73eff871b8a5403588af814c4e50a0de6bc25707480522ab836f74026",
    "be2f03a185fff70131f3b4fdbd6229b7ee2be077eba9691eaa597c8cfbda8812",
    "f370e610b4b1342e41a98e0c426a08541044bd1d7e539674f32372a6060b73b5",
    "a5f971bf25448e915781962309e669359a35fbcaf3017a806eca0590897f209a",
    "d3b07097fba2633d130b4914aceba671645985248943ce9e39c289315339dffb",
    "f6ad1b724125c202566c63b35ea0b5ee23881f8b7ed47a32829d5af05d8e860d",
    "3f5196d32869723c9042aa5756805b4e90360f1f45ea17f4594fa0e2b3630b18",
)

DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            name="conllpp",
            description="CoNLL++: CoNLL-2003 English with the corrected test set (Wang et al. 2019), IOB2",
            files=(
                DataFile(
                    "conllpp_train.txt",
                    "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423",
                    _CROSSWEIGH + "conllpp_train.txt",
                ),
                DataFile(
                    "conllpp_dev.txt",
                    "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b",
                    _CROSSWEIGH + "conllpp_dev.txt",
                ),
                DataFile(
                    "conllpp_test.txt",
                    "4eb3b5114787d0df24087e9c9dfc956abf4cfd5e201bc1056b48ff4f7b37c0e8",
                    _CROSSWEIGH + "conllpp_test.txt",
                ),
            ),
        ),
        Dataset(
            name="conll2003",
            description="CoNLL-2003 English NER, original release, IOB1",
            files=(
                DataFile(
                    "eng.train",
                    "bed631399cb0e859c4b446438ce57dfe0208792ca6106ef11620877355494c3a",
                    _HSCRF + "eng.train",
                ),
                DataFile(
                    "eng.testa",
                    "aa83a45b88e4952998156583e2ff5a8be7c1f04fb9efa3a29cd87fac2c883807",
                    _HSCRF + "eng.testa",
                ),
                DataFile(
                    "eng.testb",
                    "443914daf51328868558859b28252a28caee2fd02b65e77987977d6489246c5f",
                    _HSCRF + "eng.testb",
                ),
            ),
        ),
        Dataset(
            name="cleanconll",
            description="CleanCoNLL dev and test (Ruecker & Akbik 2023): CoNLL-2003 relabelled, IOB2, rebuilt from "
            "the CoNLL-2003 tokens; no train split here (evaluation only)",
            files=(
                DataFile(
                    "cleanconll_annotations.dev",
                    "404ff652ab5a3c95d706f11404e4082be122788ee415b5900b25fd92fa00e81f",
                    _CLEANCONLL + "cleanconll_annotations/cleanconll_annotations.dev",
                ),
                DataFile(
                    "cleanconll_annotations.test",
                    "89092bb1964c32498bfcbaa46e7641900d139465cfbdce9e9d377a0ba09e9ea0",
                    _CLEANCONLL + "cleanconll_annotations/cleanconll_annotations.test",
                ),
                DataFile(
                    "dev_tokens.patch",
                    "b0adf80bfa3a1d058d87656b5c1bf4265d1a70d5e6144fd5ffe9a1306066faa0",
                    _CLEANCONLL + "patch_files/dev_tokens.patch",
                ),
                DataFile(
                    "test_tokens.patch",
                    "ffd5f3a26525d241ce46cc407ada55fd95858620234fc88ddd2f6503866e72dc",
                    _CLEANCONLL + "patch_files/test_tokens.patch",
                ),
            ),
            built_from="conll2003",
            build=cleanconll.build,
        ),
        Dataset(
            name="wnut17",
            description="WNUT-17 emerging and rare entities, English social media, 6 types, IOB2 (CC BY 4.0)",
            files=(
                DataFile(
                    "wnut17train.conll",
                    "731820e13f71af324c6b55a1575ec2ce59fbaa2a0806f8f0400b98d56cd6a7a5",
                    _WNUT17 + "wnut17train.conll",
                ),
                DataFile(
                    "emerging.dev.conll",
                    "e053b752b8155113ca66e7db08af5f2f5f43ab993694e4774f1ec5bad42312d8",
                    _WNUT17 + "emerging.dev.conll",
                ),
                DataFile(
                    "emerging.test.annotated",
                    "2aa79b764e56ec9264a1b30fdd9b70195bd00ff400b62edd8f399d5f13c178f0",
                    _WNUT17 + "emerging.test.annotated",
                ),
            ),
        ),
        *(
            Dataset(
                name=f"multiconer2-{code}",
                description=f"MultiCoNER II {_LANGUAGES[code]}, 33 fine types (6 coarse), IOB2; public dev as test "
                "(the public test has no labels) (CC BY 4.0)",
                files=(
                    DataFile(f"{code}_train.conll", train_sha, f"{_MULTICONER2}{folder}/{code}_train.conll"),
                    DataFile(f"{code}_dev.conll", dev_sha, f"{_MULTICONER2}{folder}/{code}_dev.conll"),
                ),
            )
            for code, (folder, train_sha, dev_sha) in _MULTICONER2_FILES.items()
        ),
        Dataset(
            name="reuters21578",
            description="Reuters-21578 newswire (SGML), text for pretraining the character LMs",
            files=tuple(DataFile(f"reut2-{index:03d}.sgm", digest) for index, digest in enumerate(_REUTERS_SHA256)),
            archive_url=_REUTERS_TARBALL,
        ),
    )
}


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
        name: a key of :data:`DATASETS` (``conllpp``, ``conll2003``, ``reuters21578``).
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

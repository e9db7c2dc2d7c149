"""The error policy: bad input is one line naming the file (and line), found before torch and flair load;
a bug is a traceback plus a line saying so. Each hostile case here failed before the policy was built."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from flair_ner.cli.main import main
from flair_ner.config.options import ConfigError
from flair_ner.data.corpus import read_column_file, read_data_files
from flair_ner.data.registry import CorpusFiles
from flair_ner.data.registry import ColumnFormat
from flair_ner.errors import DataFileError, DownloadError, KitError

REPO = Path(__file__).resolve().parents[1]
SENTENCE = "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\ncall NN I-NP O\n. . O O\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def own(tmp_path: Path, train: str, dev: str | None = None) -> CorpusFiles:
    train_path = write(tmp_path / "train.txt", train)
    dev_path = write(tmp_path / "dev.txt", dev) if dev is not None else None
    return CorpusFiles(Path("."), str(train_path), str(dev_path) if dev_path else None, None, ColumnFormat())


# --- the policy -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("boom"), ValueError("a library's own ValueError"), KeyError("x")])
def test_a_bug_is_a_traceback_and_a_bug_line_not_bad_input(error, monkeypatch, capsys) -> None:
    import flair_ner.cli.commands.report

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr(flair_ner.cli.commands.report, "load_config", broken)
    assert main(["report"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and type(error).__name__ in err
    assert err.strip().splitlines()[-1].startswith("flair-ner: this is a bug in flair-ner")


def test_bad_input_is_one_line_and_verbose_after_the_subcommand_adds_the_traceback(tmp_path: Path, capsys) -> None:
    assert main(["run", "--config", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err == f"flair-ner: error: {tmp_path / 'missing.toml'}: configuration file not found\n"
    assert main(["run", "--config", str(tmp_path / "missing.toml"), "-v"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.endswith("configuration file not found\n")


def test_experiment_scripts_take_verbose() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "experiments" / "conllpp.py"), "--config", "missing.toml", "-v"],
        capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" in result.stderr and "unrecognized" not in result.stderr


def test_every_kit_error_is_a_kit_error() -> None:
    from flair_ner import errors

    kinds = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    assert all(issubclass(kind, KitError) for kind in kinds)
    assert DataFileError("x").exit_code == 2 and errors.SomeRecordsBad("x").exit_code == 1


def test_an_argparse_error_is_short(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "--max-epoch", "3"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "usage: flair-ner run [options] (--help lists them)",
        "flair-ner run: error: unrecognized argument '--max-epoch'; did you mean --max-epochs?",
    ]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "--model", "m", "--batch-size", "0"], "argument --batch-size: must be above 0, got 0"),
        (["predict", "--model", "m", "--batch-size", "-1"], "argument --batch-size: must be above 0, got -1"),
        (["download", "--download-deadline", "-5"], "argument --download-deadline/--deadline: must be above 0, got -5"),
    ],
)
def test_option_values_are_checked_before_anything_runs(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err


# --- column files ---------------------------------------------------------------------------------------------


def test_only_document_markers_is_no_corpus(tmp_path: Path) -> None:
    files = own(tmp_path, "-DOCSTART- -X- -X- O\n\n-DOCSTART- -X- -X- O\n")
    with pytest.raises(DataFileError, match=r"train.txt: no sentences, only 2 document marker\(s\)"):
        read_data_files(files)


def test_one_sentence_cannot_lend_a_dev_split(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"train.txt: 1 sentence\(s\): holding out 10% as dev .* needs at least 2"):
        read_data_files(own(tmp_path, SENTENCE))
    assert read_data_files(own(tmp_path, SENTENCE + "\n" + SENTENCE))  # two are enough


def test_a_training_file_without_entities_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"train.txt: none of its 2 sentences has an entity"):
        read_data_files(own(tmp_path, "a X X O\nb X X O\n\nc X X O\n"))


def test_old_mac_line_ends_are_read_with_a_warning(tmp_path: Path, caplog) -> None:
    path = tmp_path / "mac.txt"
    path.write_bytes((SENTENCE + "\n" + SENTENCE).replace("\n", "\r").encode())
    blocks = read_column_file(path, ColumnFormat()).blocks
    assert [len(block.tokens) for block in blocks] == [5, 5] and blocks[0].spans[0].type == "ORG"
    assert f"{path}: old-Mac line ends (CR only)" in caplog.text


@pytest.mark.parametrize("character", ["\x00", "\x1f", "\x85"])
def test_a_control_character_in_a_tag_is_refused_with_file_and_line(tmp_path: Path, character: str) -> None:
    path = write(tmp_path / "nul.txt", SENTENCE.replace("B-ORG", f"B-ORG{character}"))
    with pytest.raises(
        DataFileError, match=rf"nul.txt:1: tag .* contains the control character U\+{ord(character):04X}"
    ):
        read_column_file(path, ColumnFormat())


@pytest.mark.parametrize("space", ["\u00a0", "\u2028", "\u3000", "\x1c"])
def test_columns_split_on_ascii_space_and_tab_only(tmp_path: Path, space: str) -> None:
    # an IOB1 file (CoNLL-2003's layout): a split token would move the chunk column I-NP into the tag column
    path = write(tmp_path / "iob1.txt", f"New{space}York NNP I-NP I-LOC\nrises\tVBZ I-VP O\n")
    blocks = read_column_file(path, ColumnFormat(tag_scheme="iob1")).blocks
    assert blocks[0].tokens == [f"New{space}York", "rises"] and [span.type for span in blocks[0].spans] == ["LOC"]


def fresh_cli(argv: list[str]) -> tuple[list[str], str]:
    """``main(argv)`` in a fresh Python: (exit code, torch loaded, flair loaded) as words, and stderr."""
    code = (
        "import sys; from flair_ner.cli.main import main; "
        f"code = main({argv!r}); print(code, 'torch' in sys.modules, 'flair' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    return result.stdout.split(), result.stderr


def test_data_file_errors_come_before_torch_and_flair_load(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.txt", "EU B-ORG\x00\n")
    out, err = fresh_cli(
        ["run", "--train-file", str(bad), "--columns", "0=text,1=ner", "--output-dir", str(tmp_path / "run")]
    )
    assert out == ["2", "False", "False"], err[-2000:]
    assert f"{bad}:1: tag 'B-ORG\\x00' contains the control character U+0000" in err


def test_config_errors_come_before_torch_and_flair_load(tmp_path: Path) -> None:
    out, err = fresh_cli(["run", "--max-epochs", "0", "--output-dir", str(tmp_path / "run")])
    assert out == ["2", "False", "False"], err[-2000:]
    assert "max_epochs" in err and not (tmp_path / "run").exists()


def test_a_busy_folder_is_refused_before_torch_loads(tmp_path: Path) -> None:
    from flair_ner.runs.folder import locked

    folder = tmp_path / "busy"
    with locked(folder):
        out, err = fresh_cli(["run", "--output-dir", str(folder)])
    assert out == ["2", "False", "False"], err[-2000:]
    assert f"output folder {folder} is in use by another run" in err


# --- config, grid, tracking -------------------------------------------------------------------------------------


def test_an_unknown_option_in_a_grid_file_says_did_you_mean(tmp_path: Path) -> None:
    from flair_ner.grids.grid import load_grid

    grid = write(tmp_path / "g.toml", "[variants.small]\nhiden_size = 64\n")
    with pytest.raises(
        ConfigError, match=r"g.toml \(variant 'small'\): unknown option 'hiden_size'; did you mean 'hidden_size'\?"
    ):
        load_grid(grid)
    write(grid, "[config]\nmax_epoch = 3\n")
    with pytest.raises(
        ConfigError, match=r"g.toml \(\[config\]\): unknown option 'max_epoch'; did you mean 'max_epochs'\?"
    ):
        load_grid(grid)


def test_mlflow_file_uris_map_to_the_kits_store_and_other_schemes_are_refused_first(tmp_path: Path, capsys) -> None:
    from flair_ner.integrations.tracking import tracking_uri

    assert tracking_uri((tmp_path / "ml runs").as_uri()) == f"sqlite:///{tmp_path / 'ml runs' / 'mlflow.db'}"
    assert (
        main(["run", "--track", "mlflow", "--tracking-uri", "ftp://host/x", "--output-dir", str(tmp_path / "r")]) == 2
    )
    assert "tracking_uri" in capsys.readouterr().err and not (tmp_path / "r").exists()


# --- download -------------------------------------------------------------------------------------------------


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_the_download_deadline_holds_when_the_server_sends_nothing(silent_server: str, tmp_path: Path) -> None:
    from flair_ner.data.fetch import fetch_dataset

    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"gave up after the 2 s deadline"):
        fetch_dataset("conllpp", tmp_path, silent_server, deadline=2)
    # before: the 120 s read timeout, twice (pooch retries), for each of the three files
    assert time.monotonic() - started < 10
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == []  # nothing half-written


def test_an_invalid_url_is_not_reported_as_a_digest_mismatch(tmp_path: Path) -> None:
    from flair_ner.data.fetch import fetch_dataset

    with pytest.raises(DownloadError) as error:
        fetch_dataset("conllpp", tmp_path, "http://[::1", deadline=5)
    assert "could not fetch" in str(error.value) and "SHA-256" not in str(error.value)


# --- report ---------------------------------------------------------------------------------------------------


def test_plain_report_compares_conllpp_with_conll2003(mirror: Path, tmp_path: Path) -> None:
    assert (
        main(["report", "--mirror", str(mirror), "--data-dir", str(tmp_path / "cache"), "--output-dir", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "dataset_sizes.csv").is_file() and (tmp_path / "conll2003_vs_conllpp_test.csv").is_file()


# --- predict --------------------------------------------------------------------------------------------------


def test_sigterm_during_predict_output_leaves_no_temporary_file(tiny_run, tmp_path: Path) -> None:
    source = write(tmp_path / "in.txt", "Peter Blackburn lives in Brussels .\n" * 20000)
    target = tmp_path / "out.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "flair_ner", "predict", "--model", str(tiny_run.final_model), "--input", str(source),
         "--output", str(target)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.jsonl.*.tmp")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert list(tmp_path.glob(".out.jsonl.*.tmp")), "the prediction never started writing"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err[-2000:]
    assert list(tmp_path.glob(".*.tmp")) == [] and not target.exists()


def test_mixed_precision_for_a_bilstm_is_refused_on_a_cpu_without_native_bfloat16(monkeypatch, capsys) -> None:
    """oneDNN has no bfloat16 LSTM without native bfloat16 (seen on an AVX2-only AMD EPYC): a stack run with
    amp = true is refused in one line before anything loads; fine-tuning (no LSTM) and CPUs with it may."""
    from flair_ner.config.options import ExperimentConfig
    from flair_ner.training import speed

    for supported, refused in ((False, True), (True, False)):
        monkeypatch.setattr(speed, "amp_supported", lambda device="cpu", answer=supported: answer)
        problems = dict(ExperimentConfig(amp=True, device="cpu").problems())
        assert ("amp" in problems) is refused
        assert "amp" not in dict(ExperimentConfig(amp=True, device="cpu", method="fine-tune").problems())
    monkeypatch.setattr(speed, "amp_supported", lambda device="cpu": False)
    assert main(["run", "--amp", "true", "--device", "cpu", "--output-dir", "/nonexistent/never"]) == 2
    assert "option 'amp' is true, but this CPU has no native bfloat16" in capsys.readouterr().err

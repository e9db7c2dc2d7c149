"""``flair-ner predict``: tag text, JSONL or column files with a trained model."""

from __future__ import annotations

import argparse
import io
import logging
import sys

from flair_ner.errors import PredictInputError, SomeRecordsBad
from flair_ner.runs.interrupt import interruptible
from flair_ner.cli.common import chosen_engine_for, positive, report_bad_record


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    predict = commands.add_parser(
        "predict",
        help="tag text with a trained model",
        description="Tag documents, sentences or column files with a trained SequenceTagger and write each record "
        "with its entities (JSONL: character offsets into the input record) or CoNLL columns. A bad record is "
        "reported as file:line and written as a record with an error field (left out of CoNLL output); the "
        "others are tagged, and the exit status is 1 at the end.",
    )
    predict.add_argument("--model", required=True, help="model file (best-model.pt / final-model.pt) or a run folder")
    predict.add_argument("--input", default=None, help="input file, or - for standard input (default: -)")
    predict.add_argument(
        "--input-format",
        choices=["text", "conll", "jsonl"],
        default=None,
        help="text: one document per line, split into sentences and tokens with segtok; conll: token in the first "
        'column, blank line between sentences; jsonl: {"text": ...} or {"tokens": [...]} per line, other fields '
        "carried to the output (default: from the file extension, else text)",
    )
    predict.add_argument(
        "--document",
        action="store_true",
        help="text input: the whole input is one document (offsets count from its start)",
    )
    predict.add_argument(
        "--output-format",
        "--format",  # its first name, kept for commands written before
        dest="format",
        choices=["jsonl", "conll"],
        default="jsonl",
        help="jsonl: each input record with its entities (text, type, start, end, confidence; token_start and "
        "token_end for token input); conll: the input columns plus the predicted IOB2 tag (default: jsonl)",
    )
    predict.add_argument(
        "--output", default=None, help="output file, written whole or not at all (default: standard output)"
    )
    predict.add_argument(
        "--strict",
        action="store_true",
        help="check every record first and tag nothing if any is bad (default: tag the good ones, report the bad)",
    )
    predict.add_argument(
        "--batch-size",
        type=positive(int),
        default=None,
        help="sentences per prediction batch, at least 1 (default: 32 for torch, 64 for onnx, the faster here)",
    )
    predict.add_argument(
        "--precision",
        choices=("fp32", "bf16", "int8"),
        default="fp32",
        help="fp32 (default; same labels as flair's predict), bf16 (faster on CPUs with bfloat16) or int8 (dynamic "
        "int8 quantization of the LSTMs and linear layers, CPU); bf16 and int8 change a few labels "
        "(benchmarks/README.md)",
    )
    predict.add_argument(
        "--engine",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="torch: flair's model; onnx: a folder written by flair-ner export, run by onnxruntime without torch "
        "(default: auto, onnx for an export folder, else torch)",
    )
    predict.add_argument(
        "--lm-context",
        choices=("sentence", "document"),
        default=None,
        help="what the model's character LMs read: sentence, or document (each sentence inside its document: a text "
        "line or JSONL text, the whole input with --document, a CoNLL file's -DOCSTART- section); torch engine "
        "only (default: as the model was trained, from its run folder's manifest, else sentence)",
    )
    predict.add_argument("--threads", type=positive(int), default=None,
                         help="onnx engine: onnxruntime's threads (default: $FLAIR_NER_ONNX_THREADS, else all cores)")  # fmt: skip
    predict.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    from flair_ner.files import atomic_path
    from flair_ner.predict.records import check_records, guess_input_format, open_input, read_records, write_predictions

    input_format = args.input_format or guess_input_format(args.input)
    stream, name = open_input(args.input)
    if args.strict:  # every record checked before anything is tagged: the input is read twice
        data = stream.read()
        bad = check_records(read_records(io.BytesIO(data), input_format, args.document), name)
        for line in bad:
            report_bad_record(line)
        if bad:
            raise PredictInputError(f"{name}: {len(bad)} bad record(s), listed above; nothing tagged (--strict)")
        stream = [data]
    engine = chosen_engine_for(args)
    records = read_records(stream, input_format, args.document)
    # SIGTERM as well as Ctrl-C unwinds through atomic_path, which removes the half-written temporary file
    with interruptible():
        if args.output:
            with atomic_path(args.output) as temporary, open(temporary, "w", encoding="utf-8") as out:
                summary = write_predictions(engine, records, name, args.format, out, report=report_bad_record)
        else:
            summary = write_predictions(engine, records, name, args.format, sys.stdout, report=report_bad_record)
    logging.getLogger(__name__).info("tagged %d records (%d sentences)", summary.records, summary.sentences)
    if summary.records == 0 and not summary.bad:
        logging.getLogger(__name__).warning("%s: nothing to tag: the input has no records", name)
    if summary.bad:
        kept = "written as records with an error field" if args.format == "jsonl" else "left out of the CoNLL output"
        raise SomeRecordsBad(
            f"{name}: {len(summary.bad)} bad record(s) reported above were {kept}; "
            f"the other {summary.records} were tagged and written"
        )

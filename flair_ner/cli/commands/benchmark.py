"""``flair-ner benchmark speed``: words per second of an engine on the user's input."""

from __future__ import annotations

import argparse

from flair_ner.errors import PredictInputError
from flair_ner.cli.common import chosen_engine_for, positive


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    benchmark = commands.add_parser(
        "benchmark", help="measure a model: benchmark speed", description="Measurements of a trained model."
    )
    measurements = benchmark.add_subparsers(dest="measurement", required=True, metavar="MEASUREMENT")
    speed = measurements.add_parser(
        "speed",
        help="words per second of an engine on your input",
        description="Tag the input's sentences batch by batch and report words per second (the mean over "
        "batches with a 95 %% bootstrap interval, as spacy benchmark speed does) and the peak memory.",
    )
    speed.add_argument("--model", required=True, help="what predict --model takes (an export folder for --engine onnx)")
    speed.add_argument("--input", required=True, help="a text, JSONL or CoNLL file, read as predict reads it")
    speed.add_argument("--input-format", choices=["text", "conll", "jsonl"], default=None,
                       help="as predict's (default: from the file extension, else text)")  # fmt: skip
    speed.add_argument(
        "--engine", choices=("auto", "torch", "onnx"), default="auto", help="as predict's (default: auto)"
    )
    speed.add_argument(
        "--batch-size", type=positive(int), default=None, help="sentences per batch (default: as predict's)"
    )
    speed.add_argument(
        "--precision", choices=("fp32", "bf16", "int8"), default="fp32", help="torch engine: as predict's"
    )
    speed.add_argument("--threads", type=positive(int), default=None, help="onnx engine: onnxruntime's threads")
    speed.add_argument(
        "--lm-context",
        choices=("sentence", "document"),
        default=None,
        help="as predict's (default: what the model was trained with); document: batches of whole documents",
    )
    speed.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    from flair_ner.predict.benchmark import measure
    from flair_ner.predict.records import guess_input_format, open_input, read_records, record_documents

    stream, name = open_input(args.input)
    records = read_records(stream, args.input_format or guess_input_format(args.input))
    sentences, documents = record_documents([record for record in records if record.error is None])
    if not any(sentences):
        raise PredictInputError(f"{name}: no sentence to time")
    engine = chosen_engine_for(args)
    print(measure(engine, type(engine).__name__, sentences, engine.mini_batch_size, documents=documents).render())

"""``flair-ner serve``: models over HTTP, with a demo page and a JSON API."""

from __future__ import annotations

import argparse

from flair_ner.predict.serve import DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_RECORDS, DEFAULT_PORT
from flair_ner.cli.common import flair_logs_to_stderr, positive, refuse_missing_models


def add(commands) -> None:
    """Declare the command and its options on the subcommand parser ``commands``."""
    serve = commands.add_parser(
        "serve",
        help="serve models: a demo page and a JSON API",
        description="Serve trained models over HTTP (FastAPI + uvicorn): GET / a demo page, POST /predict the "
        "JSON records predict --input-format jsonl reads (one object or an array), GET /health, GET /docs. "
        "Each model is loaded once; Ctrl-C stops the server.",
    )
    serve.add_argument("--model", action="append", required=True,
                       help="a shipped model's name (conllpp), a model file, a run folder or an export folder (served by "
                       "the ONNX engine); repeat it to serve "
                       "several (the first is the default; requests choose with ?model=NAME)")  # fmt: skip
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; 0.0.0.0 opens it to the network)")  # fmt: skip
    serve.add_argument("--port", type=positive(int), default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})")
    serve.add_argument("--max-body-bytes", type=positive(int), default=DEFAULT_MAX_BODY_BYTES,
                       help=f"larger request bodies get 413 (default: {DEFAULT_MAX_BODY_BYTES})")  # fmt: skip
    serve.add_argument("--max-records", type=positive(int), default=DEFAULT_MAX_RECORDS,
                       help=f"records one request may hold (default: {DEFAULT_MAX_RECORDS})")  # fmt: skip
    serve.add_argument(
        "--batch-size", type=positive(int), default=None, help="sentences per prediction batch (default: as predict's)"
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    refuse_missing_models(args.model)
    from flair_ner.cli.console import quiet_third_party
    from flair_ner.predict.serve import serve

    flair_logs_to_stderr()
    quiet_third_party(args.verbose)
    serve(args.model, args.host, args.port, args.max_body_bytes, args.max_records, args.batch_size)

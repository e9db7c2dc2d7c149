"""``flair-ner serve``: trained models behind a JSON API and a demo page (FastAPI, run by uvicorn).

* ``GET /``: the demo page: type or paste text, choose a model, see its entities highlighted with type and
  confidence (inline styles and script; nothing loads from the network).
* ``POST /predict[?model=NAME]``: one record or a JSON array of records, as ``predict --input-format jsonl``
  reads them (``{"text": ...}`` or ``{"tokens": [...]}``, other fields carried through); the answer is the
  same record(s) with ``entities`` (text, type, start, end, confidence; token_start/token_end for token input),
  as ``predict`` writes them.
* ``GET /health``: the models served and their entity types.
* ``GET /docs`` and ``GET /redoc``: the OpenAPI documentation (Swagger UI and ReDoc from the ``fastapi-offline``
  package: they work without a network).

A bad request gets a 4xx answer ``{"error": reason, "field": the field it is about}``: 400 for a body that is
not JSON, 404 for an unknown model, 413 for a body over ``max_body_bytes``, 422 for a record without a usable
``text`` or ``tokens``. Each model is loaded once, before the server starts; requests are tagged one at a time
per model (a lock: a flair tagger is not safe to call from two threads at once), each request's records in
length-sorted batches. A folder written by ``flair-ner export`` is served by the ONNX engine (no torch needed).
"""

# no "from __future__ import annotations": FastAPI reads the endpoints' annotations as objects
import html
import json
import threading
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING, Optional, Sequence

from flair_ner.assets import RESOURCES

# FastAPI, flair and torch load when the app is built, not when the command line reads this module's defaults
if TYPE_CHECKING:
    from fastapi import FastAPI, Request

    from flair_ner.predict.records import Engine, InputRecord

ASSETS = RESOURCES / "html"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_BODY_BYTES = 1_000_000
DEFAULT_MAX_RECORDS = 1000
# an oversized body is read and dropped up to this size before the 413 (see _read_body)
DRAIN_BYTES = 64_000_000

# What /docs shows for the request body (the endpoint reads the body itself, to enforce the size limit first).
REQUEST_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Record"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                    ]
                },
                "examples": {
                    "text": {"value": {"text": "George Washington went to Washington.", "id": 7}},
                    "tokens": {"value": {"tokens": ["George", "Washington", "went", "to", "Washington", "."]}},
                    "several": {"value": [{"text": "Angela Merkel visited Paris."}, {"text": "BMW is in Munich."}]},
                },
            }
        },
    }
}
RECORD_SCHEMA = {
    "type": "object",
    "description": 'A document ("text", split into sentences and tokens as predict does) or one pre-tokenised '
    'sentence ("tokens"); any other field is carried to the answer unchanged.',
    "properties": {"text": {"type": "string"}, "tokens": {"type": "array", "items": {"type": "string"}}},
    "additionalProperties": True,
}


class RequestProblem(Exception):
    """A request the API refuses: its HTTP status, the reason and the field it is about."""

    def __init__(self, status: int, error: str, field: Optional[str] = None) -> None:
        super().__init__(error)
        self.status, self.error, self.field = status, error, field


@dataclass
class ServedModel:
    """A loaded model's engine (:class:`flair_ner.predict.records.Engine`), its name in the API, where it came from and
    the lock that serialises its use."""

    name: str
    source: str
    engine: "Engine"
    lock: threading.Lock

    @property
    def types(self) -> list[str]:
        return self.engine.types  # type: ignore[attr-defined]


async def _read_body(request: "Request", limit: int) -> bytes:
    """The request body, or 413 when it exceeds ``limit`` bytes.

    An oversized body is still read (and dropped, so memory stays flat) up to :data:`DRAIN_BYTES` before the
    answer: a client that sends its whole body before reading (most do) would otherwise see the connection
    reset instead of the 413. A body declared larger than that gets its 413 at once.
    """
    declared = request.headers.get("content-length")
    declared_size = int(declared) if declared is not None and declared.isdigit() else None
    if declared_size is not None and declared_size > DRAIN_BYTES:
        raise RequestProblem(413, f"the body is {declared_size} bytes; this server takes at most {limit}", "body")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > DRAIN_BYTES:
            break
    if size > limit:
        raise RequestProblem(
            413, f"the body is {declared_size or f'over {limit}'} bytes; this server takes at most {limit}", "body"
        )
    return b"".join(chunks)


def parse_request(body: bytes, max_records: int) -> "tuple[list[InputRecord], bool]":
    """The records of a request body and whether it was an array (the answer has the same shape).

    Raises:
        RequestProblem: 400 not UTF-8 JSON, 422 a record without a usable ``text``/``tokens`` or too many records.
    """
    from flair_ner.predict.records import json_record

    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise RequestProblem(400, f"the body is not UTF-8 (byte {error.start})", "body") from None
    except json.JSONDecodeError as error:
        raise RequestProblem(
            400, f"the body is not JSON ({error.msg} at line {error.lineno} column {error.colno})", "body"
        ) from None
    many = isinstance(value, list)
    values = value if many else [value]
    if many and not values:
        raise RequestProblem(422, "the array holds no record", "body")
    if len(values) > max_records:
        raise RequestProblem(
            422, f"{len(values)} records in one request; this server takes at most {max_records}", "body"
        )
    records = []
    for index, item in enumerate(values):
        record = json_record(index + 1, item)
        if record.error is not None:
            if many:
                field = f"[{index}]" + (f".{record.error_field}" if record.error_field else "")
            else:
                field = record.error_field or "body"
            raise RequestProblem(422, f"record {index}: {record.error}" if many else record.error, field)
        records.append(record)
    return records, many


def demo_page(models: Sequence[ServedModel]) -> str:
    """The demo page's HTML: a text box, the model choice and the highlighted answer."""
    options = "".join(f'<option value="{html.escape(m.name)}">{html.escape(m.name)}</option>' for m in models)
    types = sorted({t for m in models for t in m.types})
    template = Template((ASSETS / "demo.html").read_text(encoding="utf-8"))
    return template.substitute(
        style=(ASSETS / "viewer.css").read_text(encoding="utf-8"), options=options,
        types=json.dumps(types).replace("</", "<\\/"),
    )  # fmt: skip


def create_app(
    models: Sequence[ServedModel], max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, max_records: int = DEFAULT_MAX_RECORDS
) -> "FastAPI":
    """The FastAPI application serving ``models`` (the first is the default).

    Args:
        models: loaded models with their API names (``?model=NAME``).
        max_body_bytes: larger request bodies get 413 before they are read whole.
        max_records: records one request may hold.
    """
    from fastapi import Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse
    from fastapi_offline import FastAPIOffline

    from flair_ner.predict.records import output_record, tag_records

    if not models:
        raise ValueError("serve needs at least one model")
    by_name = {model.name: model for model in models}
    # FastAPI whose /docs and /redoc pages load Swagger UI and ReDoc from the package, not from a CDN
    app = FastAPIOffline(
        title="flair-ner",
        description="Named entity recognition with trained flair-ner models. "
        "POST /predict takes the JSON records `flair-ner predict --input-format jsonl` reads.",
        version="1",
    )
    page = demo_page(models)

    @app.get("/", response_class=HTMLResponse, summary="the demo page")
    def index() -> str:
        return page

    @app.get("/health", summary="the models served and their entity types")
    def health() -> dict:
        return {"status": "ok", "models": [{"name": m.name, "source": m.source, "types": m.types} for m in models]}

    @app.post("/predict", summary="tag one record or an array of records", openapi_extra=REQUEST_SCHEMA)
    async def predict(request: Request, model: Optional[str] = None):
        try:
            served = by_name.get(model or models[0].name)
            if served is None:
                raise RequestProblem(404, f"no model {model!r}; this server has {', '.join(by_name)}", "model")
            records, many = parse_request(await _read_body(request, max_body_bytes), max_records)
        except RequestProblem as problem:
            return JSONResponse({"error": problem.error, "field": problem.field}, status_code=problem.status)

        def tag() -> list[dict]:
            with served.lock:
                tag_records(records, served.engine)
            return [output_record(record) for record in records]

        answers = await run_in_threadpool(tag)
        return JSONResponse(answers if many else answers[0])

    original_openapi = app.openapi

    def openapi() -> dict:
        schema = original_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {})["Record"] = RECORD_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def load_models(sources: Sequence[str], batch_size: Optional[int] = None) -> list[ServedModel]:
    """Load each ``--model`` once (:func:`flair_ner.predict.records.load_engine`: a folder written by ``flair-ner export``
    runs on the ONNX engine, anything else on torch). Its API name is the source as given."""
    from flair_ner.predict.records import load_engine

    names = list(dict.fromkeys(str(source) for source in sources))
    return [ServedModel(name, name, load_engine(name, batch_size=batch_size), threading.Lock()) for name in names]


def serve(
    sources: Sequence[str],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_records: int = DEFAULT_MAX_RECORDS,
    batch_size: Optional[int] = None,
) -> None:
    """Load the models, then serve them with uvicorn until interrupted."""
    import uvicorn

    app = create_app(load_models(sources, batch_size), max_body_bytes, max_records)
    uvicorn.run(app, host=host, port=port, log_level="info")

"""End-to-end prediction over many documents: reading, sentence splitting, tagging, writing; time and memory.

    python benchmarks/predict_stream.py --model runs/conllpp/best-model.pt            # 1,000 and 10,000 documents
    python benchmarks/predict_stream.py --model M --documents 100 1000 --repeats 1      # a quick look
    python benchmarks/predict_stream.py --model M --onnx runs/export-conllpp --onnx-int8 runs/export-conllpp-int8

Each input is a text file of one document per line: CoNLL++ test sentences (tokens joined by spaces), three to
a document, repeated as often as needed. Each size runs ``python -m flair_ner predict`` in a fresh process
(``--input docs.txt --output out.jsonl``, fp32 or ``--precision``), which reports its wall time and peak resident
memory. Streaming means the peak memory of the largest input is about that of the smallest. With ``--onnx`` /
``--onnx-int8`` (folders written by ``flair-ner export``) the same inputs also run through ``predict --engine onnx``,
one engine after the other in the same run, and the export folders' size and export time are recorded. Writes
benchmarks/results/predict_stream.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from common import (
    RESULTS,
    WORK,
    as_arguments,
    manifest,
    model_missing,
    model_parser,
    peak_rss_mb,
    run_child,
    write_result,
)

SENTENCES_PER_DOCUMENT = 3


def write_documents(count: int, target: Path) -> int:
    """``count`` documents into ``target``; returns the number of whitespace tokens written."""
    from flair_ner.data.corpus import fetch_corpus_files, load_sentences

    files = fetch_corpus_files("conllpp", mirror=os.environ.get("FLAIR_NER_MIRROR"))
    sentences = [" ".join(token.text for token in s) for s in load_sentences(files.paths()["test"], files.format)]
    target.parent.mkdir(parents=True, exist_ok=True)
    tokens = 0
    with open(target, "w", encoding="utf-8") as out:
        for index in range(count):
            start = (index * SENTENCES_PER_DOCUMENT) % (len(sentences) - SENTENCES_PER_DOCUMENT)
            document = " ".join(sentences[start : start + SENTENCES_PER_DOCUMENT])
            tokens += len(document.split())
            out.write(document + "\n")
    return tokens


def child(args) -> int:
    """One prediction run in this process: wall time and peak memory into ``--result``."""
    from flair_ner.cli.main import main as cli

    started = time.perf_counter()
    options = ["--engine", "onnx"] if args.engine == "onnx" else ["--engine", "torch", "--precision", args.precision]
    code = cli(["predict", "--model", str(args.model), "--input", str(args.input), "--output", str(args.output_file),
                *options])  # fmt: skip
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()
    Path(args.result).write_text(json.dumps({"code": code, "seconds": seconds, "peak_rss_mb": peak}), encoding="utf-8")
    return code


def _spans(line: str) -> list:
    """A JSONL record's entities as (start, end, type): what both engines must agree on."""
    return [(entity["start"], entity["end"], entity["type"]) for entity in json.loads(line).get("entities", [])]


def main(argv: list[str] | None = None) -> int:
    parser = model_parser(__doc__)
    parser.add_argument("--documents", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "int8"))
    parser.add_argument(
        "--onnx", type=Path, default=None, help="also run this fp32 export folder (predict --engine onnx)"
    )
    parser.add_argument("--onnx-int8", type=Path, default=None, help="also run this int8 export folder")
    parser.add_argument("--output", type=Path, default=RESULTS / "predict_stream.json")
    parser.add_argument(
        "--work-dir", type=Path, default=WORK / "predict_stream", help="inputs and outputs (not committed)"
    )
    parser.add_argument("--side", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--engine", default="torch", help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--output-file", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side == "child":
        return child(args)
    if model_missing(args.model):
        return 2

    work = args.work_dir
    engines = [("torch_" + args.precision, "torch", args.model)]
    engines += [
        (name, "onnx", folder) for name, folder in (("onnx_fp32", args.onnx), ("onnx_int8", args.onnx_int8)) if folder
    ]
    results, exports = [], {}
    for name, engine, model in engines:
        if engine == "onnx":
            description = json.loads((Path(model) / "export.json").read_text(encoding="utf-8"))
            exports[name] = {"folder_mb": round(description["size_bytes"] / 1e6, 1),
                             "export_seconds": round(description["export_seconds"], 1)}  # fmt: skip
    for count in args.documents:
        source = work / f"documents-{count}.txt"
        tokens = write_documents(count, source)
        for name, engine, model in engines:
            output = work / f"documents-{count}-{name}.jsonl"
            runs = []
            for _ in range(args.repeats):
                runs.append(run_child(Path(__file__), ["--side", "child", "--model", str(model), "--input", str(source),
                                                       "--output-file", str(output), "--precision", args.precision,
                                                       "--engine", engine], work / "child.json"))  # fmt: skip
                if runs[-1]["code"] != 0:
                    print(f"error: prediction failed with status {runs[-1]['code']}", file=sys.stderr)
                    return 1
            records = sum(1 for _ in open(output, encoding="utf-8"))
            median = statistics.median(run["seconds"] for run in runs)
            results.append({
                "engine": name, "documents": count, "records_written": records, "input_tokens": tokens,
                "seconds": [round(run["seconds"], 1) for run in runs], "tokens_per_s": round(tokens / median),
                "documents_per_s": round(count / median, 1), "peak_rss_mb": round(max(run["peak_rss_mb"] for run in runs)),
            })  # fmt: skip
            print(f"{name}, {count} documents: {results[-1]['tokens_per_s']} tokens/s, peak {results[-1]['peak_rss_mb']} MB",
                  flush=True)  # fmt: skip
        if len(engines) > 1:  # the engines' outputs, record by record (offsets and labels; confidences may differ)
            reference = [
                _spans(line) for line in open(work / f"documents-{count}-{engines[0][0]}.jsonl", encoding="utf-8")
            ]
            for name, _, _ in engines[1:]:
                other = [_spans(line) for line in open(work / f"documents-{count}-{name}.jsonl", encoding="utf-8")]
                row = next(r for r in results if r["engine"] == name and r["documents"] == count)
                row["records_with_the_same_entities_as_torch"] = sum(a == b for a, b in zip(reference, other))
    command = [
        "benchmarks/predict_stream.py",
        *as_arguments(args, exclude=("side", "engine", "input", "output_file", "result", "output", "work_dir")),
    ]
    write_result(args.output, {"manifest": manifest(command, sentences_per_document=SENTENCES_PER_DOCUMENT),
                               "exports": exports, "results": results})  # fmt: skip
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

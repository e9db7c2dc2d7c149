"""Where the ONNX engine's time goes, on CoNLL++ test: the character LMs (side by side with one thread each,
or one after the other with all threads), the tagger graph, and the rest (Python and numpy glue).

    python benchmarks/profile_onnx.py --onnx runs/export-conllpp --onnx-int8 runs/export-conllpp-int8

Runs in a process of its own without torch (the engine never imports it). Writes benchmarks/results/profile_onnx.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import RESULTS, as_arguments, manifest, write_result


def sentences_of_test(limit: int | None) -> list[list[str]]:
    from flair_ner.corpus import fetch_corpus_files
    from flair_ner.records import token_lists

    files = fetch_corpus_files("conllpp", mirror=os.environ.get("FLAIR_NER_MIRROR"))
    with open(files.paths()["test"], "rb") as stream:
        return list(token_lists(stream, "conll"))[:limit]


def profile(folder: Path, sentences: list[list[str]], batch_size: int) -> dict:
    """Seconds of each part over all ``sentences``, batch by batch as the engine cuts them."""
    from flair_ner.runtime import OnnxEngine, spans_from_bioes, viterbi

    engine = OnnxEngine(folder, batch_size)
    threads = os.cpu_count() or 1
    sequential = OnnxEngine(folder, batch_size, threads * len(engine.lms))  # each LM session gets every thread
    order = sorted(range(len(sentences)), key=lambda i: len(" ".join(sentences[i])))
    batches = [[sentences[i] for i in order[b : b + batch_size]] for b in range(0, len(order), batch_size)]
    engine.tag(batches[0])
    parts = dict.fromkeys(("lms_side_by_side", "lms_one_after_the_other", "tagger_graph", "viterbi_and_spans", "whole"), 0.0)
    pool = ThreadPoolExecutor(len(engine.lms))
    for batch in batches:
        started = time.perf_counter()
        vectors = list(pool.map(lambda index: engine._lm_vectors(index, batch), range(len(engine.lms))))
        parts["lms_side_by_side"] += time.perf_counter() - started
        started = time.perf_counter()
        for index in range(len(sequential.lms)):
            sequential._lm_vectors(index, batch)
        parts["lms_one_after_the_other"] += time.perf_counter() - started
        import numpy as np

        lengths = np.array([len(tokens) for tokens in batch], dtype=np.int32)
        rows = np.zeros((len(batch), lengths.max()), dtype=np.int64)
        feeds = {"word_rows": rows, "lengths": lengths, **{f"lm_{i}": v for i, v in enumerate(vectors)}}
        started = time.perf_counter()
        emissions = engine.tagger.run(None, feeds)[0]
        parts["tagger_graph"] += time.perf_counter() - started
        started = time.perf_counter()
        paths, confidences = viterbi(emissions, lengths, engine.transitions, engine.description["start_tag"], engine.description["stop_tag"])
        [spans_from_bioes([engine.tags[i] for i in path], c) for path, c in zip(paths, confidences)]
        parts["viterbi_and_spans"] += time.perf_counter() - started
    started = time.perf_counter()
    engine.tag(sentences)
    parts["whole"] = time.perf_counter() - started
    return {key: round(value, 2) for key, value in parts.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, required=True, help="an fp32 export (flair-ner export)")
    parser.add_argument("--onnx-int8", type=Path, default=None, help="an int8 export of the same model")
    parser.add_argument("--batch-size", type=int, default=64, help="sentences per batch (default: 64)")
    parser.add_argument("--limit", type=int, default=None, help="first N test sentences only")
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_onnx.json")
    args = parser.parse_args()
    sentences = sentences_of_test(args.limit)
    results = {}
    for name, folder in (("fp32", args.onnx), ("int8", args.onnx_int8)):
        if folder is not None:
            results[name] = profile(folder, sentences, args.batch_size)
            print(name, results[name], flush=True)
    assert "torch" not in sys.modules  # the engine's claim, checked where it is measured
    write_result(args.output, {"manifest": manifest(["benchmarks/profile_onnx.py", *as_arguments(args)],
                                                    sentences=len(sentences)), "seconds": results})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the ONNX engine's time goes, on CoNLL++ test: the character LMs (side by side with one thread each,
or one after the other with all threads), the tagger graph, and the rest (Python and numpy glue).

    python benchmarks/profile_onnx.py --onnx runs/export-conllpp --onnx-int8 runs/export-conllpp-int8
    python benchmarks/profile_onnx.py --onnx runs/export-conllpp --onnx-int8 runs/export-conllpp-int8 --batch-sizes 32 64 128

For each batch size (the engine's default is the one measured fastest here). Also counted, from the fp32
graphs' weight shapes and the padded batches actually run: the multiply-accumulates (MACs) of the LMs' LSTMs
(per character step: 4 x hidden x (input + hidden) per layer) and of the tagger graph's LSTM and matrix
products (per token), and the rate each part reached (GMAC/s). The LMs alone bound the engine from below: with
the tagger graph and the glue free, a batch still waits for its LMs.

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
    from flair_ner.data.corpus import fetch_corpus_files
    from flair_ner.predict.records import token_lists

    files = fetch_corpus_files("conllpp", mirror=os.environ.get("FLAIR_NER_MIRROR"))
    with open(files.paths()["test"], "rb") as stream:
        return list(token_lists(stream, "conll"))[:limit]


def macs_per_step(graph_path: Path) -> int:
    """Multiply-accumulates of one time step (an LM: one character; the tagger: one token) of an fp32 graph:
    each LSTM ``directions x 4 hidden x (input + hidden)``, each MatMul with a weight ``rows x columns``."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(graph_path)).graph
    shapes = {init.name: numpy_helper.to_array(init).shape for init in graph.initializer}
    total = 0
    for node in graph.node:
        if node.op_type == "LSTM":
            directions, gates, inputs = shapes[node.input[1]]
            total += directions * gates * (inputs + shapes[node.input[2]][2])
        elif node.op_type == "MatMul" and node.input[1] in shapes:
            rows, columns = shapes[node.input[1]]
            total += rows * columns
    return total


def profile(folder: Path, sentences: list[list[str]], batch_size: int, fp32_folder: Path) -> dict:
    """Seconds of each part over all ``sentences``, batch by batch as the engine cuts them, and the MACs of the
    LMs and of the tagger graph on the padded batches (counted with ``fp32_folder``'s graphs: the same model)."""
    from flair_ner.predict.runtime import LM_ONNX, TAGGER_ONNX
    from flair_ner.predict.runtime import OnnxEngine, spans_from_bioes, viterbi

    engine = OnnxEngine(folder, batch_size)
    threads = os.cpu_count() or 1
    sequential = OnnxEngine(folder, batch_size, threads * len(engine.lms))  # each LM session gets every thread
    order = sorted(range(len(sentences)), key=lambda i: len(" ".join(sentences[i])))
    batches = [[sentences[i] for i in order[b : b + batch_size]] for b in range(0, len(order), batch_size)]
    engine.tag(batches[0])
    parts = dict.fromkeys(
        ("lms_side_by_side", "lms_one_after_the_other", "tagger_graph", "viterbi_and_spans", "whole"), 0.0
    )
    lm_steps = [macs_per_step(fp32_folder / LM_ONNX.format(i)) for i in range(len(engine.lms))]
    tagger_step = macs_per_step(fp32_folder / TAGGER_ONNX)
    lm_macs = tagger_macs = 0
    pool = ThreadPoolExecutor(len(engine.lms))
    for batch in batches:
        # as _lm_vectors pads: start marker + text + end marker, the longest of the batch (markers: 1 character each)
        lm_macs += sum(lm_steps) * len(batch) * (max(len(" ".join(tokens)) for tokens in batch) + 2)
        tagger_macs += tagger_step * len(batch) * max(len(tokens) for tokens in batch)
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
        paths, confidences = viterbi(
            emissions, lengths, engine.transitions, engine.description["start_tag"], engine.description["stop_tag"]
        )
        [spans_from_bioes([engine.tags[i] for i in path], c) for path, c in zip(paths, confidences)]
        parts["viterbi_and_spans"] += time.perf_counter() - started
    started = time.perf_counter()
    engine.tag(sentences)
    parts["whole"] = time.perf_counter() - started
    result = {key: round(value, 2) for key, value in parts.items()}
    result["lm_gmacs"] = round(lm_macs / 1e9, 1)
    result["lm_gmac_per_s"] = round(lm_macs / 1e9 / parts["lms_side_by_side"], 1)
    result["tagger_gmacs"] = round(tagger_macs / 1e9, 1)
    result["tagger_gmac_per_s"] = round(tagger_macs / 1e9 / parts["tagger_graph"], 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", type=Path, required=True, help="an fp32 export (flair-ner export)")
    parser.add_argument("--onnx-int8", type=Path, default=None, help="an int8 export of the same model")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64], help="sentences per batch (default: 64)")
    parser.add_argument("--limit", type=int, default=None, help="first N test sentences only")
    parser.add_argument("--output", type=Path, default=RESULTS / "profile_onnx.json")
    args = parser.parse_args()
    sentences = sentences_of_test(args.limit)
    results = {}
    for batch_size in args.batch_sizes:
        for name, folder in (("fp32", args.onnx), ("int8", args.onnx_int8)):
            if folder is not None:
                key = name if len(args.batch_sizes) == 1 else f"{name}_batch_{batch_size}"
                results[key] = profile(folder, sentences, batch_size, args.onnx)
                print(key, results[key], flush=True)
    assert "torch" not in sys.modules  # the engine's claim, checked where it is measured
    write_result(args.output, {"manifest": manifest(["benchmarks/profile_onnx.py", *as_arguments(args)],
                                                    sentences=len(sentences)), "seconds": results})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

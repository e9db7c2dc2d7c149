"""Prediction speed: the kit's predict path against flair's ``tagger.predict``, same model, same sentences.

    python benchmarks/predict_speed.py            # CoNLL++ test (3,453 sentences), the model from train_speed.py
    python benchmarks/predict_speed.py --model runs/conllpp/final-model.pt --repeats 5

Vanilla = ``tagger.predict(sentences)`` with flair's defaults (batch 32, sorted by token count, fp32).
Kit fp32 = ``flair_ner.predict.tagging.predict_sentences`` (batches of similar character length, fp32); kit bf16 =
the same under bfloat16 autocast; kit int8 = the same with dynamic int8 quantization of the LSTMs and
linear layers (``flair_ner.predict.tagging.quantize_int8``; the quantization is inside the timed call, as in
``predict``). With ``--onnx DIR`` (and ``--onnx-int8 DIR``), folders that ``flair-ner export`` wrote from the
same model (``--quantize none`` / ``int8``), onnx fp32 / onnx int8 = ``flair_ner.predict.runtime.OnnxEngine`` (onnxruntime,
numpy Viterbi; ``--threads`` intra-op threads) on the same token lists, its entities put on the Sentences as
labels. All are timed in turn, ``--repeats`` times, on fresh Sentence objects; the median counts.
Labels are compared with vanilla's: sentences with identical entity spans and token-level tag agreement;
and each method's micro-F1 on the CoNLL++ and CoNLL-2003 test sets (untimed). Writes
benchmarks/results/predict_speed.json.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

from common import RESULTS, as_arguments, conllpp_corpus, manifest, model_missing, model_parser, ratio, write_result


def onnx_method(folder: Path, batch_size: int, threads: int | None):
    """Tag flair Sentences with the ONNX engine: its entities become the Sentences' ``ner`` labels."""
    from flair_ner.predict.runtime import OnnxEngine

    engine = OnnxEngine(folder, batch_size, threads)

    def method(sentences) -> None:
        found = engine.tag([[token.text for token in sentence] for sentence in sentences])
        for sentence, spans in zip(sentences, found):
            for span in spans:
                sentence[span.start : span.end].add_label("ner", span.type, span.score)

    return method


def main(argv: list[str] | None = None) -> int:
    parser = model_parser(__doc__)
    parser.add_argument("--limit", type=int, default=None, help="first N test sentences only")
    parser.add_argument("--batch-size", type=int, default=32, help="the kit's batch size (vanilla keeps flair's 32)")
    parser.add_argument("--onnx", type=Path, default=None, help="an fp32 export of --model (flair-ner export)")
    parser.add_argument("--onnx-int8", type=Path, default=None, help="an int8 export of --model (--quantize int8)")
    parser.add_argument("--threads", type=int, default=None, help="onnxruntime's intra-op threads (default: all cores)")
    parser.add_argument(
        "--onnx-batch-size", type=int, default=64, help="the ONNX engine's batch size (default: 64, its own default)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "predict_speed.json")
    args = parser.parse_args(argv)
    if model_missing(args.model):
        return 2

    from flair.data import Sentence
    from flair.models import SequenceTagger

    from flair_ner.data.corpus import fetch_corpus_files, load_sentences
    from flair_ner.evaluation.scores import iob2_tags, score_spans, spans_of
    from flair_ner.predict.tagging import predict_sentences
    from flair_ner.training.speed import amp_supported

    tagger = SequenceTagger.load(args.model)
    _, files = conllpp_corpus()
    tokens = [[token.text for token in s] for s in load_sentences(files.paths()["test"], files.format)[: args.limit]]
    methods = {
        "vanilla": lambda sentences: tagger.predict(sentences),
        "kit_fp32": lambda sentences: predict_sentences(tagger, sentences, args.batch_size, "fp32"),
        "kit_bf16": lambda sentences: predict_sentences(tagger, sentences, args.batch_size, "bf16"),
        "kit_int8": lambda sentences: predict_sentences(tagger, sentences, args.batch_size, "int8"),
    }
    not_run = {}
    if not amp_supported("cpu"):  # oneDNN has no bfloat16 LSTM there: the kit refuses bf16 (check_precision)
        not_run["kit_bf16"] = "this CPU has no native bfloat16 (AVX512-BF16 or AMX)"
        del methods["kit_bf16"]
    for name, folder in (("onnx_fp32", args.onnx), ("onnx_int8", args.onnx_int8)):
        if folder is not None:
            methods[name] = onnx_method(folder, args.onnx_batch_size, args.threads)
    seconds: dict[str, list[float]] = {name: [] for name in methods}
    tags: dict[str, list[list[str]]] = {}
    methods["vanilla"]([Sentence(t) for t in tokens[:64]])  # warm-up (first-call allocations)
    for repeat in range(args.repeats):
        for name, method in methods.items():
            sentences = [Sentence(t) for t in tokens]
            started = time.perf_counter()
            method(sentences)
            seconds[name].append(time.perf_counter() - started)
            tags[name] = [iob2_tags(len(s), spans_of(s, "ner")) for s in sentences]
            print(f"repeat {repeat + 1}/{args.repeats} {name}: {seconds[name][-1]:.1f} s", flush=True)

    original = fetch_corpus_files("conll2003", mirror=os.environ.get("FLAIR_NER_MIRROR"))
    test_sets = {
        "conllpp": load_sentences(files.paths()["test"], files.format)[: args.limit],
        "conll2003": load_sentences(original.paths()["test"], original.format)[: args.limit],
    }

    def micro_f1(method, gold_sentences) -> float:
        sentences = [Sentence([token.text for token in sentence]) for sentence in gold_sentences]
        method(sentences)
        gold = [spans_of(sentence, "ner") for sentence in gold_sentences]
        scores = score_spans(gold, [spans_of(sentence, "ner") for sentence in sentences]).set_index("label")
        return round(100 * scores.loc["micro avg", "f1"], 2)

    reference = tags["vanilla"]
    token_count = sum(map(len, tokens))
    results = {}
    for name in methods:
        median = statistics.median(seconds[name])
        same_tokens = sum(a == b for s, r in zip(tags[name], reference) for a, b in zip(s, r))
        results[name] = {
            "seconds": [round(value, 2) for value in seconds[name]],
            "sentences_per_s": round(len(tokens) / median, 1),
            "speedup_over_vanilla": ratio(statistics.median(seconds["vanilla"]), median),
            "sentences_identical_to_vanilla": sum(s == r for s, r in zip(tags[name], reference)),
            "token_tag_agreement": round(same_tokens / token_count, 6),
            "micro_f1": {test: micro_f1(methods[name], gold) for test, gold in test_sets.items()},
        }
    print(
        f"\n{'':10} {'sent/s':>8} {'speedup':>8} {'identical sentences':>22} {'tag agreement':>14} {'F1 conllpp':>11} {'F1 conll2003':>13}"
    )
    for name, row in results.items():
        identical = f"{row['sentences_identical_to_vanilla']}/{len(tokens)}"
        f1 = row["micro_f1"]
        print(f"{name:10} {row['sentences_per_s']:>8} {row['speedup_over_vanilla']:>8} {identical:>22} "
              f"{row['token_tag_agreement']:>14} {f1['conllpp']:>11} {f1['conll2003']:>13}")  # fmt: skip
    write_result(
        args.output,
        {
            "manifest": manifest(
                ["benchmarks/predict_speed.py", *as_arguments(args)], sentences=len(tokens), tokens=token_count
            ),
            "results": results,
            "not_run": not_run,
        },
    )
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

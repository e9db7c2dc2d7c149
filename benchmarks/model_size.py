"""Model size against F1: one trained CoNLL++ model, its GloVe rows trimmed to N, scored on both test sets.

    python benchmarks/model_size.py --model runs/conllpp/best-model.pt
    python benchmarks/model_size.py --model M --rows 0 25000 50000 100000 --limit 500   # a quick look

``--model`` must hold every GloVe row (a run with ``--glove-rows 0``, or from before trimming existed).
For each N the same trained weights are trimmed (``flair_ner.embeddings.model_size``: the N most frequent rows plus
every CoNLL++ training word's row), saved, and scored with the kit's evaluation on the CoNLL++ and CoNLL-2003
test sets; N = 0 is the untrimmed model. Writes benchmarks/results/model_size.json with, per N, the rows
kept, the file size, the F1s and their difference from the untrimmed model.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from common import RESULTS, as_arguments, conllpp_corpus, manifest, model_missing, model_parser, write_result


def main(argv: list[str] | None = None) -> int:
    parser = model_parser(__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[0, 25_000, 50_000, 100_000, 200_000])
    parser.add_argument("--limit", type=int, default=None, help="first N test sentences only")
    parser.add_argument("--output", type=Path, default=RESULTS / "model_size.json")
    args = parser.parse_args(argv)
    if model_missing(args.model):
        return 2

    from flair.models import SequenceTagger

    from flair_ner.data.corpus import fetch_corpus_files, load_sentences
    from flair_ner.evaluation.scores import evaluate_sentences
    from flair_ner.embeddings.model_size import trim_word_embeddings, word_embeddings

    corpus, files = conllpp_corpus()
    original = fetch_corpus_files("conll2003", mirror=os.environ.get("FLAIR_NER_MIRROR"))
    tests = {"conllpp": files, "conll2003": original}
    vocabulary = {token.text for sentence in corpus.train for token in sentence}
    rows_in_model = len(word_embeddings(SequenceTagger.load(args.model))[0].vocab)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for top_rows in args.rows:
            tagger = SequenceTagger.load(args.model)
            report = trim_word_embeddings(tagger, vocabulary, top_rows)[0]
            path = Path(folder) / f"model-{top_rows}.pt"
            tagger.save(path)
            tagger = SequenceTagger.load(path)  # score what a user loads
            scores = {}
            for name, test in tests.items():  # fresh Sentences: evaluation leaves labels on them
                sentences = load_sentences(test.paths()["test"], test.format)[: args.limit]
                scores[name] = round(100 * evaluate_sentences(tagger, sentences, name).micro_f1, 2)
            results.append({"top_rows": top_rows, "rows": report.rows_after, "megabytes": round(path.stat().st_size / 1e6, 1),
                            "micro_f1": scores})  # fmt: skip
            print(f"N={top_rows}: {report.rows_after} rows, {results[-1]['megabytes']} MB, {scores}", flush=True)
    full = results[0]["micro_f1"] if args.rows[0] == 0 else None
    for result in results:
        if full:
            result["f1_difference"] = {name: round(result["micro_f1"][name] - full[name], 2) for name in full}
    command = ["benchmarks/model_size.py", *as_arguments(args, exclude=("output", "repeats"))]
    write_result(args.output, {"manifest": manifest(command, rows_in_model=rows_in_model), "results": results})
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

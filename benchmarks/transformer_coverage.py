"""Does an offline transformer cover a data set's language? How its tokenizer reads each data set's test words.

    python benchmarks/transformer_coverage.py            # minilm and e5-small on CoNLL++, MultiCoNER II EN/HI/BN
    python benchmarks/transformer_coverage.py --datasets multiconer2-hi --transformers path/to/model

For every word of the test file (MultiCoNER: the public dev file, which the kit tests on), the transformer's
tokenizer is asked for its sub-words. Reported: the share of words that become ``[UNK]`` as a whole, and the
share whose sub-words, joined, do not spell the word as the tokenizer normalises it (lower case for an
uncased model) but with its accents and combining marks kept; an uncased BERT tokenizer strips combining
marks, which in Devanagari and Bengali are the vowel signs and the virama, so a word survives only as its
bare consonants. A SentencePiece tokenizer (e5-small) is compared with the word as its own normaliser writes
it, ``▁`` removed; for it the share of words whose first sub-word is the bare word-start marker ``▁`` is
reported too (a first-sub-token pooling reads that piece's vector for them). Also timed: the tokenizer's
milliseconds per sentence over the first 1,000 test sentences (``--timed-sentences``), given as one string and pre-split into words
(as flair passes them); one run, on whatever else the machine is doing, so a rough figure. Fine-tuning a
model that reads a language like MiniLM reads Hindi is not a test of fine-tuning: the kit's non-English runs
use a transformer only where one covers the language. Writes
benchmarks/results/transformer_coverage.json.
"""

from __future__ import annotations

import argparse
import sys
import time
import unicodedata
from pathlib import Path

from common import RESULTS, as_arguments, manifest, write_result
from transformers import AutoTokenizer

from flair_ner.assets import transformer_folder
from flair_ner.data.corpus import fetch_corpus_files, iter_sentences, read_blocks

DATASETS = ("conllpp", "multiconer2-en", "multiconer2-hi", "multiconer2-bn")


def coverage(tokenizer, words: list[str]) -> dict:
    unknown = spelled_otherwise = bare_marker_first = 0
    lower = getattr(tokenizer, "do_lower_case", False)
    sentencepiece = tokenizer.tokenize("a")[0].startswith("▁")
    for word in words:
        pieces = tokenizer.tokenize(word)
        if pieces == [tokenizer.unk_token] or pieces == ["▁", tokenizer.unk_token]:
            unknown += 1
            continue
        if sentencepiece:
            bare_marker_first += pieces[0] == "▁"
            joined = "".join(pieces).removeprefix("▁")
            expected = tokenizer.backend_tokenizer.normalizer.normalize_str(word)
        else:
            joined = "".join(piece[2:] if piece.startswith("##") else piece for piece in pieces)
            expected = unicodedata.normalize("NFC", word.lower() if lower else word)
        spelled_otherwise += joined != expected
    result = {
        "words": len(words),
        "unknown_percent": round(100 * unknown / len(words), 2),
        "spelled_otherwise_percent": round(100 * spelled_otherwise / len(words), 2),
    }
    if sentencepiece:
        result["bare_marker_first_percent"] = round(100 * bare_marker_first / len(words), 2)
    return result


def tokenizer_ms(tokenizer, sentences: list[list[str]]) -> dict:
    """Milliseconds per sentence to tokenize ``sentences``, joined by spaces and pre-split into words."""
    started = time.perf_counter()
    for words in sentences:
        tokenizer(" ".join(words))
    joined = time.perf_counter() - started
    started = time.perf_counter()
    for words in sentences:
        tokenizer(words, is_split_into_words=True)
    split = time.perf_counter() - started
    return {"ms_per_sentence_joined": round(1000 * joined / len(sentences), 2),
            "ms_per_sentence_pre_split": round(1000 * split / len(sentences), 2)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--transformers", nargs="+", default=["minilm", "e5-small"])
    parser.add_argument("--sentences", type=int, default=None, help="only the first N test sentences (default: all)")
    parser.add_argument(
        "--timed-sentences", type=int, default=1000, help="sentences the tokenizer is timed on (0: none)"
    )
    parser.add_argument("--output", type=Path, default=RESULTS / "transformer_coverage.json")
    args = parser.parse_args(argv)

    results = []
    for dataset in args.datasets:
        files = fetch_corpus_files(dataset)
        test = files.paths()["test"]
        sentences = [block.tokens for block in iter_sentences(read_blocks(test, files.format))][: args.sentences]
        words = [token for tokens in sentences for token in tokens]
        for name in args.transformers:
            tokenizer = AutoTokenizer.from_pretrained(str(transformer_folder(name)))
            timed = sentences[: args.timed_sentences]
            results.append({"transformer": name, "dataset": dataset, "file": test.name, "sentences": len(sentences),
                            **coverage(tokenizer, words), **(tokenizer_ms(tokenizer, timed) if timed else {})})  # fmt: skip
            print(results[-1], flush=True)
    write_result(args.output, {"manifest": manifest(["benchmarks/transformer_coverage.py", *as_arguments(args)]),
                               "results": results})  # fmt: skip
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

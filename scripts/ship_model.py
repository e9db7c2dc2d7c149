"""Ship a trained CoNLL++ run's model with the kit: trimmed, scored on the three CoNLL test sets, with a model card.

    python scripts/ship_model.py --run runs/conllpp --glove-rows 25000

Copies the run's evaluated model (best-model.pt, else final-model.pt), keeps the ``--glove-rows`` most
frequent GloVe rows plus every CoNLL++ training word's row (``flair_ner.embeddings.model_size``), scores the trimmed
file on the CoNLL++, CoNLL-2003 and CleanCoNLL test sets with the kit's evaluation, and writes it with its
MODEL_CARD.md into flair_ner/resources/models/conllpp/, where ``predict --model conllpp`` and
``flair_ner.load_tagger("conllpp")`` find it. Retrain and ship again when the default stack improves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from flair_ner.runs import layout  # noqa: E402 - needs the path above
from flair_ner.data.corpus import fetch_corpus_files, load_corpus, load_sentences  # noqa: E402 - needs the path above
from flair_ner.evaluation.scores import evaluate_sentences  # noqa: E402
from flair_ner.files import atomic_path, write_text  # noqa: E402
from flair_ner.embeddings.model_size import trim_model_file  # noqa: E402
from flair_ner.predict.tagging import SHIPPED_MODELS, load_tagger  # noqa: E402


def max_dev_f1(run: Path, epoch: int) -> float:
    """The best dev micro-F1 of the run's first ``epoch`` epochs (flair's loss.tsv)."""
    import pandas as pd

    history = pd.read_csv(run / layout.LOSS_FILE, sep="\t")
    return float(history[history["EPOCH"] <= epoch]["DEV_F1"].max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="a completed CoNLL++ run folder")
    parser.add_argument("--glove-rows", type=int, required=True, help="GloVe rows kept besides the training words'")
    parser.add_argument("--name", default="conllpp", choices=sorted(SHIPPED_MODELS))
    parser.add_argument(
        "--model", type=Path, default=None,
        help="ship this copy of the run's best-model.pt instead of the evaluated model of a completed run (say "
        "which epoch with --epoch)",
    )  # fmt: skip
    parser.add_argument("--epoch", type=int, default=None, help="with --model: the epoch it was copied after")
    args = parser.parse_args(argv)

    manifest = json.loads((args.run / layout.MANIFEST).read_text(encoding="utf-8"))
    if (manifest["config"].get("dataset") or "conllpp") != "conllpp" or (
        args.model is None and manifest.get("status") != "complete"
    ):
        print(f"error: {args.run}: not a completed CoNLL++ run (or name the model file with --model)", file=sys.stderr)
        return 2
    source = args.model or args.run / manifest["evaluated_model"]
    mirror = os.environ.get("FLAIR_NER_MIRROR")
    files, original = fetch_corpus_files("conllpp", mirror=mirror), fetch_corpus_files("conll2003", mirror=mirror)
    vocabulary = {token.text for sentence in load_corpus(files).train for token in sentence}
    target = SHIPPED_MODELS[args.name]
    with tempfile.TemporaryDirectory() as folder:
        model = Path(folder) / "model.pt"
        shutil.copyfile(source, model)
        report = trim_model_file(model, vocabulary, args.glove_rows)[0]
        tagger = load_tagger(model)
        scores = {}
        cleanconll = fetch_corpus_files("cleanconll", mirror=mirror)
        for name, test in (("CoNLL++", files), ("CoNLL-2003", original), ("CleanCoNLL", cleanconll)):
            sentences = load_sentences(test.paths()["test"], test.format)
            scores[name] = 100 * evaluate_sentences(tagger, sentences, name).micro_f1
            print(f"{name} test micro-F1 {scores[name]:.2f}", flush=True)
        with atomic_path(target) as temporary:
            shutil.copyfile(model, temporary)
    run_f1 = manifest.get("micro_f1", {})
    config = manifest["config"]
    if args.model:
        provenance = (f"the run's best model on dev after {args.epoch} of its {config['max_epochs']} epochs, copied while it "
                      f"was still training (dev micro-F1 {100 * max_dev_f1(args.run, args.epoch):.2f})")  # fmt: skip
        own_scores = ""
    else:
        provenance = (
            f"the run's evaluated model ({manifest['evaluated_model']}), {manifest.get('epochs')} epochs trained"
        )
        own_scores = "run"
    card = f"""# conllpp: the kit's default offline tagger, trained on CoNLL++

Loadable by name through the kit (`python -m flair_ner predict --model conllpp`,
`flair_ner.load_tagger("conllpp")`) or by path with plain flair
(`SequenceTagger.load("flair_ner/resources/models/conllpp/model.pt")`).

| | |
|---|---|
| data | CoNLL++ train (14,041 sentences); the best model on CoNLL++ dev (3,250 sentences) |
| tags | PER, LOC, ORG, MISC (BIOES inside the model; the kit writes IOB2) |
| stack | GloVe 6B 50d + reuters-forward + reuters-backward (the kit's own character LMs), BiLSTM-CRF hidden {config["hidden_size"]} |
| training | SGD lr {config["learning_rate"]}, batch {config["mini_batch_size"]}, up to {config["max_epochs"]} epochs, anneal x{config["anneal_factor"]} after {config["patience"]} stalled epochs, seed {config["seed"]}, on {manifest["machine"].get("processor") or "CPU"} |
| this file | {provenance} |
| GloVe rows | {report.rows_after:,} of {report.rows_before:,}: the {args.glove_rows:,} most frequent plus every training word's |
| file | {target.stat().st_size / 1e6:.1f} MB |
| CoNLL++ test micro-F1 | **{scores["CoNLL++"]:.2f}** (this file{f"; {100 * run_f1['conllpp']:.2f} for the run's own model file" if own_scores and "conllpp" in run_f1 else ""}) |
| CoNLL-2003 test micro-F1 | **{scores["CoNLL-2003"]:.2f}** (this file{f"; {100 * run_f1['conll2003']:.2f} for the run's own model file" if own_scores and "conll2003" in run_f1 else ""}) |
| CleanCoNLL test micro-F1 | **{scores["CleanCoNLL"]:.2f}** (this file{f"; {100 * run_f1['cleanconll']:.2f} for the run's own model file" if own_scores and "cleanconll" in run_f1 else ""}) |
| trained by | `python experiments/conllpp.py --embeddings offline --seed {config["seed"]}` at commit `{manifest.get("git_commit")}` |
| shipped by | `python scripts/ship_model.py --run {args.run} --glove-rows {args.glove_rows}{f" --model <copy of best-model.pt> --epoch {args.epoch}" if args.model else ""}` |
| date | {date.today().isoformat()} |

When the kit's default stack improves, this model is retrained with it and shipped again.
"""
    write_text(target.with_name(layout.MODEL_CARD), card)
    print(f"written: {target} ({target.stat().st_size / 1e6:.1f} MB) and its MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

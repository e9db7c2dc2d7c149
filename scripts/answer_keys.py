"""Print the label-noise answer keys of CoNLL-2003 (flair_ner/evaluation/label_noise.py) and how they overlap.

    FLAIR_NER_MIRROR=../shared/datasets python scripts/answer_keys.py

The numbers README gives in the CrossWeigh section come from this script.
"""

from __future__ import annotations

from flair_ner.data.corpus import registered_sentences as sentences
from flair_ner.evaluation.label_noise import cleanconll_changes, conllpp_corrections, detection_scores


def main() -> None:
    test, dev = sentences("conll2003", "test"), sentences("conll2003", "dev")
    conllpp = conllpp_corrections(test, sentences("conllpp", "test"))
    clean_test = cleanconll_changes(test, sentences("cleanconll", "test"), "cleanconll-test")
    clean_dev = cleanconll_changes(dev, sentences("cleanconll", "dev"), "cleanconll-dev")
    for key in (conllpp, clean_test, clean_dev):
        print(
            f"{key.name}: {len(key.changed)} changed of {len(key.universe)} judged sentences, {key.unaligned} unaligned"
        )
    aligned = conllpp.changed & clean_test.universe
    print(f"CoNLL++ corrections that align with CleanCoNLL: {len(aligned)}; also changed there: "
          f"{len(aligned & clean_test.changed)}")  # fmt: skip
    scores = detection_scores(conllpp.changed, clean_test)
    print(f"CoNLL++'s corrections as a detector of CleanCoNLL's test changes: precision {scores['precision']:.2f}, "
          f"recall {scores['recall']:.2f}, F1 {scores['f1']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

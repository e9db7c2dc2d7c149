"""The one place that names the files a run folder keeps (a tagger run, and an LM pretraining run).

Every module that writes or reads one of these files takes its name from here; README's "What a finished
run keeps" describes each. flair writes some of them itself under these names (``loss.tsv``,
``training.log``, ``best-model.pt``, ``final-model.pt``; the LM trainer ``loss.txt`` and ``best-lm.pt``):
the constants then say what flair will write, and must not change.
"""

from __future__ import annotations

# --- a tagger run folder (flair-ner run, a grid cell) ----------------------------------------------------------
MANIFEST = "manifest.json"  # configuration, data digests, status and every start/resume/interruption
LOCK = ".lock"  # held while a process writes to the folder
CHECKPOINT = "checkpoint.pt"  # the whole training state after the last finished epoch
BEST_MODEL = "best-model.pt"  # flair's name: the model of the best dev epoch
FINAL_MODEL = "final-model.pt"  # flair's name: the model after the last epoch
LOSS_FILE = "loss.tsv"  # flair's name: one row per epoch (loss, dev scores, learning rate)
TRAINING_LOG = "training.log"  # flair's name: its log, all iteration lines included
EPOCH_REPORT = "epochs.csv"  # the kit's per-epoch timing and throughput
METRICS_CSV = "metrics.csv"  # per type and averaged, per test set
METRICS_JSON = "metrics.json"  # the headline scores per test set
PREDICTIONS = "predictions_{}.tsv"  # per test set: sentence, token, gold, predicted
# per test set, only with token_probabilities = true: each token's probability per tag (CrossWeigh's cleanlab reads it)
TOKEN_PROBABILITIES = "token_probabilities_{}.npz"
LEARNING_CURVE = "learning_curve.png"
PER_TYPE_F1 = "per_type_f1.png"
ENTITY_CONFUSION = "entity_confusion_{}.png"  # per test set
ERRORS_HTML = "errors.html"  # the error browser: every test sentence, gold against predicted (error_browser.py)
# what the model is, its data, scores, training and limits (model_card.py; export folders and shipped LMs too)
MODEL_CARD = "MODEL_CARD.md"
COMPARE_HTML = "compare.html"  # flair-ner compare's default output (in the current folder, not a run folder)
SIZES_CSV = "dataset_sizes.csv"  # the sanity report
TEST_DIFF_CSV = "conll2003_vs_conllpp_test.csv"  # CoNLL++ only: the test sentences the two releases label differently

# Files that only a training run writes: a folder holding them without a manifest holds a run the kit cannot judge.
TRAINING_OUTPUTS = (LOSS_FILE, METRICS_JSON, FINAL_MODEL, BEST_MODEL, CHECKPOINT)

# --- an LM pretraining folder (flair-ner pretrain-lm) ------------------------------------------------------------
LM_CHECKPOINT = CHECKPOINT  # the whole LM training state after the last finished split
LM_BEST_MODEL = "best-lm.pt"  # flair's LM trainer's name: the LM of the best validation split
# the best LM as an epoch ended (a copy of best-lm.pt then), so that taggers can be trained with the LM after 1, 2, 3
# epochs: LM_EPOCH_SNAPSHOT.format(epoch=1) for the first
LM_EPOCH_SNAPSHOT = "best-lm-after-epoch-{epoch}.pt"
LM_LOSS = "loss.txt"  # flair's LM trainer's name: one line per split
LM_SPLIT_LOG = "training_log.tsv"  # loss.txt as a table, with bits per character
LM_FINAL_EVAL = "final_eval.tsv"  # the best LM on valid and test
LM_DICTIONARY = "char_dictionary.pkl"
LM_COMMANDS = "commands.txt"  # every command line that trained in the folder (for the model card)


def predictions_file(test_set: str) -> str:
    """``predictions_<test set>.tsv``."""
    return PREDICTIONS.format(test_set)


def token_probabilities_file(test_set: str) -> str:
    """``token_probabilities_<test set>.npz``."""
    return TOKEN_PROBABILITIES.format(test_set)


def confusion_plot(test_set: str) -> str:
    """``entity_confusion_<test set>.png``."""
    return ENTITY_CONFUSION.format(test_set)

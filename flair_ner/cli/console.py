"""What the terminal shows during a run: the kit's progress, not third-party noise (all of it with ``-v``).

Kept out of the terminal unless ``-v``: gensim's "KeyedVectors lifecycle event" lines, the known
FutureWarnings flair's trainer triggers in torch (``torch.cuda.amp.GradScaler``) and that torch's
eager-mode quantization prints, flair's printouts of the whole model and of its tag dictionary (both
stay in training.log, which flair writes through its own file handler). (The empty progress bars flair
draws while it builds the label dictionary are turned off where training builds it:
:func:`flair_ner.training.plugins.no_flair_bars`.)
"""

from __future__ import annotations

import logging
import warnings


# known warnings that tell a kit user nothing they can act on
KNOWN_WARNINGS = (
    (FutureWarning, r".*torch\.cuda\.amp\.GradScaler.*"),
    (FutureWarning, r".*torch\.cuda\.amp\.autocast.*"),
)


class _NoModelPrintout(logging.Filter):
    """flair logs ``Model: "SequenceTagger(...)"``, dozens of lines, when training starts, and the whole tag
    dictionary (``SequenceTagger predicts: Dictionary with 19 tags: …``) each time it builds or loads a tagger."""

    PREFIXES = ('Model: "', "SequenceTagger predicts: ")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.PREFIXES)


def quiet_third_party(verbose: bool = False) -> None:
    """Keep the noise described above out of the terminal (call once flair is imported); ``verbose`` keeps it."""
    if verbose:
        return
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    logging.getLogger("gensim").setLevel(logging.WARNING)
    for handler in logging.getLogger("flair").handlers:
        if type(handler) is logging.StreamHandler:  # the console, not training.log's FileHandler
            handler.addFilter(_NoModelPrintout())

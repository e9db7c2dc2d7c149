"""The kit's own error types: what the *user* must fix, as opposed to a bug in the kit or a library.

Every module raises one of these for bad input (a config, a data file, a run folder, a download, a
prediction input, a grid file, a missing resource); the command line (:func:`flair_ner.cli.main.run_handled`)
shows a :class:`KitError` as one line and exits with its ``exit_code`` (2), and shows anything else as the
traceback plus a line saying that it is a bug and how to report it (exit 1). This module imports nothing
heavy, so every error can be raised before torch and flair load.

The concern classes also derive from ``ValueError`` (and :class:`DownloadError` from ``RuntimeError``) so
that library code written against the kit's earlier error types keeps working; the command line never
treats a plain ``ValueError`` as bad input.
"""

from __future__ import annotations


class KitError(Exception):
    """Bad input or a broken environment that the user must fix; the message is one line saying what and where."""

    exit_code = 2


class ConfigError(KitError, ValueError):
    """A configuration file or option is not valid; the message names the file (or option) and key."""


class DataFileError(KitError, ValueError):
    """A data file is not what the kit expects; the message is one line: ``file:line: what was expected``."""


class RunFolderError(KitError, ValueError):
    """The output folder cannot take this run; one line saying why and what to do."""


class CheckpointError(RunFolderError):
    """A checkpoint cannot be read or is not the kit's; the message is one line naming the file."""


class DownloadError(KitError, RuntimeError):
    """A file could not be fetched, or did not match its pinned digest."""


class PredictInputError(KitError, ValueError):
    """The prediction input or the model cannot be used; the message is one line naming the file (and line)."""


class GridError(KitError, ValueError):
    """A grid file or a grid folder is not valid; the message names the file and key."""


class ResourceError(KitError, FileNotFoundError):
    """A named resource (word vectors, a character LM, a transformer, a model) is missing from this installation."""


class SomeRecordsBad(KitError):
    """Prediction wrote a record for every input line, but some were bad (reported on stderr; exit status 1)."""

    exit_code = 1


class GridCellsFailed(KitError):
    """Some cells of a grid failed (each listed with its status); the others finished."""

    exit_code = 1


BUG_REPORT = (
    "this is a bug in flair-ner (or a library it uses), not a problem with your input: please report it with the "
    "traceback above, the command and `pip freeze` at the kit's issue tracker"
)

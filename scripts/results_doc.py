"""docs/results.md is written section by section, each section whole by the script that makes it
(``ablation_readme.py``, ``fine_tune_readme.py``, ``e5_results.py``, ``crossweigh_results.py``); this is how
they put a section in its place."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

RESULTS = Path("docs/results.md")
# the test sets of a CoNLL++ run (compare_with), as the tables name them
TEST_SET_NAMES = {"conllpp": "CoNLL++ test", "conll2003": "CoNLL-2003 test", "cleanconll": "CleanCoNLL test"}


def replace_section(heading: str, section: str, new_before: str = "## Speed") -> None:
    """Put ``section`` (which starts with the line ``heading``) in place of docs/results.md's section under
    ``heading``, which runs to the next ``## `` heading; a section not there yet goes in before ``new_before``."""
    text = RESULTS.read_text(encoding="utf-8")
    start = text.find(heading + "\n")
    if start < 0:
        start = end = text.index(new_before + "\n")
    else:
        end = text.index("\n## ", start + len(heading)) + 1
    RESULTS.write_text(text[:start] + section.rstrip("\n") + "\n\n" + text[end:], encoding="utf-8")


def summary_tables(summary_md: str) -> list[str]:
    """The tables of a grid's ``summary.md`` (``flair_ner/grids/summary.py``), in order: the F1 levels, then the
    paired differences when there are any; each table's lines without the blank line after it."""
    return [table.strip() for table in re.findall(r"(\| variant \|.*?)(?:\n\n|\Z)", summary_md, flags=re.S)]


def mean_std(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean ± sample std`` of ``values`` times ``scale``; one value alone, "–" for none."""
    if len(values) < 2:
        return f"{scale * values[0]:.{digits}f}" if values else "–"
    return f"{scale * statistics.mean(values):.{digits}f} ± {scale * statistics.stdev(values):.{digits}f}"

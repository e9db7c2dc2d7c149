"""Dataset-size sanity report: does the corpus on disk match the CoNLL-2003 paper?

Two tables, both written as CSV with pandas:

* ``dataset_sizes.csv`` — per split: sentences with and without
  ``-DOCSTART-`` blocks, documents, tokens, entity mentions per type, the
  figures of Table 1 of Tjong Kim Sang & De Meulder (2003) and whether they match.
* ``conll2003_vs_conllpp_test.csv`` — the test sentences whose entity spans
  differ between the original CoNLL-2003 test set and CoNLL++.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pandas as pd

from flair_ner.runs.layout import SIZES_CSV, TEST_DIFF_CSV
from flair_ner.data.corpus import Block, iter_sentences, read_blocks, validate_files
from flair_ner.data.registry import CorpusFiles
from flair_ner.errors import DataFileError
from flair_ner.data.registry import CONLL2003_TABLE1
from flair_ner.files import write_csv

CONLL_TYPES = ("PER", "LOC", "ORG", "MISC")


def split_sizes(blocks: list[Block]) -> dict[str, int]:
    """Counts for one split: blocks, sentences, documents, tokens and mentions per entity type."""
    sentences = list(iter_sentences(blocks))
    counts = {
        "sentences_with_docstart": len(blocks),
        "sentences": len(sentences),
        "documents": sum(block.is_docstart for block in blocks),
        "tokens": sum(len(block.tokens) for block in sentences),
    }
    types: dict[str, int] = {}
    for sentence in sentences:
        for span in sentence.spans:
            types[span.type] = types.get(span.type, 0) + 1
    ordered = [t for t in CONLL_TYPES if t in types] + sorted(set(types) - set(CONLL_TYPES))
    counts.update({entity_type: types[entity_type] for entity_type in ordered})
    counts["entities"] = sum(types.values())
    return counts


def sizes_table(
    files: CorpusFiles,
    expected: Optional[dict[str, dict[str, int]]] = CONLL2003_TABLE1,
    blocks: Optional[dict[str, list[Block]]] = None,
) -> pd.DataFrame:
    """One row per split with the counts, the expected figures and a status column.

    Args:
        files: the data set (validated while read).
        expected: split -> count name -> expected figure; ``None`` for a data set
            without published figures (status ``n/a``).
        blocks: already-read blocks per split, to avoid reading twice.
    """
    blocks = blocks or validate_files(files)
    rows = []
    for split, split_blocks in blocks.items():
        row: dict[str, object] = {"split": split, "file": files.paths()[split].name}
        row.update(split_sizes(split_blocks))
        wanted = (expected or {}).get(split)
        if wanted:
            for name, figure in wanted.items():
                row[f"paper_{name}"] = figure
            differing = [name for name, figure in wanted.items() if row[name] != figure]
            row["status"] = "match" if not differing else "MISMATCH: " + ", ".join(differing)
        else:
            row["status"] = "n/a"
        rows.append(row)
    frame = pd.DataFrame(rows)
    type_columns = [c for c in frame.columns if c not in _fixed_columns(frame)]
    frame[type_columns] = frame[type_columns].fillna(0).astype(int)
    return frame


def _fixed_columns(frame: pd.DataFrame) -> set[str]:
    fixed = {"split", "file", "sentences_with_docstart", "sentences", "documents", "tokens", "entities", "status"}
    return fixed | {c for c in frame.columns if c.startswith("paper_")}


class AlignmentError(DataFileError):
    """Two test sets cannot be compared sentence by sentence."""


def compare_test_sets(original: list[Block], corrected: list[Block], names: tuple[str, str]) -> pd.DataFrame:
    """Test sentences whose entity spans (type, start, end) differ between two versions.

    Sentences are aligned one to one (``-DOCSTART-`` blocks left out); the token
    sequences must be identical, otherwise the comparison would be meaningless.

    Returns:
        One row per differing sentence: index, first line in each file, tokens, and
        the spans of each version as ``TYPE[start:end]`` lists.
    """
    left, right = list(iter_sentences(original)), list(iter_sentences(corrected))
    if len(left) != len(right):
        raise AlignmentError(f"{names[0]} has {len(left)} sentences, {names[1]} has {len(right)}; cannot align")
    rows = []
    for index, (a, b) in enumerate(zip(left, right)):
        if a.tokens != b.tokens:
            raise AlignmentError(
                f"sentence {index} differs in tokens ({names[0]} line {a.line}, {names[1]} line {b.line}); cannot align"
            )
        if a.spans != b.spans:
            rows.append(
                {
                    "index": index,
                    "original_line": a.line,
                    "corrected_line": b.line,
                    "tokens": " ".join(a.tokens),
                    "original_spans": " ".join(map(str, a.spans)),
                    "corrected_spans": " ".join(map(str, b.spans)),
                }
            )
    columns = ["index", "original_line", "corrected_line", "tokens", "original_spans", "corrected_spans"]
    return pd.DataFrame(rows, columns=columns)


@dataclass
class SanityReport:
    """What :func:`write_sanity_report` produced."""

    sizes: pd.DataFrame
    differences: Optional[pd.DataFrame]
    paths: list[Path]

    @property
    def all_match(self) -> bool:
        """Every split matches its published figures (``True`` when there are none to compare with)."""
        return bool(self.sizes["status"].isin(["match", "n/a"]).all())

    def render(self) -> str:
        """The report as readable text for the terminal."""
        shown = self.sizes.set_index("split").T
        compared = any(column.startswith("paper_") for column in self.sizes.columns)
        text = (
            "Dataset sizes (paper = Table 1 of the CoNLL-2003 paper)\n" if compared else "Dataset sizes\n"
        ) + shown.to_string()
        if self.differences is not None:
            text += (
                f"\n\nCoNLL-2003 vs CoNLL++ test: {len(self.differences)} sentences differ in entity spans"
                " (the CrossWeigh authors state 186)"
            )
        return text + "\n\nWritten: " + ", ".join(str(path) for path in self.paths)


def write_sanity_report(
    files: CorpusFiles,
    output_dir: Path,
    original: Optional[CorpusFiles] = None,
    expected: Optional[dict[str, dict[str, int]]] = CONLL2003_TABLE1,
    blocks: Optional[dict[str, list[Block]]] = None,
    original_test: Optional[list[Block]] = None,
) -> SanityReport:
    """Compute the sizes table (and, given ``original``, the test-set comparison) and write the CSVs.

    Args:
        files: the corpus to check (e.g. CoNLL++).
        output_dir: the run's results folder.
        original: the original CoNLL-2003 release, to compare its test set with ``files``'s.
        expected: published figures per split, or ``None``.
        blocks: ``files``'s splits as read already (validated); ``None``: read them here.
        original_test: ``original``'s test split as read already; ``None``: read it here (only it).
    """
    blocks = blocks or validate_files(files)
    sizes = sizes_table(files, expected, blocks)
    paths = [write_csv(Path(output_dir) / SIZES_CSV, sizes)]
    differences = None
    if original is not None:
        if original_test is None:
            original_test = read_blocks(original.paths()["test"], original.format)
        differences = compare_test_sets(original_test, blocks["test"], (original.test, files.test))
        paths.append(write_csv(Path(output_dir) / TEST_DIFF_CSV, differences))
    return SanityReport(sizes, differences, paths)

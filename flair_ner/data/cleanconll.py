"""CleanCoNLL dev and test (Rücker & Akbik, EMNLP 2023), rebuilt from the CoNLL-2003 release.

CleanCoNLL relabels CoNLL-2003 English nearly noise-free (7 % of the labels changed). For licence reasons its
annotation files hold ``[TOKEN]`` in place of every token; upstream's recipe (``create_cleanconll_from_conll03.sh``
in flairNLP/CleanCoNLL) takes the token column of the original CoNLL-2003 file, applies the split's
``*_tokens.patch`` (CleanCoNLL re-split a few tokens and sentences, after Reiss et al. 2020) and pastes the
patched tokens beside the annotation columns. This module does the same in Python, strictly: every line a
patch hunk removes or changes must be the line it names, the patched token column must have exactly the
annotation file's lines with blank lines in the same places, and the result must have the documents,
sentences, tokens and entity mentions counted on the annotation files (``../shared/datasets/README.md``).

Only dev and test can be rebuilt: the train annotations are not published in a form reachable here.
The rebuilt files are tab-separated: token, POS, Wikipedia link (BIO), NER before CleanCoNLL's last phase,
NER (IOB2, PER/LOC/ORG/MISC; the column the kit reads).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import pooch

from flair_ner.data.registry import DOCSTART, entity_spans
from flair_ner.errors import DataFileError
from flair_ner.files import write_text

# split -> (CoNLL-2003 file, annotation file, token patch, rebuilt file)
SPLITS = {
    "dev": ("eng.testa", "cleanconll_annotations.dev", "dev_tokens.patch", "cleanconll_dev.txt"),
    "test": ("eng.testb", "cleanconll_annotations.test", "test_tokens.patch", "cleanconll_test.txt"),
}
# SHA-256 of the rebuilt files (the inputs are pinned, so the output is too): a changed rebuild is a bug
REBUILT_SHA256 = {
    "cleanconll_dev.txt": "d2a02b05a371a277bf0bc0be010f6545317dd8393df3569933868691f9f2c7f0",
    "cleanconll_test.txt": "a3d3cb8def17bd85b3fed4a8d3b3d7293eb17171190b3642bef3762a88d908fc",
}
# Counted on the annotation files, -DOCSTART- blocks excluded (the mirror's README)
EXPECTED_COUNTS = {
    "dev": {"documents": 216, "sentences": 3233, "tokens": 51383, "mentions": 5966},
    "test": {"documents": 231, "sentences": 3427, "tokens": 46504, "mentions": 5725},
}
TAG_COLUMN = 4  # of the rebuilt files: CleanCoNLL's final NER column

_HUNK = re.compile(r"(\d+)(?:,(\d+))?([acd])(\d+)(?:,(\d+))?")


def apply_normal_diff(lines: list[str], patch: str, patch_name: str) -> list[tuple[str, Optional[int]]]:
    """``lines`` with a patch in diff's "normal" format applied (what ``patch`` does with such a file), each
    with the 0-based number of the original line it is (``None`` for a line the patch added).

    Raises:
        DataFileError: a hunk header that is not one, or a hunk whose removed lines are not the lines it names
            (``patch_name:line``).
    """
    patch_lines = patch.split("\n")
    numbered = list(zip(lines, range(len(lines))))
    result: list[tuple[str, Optional[int]]] = []
    copied = 0  # original lines [0, copied) are in result or were removed
    index = 0
    while index < len(patch_lines):
        header = patch_lines[index]
        index += 1
        header_line = index  # 1-based, for messages
        if not header:
            continue
        match = _HUNK.fullmatch(header)
        if not match:
            raise DataFileError(f"{patch_name}:{index}: expected a hunk header such as '12c12,14', got {header!r}")
        first, last, operation = int(match.group(1)), int(match.group(2) or match.group(1)), match.group(3)
        removed, added = [], []
        while index < len(patch_lines) and patch_lines[index].startswith("< "):
            removed.append(patch_lines[index][2:])
            index += 1
        if index < len(patch_lines) and patch_lines[index] == "---":
            index += 1
        while index < len(patch_lines) and patch_lines[index].startswith("> "):
            added.append(patch_lines[index][2:])
            index += 1
        if operation == "a":  # insert after original line `first`
            result.extend(numbered[copied:first])
            copied = first
        else:
            result.extend(numbered[copied : first - 1])
            if lines[first - 1 : last] != removed:
                raise DataFileError(
                    f"{patch_name}:{header_line}: hunk {header} removes {removed!r}, but those lines are "
                    f"{lines[first - 1 : last]!r}; the CoNLL-2003 file is not the one the patch was made for"
                )
            copied = last
        result.extend((line, None) for line in added)
    result.extend(numbered[copied:])
    return result


def upstream_lines(conll_text: str) -> list[str]:
    """The lines of a CoNLL-2003 file in the layout upstream's recipe expects (blank lines blank).

    The mirror's and flair's copies of ``eng.testa``/``eng.testb`` have their first document's ``-DOCSTART-``
    line at the end instead of the top; the patches were made against the layout with it at the top, so it is
    moved there (with the blank line after it).
    """
    lines = [line if line.strip() else "" for line in conll_text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    if lines and lines[-1].startswith(DOCSTART + " ") and not lines[0].startswith(DOCSTART + " "):
        docstart, body = lines[-1], lines[:-1]
        while body and body[-1] == "":
            body.pop()
        lines = [docstart, "", *body, ""]
    return lines


def rebuild_split(conll_path: Path, annotation_path: Path, patch_path: Path) -> list[str]:
    """The rebuilt lines of one split: the patched CoNLL-2003 token beside the annotation's other columns.

    Checked on the way: wherever the patch left a line as it was, the annotation's POS tag is the CoNLL-2003
    line's (the alignment check upstream's README suggests).
    """
    original = upstream_lines(conll_path.read_text(encoding="utf-8"))
    tokens = apply_normal_diff(
        [line.split(" ", 1)[0] for line in original], patch_path.read_text(encoding="utf-8"), patch_path.name
    )
    annotations = annotation_path.read_text(encoding="utf-8").split("\n")
    if annotations and annotations[-1] == "":
        annotations.pop()
    if len(tokens) != len(annotations):
        raise DataFileError(
            f"{annotation_path}: {len(annotations)} lines, but the patched tokens of {conll_path.name} have "
            f"{len(tokens)}; expected the same number"
        )
    rebuilt = []
    for number, ((token, source), annotation) in enumerate(zip(tokens, annotations), start=1):
        if (token == "") != (annotation == ""):
            raise DataFileError(
                f"{annotation_path}:{number}: a blank line in only one of it and the patched {conll_path.name}"
            )
        if not annotation:
            rebuilt.append("")
            continue
        columns = annotation.split("\t")
        if source is not None and original[source].split(" ")[1] != columns[1]:
            raise DataFileError(
                f"{annotation_path}:{number}: POS {columns[1]!r}, but {conll_path.name} has "
                f"{original[source]!r} there; the files are not aligned"
            )
        rebuilt.append("\t".join([token, *columns[1:]]))
    return rebuilt


def _sha256(path: Path) -> str:
    return pooch.file_hash(str(path), alg="sha256")


def count(lines: list[str]) -> dict[str, int]:
    """Documents, sentences, tokens and entity mentions (final NER column) of rebuilt lines."""
    counts = dict.fromkeys(("documents", "sentences", "tokens", "mentions"), 0)
    sentence: list[str] = []
    for line in [*lines, ""]:
        if line:
            sentence.append(line)
            continue
        if not sentence:
            continue
        if sentence[0].split("\t", 1)[0] == DOCSTART:
            counts["documents"] += 1
        else:
            counts["sentences"] += 1
            counts["tokens"] += len(sentence)
            counts["mentions"] += len(entity_spans([row.split("\t")[TAG_COLUMN] for row in sentence]))
        sentence = []
    return counts


def build(folder: Path, conll2003: dict[str, Path]) -> dict[str, Path]:
    """Write (or find, verified) the rebuilt dev and test files in ``folder``, which holds the annotation
    files and patches; ``conll2003``: the CoNLL-2003 files by name. Returns rebuilt file name -> path.

    Raises:
        DataFileError: a patch or annotation file that does not fit the CoNLL-2003 file, or counts that differ
            from the published ones (nothing is written then).
    """
    paths = {}
    for split, (original, annotation, patch, name) in SPLITS.items():
        target = folder / name
        pinned = REBUILT_SHA256[name]
        if target.is_file() and pinned and _sha256(target) == pinned:
            paths[name] = target
            continue
        lines = rebuild_split(conll2003[original], folder / annotation, folder / patch)
        found = count(lines)
        if found != EXPECTED_COUNTS[split]:
            raise DataFileError(
                f"{target}: the rebuilt CleanCoNLL {split} set has {found}, expected {EXPECTED_COUNTS[split]}"
            )
        write_text(target, "\n".join(lines) + "\n")
        if pinned and _sha256(target) != pinned:
            digest = _sha256(target)
            target.unlink()
            # the inputs were verified, so a different output is the rebuild's fault: a bug, not bad input
            raise RuntimeError(f"{target}: rebuilt with SHA-256 {digest}, expected {pinned}")
        paths[name] = target
    return paths

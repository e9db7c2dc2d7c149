"""flair-ner: named entity recognition with Flair's stacked embeddings, reproducibly and offline.

Modules, in the order of a run: ``download`` -> ``datasets``/``corpus`` -> ``report`` ->
``embeddings`` -> ``train`` (with ``plugins``, ``checkpoint``, ``speed``) -> ``evaluate`` ->
``plots``/``manifest``; ``experiment`` runs them in sequence. On top of a run: ``grid`` and
``summary`` (many runs on Ray). For trained models: ``predict`` (with ``segment``) and
``model_size``. ``cli`` is the command line (with ``config``, and ``assets`` naming the shipped resources, it imports no
flair, so options are checked at once); ``lm`` and ``lm_corpus`` pretrain character LMs.

``flair_ner.load_tagger("conllpp")`` loads the shipped CoNLL++ tagger.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # flair_ner.load_tagger("conllpp") without importing flair whenever the package is imported (the command
    # line validates configs before flair loads)
    if name == "load_tagger":
        from flair_ner.predict import load_tagger

        return load_tagger
    raise AttributeError(f"module 'flair_ner' has no attribute {name!r}")

"""flair-ner: named entity recognition with Flair's stacked embeddings, reproducibly and offline.

Subpackages, in the order of a run: ``data`` (registry, fetch, corpus, report) -> ``embeddings`` (stacks) ->
``training`` (train, plugins, speed) -> ``evaluation`` (scores, plots, error_browser); ``runs`` holds what every
run shares (layout, folder, checkpoint, interrupt, manifest, model_card) and ``runs.experiment`` runs the steps
in sequence. On top of runs: ``grids`` (grid on Ray, summary). For trained models: ``predict`` (records,
segment, tagging, export + runtime for ONNX, benchmark, serve). ``lm`` pretrains character LMs. ``cli`` is the
command line (with ``config`` and ``assets`` it imports no flair, so options are checked at once);
``integrations.tracking`` is MLflow, imported only when tracking is on.

``flair_ner.load_tagger("conllpp")`` loads the shipped CoNLL++ tagger.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # flair_ner.load_tagger("conllpp") without importing flair whenever the package is imported (the command
    # line validates configs before flair loads)
    if name == "load_tagger":
        from flair_ner.predict.tagging import load_tagger

        return load_tagger
    raise AttributeError(f"module 'flair_ner' has no attribute {name!r}")

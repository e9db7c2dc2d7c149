"""Training a tagger: ``train`` (flair's ModelTrainer with the kit's plugins), ``plugins`` and ``speed``
(length-bucketed batches).
"""

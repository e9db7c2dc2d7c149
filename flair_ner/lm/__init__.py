"""Character-LM pretraining: ``corpus`` (the LM text, with the contamination check) and ``train``
(resumable training between splits, shipping with a model card).
"""

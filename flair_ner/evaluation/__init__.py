"""Evaluation: ``scores`` (micro/macro F1 equal to seqeval and conlleval, error kinds), ``plots`` and
``error_browser`` (errors.html, compare.html).
"""

"""The run machinery shared by tagger training and LM pretraining: ``layout`` (the ONLY place that names a run
folder's files), ``folder`` (lock, resume decision), ``checkpoint``, ``interrupt``, ``manifest``, ``model_card``,
and ``experiment`` (one run's steps in order).
"""

"""flair-ner: named entity recognition with Flair's stacked embeddings, reproducibly and offline.

Modules, in the order of the experiment: ``download`` -> ``corpus`` -> ``report``
(and ``experiment``, which runs them in sequence; ``cli`` is the command line).
"""

__version__ = "0.1.0"

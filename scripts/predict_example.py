"""Plain flair use of a flair-ner model: no flair_ner import needed.

    python scripts/predict_example.py runs/conllpp/final-model.pt "George Washington went to Washington ."
"""

import sys

from flair.data import Sentence
from flair.models import SequenceTagger

model_path = sys.argv[1] if len(sys.argv) > 1 else "runs/conllpp/final-model.pt"
text = sys.argv[2] if len(sys.argv) > 2 else "George Washington went to Washington ."

tagger = SequenceTagger.load(model_path)
sentence = Sentence(text)
tagger.predict(sentence)
print(sentence.to_tagged_string())
for entity in sentence.get_spans("ner"):
    print(entity)

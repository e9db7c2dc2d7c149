"""Plain flair use of a flair-ner model: no flair_ner import needed.

python scripts/predict_example.py                      # the shipped CoNLL++ tagger
python scripts/predict_example.py runs/conllpp/best-model.pt "George Washington went to Washington ."
"""

import sys

from flair.data import Sentence
from flair.models import SequenceTagger

# the tagger shipped with the kit (a finished run keeps its evaluated model as best-model.pt)
model_path = sys.argv[1] if len(sys.argv) > 1 else "flair_ner/resources/models/conllpp/model.pt"
text = sys.argv[2] if len(sys.argv) > 2 else "George Washington went to Washington ."

tagger = SequenceTagger.load(model_path)
sentence = Sentence(text)
tagger.predict(sentence)
print(sentence.to_tagged_string())
for entity in sentence.get_spans("ner"):
    print(entity)

"""The CoNLL++ tagger shipped with the kit: loadable by name and by path, small, and it finds entities."""

from __future__ import annotations

import json
import subprocess
import sys

from flair.data import Sentence
from flair.models import SequenceTagger

import flair_ner
from flair_ner.predict.tagging import SHIPPED_MODELS, tag_text

MODEL = SHIPPED_MODELS["conllpp"]


def test_the_shipped_model_is_small_and_has_its_card() -> None:
    assert MODEL.is_file() and MODEL.stat().st_size <= 30e6
    card = MODEL.with_name("MODEL_CARD.md").read_text(encoding="utf-8")
    assert "CoNLL++ test micro-F1" in card and "CoNLL-2003 test micro-F1" in card and "ship_model.py" in card
    assert "CleanCoNLL test micro-F1" in card


def test_loaded_by_name_it_tags_people_and_places() -> None:
    tagger = flair_ner.load_tagger("conllpp")
    text = "George Washington went to Washington ."
    found = {(entity["text"], entity["type"]) for entity in tag_text(tagger, text)}
    assert ("George Washington", "PER") in found and ("Washington", "LOC") in found


def test_plain_flair_loads_it_by_path() -> None:
    sentence = Sentence("Peter Blackburn met EU officials in Brussels .")
    SequenceTagger.load(MODEL).predict(sentence)
    assert {(span.text, span.tag) for span in sentence.get_spans("ner")} >= {
        ("Peter Blackburn", "PER"),
        ("Brussels", "LOC"),
    }


def test_predict_command_by_name() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "flair_ner", "predict", "--model", "conllpp"],
        input="Japan beat Syria in Tokyo .\n", capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    entities = json.loads(result.stdout)["entities"]
    assert {entity["text"] for entity in entities} >= {"Japan", "Syria", "Tokyo"}

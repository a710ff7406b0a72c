"""Speech to text: one Protocol, options in, lazy segments and eager info out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class Segment:
    id: int
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    speaker: str | None = None
    # the decoder's own figures, which OpenAI's verbose_json reports per segment
    seek: int = 0
    tokens: tuple[int, ...] = ()
    temperature: float | None = None
    avg_logprob: float = 0.0
    compression_ratio: float = 0.0
    no_speech_prob: float = 0.0


DEFAULT_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""Greedy first, then warmer retries when a window decodes badly (Whisper's fallback)."""


@dataclass(frozen=True)
class TranscriptionOptions:
    """What a caller may ask of an STT engine; the engine reports back what it used."""

    language: str | None = "ar"
    """A language code, or None to detect it."""
    vad_filter: bool = True
    word_timestamps: bool = True
    beam_size: int = 5
    task: str = "transcribe"
    """"transcribe" keeps the spoken language; "translate" writes English."""
    initial_prompt: str | None = None
    """Text that conditions the first window: spellings, names, style."""
    temperature: tuple[float, ...] = DEFAULT_TEMPERATURES
    """Sampling temperatures, tried in order while a window's decoding fails its checks."""
    batch: bool = False
    """May wait a moment (STT_BATCH_WAIT_MS) to be decoded with concurrent calls of the same
    options: throughput first, for jobs. Batched decoding uses the first temperature only."""


@dataclass(frozen=True)
class TranscriptionInfo:
    language: str
    duration: float
    model: str
    options: TranscriptionOptions


class SpeechToText(Protocol):
    """A loaded speech-to-text model."""

    name: str
    multilingual: bool

    def transcribe(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Transcribe 16 kHz mono samples.

        Arguments:
            audio: float32 samples in [-1, 1] at 16 kHz, or int16 PCM (scaled one window at
                a time, so a long file is held at half the size).
            options: language, VAD and decoding options.
        Returns:
            A generator of segments (consumed once) and the info known before decoding.
        """
        ...

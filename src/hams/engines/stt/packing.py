"""Short clips packed into shared 30-second Whisper windows, and what is decoded mapped back.

Whisper pays for a whole 30 s window whatever it holds, so five 5 s clips in one window cost
about what one costs alone. Each clip's speech is a ``Piece`` placed in a window with silence
on either side; a decoded word belongs to the piece under its middle, and its times are moved
back to where that piece lies in its clip's own audio.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from faster_whisper.vad import SpeechTimestampsMap

from hams.media.audio import SAMPLE_RATE

WINDOW_SAMPLES = 30 * SAMPLE_RATE  # Whisper's window
GAP_SAMPLES = SAMPLE_RATE  # silence between two pieces: Whisper ends a segment in it


@dataclass(frozen=True, eq=False)
class Piece:
    """Part of one clip to decode: at most a window long."""

    clip: int  # which clip of the batch
    audio: np.ndarray  # float32 samples
    offset: float  # seconds into the clip's speech (the clip itself without VAD)
    speech: SpeechTimestampsMap | None  # the clip's speech -> the clip; None = no VAD
    clip_seconds: float  # the clip's duration, which no time may pass

    def clip_time(self, seconds: float, middle: float) -> float:
        """``seconds`` into this piece (kept within it) as seconds into its clip; ``middle``
        (the word's) decides which stretch of speech it is in, so a word is never torn across
        a pause."""
        length = self.audio.size / SAMPLE_RATE  # a word heard in the gap is at the edge
        seconds, middle = min(max(seconds, 0.0), length), min(max(middle, 0.0), length)
        time = self.offset + seconds
        if self.speech is not None:
            chunk = self.speech.get_chunk_index(self.offset + middle)
            time = self.speech.get_original_time(time, chunk)
        return min(max(round(float(time), 3), 0.0), math.floor(self.clip_seconds * 1000) / 1000)


@dataclass
class Window:
    """One 30 s decoding window: its pieces and where each starts, in samples."""

    pieces: list[Piece] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    used: int = 0

    def fits(self, piece: Piece) -> bool:
        return self.used + (GAP_SAMPLES if self.pieces else 0) + piece.audio.size \
            <= WINDOW_SAMPLES

    def add(self, piece: Piece) -> None:
        start = self.used + (GAP_SAMPLES if self.pieces else 0)
        self.pieces.append(piece)
        self.starts.append(start)
        self.used = start + piece.audio.size

    def audio(self) -> np.ndarray:
        samples = np.zeros(self.used, dtype=np.float32)
        for piece, start in zip(self.pieces, self.starts, strict=True):
            samples[start:start + piece.audio.size] = piece.audio
        return samples

    def piece_at(self, seconds: float) -> int:
        """The piece nearest ``seconds`` into the window (inside one, or in a gap)."""
        sample = seconds * SAMPLE_RATE
        distances = [max(start - sample, sample - start - piece.audio.size, 0)
                     for piece, start in zip(self.pieces, self.starts, strict=True)]
        return int(np.argmin(distances))


def pack(pieces: Iterable[Piece], share: bool = True) -> list[Window]:
    """Pieces into windows, first fit in order; ``share=False`` gives each its own window."""
    windows: list[Window] = []
    for piece in pieces:
        if piece.audio.size > WINDOW_SAMPLES:
            raise ValueError("a piece longer than a window cannot be packed")
        target = next((w for w in windows if share and w.fits(piece)), None)
        if target is None:
            target = Window()
            windows.append(target)
        target.add(piece)
    return windows

"""faster-whisper (CTranslate2) behind the SpeechToText Protocol."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from faster_whisper import WhisperModel

from hams.engines.stt import Segment, TranscriptionInfo, TranscriptionOptions, Word
from hams.media.audio import SAMPLE_RATE

DEFAULT_WINDOW_SECONDS = 120  # faster-whisper's VAD and features cost ~15x what it is given
DEFAULT_SEAM_SECONDS = 20  # a window ends at the quietest half second of its last 20 s


class WhisperEngine:
    """One loaded Whisper model; thread-safe for concurrent transcriptions."""

    def __init__(self, model: WhisperModel, name: str):
        self.model = model
        self.name = name
        self.multilingual = bool(model.model.is_multilingual)
        self.window_seconds = DEFAULT_WINDOW_SECONDS

    @classmethod
    def load(
        cls, source: str, *, name: str, device: str, compute_type: str, cpu_threads: int,
        num_workers: int, download_root: str | None,
    ) -> WhisperEngine:
        model = WhisperModel(
            source, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
            num_workers=num_workers, download_root=download_root,
        )
        return cls(model, name)

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The most likely spoken language and its probability, from the speech in ``audio``
        (its first window: the VAD would otherwise run over all of it)."""
        language, probability, _ = self.model.detect_language(
            as_float(audio[:self.window_seconds * SAMPLE_RATE]), vad_filter=True,
            language_detection_segments=2)
        return language, float(probability)

    def transcribe(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """One window at a time, so a long file costs its samples plus one window's work. The
        language detected in the first window that has speech is kept for the rest."""
        cuts = window_cuts(audio, self.window_seconds * SAMPLE_RATE)
        first, raw_info = self._window(audio[cuts[0]:cuts[1]], options)

        def segments() -> Iterator[tuple[float, object]]:
            chosen, found = options, None
            for start, end in zip(cuts, cuts[1:], strict=False):
                raw, window_info = (first, raw_info) if start == 0 else self._window(
                    audio[start:end], chosen)
                for segment in raw:
                    found = found or window_info.language
                    yield start / SAMPLE_RATE, segment
                if found and chosen.language is None:
                    chosen = replace(options, language=found)

        info = TranscriptionInfo(
            language=raw_info.language, duration=audio.size / SAMPLE_RATE, model=self.name,
            options=options,
        )
        return _convert(segments()), info

    def _window(self, audio: np.ndarray, options: TranscriptionOptions) -> tuple[Iterator, object]:
        return self.model.transcribe(
            as_float(audio),
            language=options.language,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            beam_size=options.beam_size,
            task=options.task,
            initial_prompt=options.initial_prompt,
            temperature=list(options.temperature),
        )


def as_float(audio: np.ndarray) -> np.ndarray:
    """float32 in [-1, 1] as faster-whisper takes it; int16 PCM is scaled (one window's copy)."""
    if audio.dtype == np.int16:
        return np.multiply(audio, 1 / 32768, dtype=np.float32)
    return audio


def window_cuts(audio: np.ndarray, window: int = DEFAULT_WINDOW_SECONDS * SAMPLE_RATE,
                seam: int = DEFAULT_SEAM_SECONDS * SAMPLE_RATE) -> list[int]:
    """Where the windows start and end: each at most ``window`` long, cut where it is
    quietest near its end, so that no word is split between two windows."""
    cuts = [0]
    seam = min(seam, window // 2)
    half = SAMPLE_RATE // 2
    while audio.size - cuts[-1] > window:
        tail = audio[cuts[-1] + window - seam:cuts[-1] + window].astype(np.float32)
        energy = np.square(tail[:tail.size - tail.size % half].reshape(-1, half)).mean(axis=1)
        cuts.append(cuts[-1] + window - seam + int(np.argmin(energy)) * half + half // 2)
    return [*cuts, audio.size]


def _convert(raw_segments: Iterator[tuple[float, object]]) -> Iterator[Segment]:
    for index, (offset, seg) in enumerate(raw_segments):
        words = [
            Word(w.word, round(float(w.start) + offset, 3), round(float(w.end) + offset, 3),
                 round(float(w.probability), 4))
            for w in (seg.words or [])
        ]
        yield Segment(
            index, round(float(seg.start) + offset, 3), round(float(seg.end) + offset, 3),
            seg.text, words,
            seek=int(seg.seek), tokens=tuple(int(t) for t in seg.tokens),
            temperature=None if seg.temperature is None else float(seg.temperature),
            avg_logprob=float(seg.avg_logprob), compression_ratio=float(seg.compression_ratio),
            no_speech_prob=float(seg.no_speech_prob),
        )

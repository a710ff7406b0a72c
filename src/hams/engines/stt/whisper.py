"""faster-whisper (CTranslate2) behind the SpeechToText Protocol."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from faster_whisper import WhisperModel

from hams.engines.stt import Segment, TranscriptionInfo, TranscriptionOptions, Word


class WhisperEngine:
    """One loaded Whisper model; thread-safe for concurrent transcriptions."""

    def __init__(self, model: WhisperModel, name: str):
        self.model = model
        self.name = name
        self.multilingual = bool(model.model.is_multilingual)

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
        """The most likely spoken language and its probability, from the speech in ``audio``."""
        language, probability, _ = self.model.detect_language(
            audio, vad_filter=True, language_detection_segments=2)
        return language, float(probability)

    def transcribe(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        raw_segments, raw_info = self.model.transcribe(
            audio,
            language=options.language,
            vad_filter=options.vad_filter,
            word_timestamps=options.word_timestamps,
            beam_size=options.beam_size,
            task=options.task,
            initial_prompt=options.initial_prompt,
            temperature=list(options.temperature),
        )
        info = TranscriptionInfo(
            language=raw_info.language, duration=float(raw_info.duration), model=self.name,
            options=options,
        )
        return _convert(raw_segments), info


def _convert(raw_segments: Iterator) -> Iterator[Segment]:
    for index, seg in enumerate(raw_segments):
        words = [
            Word(w.word, round(float(w.start), 3), round(float(w.end), 3),
                 round(float(w.probability), 4))
            for w in (seg.words or [])
        ]
        yield Segment(
            index, round(float(seg.start), 3), round(float(seg.end), 3), seg.text, words,
            seek=int(seg.seek), tokens=tuple(int(t) for t in seg.tokens),
            temperature=None if seg.temperature is None else float(seg.temperature),
            avg_logprob=float(seg.avg_logprob), compression_ratio=float(seg.compression_ratio),
            no_speech_prob=float(seg.no_speech_prob),
        )

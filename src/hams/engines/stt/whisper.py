"""faster-whisper (CTranslate2) behind the SpeechToText Protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

import numpy as np
from faster_whisper import BatchedInferencePipeline, WhisperModel
from faster_whisper.vad import (
    SpeechTimestampsMap,
    VadOptions,
    get_speech_timestamps,
)

from hams.engines.stt import Segment, TranscriptionInfo, TranscriptionOptions, Word
from hams.engines.stt.batching import Batcher
from hams.engines.stt.packing import GAP_SAMPLES, WINDOW_SAMPLES, Piece, pack
from hams.media.audio import SAMPLE_RATE

DEFAULT_WINDOW_SECONDS = 120  # faster-whisper's VAD and features cost ~15x what it is given
DEFAULT_SEAM_SECONDS = 20  # a window ends at the quietest half second of its last 20 s


WINDOW_SECONDS = WINDOW_SAMPLES / SAMPLE_RATE
LONG_MEDIA_VAD = VadOptions(max_speech_duration_s=WINDOW_SECONDS, min_silence_duration_ms=160)
"""Speech in pieces that fit a window (the batched pipeline's own choice); a clip that fits
one window keeps faster-whisper's defaults, as it has unbatched."""
BATCHED_SPAN_SECONDS = 600
NO_SPEECH_PROB, MIN_LOGPROB, MAX_COMPRESSION = 0.6, -1.0, 2.4  # Whisper's checks of a window
UNHEARD_SECONDS = 4.0
PAUSE_SECONDS = 1.0
SEGMENT_SECONDS = 15.0
SENTENCE_ENDS = (".", "!", "?", "؟", "。")


class WhisperEngine:
    """One loaded Whisper model; thread-safe for concurrent transcriptions.

    Calls that allow it (``options.batch``: jobs) are gathered with concurrent calls of the
    same options and decoded together, up to ``batch_size`` windows per decode: short clips
    share windows, long media fills several. Realtime calls never wait for company.
    """

    def __init__(self, model: WhisperModel, name: str, *, batch_size: int = 1,
                 batch_wait_seconds: float = 0.0):
        self.model = model
        self.name = name
        self.multilingual = bool(model.model.is_multilingual)
        self.window_seconds = DEFAULT_WINDOW_SECONDS
        self.batch_size = batch_size
        self._pipeline = BatchedInferencePipeline(model)
        self.redecoded = 0  # clips decoded again alone, after their window failed its checks
        self._batcher = Batcher(self._decode_batch, capacity=batch_size * WINDOW_SECONDS,
                                wait_seconds=batch_wait_seconds)

    @property
    def batches_run(self) -> int:
        """Batched decodes so far (several calls each, when they meet)."""
        return self._batcher.batches_run

    @classmethod
    def load(
        cls, source: str, *, name: str, device: str, compute_type: str, cpu_threads: int,
        num_workers: int, download_root: str | None, batch_size: int = 1,
        batch_wait_seconds: float = 0.0,
    ) -> WhisperEngine:
        model = WhisperModel(
            source, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
            num_workers=num_workers, download_root=download_root,
        )
        return cls(model, name, batch_size=batch_size, batch_wait_seconds=batch_wait_seconds)

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
        language detected in the first window that has speech is kept for the rest.
        Batched calls decode with others (see the class) and are returned whole."""
        if options.batch and self.batch_size > 1:
            return self._transcribe_batched(audio, options)
        return self._transcribe_windows(audio, options)

    def _transcribe_windows(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
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

    def _transcribe_batched(
        self, audio: np.ndarray, options: TranscriptionOptions
    ) -> tuple[Iterator[Segment], TranscriptionInfo]:
        """Long media goes in spans of BATCHED_SPAN_SECONDS, cut in pauses, one after the
        other: each span's windows are decoded together, and memory holds one span as floats
        (the pipeline makes every window's features at once). As unbatched, the language
        found in the first span is kept for the rest."""
        cuts = window_cuts(audio, BATCHED_SPAN_SECONDS * SAMPLE_RATE)
        segments: list[Segment] = []
        chosen, language = options, None
        for start, end in zip(cuts, cuts[1:], strict=False):
            span = as_float(audio[start:end])
            found, span_language = self._batcher.submit(
                chosen, (span, chosen), weight=(span.size + GAP_SAMPLES) / SAMPLE_RATE)
            language = language or span_language
            first_id = len(segments)
            segments.extend(shifted(segment, start / SAMPLE_RATE, first_id) for segment in found)
            if found and chosen.language is None:
                chosen = replace(options, language=span_language)
        info = TranscriptionInfo(language=language or options.language or "en",
                                 duration=audio.size / SAMPLE_RATE, model=self.name,
                                 options=options)
        return iter(segments), info

    def _decode_batch(self, calls: Sequence[tuple[np.ndarray, TranscriptionOptions]],
                      ) -> list[tuple[list[Segment], str]]:
        """Clips of the same options, decoded together: each one's segments and language.
        Clips of one language share windows; an undetected language is detected per clip."""
        clips, options = [clip for clip, _ in calls], calls[0][1]
        pieces = [speech_pieces(index, clip, options) for index, clip in enumerate(clips)]
        languages = [options.language or self._detect(clip, found)
                     for clip, found in zip(clips, pieces, strict=True)]
        results: list[list[Segment]] = [[] for _ in clips]
        for language in dict.fromkeys(languages):
            chosen = [piece for found, lang in zip(pieces, languages, strict=True)
                      if lang == language for piece in found]
            if not chosen:
                continue
            same = replace(options, language=language)
            heard, failed = self._decode_pieces(chosen, same, share=True)
            missed = [piece for piece in chosen
                      if piece not in failed and unheard(piece, heard[piece])]
            if missed:  # Whisper can skip a clip among others; alone it cannot
                again, failed_again = self._decode_pieces(missed, same, share=False)
                heard.update(again)
                failed |= failed_again
            redo = {piece.clip for piece in failed}
            for piece in chosen:
                if piece.clip not in redo:
                    results[piece.clip].extend(self._segments(heard[piece], same))
            self.redecoded += len(redo)
            for clip in sorted(redo):  # with the unbatched path's temperature fallback
                results[clip] = list(self._transcribe_windows(clips[clip], same)[0])
        return [(numbered(found), language)
                for found, language in zip(results, languages, strict=True)]

    def _detect(self, clip: np.ndarray, pieces: list[Piece]) -> str:
        """The language of a clip's first window of speech, as an unbatched call finds it."""
        if not self.multilingual:
            return "en"
        if not pieces:  # no speech: unbatched, the model hears an empty window
            return self.model.detect_language(np.zeros(0, dtype=np.float32))[0]
        return self.model.detect_language(pieces[0].audio)[0]

    def _decode_pieces(self, pieces: list[Piece], options: TranscriptionOptions, *, share: bool,
                       ) -> tuple[dict[Piece, list[tuple[Word, object]]], set[Piece]]:
        """One call of faster-whisper's batched pipeline over the packed windows laid end to
        end (one clip of its own per window, decoded ``batch_size`` at a time, no timestamp
        tokens: Whisper skips fewer clips without them). Each decoded word goes to the piece
        under its middle, in that piece's clip's time, with the segment it came from. Whisper's
        own checks apply to each window: silence is dropped, and the pieces of a window that
        decoded badly are returned as failed (the unbatched path retries warmer)."""
        windows = pack(pieces, share=share)
        audio = np.zeros(len(windows) * WINDOW_SAMPLES, dtype=np.float32)
        bounds = []
        for index, window in enumerate(windows):
            start = index * WINDOW_SAMPLES
            audio[start:start + window.used] = window.audio()
            bounds.append({"start": index * WINDOW_SECONDS,
                           "end": (start + window.used) / SAMPLE_RATE})
        raw, _ = self._pipeline.transcribe(
            audio, language=options.language, task=options.task, beam_size=options.beam_size,
            temperature=list(options.temperature[:1]), initial_prompt=options.initial_prompt,
            word_timestamps=True, without_timestamps=True, vad_filter=False,
            clip_timestamps=bounds, batch_size=self.batch_size,
        )
        heard: dict[Piece, list[tuple[Word, object]]] = {piece: [] for piece in pieces}
        failed: set[Piece] = set()
        for segment in raw:
            index = min(int(segment.start // WINDOW_SECONDS), len(windows) - 1)
            window, window_start = windows[index], index * WINDOW_SECONDS
            if segment.no_speech_prob > NO_SPEECH_PROB and segment.avg_logprob < MIN_LOGPROB:
                continue
            if segment.compression_ratio > MAX_COMPRESSION or segment.avg_logprob < MIN_LOGPROB:
                failed.update(window.pieces)
                continue
            for word in segment.words or []:
                middle = (word.start + word.end) / 2 - window_start
                at = window.piece_at(middle)
                piece, offset = window.pieces[at], window.starts[at] / SAMPLE_RATE
                middle -= offset
                heard[piece].append((Word(
                    word.word,
                    piece.clip_time(word.start - window_start - offset, middle),
                    piece.clip_time(word.end - window_start - offset, middle),
                    round(float(word.probability), 4)), segment))
        return heard, failed

    def _segments(self, heard: list[tuple[Word, object]],
                  options: TranscriptionOptions) -> Iterator[Segment]:
        """A piece's words as segments, cut at a pause or a sentence's end (the batched
        pipeline decodes a whole window as one segment, too long for subtitles)."""
        tokenizer = self.model.hf_tokenizer
        for run in segment_runs(heard):
            words = [word for word, _ in run]
            text = "".join(word.word for word in words)
            source = run[0][1]
            yield Segment(
                0, words[0].start, words[-1].end, text,
                words if options.word_timestamps else [],
                seek=round(words[0].start * 100),
                tokens=tuple(tokenizer.encode(text, add_special_tokens=False).ids),
                temperature=options.temperature[0], avg_logprob=float(source.avg_logprob),
                compression_ratio=float(source.compression_ratio),
                no_speech_prob=float(source.no_speech_prob),
            )

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


def speech_pieces(clip: int, audio: np.ndarray, options: TranscriptionOptions) -> list[Piece]:
    """A clip's speech (all of it without VAD) in pieces of at most one window."""
    seconds = audio.size / SAMPLE_RATE
    if not options.vad_filter:
        cuts = window_cuts(audio, WINDOW_SAMPLES, seam=5 * SAMPLE_RATE)
        return [Piece(clip, audio[a:b], a / SAMPLE_RATE, None, seconds)
                for a, b in zip(cuts, cuts[1:], strict=False) if b > a]
    vad = VadOptions() if audio.size <= WINDOW_SAMPLES else LONG_MEDIA_VAD
    chunks = get_speech_timestamps(audio, vad)
    if not chunks:
        return []
    speech = SpeechTimestampsMap(chunks, SAMPLE_RATE)
    if audio.size <= WINDOW_SAMPLES:  # as unbatched: the speech joined, no pause left
        joined = np.concatenate([audio[c["start"]:c["end"]] for c in chunks])
        return [Piece(clip, joined, 0.0, speech, seconds)]
    pieces, offset = [], 0  # long media: each stretch of speech apart, for Whisper to pause
    for chunk in chunks:
        pieces.append(Piece(clip, audio[chunk["start"]:chunk["end"]], offset / SAMPLE_RATE,
                            speech, seconds))
        offset += chunk["end"] - chunk["start"]
    return pieces


def unheard(piece: Piece, heard: list[tuple[Word, object]]) -> bool:
    """Skipped among other clips: fewer words than one per UNHEARD_SECONDS of speech, or
    more than that much speech left before the first word or after the last."""
    seconds = piece.audio.size / SAMPLE_RATE
    if len(heard) < seconds / UNHEARD_SECONDS:
        return True
    if not heard:
        return False
    start, end = piece.clip_time(0.0, 0.0), piece.clip_time(seconds, seconds)
    first, last = heard[0][0], heard[-1][0]
    return first.start - start > UNHEARD_SECONDS or end - last.end > UNHEARD_SECONDS


def segment_runs(heard: list[tuple[Word, object]]) -> Iterator[list[tuple[Word, object]]]:
    """Words grouped into segments: a new one after a pause of PAUSE_SECONDS, after a
    sentence's end, or once one would pass SEGMENT_SECONDS."""
    run: list[tuple[Word, object]] = []
    for word, source in sorted(heard, key=lambda found: found[0].start):
        if run:
            last, first = run[-1][0], run[0][0]
            if word.start - last.end >= PAUSE_SECONDS or word.end - first.start > \
                    SEGMENT_SECONDS or last.word.rstrip().endswith(SENTENCE_ENDS):
                yield run
                run = []
        run.append((word, source))
    if run:
        yield run


def shifted(segment: Segment, seconds: float, first_id: int) -> Segment:
    """A span's segment in the whole file's time, numbered after those before it."""
    if not seconds:
        return replace(segment, id=first_id + segment.id)
    words = [replace(w, start=round(w.start + seconds, 3), end=round(w.end + seconds, 3))
             for w in segment.words]
    return replace(segment, id=first_id + segment.id, start=round(segment.start + seconds, 3),
                   end=round(segment.end + seconds, 3), words=words,
                   seek=segment.seek + round(seconds * 100))


def numbered(segments: list[Segment]) -> list[Segment]:
    """A clip's segments in time order, numbered from 0 as an unbatched call numbers them."""
    ordered = sorted(segments, key=lambda s: s.start)
    return [replace(segment, id=index) for index, segment in enumerate(ordered)]

"""Decode any audio or video PyAV/FFmpeg can read into 16 kHz mono samples (float32, or int16
for long jobs: half the memory, scaled by the engine one window at a time).

Memory stays near the size of the answer: the samples stream into one float32 buffer that
grows in place, the duration limit is checked against what the file declares before
decoding and against every frame before it is resampled, and a frame that would resample
to a huge block (a 1 Hz file expands 16 000-fold) is cut into pieces first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from hams.errors import PayloadTooLarge, UnsupportedMedia

SAMPLE_RATE = 16_000
DEFAULT_FIRST_SECONDS = 60.0  # the first buffer when the file declares no duration
DEFAULT_PIECE_SAMPLES = 1 << 16  # the most samples one resampler call may produce
log = logging.getLogger(__name__)


def decode_audio(path: Path | BinaryIO, *, max_seconds: float, sample_rate: int = SAMPLE_RATE,
                 limit_setting: str = "HAMS_MEDIA_MAX_SECONDS",
                 pcm16: bool = False) -> np.ndarray:
    """All audio of the first audio stream, resampled; refuses files that are not audio.

    ``path`` may also be an open binary file (bytes in memory for realtime requests).
    ``pcm16`` returns int16 samples instead of float32 in [-1, 1]: 4 hours are 440 MiB, not 879.
    """
    limit = _DurationLimit(max_seconds, limit_setting)
    with _open(path) as container:
        if not container.streams.audio:
            raise UnsupportedMedia("The media has no audio stream")
        stream = container.streams.audio[0]
        declared = _declared_seconds(container, stream)
        limit.check(declared)
        samples = _Samples(first_seconds=declared or DEFAULT_FIRST_SECONDS, rate=sample_rate,
                           limit=limit, dtype=np.int16 if pcm16 else np.float32)
        try:
            _decode_into(samples, container, stream)
        except (av.FFmpegError, ValueError) as exc:  # ValueError: the rate changed mid-stream
            log.info("decode failed for %s: %s", path, exc)
            raise UnsupportedMedia("The media could not be decoded: the audio is damaged or "
                                   "in an unsupported codec") from exc
    if samples.size == 0:
        raise UnsupportedMedia("The media contains no audio samples")
    return samples.finish()


def _open(path: Path | BinaryIO) -> av.container.InputContainer:
    try:
        source = str(path) if isinstance(path, Path) else path
        return av.open(source, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        log.info("decode failed for %s: %s", path, exc)  # the detail names server paths
        raise UnsupportedMedia("The media could not be decoded as audio or video") from exc


def _declared_seconds(container: av.container.InputContainer,
                      stream: av.audio.stream.AudioStream) -> float:
    """What the header claims (the stream's, else the container's), so a liar is refused
    before decoding; 0 when it claims nothing."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration else 0.0


def _decode_into(samples: _Samples, container: av.container.InputContainer,
                 stream: av.audio.stream.AudioStream) -> None:
    """Decode frame by frame, counting each frame's duration before it is resampled."""
    resampler = av.AudioResampler(format="s16" if samples.data.dtype == np.int16 else "flt",
                                  layout="mono", rate=samples.rate)
    decoded = 0  # input samples; one rate per stream (the resampler refuses a change)
    for frame in container.decode(stream):
        decoded += frame.samples
        # a rate of 0 means a damaged frame: the resampler refuses it
        samples.limit.check(decoded / max(frame.sample_rate, 1))
        for piece in _pieces(frame, samples.rate):
            for out in resampler.resample(piece):
                samples.append(out)
    for out in resampler.resample(None):
        samples.append(out)


def _pieces(frame: av.AudioFrame, rate: int) -> Iterator[av.AudioFrame]:
    """The frame, cut so that no piece resamples to more than DEFAULT_PIECE_SAMPLES."""
    step = max(1, DEFAULT_PIECE_SAMPLES * frame.sample_rate // rate)
    if frame.samples <= step:
        yield frame
        return
    array = frame.to_ndarray()  # small: the frame before resampling
    channels = 1 if frame.format.is_planar else frame.layout.nb_channels
    for start in range(0, frame.samples, step):
        stop = min(start + step, frame.samples)
        part = np.ascontiguousarray(array[:, start * channels:stop * channels])
        piece = av.AudioFrame.from_ndarray(part, format=frame.format, layout=frame.layout)
        piece.sample_rate = frame.sample_rate
        if frame.pts is not None and frame.time_base:
            piece.time_base = frame.time_base
            piece.pts = frame.pts + round(start / frame.sample_rate / frame.time_base)
        yield piece


class _DurationLimit:
    """The duration limit, refused with the setting that sets it."""

    def __init__(self, max_seconds: float, setting: str):
        self.max_seconds = max_seconds
        self.setting = setting

    def check(self, seconds: float) -> None:
        if seconds > self.max_seconds:
            raise self.exceeded()

    def exceeded(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The media is longer than the limit of "
                               f"{self.max_seconds:g} s ({self.setting})")

    def most_samples(self, rate: int) -> int:
        """The buffer's hard cap: the limit plus a second for the resampler's rounding."""
        return int(self.max_seconds * rate) + rate


class _Samples:
    """One buffer that grows in place (realloc), never a list of copies."""

    def __init__(self, *, first_seconds: float, rate: int, limit: _DurationLimit,
                 dtype: type[np.generic]):
        self.most = limit.most_samples(rate)
        self.rate = rate
        self.limit = limit
        self.size = 0
        self.data = np.empty(min(self.most, int(first_seconds * rate) + rate), dtype=dtype)

    def append(self, frame: av.AudioFrame) -> None:
        chunk = np.frombuffer(frame.planes[0], dtype=self.data.dtype, count=frame.samples)
        end = self.size + chunk.size
        if end > self.data.size:
            self._grow(end)
        self.data[self.size:end] = chunk
        self.size = end

    def _grow(self, needed: int) -> None:
        if needed > self.most:
            raise self.limit.exceeded()
        capacity = min(self.most, max(needed, self.data.size * 3 // 2))
        self.data.resize(capacity, refcheck=False)  # no views exist; realloc moves pages

    def finish(self) -> np.ndarray:
        """The samples (float32 clipped to [-1, 1] in place), the spare capacity given back."""
        self.data.resize(self.size, refcheck=False)
        if self.data.dtype == np.float32:
            np.clip(self.data, -1.0, 1.0, out=self.data)
        return self.data

"""Decode any audio or video PyAV/FFmpeg can read into 16 kHz mono float32 samples."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from hams.errors import PayloadTooLarge, UnsupportedMedia

SAMPLE_RATE = 16_000
log = logging.getLogger(__name__)


def decode_audio(path: Path | BinaryIO, *, max_seconds: float, sample_rate: int = SAMPLE_RATE,
                 limit_setting: str = "HAMS_MEDIA_MAX_SECONDS") -> np.ndarray:
    """All audio of the first audio stream, resampled; refuses files that are not audio.

    ``path`` may also be an open binary file (bytes in memory for realtime requests).
    """
    try:
        source = str(path) if isinstance(path, Path) else path
        container = av.open(source, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        log.info("decode failed for %s: %s", path, exc)  # the detail names server paths
        raise UnsupportedMedia("The media could not be decoded as audio or video") from exc
    with container:
        if not container.streams.audio:
            raise UnsupportedMedia("The media has no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        limit = int(max_seconds * sample_rate)
        chunks: list[np.ndarray] = []
        total = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:
                    raise PayloadTooLarge(
                        f"The media is longer than the limit of {max_seconds:g} s "
                        f"({limit_setting})"
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.FFmpegError as exc:
            log.info("decode failed for %s: %s", path, exc)
            raise UnsupportedMedia("The media could not be decoded: the audio is damaged or "
                                   "in an unsupported codec") from exc
    if not chunks:
        raise UnsupportedMedia("The media contains no audio samples")
    return np.concatenate(chunks).astype(np.float32) / 32768.0

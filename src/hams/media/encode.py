"""Audio out in compressed formats (MP3, Ogg Opus, AAC, FLAC) and tempo changes, through PyAV.

Which encoders exist depends on the FFmpeg that PyAV was built with, so each format names the
encoders that can make it and is offered only when one of them is present.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from hams.media.wav import pcm_frame

MIN_TEMPO, MAX_TEMPO = 0.5, 2.0  # what FFmpeg's atempo takes in one pass


@dataclass(frozen=True)
class Encoding:
    """A compressed format: the container it is written in, and the encoders that make it."""

    container: str
    encoders: tuple[str, ...]
    media_type: str


ENCODINGS = {
    "mp3": Encoding("mp3", ("libmp3lame", "libshine"), "audio/mpeg"),
    "opus": Encoding("ogg", ("libopus",), "audio/ogg"),
    "aac": Encoding("adts", ("aac", "libfdk_aac"), "audio/aac"),
    "flac": Encoding("flac", ("flac",), "audio/flac"),
}


@functools.cache
def encoder_for(fmt: str) -> str | None:
    """The first encoder of ``fmt`` this FFmpeg build has, or None."""
    for name in ENCODINGS[fmt].encoders:
        try:
            av.codec.Codec(name, "w")
        except (av.FFmpegError, ValueError):
            continue
        return name
    return None


def encode(pcm: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """A whole file of int16 mono samples in ``fmt``; PyAV re-frames and converts as the
    encoder needs."""
    codec = encoder_for(fmt)
    if codec is None:  # callers refuse the format before any audio is made (plan_speech)
        raise ValueError(f"this FFmpeg build has no {fmt} encoder")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=ENCODINGS[fmt].container) as out:
        stream = out.add_stream(codec, rate=sample_rate, layout="mono")
        if pcm.size:
            for packet in stream.encode(pcm_frame(pcm, sample_rate)):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def change_tempo(pcm: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Play ``factor`` times faster without changing pitch (FFmpeg's atempo, 0.5 to 2)."""
    if not MIN_TEMPO <= factor <= MAX_TEMPO:
        raise ValueError(f"tempo factor {factor} is outside {MIN_TEMPO}..{MAX_TEMPO}")
    if pcm.size == 0 or factor == 1:
        return pcm
    graph = av.filter.Graph()
    source = graph.add_abuffer(format="s16", sample_rate=sample_rate, layout="mono",
                               time_base=Fraction(1, sample_rate))
    tempo = graph.add("atempo", f"{factor:.6f}")
    sink = graph.add("abuffersink")
    source.link_to(tempo)
    tempo.link_to(sink)
    graph.configure()
    graph.push(pcm_frame(pcm, sample_rate))
    graph.push(None)
    parts = []
    while True:
        try:
            parts.append(graph.pull().to_ndarray().reshape(-1))
        except (av.BlockingIOError, av.EOFError):
            break
    return np.concatenate(parts).astype(np.int16, copy=False) if parts else pcm[:0]

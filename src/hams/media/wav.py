"""Audio out: resampling, G.711 μ-law and RIFF/WAVE headers for whole files and open streams."""

from __future__ import annotations

import struct
from fractions import Fraction

import av
import numpy as np

_FORMAT_PCM = 1
_FORMAT_MULAW = 7
_STREAMING_SIZE = 0xFFFFFFFF  # "unknown length", as Hamsa's tts-stream sends
_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635
# Segment (exponent) of a biased magnitude, indexed by its top 8 bits: the position of their
# highest set bit, 0 for 0 and 1.
_MULAW_SEGMENT = np.array([max(0, i.bit_length() - 1) for i in range(256)], dtype=np.int32)


def resample(pcm: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """int16 mono at ``to_rate`` through FFmpeg's anti-aliased resampler.

    Each call is independent and returns exactly ``round(len * to_rate / from_rate)`` samples,
    so sentences resampled one by one and concatenated keep their total duration.
    """
    pcm = np.ascontiguousarray(pcm, dtype=np.int16).reshape(-1)
    if from_rate == to_rate:
        return pcm.copy()
    expected = round(pcm.size * to_rate / from_rate)
    if pcm.size == 0:
        return np.zeros(0, dtype=np.int16)
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    frames = resampler.resample(pcm_frame(pcm, from_rate)) + resampler.resample(None)
    parts = [f.to_ndarray().reshape(-1) for f in frames]
    out = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
    # FFmpeg may hold back a few samples of filter delay; pad or trim to the exact length.
    if out.size < expected:
        out = np.concatenate([out, np.zeros(expected - out.size, dtype=np.int16)])
    return out[:expected].astype(np.int16, copy=False)


def pcm_frame(pcm: np.ndarray, sample_rate: int) -> av.AudioFrame:
    """One PyAV frame of int16 mono samples, timed from 0 (what resamplers, filters and
    encoders take)."""
    samples = np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = sample_rate
    frame.time_base = Fraction(1, sample_rate)
    frame.pts = 0
    return frame


def encode_mulaw(pcm: np.ndarray) -> bytes:
    """G.711 μ-law bytes for int16 samples: what telephony (8 kHz) endpoints expect."""
    samples = np.asarray(pcm, dtype=np.int16).reshape(-1).astype(np.int32)
    sign = np.where(samples < 0, 0x80, 0).astype(np.int32)
    magnitude = np.minimum(np.abs(samples), _MULAW_CLIP) + _MULAW_BIAS
    segment = _MULAW_SEGMENT[magnitude >> 7]
    mantissa = (magnitude >> (segment + 3)) & 0x0F
    return (~(sign | (segment << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def decode_mulaw(data: bytes) -> np.ndarray:
    """int16 samples for G.711 μ-law bytes, so μ-law audio can be checked and re-encoded."""
    codes = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    segment = (codes >> 4) & 0x07
    magnitude = ((((codes & 0x0F) << 3) + _MULAW_BIAS) << segment) - _MULAW_BIAS
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


def wav_header(
    sample_rate: int, channels: int = 1, bits: int = 16, data_size: int | None = None, *,
    mulaw: bool = False, compact: bool = False,
) -> bytes:
    """A RIFF/WAVE header; ``data_size=None`` marks an open-ended stream (sizes 0xFFFFFFFF).

    μ-law is format tag 7, 8 bits a sample, with the cbSize and ``fact`` chunk that non-PCM
    WAVE formats carry, unless ``compact``: then the header is the 44 bytes streaming clients
    skip blindly. A known ``data_size`` that is odd counts the pad byte RIFF requires.
    """
    if mulaw:
        bits = 8
    block_align = channels * bits // 8
    fmt = struct.pack(
        "<HHIIHH", _FORMAT_MULAW if mulaw else _FORMAT_PCM, channels, sample_rate,
        sample_rate * block_align, block_align, bits,
    )
    fact = b""
    if mulaw and not compact:
        fmt += struct.pack("<H", 0)  # cbSize: no extra format bytes
        frames = _STREAMING_SIZE if data_size is None else data_size // block_align
        fact = b"fact" + struct.pack("<II", 4, frames)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + fact
    if data_size is None:
        riff_size, data_field = _STREAMING_SIZE, _STREAMING_SIZE
    else:
        riff_size = 4 + len(chunks) + 8 + data_size + (data_size & 1)
        data_field = data_size
        if riff_size > _STREAMING_SIZE - 1:
            raise ValueError(f"{data_size} bytes of audio do not fit in a WAV file")
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + chunks + b"data" + struct.pack(
        "<I", data_field
    )


def to_wav_bytes(pcm: np.ndarray, sample_rate: int, *, mulaw: bool = False) -> bytes:
    """A complete WAV file of int16 samples (mono, or frames x channels), PCM or μ-law."""
    samples = np.asarray(pcm, dtype=np.int16)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    data = encode_mulaw(samples) if mulaw else samples.astype("<i2").tobytes()
    header = wav_header(sample_rate, channels, 16, len(data), mulaw=mulaw)
    return header + data + (b"\0" if len(data) & 1 else b"")

"""Pitch (F0) of speech with the YIN method in numpy, so a test can tell a female voice from a
male one without a pitch-tracking dependency."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

F0_MIN, F0_MAX = 60.0, 500.0  # Hz: below any male and above any female speaking voice
_THRESHOLD = 0.15  # YIN's absolute threshold on the cumulative mean normalized difference


def voiced_f0(pcm: np.ndarray, sample_rate: int, *, frame_s: float = 0.03,
              hop_s: float = 0.01) -> np.ndarray:
    """F0 in Hz of every voiced frame (YIN, de Cheveigné and Kawahara 2002, steps 1-4)."""
    x = pcm.astype(np.float64)
    peak = np.max(np.abs(x)) if x.size else 0.0
    if peak == 0:
        return np.zeros(0)
    x = x / peak
    window, hop = int(frame_s * sample_rate), int(hop_s * sample_rate)
    tau_min, tau_max = int(sample_rate / F0_MAX), int(sample_rate / F0_MIN)
    if x.size < window + tau_max + 1:
        return np.zeros(0)
    frames = sliding_window_view(x, window + tau_max + 1)[::hop]
    head = frames[:, :window]
    loud = np.sqrt(np.mean(head**2, axis=1))
    frames, head = frames[loud > 0.1 * loud.max()], head[loud > 0.1 * loud.max()]
    size = 1 << int(np.ceil(np.log2(frames.shape[1] + window)))
    # cross[t] = sum_j head[j] * frame[j + t], for every lag t at once
    cross = np.fft.irfft(np.conj(np.fft.rfft(head, size)) * np.fft.rfft(frames, size),
                         size)[:, : tau_max + 1]
    squares = np.cumsum(np.pad(frames**2, ((0, 0), (1, 0))), axis=1)
    shifted = squares[:, window: window + tau_max + 1] - squares[:, : tau_max + 1]
    diff = np.sum(head**2, axis=1, keepdims=True) + shifted - 2 * cross  # step 2
    diff[:, 0] = 0
    taus = np.arange(1, tau_max + 1)
    running = np.cumsum(diff[:, 1:], axis=1) / taus
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.where(running > 0, running, 1)  # step 3
    f0 = []
    for row in cmnd:
        below = np.nonzero(row[tau_min:] < _THRESHOLD)[0]  # step 4: first dip under threshold
        if below.size == 0:
            continue
        tau = tau_min + below[0]
        while tau + 1 <= tau_max and row[tau + 1] < row[tau]:
            tau += 1
        f0.append(sample_rate / tau)
    return np.array(f0)


def median_f0(pcm: np.ndarray, sample_rate: int) -> float:
    """The median F0 over voiced frames, or 0.0 when nothing is voiced."""
    f0 = voiced_f0(pcm, sample_rate)
    return float(np.median(f0)) if f0.size else 0.0

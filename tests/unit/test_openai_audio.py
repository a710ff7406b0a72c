"""OpenAI request options reach faster-whisper; finished jobs are written in OpenAI's formats."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hams.api.openai_formats import render
from hams.db.models import Job
from hams.engines.models import SttModels
from hams.engines.stt import DEFAULT_TEMPERATURES
from hams.engines.stt.languages import language_code, language_name
from hams.engines.stt.whisper import WhisperEngine
from hams.errors import BadRequest, UnsupportedLanguage, ValidationFailed
from hams.services.openai_speech import is_arabic
from hams.services.openai_transcription import AudioTask, read_task
from hams.services.stt_policy import openai_model as public_stt_model
from hams.services.transcription import job_options
from hams.settings import Settings

RESPONSE = {
    "text": "Hello there. General Kenobi.", "language": "en", "duration": 3.5,
    "segments": [
        {"id": 0, "start": 0.0, "end": 1.2, "text": " Hello there.", "seek": 0,
         "tokens": [1, 2], "temperature": 0.0, "avgLogprob": -0.2, "compressionRatio": 1.1,
         "noSpeechProb": 0.01, "words": [{"word": " Hello", "start": 0.0, "end": 0.5},
                                         {"word": " there.", "start": 0.5, "end": 1.2}]},
        {"id": 1, "start": 1.5, "end": 3.25, "text": " General Kenobi.", "seek": 150,
         "tokens": [3], "temperature": 0.2, "avgLogprob": -0.4, "compressionRatio": 0.9,
         "noSpeechProb": 0.02, "words": [{"word": " General", "start": 1.5, "end": 2.0},
                                         {"word": " Kenobi.", "start": 2.0, "end": 3.25}]},
    ],
}


def task(fmt: str, granularities: tuple[str, ...] = (), kind: str = "transcribe") -> AudioTask:
    return AudioTask(task=kind, model="Hamsa-General-V2.0", language=None, prompt=None,
                     response_format=fmt, temperature=0.0, granularities=granularities)


class RecordingModel:
    """A stand-in for faster_whisper.WhisperModel that records what it was asked."""

    model = SimpleNamespace(is_multilingual=True)

    def __init__(self) -> None:
        self.kwargs: dict = {}

    def transcribe(self, audio, **kwargs):
        self.kwargs = kwargs
        return iter(()), SimpleNamespace(language="fr", duration=1.0)


def test_job_options_reach_faster_whisper():
    job = Job(options={"task": "translate", "prompt": "Kenobi, Naboo.", "temperature": 0.4,
                      "detectLanguage": True})
    options = job_options(Settings(stt_beam_size=3), job, None)
    model = RecordingModel()
    WhisperEngine(model, "test").transcribe(np.zeros(16_000, np.float32), options)
    expected = {"task": "translate", "language": None, "initial_prompt": "Kenobi, Naboo.",
                "temperature": [0.4], "beam_size": 3}
    assert {name: model.kwargs.get(name) for name in expected} == expected


def test_hamsa_jobs_keep_the_default_decoding():
    options = job_options(Settings(), Job(options={"returnSrtFormat": False}), "ar")
    assert (options.task, options.initial_prompt, options.temperature, options.language) == (
        "transcribe", None, DEFAULT_TEMPERATURES, "ar")


def test_text_joins_segments_as_the_recognizer_wrote_them():
    chinese = {"text": "你好 世界", "duration": 1.0, "segments": [
        {"id": 0, "start": 0.0, "end": 0.5, "text": "你好"},
        {"id": 1, "start": 0.5, "end": 1.0, "text": "世界"}]}
    assert render(chinese, task("json"))[0]["text"] == "你好世界"  # no space between
    assert render(RESPONSE, task("json"))[0]["text"] == "Hello there. General Kenobi."


def test_plain_formats():
    assert render(RESPONSE, task("json"))[0] == {
        "text": RESPONSE["text"], "usage": {"type": "duration", "seconds": 4}}
    assert render(RESPONSE, task("text")) == (RESPONSE["text"] + "\n",
                                              "text/plain; charset=utf-8")
    assert render(RESPONSE, task("srt"))[0] == (
        "1\n00:00:00,000 --> 00:00:01,200\nHello there.\n\n"
        "2\n00:00:01,500 --> 00:00:03,250\nGeneral Kenobi.\n")
    assert render(RESPONSE, task("vtt"))[0] == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.200\nHello there.\n\n"
        "00:00:01.500 --> 00:00:03.250\nGeneral Kenobi.\n")


def test_verbose_json_gives_what_was_asked():
    body, _ = render(RESPONSE, task("verbose_json"))
    assert (body["task"], body["language"], body["duration"]) == ("transcribe", "english", 3.5)
    assert "words" not in body
    assert body["segments"][1] == {
        "id": 1, "seek": 150, "start": 1.5, "end": 3.25, "text": " General Kenobi.",
        "tokens": [3], "temperature": 0.2, "avg_logprob": -0.4, "compression_ratio": 0.9,
        "no_speech_prob": 0.02}
    words, _ = render(RESPONSE, task("verbose_json", ("word",)))
    assert "segments" not in words
    assert [w["word"] for w in words["words"]] == ["Hello", "there.", "General", "Kenobi."]
    both, _ = render(RESPONSE, task("verbose_json", ("word", "segment")))
    assert len(both["segments"]) == 2 and len(both["words"]) == 4
    translated, _ = render({**RESPONSE, "language": "fr"}, task("verbose_json", kind="translate"))
    assert (translated["task"], translated["language"]) == ("translate", "english")


def read(english_only: bool = False, **values):
    """read_task with the real model holder (nothing loads: the checks know models by name)."""
    defaults = dict(task="transcribe", model="whisper-1", language=None, prompt=None,
                    response_format=None, temperature=None, granularities=[])
    settings = Settings(stt_model="bundled-tiny.en" if english_only else "large-v3-turbo")
    return read_task(settings, SttModels(settings), **(defaults | values))


def test_requests_are_read_and_refused_before_any_work():
    ask = read(language="French", response_format="verbose_json", granularities=["word"])
    assert (ask.model, ask.language, ask.response_format) == ("Hamsa-General-V2.0", "fr",
                                                              "verbose_json")
    assert read().response_format == "json" and read().language is None
    with pytest.raises(UnsupportedLanguage, match="English-only"):
        read(english_only=True, language="ar")
    with pytest.raises(UnsupportedLanguage, match="tiny.en"):
        read(english_only=True, language="fr")
    assert read(english_only=True, language="en").language == "en"
    for bad in (dict(response_format="xml"), dict(granularities=["word"]),
                dict(granularities=["line"], response_format="verbose_json"),
                dict(prompt="x" * 5000)):
        with pytest.raises(ValidationFailed):
            read(**bad)
    with pytest.raises(BadRequest, match="Unknown model"):
        read(model="nova-2")


def test_model_and_language_names():
    assert public_stt_model("gpt-4o-mini-transcribe-2025-12-15") == "Hamsa-General-V2.0"
    assert public_stt_model("Hamsa-Conversational-V1.0") == "Hamsa-Conversational-V1.0"
    assert public_stt_model(None) == "Hamsa-General-V2.0"
    assert [language_code(v) for v in ("EN", "arabic", "iw", "xx")] == ["en", "ar", "he", None]
    assert language_name("yue") == "cantonese" and language_name(None) is None


def test_script_of_speech_input():
    assert is_arabic("مرحبا بكم") and is_arabic("Hamsa هي منصة صوتية عربية")
    assert not is_arabic("Hello, world") and not is_arabic("123 !")

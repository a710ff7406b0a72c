"""Wire models of the OpenAI-compatible routes, in OpenAI's own (snake_case) field names:
the speech body, the model list, and the JSON transcription formats."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hams.api.schemas.common import Number, ResponseModel, WireModel, absent


class VoiceRef(WireModel):
    """OpenAI's custom-voice form ``{"id": ...}``: here a hams voice id or name."""

    id: str = Field(min_length=1, max_length=200)


class SpeechCreate(WireModel):
    model: str = Field(min_length=1, max_length=100)
    input: str
    voice: str | VoiceRef
    response_format: str = Field("mp3", max_length=20)
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(None, max_length=10000)  # accepted; the engines take none
    stream_format: Literal["audio"] | None = None  # "sse" is not offered

    @property
    def voice_name(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceRef) else self.voice


class ModelPublic(ResponseModel):
    """A model this server answers to, in OpenAI's shape (``capability`` is hams' own)."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    capability: Literal["transcription", "speech"]


class ModelList(ResponseModel):
    object: Literal["list"] = "list"
    data: list[ModelPublic]


class TranscriptionUsage(ResponseModel):
    type: Literal["duration"] = "duration"
    seconds: int = Field(description="Whole seconds of audio, rounded up (as OpenAI bills)")


class TranscriptionJson(ResponseModel):
    """response_format ``json`` (the default)."""

    text: str
    usage: TranscriptionUsage


class TranscriptionSegment(ResponseModel):
    id: int
    seek: int
    start: Number
    end: Number
    text: str
    tokens: list[int]
    temperature: Number
    avg_logprob: Number
    compression_ratio: Number
    no_speech_prob: Number


class TranscriptionWord(ResponseModel):
    word: str
    start: Number
    end: Number


class VerboseTranscription(ResponseModel):
    """response_format ``verbose_json``: segments unless only words were asked for, words only
    when asked for (``timestamp_granularities[]``)."""

    task: Literal["transcribe", "translate"]
    language: str | None
    duration: Number | None
    text: str
    segments: list[TranscriptionSegment] | None = Field(None, exclude_if=absent)
    words: list[TranscriptionWord] | None = Field(None, exclude_if=absent)
    usage: TranscriptionUsage

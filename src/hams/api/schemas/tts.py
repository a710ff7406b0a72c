"""Request bodies of the TTS, realtime TTS and voice-dictionary routes."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hams.api.schemas.jobs import WebhookAuth, WireModel


class TtsJobCreate(WireModel):
    voiceId: str = Field(min_length=1, max_length=200)
    text: str
    title: str | None = Field(None, max_length=500)
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None
    voiceDictionaryIds: list[str] | None = Field(None, max_length=10)


class RealtimeTts(WireModel):
    text: str
    speaker: str | None = Field(None, max_length=200)
    dialect: str | None = Field(None, max_length=20)
    mulaw: bool = False
    sampleRate: str | None = None
    voiceDictionaryIds: list[str] | None = Field(None, max_length=10)


class HistoryCreate(WireModel):
    ttsVoiceId: str = Field(min_length=1, max_length=200)
    script: str
    apiKey: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    voiceDictionaryIds: list[str] | None = Field(None, max_length=10)


class DictionaryWord(WireModel):
    word: str = Field(min_length=1, max_length=200)
    pronunciation: str = Field(min_length=1, max_length=500)


class DictionaryCreate(WireModel):
    name: str = Field(min_length=1, max_length=200)
    words: list[DictionaryWord] = Field(min_length=1, max_length=1000)


class DictionaryUpdate(WireModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    words: list[DictionaryWord] | None = Field(None, min_length=1, max_length=1000)


class RealtimeStt(WireModel):
    """POST /v1/realtime/stt; ``eos_threshold`` is Pipecat's spelling of ``eosThreshold``."""

    audioBase64: str | None = None
    audioList: list[float] | None = None
    language: str = "ar"
    isEosEnabled: bool = False
    eosThreshold: float | None = Field(None, ge=0, le=1)
    eos_threshold: float | None = Field(None, ge=0, le=1)
    model: str | None = Field(None, max_length=100)

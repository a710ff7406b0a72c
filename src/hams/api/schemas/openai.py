"""Request bodies of the OpenAI-compatible routes, in OpenAI's own (snake_case) field names."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hams.api.schemas.jobs import WireModel


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

"""Request bodies of the AI content routes."""

from __future__ import annotations

from pydantic import Field

from hams.api.schemas.jobs import WebhookAuth, WireModel


class AiContentCreate(WireModel):
    aiParts: list[str] = Field(min_length=1, max_length=50)
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None
    language: str | None = None  # hams: output language; default the transcript's
    title: str | None = Field(None, max_length=500)


class CustomPart(WireModel):
    aiPart: str
    language: str | None = None
    prompt: str | None = None


class AiContentCustomCreate(AiContentCreate):
    """Either ``aiParts`` names with ``prompts{part: prompt}``, or ``aiParts`` objects."""

    aiParts: list[str | CustomPart] = Field(min_length=1, max_length=50)  # type: ignore[assignment]
    prompts: dict[str, str] | None = None


class TranscriptionAiContentCreate(WireModel):
    apiKey: str | None = None  # Hamsa sends it; the Authorization header decides
    mediaUrl: str = Field(min_length=1, max_length=4000)
    title: str = Field(min_length=1, max_length=500)
    language: str
    aiParts: list[str] = Field(min_length=1, max_length=50)
    aiContentTitle: str | None = Field(None, min_length=1, max_length=500)
    aiContentLanguage: str | None = None
    aiContentDate: str | None = Field(None, max_length=100)
    aiContentText: str | None = Field(None, max_length=4000)
    model: str = "Hamsa-General-V2.0"  # hams: the transcription model
    webhookUrl: str | None = Field(None, max_length=4000)  # hams: for the AI content job
    webhookAuth: WebhookAuth | None = None

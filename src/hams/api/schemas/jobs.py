"""Request bodies of the job and transcription routes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hams.api.schemas.paging import MAX_PAGE


class WireModel(BaseModel):
    """Unknown fields are ignored: real Hamsa clients send extras (e.g. ``diarization``)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


HEADER_SAFE = r"^[^\r\n\x00]*$"  # sent as an HTTP header: no line breaks


class WebhookAuth(WireModel):
    authKey: str = Field("", max_length=500, pattern=HEADER_SAFE)
    authSecret: str = Field("", max_length=2000, pattern=HEADER_SAFE)


class TranscribeCreate(WireModel):
    mediaUrl: str = Field(min_length=1, max_length=4000)
    model: str = "Hamsa-General-V2.0"
    processingType: Literal["async"] = "async"
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None
    title: str | None = Field(None, max_length=500)
    language: str = "ar"
    returnSrtFormat: bool = False
    srtOptions: dict[str, Any] | None = None


class JobCreateV2(WireModel):
    type: Literal["TRANSCRIPTION"]
    apiKey: str | None = None
    mediaUrl: str = Field(min_length=1, max_length=4000)
    title: str = Field(min_length=1, max_length=500)
    language: str
    processingType: Literal["async", "sync"] = "async"
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None


class SortSpec(WireModel):
    field: str = "createdAt"
    direction: Literal["asc", "desc", "ASC", "DESC"] = "desc"


class JobListQuery(WireModel):
    take: int | None = Field(None, ge=1, le=1000)
    skip: int | None = Field(None, ge=0, le=MAX_PAGE)
    sort: SortSpec | None = None
    search: str | None = Field(None, max_length=500)
    status: Literal["PENDING", "COMPLETED", "FAILED"] | None = None
    type: Literal["TRANSCRIPTION", "TRANSLATION", "TTS", "AI_CONTENT"] | None = None

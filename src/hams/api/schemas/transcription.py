"""Request bodies that become a transcription, and the one place they do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from hams.api.schemas.common import WebhookAuth, WireModel
from hams.services.transcription import TranscriptionRequest

if TYPE_CHECKING:
    from hams.api.schemas.ai_content import TranscriptionAiContentCreate

V2_MODEL = "Hamsa-General-V2.0"  # POST /v2/jobs names no model


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


def transcription_request(body: TranscribeCreate | JobCreateV2 | TranscriptionAiContentCreate,
                          *, webhook: bool = True) -> TranscriptionRequest:
    """The one place a route's body becomes a transcription request. ``webhook=False`` when
    the body's webhook belongs to another job (the AI content made from the transcript)."""
    auth = body.webhookAuth if webhook else None
    return TranscriptionRequest(
        media_url=body.mediaUrl, model=getattr(body, "model", V2_MODEL), language=body.language,
        title=body.title, webhook_url=body.webhookUrl if webhook else None,
        webhook_auth=auth.model_dump() if auth else None,
        return_srt=getattr(body, "returnSrtFormat", False),
        srt_options=getattr(body, "srtOptions", None),
        processing_type=getattr(body, "processingType", "async"))

"""Wire models of the AI content routes: request bodies, then answers."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from hams.api.schemas.common import ResponseModel, WebhookAuth, WireModel
from hams.db.models import Job
from hams.services.ai_content import Estimate

PartName = Annotated[str, Field(max_length=50)]


class AiContentCreate(WireModel):
    aiParts: list[PartName] = Field(min_length=1, max_length=50)
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None
    language: str | None = Field(None, max_length=20)  # hams: default the transcript's
    title: str | None = Field(None, max_length=500)


class CustomPart(WireModel):
    aiPart: PartName
    language: str | None = Field(None, max_length=20)
    prompt: str | None = None  # length checked with the other prompts


class AiContentCustomCreate(AiContentCreate):
    """Either ``aiParts`` names with ``prompts{part: prompt}``, or ``aiParts`` objects."""

    aiParts: list[PartName | CustomPart] = Field(  # type: ignore[assignment]
        min_length=1, max_length=50)
    prompts: dict[PartName, str] | None = None


class TranscriptionAiContentCreate(WireModel):
    apiKey: str | None = None  # Hamsa sends it; the Authorization header decides
    mediaUrl: str = Field(min_length=1, max_length=4000)
    title: str = Field(min_length=1, max_length=500)
    language: str
    aiParts: list[PartName] = Field(min_length=1, max_length=50)
    aiContentTitle: str | None = Field(None, min_length=1, max_length=500)
    aiContentLanguage: str | None = Field(None, max_length=20)
    aiContentDate: str | None = Field(None, max_length=100)
    aiContentText: str | None = Field(None, max_length=4000)
    model: str = "Hamsa-General-V2.0"  # hams: the transcription model
    webhookUrl: str | None = Field(None, max_length=4000)  # hams: for the AI content job
    webhookAuth: WebhookAuth | None = None


class AiContentEstimate(ResponseModel):
    """What AI content for a completed transcription would cost."""

    data: int | float = Field(description="The price, in the server's currency")
    error: bool = False
    characters: int = Field(description="Characters of transcript priced")
    language: str = Field(description="The transcript's language")
    engine: str = Field(description="What writes the content (extractive, or the LLM model)")

    @classmethod
    def from_estimate(cls, estimate: Estimate) -> AiContentEstimate:
        return cls(data=estimate.price, characters=estimate.characters,
                   language=estimate.language, engine=estimate.engine)


class AiContentStarted(ResponseModel):
    """Two linked jobs: the transcription, and the AI content that waits for it."""

    jobId: str
    transcriptionJobId: str | None

    @classmethod
    def from_job(cls, job: Job) -> AiContentStarted:
        return cls(jobId=job.id, transcriptionJobId=job.relevant_job_id)

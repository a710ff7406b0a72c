"""Wire models of the TTS routes: job and history bodies, the TTS job answer, and histories."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hams.api.schemas.common import Number, ResponseModel, WebhookAuth, WireModel, iso
from hams.api.schemas.jobs import JobPublic, public_fields
from hams.api.schemas.voices import TtsVoicePublic
from hams.db.models import Job
from hams.services.tts_jobs import HistoryEntry


class TtsJobCreate(WireModel):
    voiceId: str = Field(min_length=1, max_length=200)
    text: str
    title: str | None = Field(None, max_length=500)
    webhookUrl: str | None = Field(None, max_length=4000)
    webhookAuth: WebhookAuth | None = None
    voiceDictionaryIds: list[str] | None = Field(None, max_length=10)


class HistoryCreate(WireModel):
    ttsVoiceId: str = Field(min_length=1, max_length=200)
    script: str
    apiKey: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    voiceDictionaryIds: list[str] | None = Field(None, max_length=10)


class TtsJobCreated(JobPublic):
    """POST /v1/jobs/text-to-speech: the queued job, then its id once more as ``jobId``."""

    jobId: str

    @classmethod
    def of(cls, job: Job) -> TtsJobCreated:
        return cls.model_validate({**public_fields(job), "jobId": job.id})


class TtsHistoryPublic(ResponseModel):
    """A TTS history: its audio behind a fresh signed link (``downloadUrl`` saves it)."""

    id: str
    audio: str
    downloadUrl: str
    script: str
    duration: Number
    config: dict[str, Any]
    createdAt: str | None
    ttsVoice: TtsVoicePublic | None = Field(description="null once the voice is gone")

    @classmethod
    def of(cls, entry: HistoryEntry) -> TtsHistoryPublic:
        history = entry.history
        return cls(id=history.id, audio=entry.audio_url,
                   downloadUrl=entry.audio_url + "&download=1", script=history.script,
                   duration=history.duration, config=history.config,
                   createdAt=iso(history.created_at),
                   ttsVoice=TtsVoicePublic.of(entry.voice) if entry.voice else None)


class HistoriesPage(ResponseModel):
    """GET /v2/tts/histories: the project's histories, newest first."""

    ttsHistories: list[TtsHistoryPublic]
    page: int
    totalCount: int
    totalPages: int

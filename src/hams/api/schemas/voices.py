"""Wire models of the voice catalog: a voice as Pipedream (tags as a list) and the LiveKit
plugin (``dialect.name``) read it, and the v2 page of them."""

from __future__ import annotations

from hams.api.schemas.common import ResponseModel
from hams.db.models import Voice
from hams.services.voices import DIALECTS


class DialectPublic(ResponseModel):
    id: str
    code: str
    name: str
    languageCode: str
    language: str


class TtsVoicePublic(ResponseModel):
    """A voice as a TTS history names it (``ttsVoice``)."""

    id: str
    name: str
    tags: list[str]
    language: str
    dialect: DialectPublic
    dialectCode: str

    @classmethod
    def of(cls, voice: Voice) -> TtsVoicePublic:
        return cls(**_fields(voice))


class VoicePublic(TtsVoicePublic):
    """A voice of the catalog (GET /v1/tts/voices, /v2/tts/voices): which engine speaks it."""

    engine: str

    @classmethod
    def listed(cls, voice: Voice, engine: str) -> VoicePublic:
        return cls(**_fields(voice), engine=engine)


def _fields(voice: Voice) -> dict:
    language = "English" if voice.language == "en" else "Arabic"
    dialect = DialectPublic(id=voice.dialect, code=voice.dialect, name=DIALECTS[voice.dialect],
                            languageCode=voice.language, language=language)
    return {"id": voice.id, "name": voice.name, "tags": list(voice.tags or []),
            "language": voice.language, "dialect": dialect, "dialectCode": voice.dialect}


class VoicesPageV2(ResponseModel):
    """GET /v2/tts/voices: one page of the catalog and the count matching the filters."""

    voices: list[VoicePublic]
    page: int
    totalCount: int
    totalPages: int

"""Wire models of the realtime routes: the TTS and STT bodies (REST; the WebSocket's payloads
use the same names) and the REST STT answer."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hams.api.schemas.common import ResponseModel, WireModel, absent
from hams.engines.vad import EndOfSpeech
from hams.services.realtime_stt import DEFAULT_EOS_THRESHOLD, Utterance, UtteranceRequest
from hams.services.realtime_tts import SpeechRequest


class RealtimeTts(WireModel):
    text: str
    speaker: str | None = Field(None, max_length=200)
    dialect: str | None = Field(None, max_length=20)
    mulaw: bool = False
    sampleRate: str | None = None
    voiceDictionaryIds: list[str] | None = Field(None, max_length=10)

    def request(self) -> SpeechRequest:
        return SpeechRequest(text=self.text, speaker=self.speaker, dialect=self.dialect,
                             mulaw=self.mulaw, sample_rate=self.sampleRate,
                             dictionary_ids=self.voiceDictionaryIds)


class RealtimeStt(WireModel):
    """POST /v1/realtime/stt; ``eos_threshold`` is Pipecat's spelling of ``eosThreshold``."""

    audioBase64: str | None = None
    audioList: list[float] | None = None
    language: str = "ar"
    isEosEnabled: bool = False
    eosThreshold: float | None = Field(None, ge=0, le=1)
    eos_threshold: float | None = Field(None, ge=0, le=1)
    model: str | None = Field(None, max_length=100)

    def request(self) -> UtteranceRequest:
        threshold = self.eosThreshold if self.eosThreshold is not None else self.eos_threshold
        return UtteranceRequest(
            audio_base64=self.audioBase64, audio_list=self.audioList, language=self.language,
            eos_enabled=self.isEosEnabled,
            eos_threshold=DEFAULT_EOS_THRESHOLD if threshold is None else threshold,
            model=self.model)


def eos_fields(eos: EndOfSpeech | None) -> dict[str, Any]:
    """What every realtime client reads about end of speech (empty when not asked)."""
    if eos is None:
        return {}
    return {"isEos": eos.is_eos, "eos": eos.is_eos, "eosProbability": eos.probability}


ONLY_WITH_EOS = "Only when isEosEnabled was true"


class SttResult(ResponseModel):
    text: str
    language: str
    duration: float
    model: str
    isEos: bool | None = Field(None, exclude_if=absent, description=ONLY_WITH_EOS)
    eos: bool | None = Field(None, exclude_if=absent, description=ONLY_WITH_EOS)
    eosProbability: float | None = Field(None, exclude_if=absent, description=ONLY_WITH_EOS)


class RealtimeSttAnswer(ResponseModel):
    """POST /v1/realtime/stt: the text twice, top-level ``text`` and ``data.text``, because
    Hamsa's documentation and its own LiveKit plugin disagree on where it is."""

    success: bool = True
    message: str = "Transcription generated successfully"
    messageKey: str = "OPERATION_SUCCESSFUL"
    text: str
    isEos: bool | None = Field(None, exclude_if=absent, description=ONLY_WITH_EOS)
    eos: bool | None = Field(None, exclude_if=absent, description=ONLY_WITH_EOS)
    eosProbability: float | None = Field(None, exclude_if=absent, description=ONLY_WITH_EOS)
    data: SttResult

    @classmethod
    def of(cls, utterance: Utterance) -> RealtimeSttAnswer:
        eos = eos_fields(utterance.eos)
        return cls(text=utterance.text, **eos, data=SttResult(
            text=utterance.text, language=utterance.language, duration=utterance.duration,
            model=utterance.model, **eos))

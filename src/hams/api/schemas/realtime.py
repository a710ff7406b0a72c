"""Wire models of the realtime routes: the TTS and STT bodies (REST, and the WebSocket's
``tts``), the WebSocket's ``stt`` and ``stt_stream_start`` payloads, and the REST STT answer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, PlainValidator, ValidationInfo

from hams.api.schemas.common import ResponseModel, WireModel, absent
from hams.engines.vad import EndOfSpeech
from hams.errors import ValidationFailed
from hams.services.realtime_stt import DEFAULT_EOS_THRESHOLD, Utterance, UtteranceRequest
from hams.services.realtime_tts import SpeechRequest
from hams.services.stt_stream import StreamRequest


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


# --- the WebSocket's stt and stt_stream_start payloads ---------------------------------------
#
# Two models apart from RealtimeStt on purpose: realtime clients have long relied on what the
# WebSocket takes (flags as "true"/"1"/null, a null or empty language meaning "ar", a model
# that is not a string ignored, sampleRate as 16000/"16k"/"16000") and on its own error
# messages, while POST /v1/realtime/stt answers pydantic's checks in the envelope
# (``validation_failed``) and takes what pydantic takes ("yes"/"on", numbers as strings).
# Sharing one model would change one wire or the other. Each field is read by a plain
# validator, in the order the fields are declared, and the first fault is a ValidationFailed
# with the message the WebSocket has always sent.


def _audio_base64(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValidationFailed("audioBase64 must be a base64 string")
    return value


def _audio_list(value: Any) -> list[Any] | None:
    """Any list: its items are checked as the audio is decoded (``audioList must hold numbers
    only``)."""
    if value is not None and not isinstance(value, list):
        raise ValidationFailed("audioList must be a list of numbers")
    return value


def _language(value: Any) -> str:
    """``ar`` when absent, null or empty; checked later against the model."""
    language = value or "ar"
    if not isinstance(language, str):
        raise ValidationFailed("language must be 'ar' or 'en'")
    return language


def _flag(value: Any, info: ValidationInfo) -> bool:
    """A boolean as JSON clients send it: true/false, "true"/"false", 1/0, "1"/"0", "", null."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", ""):
        return value.strip().lower() in ("true", "1")
    if value is None:
        return False
    raise ValidationFailed(f"{info.field_name} must be true or false")


def _eos_threshold(value: Any) -> float:
    """0.0–1.0; null is the default."""
    if value is None:
        return DEFAULT_EOS_THRESHOLD
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValidationFailed("eosThreshold must be a number from 0.0 to 1.0")
    return float(value)


def _model(value: Any) -> str | None:
    """Realtime clients send names of their own; one that is not a string is ignored."""
    return value if isinstance(value, str) else None


RATE_SPELLINGS = {16000: 16000, 8000: 8000, "16k": 16000, "8k": 8000, "16000": 16000,
                  "8000": 8000}  # the spellings stt_stream_start takes


def _stream_rate(value: Any) -> int:
    rate = RATE_SPELLINGS.get(value) if isinstance(value, int | str) else None
    if rate is None:
        raise ValidationFailed("sampleRate must be 16000 or 8000 (PCM16 mono)")
    return rate


AudioBase64 = Annotated[str | None, PlainValidator(_audio_base64)]
AudioList = Annotated[list[float] | None, PlainValidator(_audio_list)]
Language = Annotated[str, PlainValidator(_language)]
Flag = Annotated[bool, PlainValidator(_flag)]
# eosThreshold, or Pipecat's eos_threshold when eosThreshold is absent (a null eosThreshold is
# the default, whatever eos_threshold says)
EosThreshold = Annotated[float, PlainValidator(_eos_threshold),
                         Field(validation_alias=AliasChoices("eosThreshold", "eos_threshold"))]
ModelName = Annotated[str | None, PlainValidator(_model)]


class RealtimeSttMessage(WireModel):
    """The WebSocket's ``stt`` payload (fields read in this order: the first fault is said)."""

    audioBase64: AudioBase64 = None
    audioList: AudioList = None
    language: Language = "ar"
    isEosEnabled: Flag = False
    eosThreshold: EosThreshold = DEFAULT_EOS_THRESHOLD
    model: ModelName = None

    def request(self) -> UtteranceRequest:
        return UtteranceRequest(
            audio_base64=self.audioBase64, audio_list=self.audioList, language=self.language,
            eos_enabled=self.isEosEnabled, eos_threshold=self.eosThreshold, model=self.model)


class SttStreamStart(WireModel):
    """The WebSocket's ``stt_stream_start`` payload (fields read in this order)."""

    sampleRate: Annotated[int, PlainValidator(_stream_rate)] = 16000
    isEosEnabled: Flag = False
    eosThreshold: EosThreshold = DEFAULT_EOS_THRESHOLD
    language: Language = "ar"
    model: ModelName = None

    def request(self) -> StreamRequest:
        return StreamRequest(sample_rate=self.sampleRate, language=self.language,
                             eos_enabled=self.isEosEnabled, eos_threshold=self.eosThreshold,
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

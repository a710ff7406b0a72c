"""Speech now and later: realtime STT/TTS over HTTP, the voice catalog, TTS jobs, downloads,
TTS histories, voice dictionaries and the project; one definition for both clients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hams.client._http import ApiRequest, new_idempotency_key
from hams.client._ops import (
    AudioInput,
    ClientBase,
    Op,
    PollCallback,
    WebhookAuth,
    as_list,
    body_of,
    data_of,
    json_body,
    operation,
    segment,
    stt_payload,
    tts_request,
    webhook_auth_body,
)
from hams.client.models import (
    Job,
    Project,
    RealtimeTranscript,
    TtsHistory,
    TtsHistoryPage,
    UsageChart,
    UsageNumbers,
    Voice,
    VoiceDictionary,
    VoicePage,
)

VOICE_PAGE = 100
Period = datetime | date | int | str | None
MAX_VOICE_PAGES = 50  # a server that ignores skip would otherwise page forever
DICTIONARIES = "/v1/voice-agents/voice-dictionaries"
Words = Mapping[str, str] | Sequence[Mapping[str, str]] | Sequence[tuple[str, str]]


class SpeechMethods(ClientBase):
    """The speech routes; see docs/python-sdk.md."""

    # --- realtime over HTTP --------------------------------------------------------------

    @operation
    def realtime_stt(self, audio: AudioInput, *, language: str = "ar", eos: bool = False,
                     eos_threshold: float | None = None, model: str | None = None
                     ) -> Op[RealtimeTranscript]:
        """Transcribe a short utterance now: WAV (or any container) bytes, a file path, or
        16 kHz mono float samples. ``eos`` also asks whether the speaker has finished."""
        body = stt_payload(audio, language=language, eos=eos, eos_threshold=eos_threshold,
                           model=model)
        # a pure function of the audio: safe to repeat (a full pool answers 429 at once)
        response = yield ApiRequest("POST", "/v1/realtime/stt", json=body, idempotent=True)
        found = json_body(response)
        data = found.get("data") if isinstance(found.get("data"), dict) else {}
        top = {k: v for k, v in found.items()
               if k not in ("data", "message", "messageKey", "success")}
        return RealtimeTranscript.model_validate({**top, **data})

    @operation
    def realtime_tts(self, text: str, *, speaker: str | None = None,
                     dialect: str | None = None, mulaw: bool = False,
                     sample_rate: int | str | None = None,
                     voice_dictionary_ids: Sequence[str] | None = None) -> Op[bytes]:
        """Synthesize now: a whole WAV (16 kHz PCM16; 8 kHz with ``sample_rate=8000``;
        8 kHz μ-law with ``mulaw``). Neither speaker nor dialect: the msa default voice."""
        response = yield tts_request(text, speaker=speaker, dialect=dialect, mulaw=mulaw,
                                     sample_rate=sample_rate,
                                     voice_dictionary_ids=voice_dictionary_ids)
        return response.content

    # --- voices and TTS jobs -------------------------------------------------------------

    @operation
    def voices(self, *, dialect: str | None = None) -> Op[list[Voice]]:
        """Every voice (all pages of ``GET /v1/tts/voices``), optionally of one dialect."""
        found: dict[str, Voice] = {}
        for page in range(MAX_VOICE_PAGES):
            response = yield ApiRequest("GET", "/v1/tts/voices", params={
                "take": VOICE_PAGE, "skip": page * VOICE_PAGE, "dialect": dialect})
            rows = [Voice.model_validate(v) for v in data_of(response)]
            fresh = [v for v in rows if v.id not in found]
            found.update((v.id, v) for v in fresh)
            if len(rows) < VOICE_PAGE or not fresh:
                break
        return list(found.values())

    @operation
    def search_voices(self, query: str | None = None, *, dialect: str | None = None,
                      page: int = 1, per_page: int = 20) -> Op[VoicePage]:
        """One page of voices whose name or dialect matches ``query`` (``GET /v2/tts/voices``)."""
        response = yield ApiRequest("GET", "/v2/tts/voices", params={
            "q": query, "dialect": dialect, "page": page, "perPage": per_page})
        return VoicePage.model_validate(data_of(response))

    @operation
    def text_to_speech(
        self, text: str, *, voice: str, title: str | None = None,
        webhook_url: str | None = None, webhook_auth: WebhookAuth | None = None,
        voice_dictionary_ids: Sequence[str] | None = None, idempotency_key: str | None = None,
        wait: bool = False, timeout: float | None = None, on_poll: PollCallback | None = None,
    ) -> Op[Job]:
        """A TTS job (``voice``: a voice id or name); when done, ``media_url`` is the WAV —
        fetch it with :meth:`download`."""
        response = yield ApiRequest(
            "POST", "/v1/jobs/text-to-speech",
            idempotency_key=idempotency_key or new_idempotency_key(),
            json=body_of(voiceId=voice, text=text, title=title, webhookUrl=webhook_url,
                         webhookAuth=webhook_auth_body(webhook_auth),
                         voiceDictionaryIds=as_list(voice_dictionary_ids)))
        return (yield from self._created(data_of(response), wait, timeout, on_poll))

    @operation
    def download(self, url: str, path: str | Path | None = None) -> Op[bytes]:
        """The bytes behind a job's ``media_url``, a signed link or a ``/v1/media`` URL; also
        written to ``path`` when given. The API key is only sent to the server's own host."""
        response = yield ApiRequest("GET", url if "://" in url else "/" + url.lstrip("/"))
        if path is not None:
            Path(path).write_bytes(response.content)
        return response.content

    # --- TTS histories -------------------------------------------------------------------

    @operation
    def create_tts_history(self, script: str, *, voice: str, speed: float | None = None,
                           config: Mapping[str, Any] | None = None,
                           voice_dictionary_ids: Sequence[str] | None = None
                           ) -> Op[TtsHistory]:
        """Synthesize ``script`` now and keep it in the project's TTS history."""
        settings = {**(config or {}), **({"speed": speed} if speed is not None else {})}
        response = yield ApiRequest("POST", "/v2/tts/histories", json=body_of(
            ttsVoiceId=voice, script=script, config=settings,
            voiceDictionaryIds=as_list(voice_dictionary_ids)))
        data = data_of(response)
        return TtsHistory.model_validate(data[0] if isinstance(data, list) else data)

    @operation
    def list_tts_histories(self, *, page: int = 1, per_page: int = 10) -> Op[TtsHistoryPage]:
        response = yield ApiRequest("GET", "/v2/tts/histories",
                                    params={"page": page, "perPage": per_page})
        return TtsHistoryPage.model_validate(data_of(response))

    @operation
    def get_tts_history(self, history_id: str) -> Op[TtsHistory]:
        response = yield ApiRequest("GET", f"/v2/tts/histories/{segment(history_id)}")
        return TtsHistory.model_validate(data_of(response))

    # --- voice dictionaries --------------------------------------------------------------

    @operation
    def create_voice_dictionary(self, name: str, words: Words) -> Op[VoiceDictionary]:
        """A pronunciation list applied before synthesis: ``{"word": "pronunciation"}``."""
        response = yield ApiRequest("POST", DICTIONARIES,
                                    json={"name": name, "words": _words(words)})
        return VoiceDictionary.model_validate(data_of(response))

    @operation
    def update_voice_dictionary(self, dictionary_id: str, *, name: str | None = None,
                                words: Words | None = None) -> Op[VoiceDictionary]:
        """Rename a dictionary and/or replace all of its words."""
        response = yield ApiRequest(
            "PATCH", f"{DICTIONARIES}/{segment(dictionary_id)}", idempotent=True,
            json=body_of(name=name, words=None if words is None else _words(words)))
        return VoiceDictionary.model_validate(data_of(response))

    @operation
    def get_voice_dictionary(self, dictionary_id: str) -> Op[VoiceDictionary]:
        response = yield ApiRequest("GET", f"{DICTIONARIES}/{segment(dictionary_id)}")
        return VoiceDictionary.model_validate(data_of(response))

    # --- the project ---------------------------------------------------------------------

    @operation
    def project(self) -> Op[Project]:
        """The project the API key belongs to."""
        response = yield ApiRequest("GET", "/v1/projects/by-api-key")
        return Project.model_validate(data_of(response))

    @operation
    def usage_numbers(self, start: Period = None, end: Period = None) -> Op[UsageNumbers]:
        """The project's usage from ``start`` (included) to ``end`` (excluded); both default
        to the current month. A period is a datetime, a date, epoch milliseconds or a string."""
        response = yield ApiRequest("GET", "/v1/projects/statistics/numbers",
                                    params=_period(start, end))
        return UsageNumbers.model_validate(data_of(response))

    @operation
    def usage_chart(self, start: Period = None, end: Period = None) -> Op[UsageChart]:
        """The same figures per day, or per hour for periods under two days."""
        response = yield ApiRequest("GET", "/v1/projects/statistics/chart",
                                    params=_period(start, end))
        return UsageChart.model_validate(data_of(response))


def _period(start: Period, end: Period) -> dict[str, str | None]:
    def wire(value: Period) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int):
            return str(value)  # epoch milliseconds, as Hamsa's dashboard sends them
        return value.isoformat()
    return {"startPeriod": wire(start), "endPeriod": wire(end)}


def _words(words: Words) -> list[dict[str, str]]:
    """``{"word": "pronunciation"}``, ``[("word", "pronunciation")]`` or the wire's list."""
    if isinstance(words, Mapping):
        return [{"word": w, "pronunciation": p} for w, p in words.items()]
    return [dict(item) if isinstance(item, Mapping) else {"word": item[0],
                                                          "pronunciation": item[1]}
            for item in words]

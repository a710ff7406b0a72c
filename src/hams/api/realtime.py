"""Real Time Routes over HTTP: transcribe an utterance now; synthesize now, as one WAV or as a
stream that starts with sentence one. The WebSocket is in ``realtime_ws.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from hams.api.deps import PrincipalDep, RuntimeDep, get_principal
from hams.api.envelope import ok
from hams.api.schemas.tts import RealtimeStt, RealtimeTts
from hams.db.models import Voice
from hams.runtime import Runtime
from hams.services import quotas
from hams.services.keys import Principal
from hams.services.realtime_stt import (
    DEFAULT_EOS_THRESHOLD,
    UtteranceRequest,
    eos_fields,
    transcribe_utterance,
)
from hams.services.tts import (
    AudioFormat,
    check_text,
    dictionary_words,
    engine_name,
    prepare_sentences,
    synthesize_pcm,
    synthesize_wav,
)
from hams.services.usage import record_later, record_usage
from hams.services.voices import resolve_voice, voice_for_dialect

router = APIRouter(tags=["Realtime"], dependencies=[Depends(get_principal)])


@router.post("/v1/realtime/stt")
async def realtime_stt(body: RealtimeStt, runtime: RuntimeDep, principal: PrincipalDep) -> dict:
    """Transcribe one short utterance now; optionally say whether the speaker has finished.

    The answer carries the text twice, top-level ``text`` and ``data.text``, because Hamsa's
    documentation and its own LiveKit plugin disagree on where it is.
    """
    threshold = body.eosThreshold if body.eosThreshold is not None else body.eos_threshold
    request = UtteranceRequest(
        audio_base64=body.audioBase64, audio_list=body.audioList, language=body.language,
        eos_enabled=body.isEosEnabled,
        eos_threshold=DEFAULT_EOS_THRESHOLD if threshold is None else threshold,
        model=body.model)
    await check_audio_quota(runtime, principal)
    utterance = await runtime.realtime.run(transcribe_utterance, runtime.settings,
                                           runtime.models, request)
    await record_stt(runtime, principal, utterance.model, utterance.duration, utterance.text)
    eos = eos_fields(utterance.eos)
    data = {"text": utterance.text, "language": utterance.language,
            "duration": utterance.duration, "model": utterance.model, **eos}
    return ok(data, message="Transcription generated successfully", text=utterance.text, **eos)


async def check_audio_quota(runtime: Runtime, principal: Principal) -> None:
    """Realtime speech to text, REST and WebSocket: refused once the audio quota is spent."""
    await run_in_threadpool(quotas.check_call, runtime.db, principal.project_id,
                            {quotas.AUDIO_SECONDS: None})


async def record_stt(runtime: Runtime, principal: Principal, model: str, seconds: float,
                     text: str) -> None:
    """Realtime speech to text in the usage ledger, REST and WebSocket alike."""
    await run_in_threadpool(record_usage, runtime, principal, kind="realtime_stt", model=model,
                            audio_seconds=seconds, characters=len(text))


def prepare(runtime: Runtime, principal: Principal, body: RealtimeTts
            ) -> tuple[Voice, AudioFormat, list[str]]:
    """Every check that can fail (the TTS characters quota too), before any audio is made
    (one short transaction)."""
    limit = runtime.settings.tts_realtime_max_chars
    check_text(body.text, limit)
    audio = AudioFormat.from_request(body.mulaw, body.sampleRate)
    with runtime.db.session() as session:
        quotas.check(session, principal.project_id, {quotas.TTS_CHARACTERS: len(body.text)})
        voice = (resolve_voice(session, body.speaker, body.dialect) if body.speaker
                 else voice_for_dialect(session, body.dialect))
        words = dictionary_words(session, principal.project_id, body.voiceDictionaryIds)
    return voice, audio, prepare_sentences(body.text, voice.language, words, limit)


def audio_headers(runtime: Runtime, voice: Voice) -> dict[str, str]:
    return {"X-Voice-Id": voice.id, "X-Engine": engine_name(runtime.tts, voice)}


@router.post("/v1/realtime/tts", response_class=Response)
async def realtime_tts(body: RealtimeTts, runtime: RuntimeDep,
                       principal: PrincipalDep) -> Response:
    """Synthesize and answer with a complete WAV (16 kHz PCM16, or 8 kHz μ-law)."""
    voice, audio, sentences = await run_in_threadpool(prepare, runtime, principal, body)
    wav, duration = await runtime.realtime.run(synthesize_wav, runtime.tts, voice, sentences,
                                               audio)
    await run_in_threadpool(record_usage, runtime, principal, kind="realtime_tts",
                            model=engine_name(runtime.tts, voice), audio_seconds=duration,
                            characters=len(body.text))
    return Response(wav, media_type=audio.media_type,
                    headers={"X-Audio-Duration": f"{duration:.3f}",
                             **audio_headers(runtime, voice)})


@router.post("/v1/realtime/tts-stream", response_class=StreamingResponse)
async def realtime_tts_stream(body: RealtimeTts, runtime: RuntimeDep,
                              principal: PrincipalDep) -> StreamingResponse:
    """Stream a WAV: a header with unknown sizes, then audio as each sentence is ready."""
    voice, audio, sentences = await run_in_threadpool(prepare, runtime, principal, body)
    pcm = synthesized(runtime, principal, body.text, voice, sentences, audio)
    # the first sentence before the response starts: a full pool or a failing engine still
    # gets a clean error response, not a broken stream
    first = await anext(pcm, None)

    async def wav_stream() -> AsyncIterator[bytes]:
        try:
            yield audio.stream_header()
            if first is not None:
                yield audio.encode(first)
            async for chunk in pcm:
                yield audio.encode(chunk)
        finally:
            await pcm.aclose()

    return StreamingResponse(wav_stream(), media_type=audio.media_type,
                             headers=audio_headers(runtime, voice))


async def synthesized(runtime: Runtime, principal: Principal, text: str, voice: Voice,
                      sentences: list[str], audio: AudioFormat) -> AsyncIterator[np.ndarray]:
    """PCM at the requested rate, one array per sentence, made on the realtime pool (admitted
    at the first sentence). Usage is recorded once it ends, also when the caller stops early:
    what was synthesized was used."""
    chunks = runtime.realtime.stream(
        synthesize_pcm(runtime.tts, voice, sentences, out_rate=audio.sample_rate))
    samples = 0
    try:
        async for pcm in chunks:
            samples += pcm.size
            yield pcm
    finally:
        await chunks.aclose()
        if samples:  # nothing made (refused by a full pool): nothing used
            record_later(runtime, principal, kind="realtime_tts",
                         model=engine_name(runtime.tts, voice),
                         audio_seconds=samples / audio.sample_rate, characters=len(text))

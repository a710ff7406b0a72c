"""Real Time Routes over HTTP: transcribe an utterance now; synthesize now, as one WAV or as a
stream that starts with sentence one. The WebSocket is in ``realtime_ws.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from hams.api.deps import REALTIME, PrincipalDep, RuntimeDep
from hams.api.schemas.common import AUTHENTICATED, error_responses
from hams.api.schemas.realtime import RealtimeStt, RealtimeSttAnswer, RealtimeTts
from hams.services.realtime_stt import transcribe_now
from hams.services.realtime_tts import speak_file, speak_stream

router = APIRouter(tags=["Realtime"])
SPEECH_ERRORS = error_responses(*AUTHENTICATED, 402, 404, 503)  # 429 also: the pool is full
WAV = {200: {"description": "A WAV file: 16 kHz PCM16, or 8 kHz μ-law (mulaw or sampleRate 8k)",
             "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}}}


@router.post("/v1/realtime/stt", dependencies=[REALTIME], response_model=RealtimeSttAnswer,
             responses=error_responses(*AUTHENTICATED, 402, 415, 503))
async def realtime_stt(body: RealtimeStt, runtime: RuntimeDep,
                       principal: PrincipalDep) -> RealtimeSttAnswer:
    """Transcribe one short utterance now; optionally say whether the speaker has finished."""
    utterance = await transcribe_now(
        runtime.db, principal, body.request(), settings=runtime.settings,
        models=runtime.models, pool=runtime.realtime)
    return RealtimeSttAnswer.of(utterance)


@router.post("/v1/realtime/tts", dependencies=[REALTIME], response_class=Response,
             responses={**WAV, **SPEECH_ERRORS})
async def realtime_tts(body: RealtimeTts, runtime: RuntimeDep,
                       principal: PrincipalDep) -> Response:
    """Synthesize and answer with a complete WAV (16 kHz PCM16, or 8 kHz μ-law)."""
    spoken = await speak_file(
        runtime.db, principal, body.request(), settings=runtime.settings, tts=runtime.tts,
        pool=runtime.realtime)
    return Response(spoken.wav, media_type=spoken.audio.media_type, headers={
        "X-Audio-Duration": f"{spoken.duration:.3f}", "X-Voice-Id": spoken.voice.id,
        "X-Engine": spoken.engine})


@router.post("/v1/realtime/tts-stream", dependencies=[REALTIME],
             response_class=StreamingResponse, responses={**WAV, **SPEECH_ERRORS})
async def realtime_tts_stream(body: RealtimeTts, runtime: RuntimeDep,
                              principal: PrincipalDep) -> StreamingResponse:
    """Stream a WAV: a header with unknown sizes, then audio as each sentence is ready."""
    stream = await speak_stream(
        runtime.db, principal, body.request(), settings=runtime.settings, tts=runtime.tts,
        pool=runtime.realtime)

    async def wav_stream() -> AsyncIterator[bytes]:
        try:
            yield stream.audio.stream_header()
            async for chunk in stream.chunks:
                yield chunk
        finally:
            await stream.aclose()

    return StreamingResponse(wav_stream(), media_type=stream.audio.media_type,
                             headers={"X-Voice-Id": stream.voice.id, "X-Engine": stream.engine})

"""Real Time Routes: synthesize now, as one WAV or as a stream that starts with sentence one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from fastapi import APIRouter, Depends
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from hams.api.deps import PrincipalDep, RuntimeDep, get_principal
from hams.api.schemas.tts import RealtimeTts
from hams.db.models import Voice
from hams.runtime import Runtime
from hams.services.keys import Principal
from hams.services.tts import (
    AudioFormat,
    check_text,
    dictionary_words,
    engine_name,
    prepare_sentences,
    stream_wav,
    synthesize_wav,
)
from hams.services.voices import resolve_voice, voice_for_dialect

router = APIRouter(tags=["Realtime"], dependencies=[Depends(get_principal)])


def prepare(runtime: Runtime, principal: Principal, body: RealtimeTts
            ) -> tuple[Voice, AudioFormat, list[str]]:
    """Every check that can fail, before any audio is made (one short transaction)."""
    limit = runtime.settings.tts_realtime_max_chars
    check_text(body.text, limit)
    audio = AudioFormat.from_request(body.mulaw, body.sampleRate)
    with runtime.db.session() as session:
        voice = (resolve_voice(session, body.speaker, body.dialect) if body.speaker
                 else voice_for_dialect(session, body.dialect))
        words = dictionary_words(session, principal.project_id, body.voiceDictionaryIds)
    return voice, audio, prepare_sentences(body.text, voice.language, words, limit)


def audio_headers(runtime: Runtime, voice: Voice) -> dict[str, str]:
    return {"X-Voice-Id": voice.id, "X-Engine": engine_name(runtime.tts, voice)}


@router.post("/v1/realtime/tts", response_class=Response)
def realtime_tts(body: RealtimeTts, runtime: RuntimeDep, principal: PrincipalDep) -> Response:
    """Synthesize and answer with a complete WAV (16 kHz PCM16, or 8 kHz μ-law)."""
    voice, audio, sentences = prepare(runtime, principal, body)
    wav, duration = synthesize_wav(runtime.tts, voice, sentences, audio)
    return Response(wav, media_type=audio.media_type,
                    headers={"X-Audio-Duration": f"{duration:.3f}",
                             **audio_headers(runtime, voice)})


@router.post("/v1/realtime/tts-stream", response_class=StreamingResponse)
async def realtime_tts_stream(body: RealtimeTts, runtime: RuntimeDep,
                              principal: PrincipalDep) -> StreamingResponse:
    """Stream a WAV: a header with unknown sizes, then audio as each sentence is ready."""
    voice, audio, sentences = await run_in_threadpool(prepare, runtime, principal, body)
    chunks = stream_wav(runtime.tts, voice, sentences, audio)
    first = await run_in_threadpool(next, chunks)  # a failing engine still gets a clean error
    return StreamingResponse(_prepend(first, chunks), media_type=audio.media_type,
                             headers=audio_headers(runtime, voice))


async def _prepend(first: bytes, rest: Iterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in iterate_in_threadpool(rest):
        yield chunk

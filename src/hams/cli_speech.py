"""What `hams transcribe` and `hams tts` ask the server besides their main request.

Before an upload: whether the server would refuse it (``check_before_upload``). For a text over
the realtime limit: a TTS job instead (``synthesize``).
"""

from __future__ import annotations

from typing import Any

from hams import cli_output as out


def check_before_upload(client: Any, language: str | None, model: str | None) -> None:
    """Refuse before the upload what the server would refuse after it: don't send it for nothing."""
    from hams.client import BadRequestError
    from hams.client._jobs import DEFAULT_MODEL

    client.project()  # an unreachable server or a refused key, in one cheap read
    model = model or DEFAULT_MODEL
    stt = _readiness(client).get("stt")  # hams: what serves each model, multilingual or not
    if not isinstance(stt, dict) or not stt:
        return  # not hams, or an older one: the job's creation will say
    if model not in stt:
        raise BadRequestError(f"Unknown model {model!r}; this server has "
                              f"{', '.join(stt)}", message_key="UNSUPPORTED_MODEL")
    status = stt[model] if isinstance(stt[model], dict) else {}
    if language == "ar" and status.get("multilingual") is False:  # as the server decides
        serving = status.get("servedBy") or status.get("configured") or "its model"
        fix = status.get("fix") or ("set HAMS_STT_MODEL on the server to a multilingual "
                                    "model (large-v3-turbo, or 'bundled')")
        raise BadRequestError(
            f"{model} is served by an English-only model ({serving}) on this server, so it "
            f"cannot transcribe language 'ar'; use --language auto or en, or {fix}",
            message_key="UNSUPPORTED_LANGUAGE")


def _readiness(client: Any) -> dict[str, Any]:
    """hams' ``GET /ready`` report; empty from a server without one (Hamsa's cloud)."""
    from hams.client import APIConnectionError, HamsError

    try:
        report = client.request("GET", "/ready")
    except APIConnectionError:
        raise
    except HamsError as exc:  # 503 "not ready" still reports; a 404 (no such route) tells nothing
        report = exc.body
    return report if isinstance(report, dict) else {}


def synthesize(client: Any, text: str, *, voice: str | None, dialect: str | None,
               mulaw: bool, progress: out.Progress) -> bytes:
    """The whole WAV, realtime or, for a text over the realtime limit, from a TTS job."""
    from hams.client import BadRequestError, PayloadTooLargeError

    try:
        return client.realtime_tts(text, speaker=voice, dialect=dialect, mulaw=mulaw)
    except (BadRequestError, PayloadTooLargeError) as exc:
        if exc.message_key != "TEXT_TOO_LONG" and exc.status_code != 413:
            raise
    voice_id = _job_voice(client, voice, dialect)
    job = client.text_to_speech(text, voice=voice_id, title=text[:60])
    out.note(f"the text is longer than the server's realtime limit: synthesizing it as job "
             f"{job.id}")
    job = client.wait_for_job(job.id, on_poll=progress.spinner("synthesizing"))
    job.raise_for_status()
    audio = client.download(job.media_url)
    return _to_mulaw(audio) if mulaw else audio


def _job_voice(client: Any, voice: str | None, dialect: str | None) -> str:
    """The voice the realtime route would have used, so the job sounds the same."""
    from hams.client import BadRequestError

    if voice is not None and dialect is None:
        return voice
    voices = client.voices(dialect=dialect or "msa")
    if voice is None:
        if not voices:
            raise BadRequestError(f"No voice for dialect {dialect or 'msa'!r}",
                                  message_key="UNKNOWN_VOICE")
        return voices[0].id
    wanted = voice.casefold()
    found = [v for v in voices if wanted in (v.id.casefold(), v.name.casefold())]
    return found[0].id if found else voice


def _to_mulaw(wav: bytes) -> bytes:
    """A job's 16 kHz PCM16 WAV as the 8 kHz μ-law WAV the realtime route makes with mulaw."""
    import io
    import wave

    import numpy as np

    from hams.media.wav import resample, to_wav_bytes  # pure numpy/PyAV, no server state

    with wave.open(io.BytesIO(wav)) as source:
        rate = source.getframerate()
        pcm = np.frombuffer(source.readframes(source.getnframes()), dtype="<i2")
    return to_wav_bytes(resample(pcm, rate, 8000), 8000, mulaw=True)

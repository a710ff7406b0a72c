"""The Python SDK (``hams.client``) against a real `hams serve` process, and its retry and
polling rules against a scripted HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import subprocess
import sys
import time
import uuid
import wave
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import hams.client
from hams.client import (
    APIConnectionError,
    AsyncHams,
    AsyncRealtimeSession,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    Hams,
    HamsError,
    Job,
    JobTimeout,
    NotFoundError,
    RateLimitError,
    RealtimeSession,
    ServerError,
    UnsupportedMediaError,
)
from tests.helpers.scripted_http import ScriptedServer
from tests.helpers.speech import SPEECH_SENTENCES, speech_samples, word_error_rate

SPOKEN = " ".join(SPEECH_SENTENCES)
PUBLIC = {
    "Hams", "AsyncHams", "HamsError", "Job", "JobTimeout", "JobFailed", "APIConnectionError",
    "APITimeoutError", "AuthenticationError", "BadRequestError", "ConflictError",
    "NotFoundError", "PayloadTooLargeError", "PermissionDeniedError", "RateLimitError",
    "ServerError", "UnsupportedMediaError", "Transcript", "Segment", "Word", "Upload",
    "JobPage", "JobSummary", "JobList", "JobView", "Voice", "VoicePage", "Dialect", "Measure",
    "UsageNumbers", "UsageChart",
    "ChartPoint", "Project",
    "RealtimeTranscript", "EndOfSpeech", "VoiceDictionary", "DictionaryWord", "TtsHistory",
    "TtsHistoryPage", "WebhookDelivery", "WebhookAttempt", "RealtimeSession",
    "AsyncRealtimeSession", "Agent", "AgentPage", "PhoneNumber", "WebTool", "WebToolPage",
    "WebToolTestResult", "KnowledgeItem", "KnowledgePage", "KnowledgeHit", "KnowledgeSearch",
    "KnowledgeItemTimeout",
}


def wer(reference: str, text: str) -> float:
    """Word error rate, where the model's "10" is heard as "ten"."""
    return word_error_rate(reference.replace("10", "ten"), text.replace("10", "ten"))


def wav_info(data: bytes) -> tuple[int, int, int]:
    """(sample rate, channels, frames) of a PCM WAV."""
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getnframes()


@pytest.fixture(scope="module")
def client(server):
    with Hams(api_key=server.key, base_url=server.base_url) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def transcribed(client, speech):
    """One local file uploaded and transcribed with SRT, shared by the tests below."""
    progress: list[tuple[int, int]] = []
    polls: list[Job] = []
    job = client.transcribe(speech, language="en", return_srt=True,
                            srt_options={"max_chars_per_line": 30}, wait=True, timeout=120,
                            on_upload_progress=lambda sent, total: progress.append((sent, total)),
                            on_poll=polls.append)
    return job, progress, polls


@pytest.fixture
def scripted():
    server = ScriptedServer()
    yield server
    server.close()


def job_body(job_id: str, status: str = "COMPLETED") -> dict:
    return {"message": "Job retrieved successfully", "previewUrl": None,
            "data": {"id": job_id, "type": "TTS", "status": status, "usageTime": "1.500"}}


# --- the package ---------------------------------------------------------------------------


def test_public_names_are_exactly_the_exported_ones():
    assert set(hams.client.__all__) == PUBLIC
    assert all(hasattr(hams.client, name) for name in PUBLIC)
    assert issubclass(JobTimeout, HamsError) and issubclass(JobTimeout, TimeoutError)


def test_the_async_client_has_every_method_with_the_same_arguments():
    def public(cls: type) -> dict[str, list[str]]:
        return {name: list(inspect.signature(getattr(cls, name)).parameters)
                for name in dir(cls) if not name.startswith("_")
                and callable(getattr(cls, name)) and name not in ("close", "aclose")}

    assert public(Hams) == public(AsyncHams) and len(public(Hams)) > 25
    assert public(RealtimeSession) == public(AsyncRealtimeSession)
    assert str(inspect.signature(Hams.transcribe).return_annotation) == "Job"


def test_importing_the_sdk_loads_no_server_code():
    code = ("import sys, hams.client; heavy = {'fastapi', 'sqlalchemy', 'faster_whisper', "
            "'numpy', 'av', 'starlette', 'websockets'}; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_missing_key_is_refused_before_any_request(monkeypatch):
    monkeypatch.delenv("HAMS_API_KEY", raising=False)
    with pytest.raises(AuthenticationError, match="HAMS_API_KEY") as missing:
        Hams(base_url="http://127.0.0.1:9")
    assert missing.value.message_key == "API_KEY_REQUIRED"


def test_key_and_base_url_come_from_the_environment(monkeypatch, server):
    monkeypatch.setenv("HAMS_API_KEY", server.key)
    monkeypatch.setenv("HAMS_BASE_URL", server.base_url + "/")
    with Hams() as sdk:
        assert sdk.base_url == server.base_url
        assert sdk.project().id


def test_a_missing_file_fails_before_any_request():
    # nothing listens on port 9: a request would be a connection error, not this
    with Hams(api_key="k", base_url="http://127.0.0.1:9") as sdk, pytest.raises(
            FileNotFoundError):
        sdk.transcribe("/nonexistent/meeting.mp3")


# --- transcription -------------------------------------------------------------------------


def test_transcribe_a_local_file_and_wait(transcribed, speech):
    job, progress, polls = transcribed
    assert job.succeeded and job.done and job.type == "TRANSCRIPTION"
    assert job.title == speech.name and "/v1/media/" in job.media_url
    transcript = job.transcript
    assert wer(SPOKEN, transcript.text) < 0.35, transcript.text
    assert transcript.language == "en" and transcript.duration > 5
    last = 0.0
    for segment in transcript.segments:
        assert segment.end >= segment.start >= last - 0.01
        last = segment.start
    assert transcript.srt and transcript.srt.startswith("1\n")
    assert all(len(line) <= 30 or " " not in line for line in transcript.srt.splitlines())
    # upload progress: file bytes, in order, ending at the file's size
    size = speech.stat().st_size
    assert len(progress) > 1 and progress[-1] == (size, size)
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert polls and polls[-1].id == job.id and polls[-1].done
    assert job.usage_time == pytest.approx(transcript.duration, abs=0.01)
    assert job.model_extra["systemModelKey"] == "HAMSA_GENERAL_V2.0"  # extras kept
    assert job.model_dump(by_alias=True)["jobResponse"]["text"] == transcript.text


def test_read_list_and_view_jobs(client, transcribed):
    job = transcribed[0]
    again = client.get_job(job.id)
    assert again.id == job.id and again.preview_url.startswith("http")
    page = client.list_jobs(per_page=200, type="TRANSCRIPTION")
    assert job.id in {j.id for j in page.jobs} and page.total_count >= 1
    assert page.page == 1 and page.total_pages >= 1
    view = client.view_job(job.id)
    assert view.id == job.id and view.attributes["model"] == "Hamsa-General-V2.0"
    listed = client.list_jobs_v1(take=50, search=job.id)
    assert [j.id for j in listed.jobs] == [job.id] and listed.filtered == 1
    assert client.webhook_deliveries(job.id) == []


def test_upload_then_transcribe_by_url(client, speech):
    upload = client.upload(speech, idempotency_key=f"up-{uuid.uuid4()}")
    assert upload.size == speech.stat().st_size and upload.filename == speech.name
    job = client.transcribe(upload.media_url, language="en", wait=False)
    assert job.id and job.status in ("PENDING", "COMPLETED")  # read back: a whole Job
    assert job.media_url == upload.media_url
    assert client.wait_for_job(job.id, 120).succeeded


def test_v2_create_async_and_sync(client, speech):
    queued = client.create_job(speech, title="v2 async", language="en")
    assert queued.title == "v2 async" and queued.type == "TRANSCRIPTION"
    finished = client.create_job(speech, title="v2 sync", language="en", sync=True)
    assert finished.status == "COMPLETED" and finished.transcript.text
    assert client.wait_for_job(queued.id, 120).succeeded


def test_wait_for_job_times_out_then_cancel_and_delete(client, media_server):
    gate = media_server.gate("held.wav")  # the worker's fetch blocks: the job stays pending
    media_server.add_file("held.wav", b"RIFF")
    try:
        job = client.transcribe(media_server.url("held.wav"), language="en")
        started = time.monotonic()
        with pytest.raises(JobTimeout) as caught:
            client.wait_for_job(job.id, timeout=1.0)
        assert time.monotonic() - started >= 1.0
        assert caught.value.job.id == job.id and caught.value.job.status == "PENDING"
        cancelled = client.cancel_job(job.id)
        assert cancelled.status == "FAILED" and cancelled.state == "cancelled"
        with pytest.raises(ConflictError):
            client.cancel_job(job.id)
    finally:
        gate.set()
    client.delete_job(job.id)
    with pytest.raises(NotFoundError) as missing:
        client.get_job(job.id)
    assert missing.value.status_code == 404 and missing.value.message_key == "NOT_FOUND"


# --- errors ----------------------------------------------------------------------------------


def test_errors_raise_the_matching_class_with_the_message_key(server, client, transcribed):
    with Hams(api_key="not-a-key", base_url=server.base_url) as bad, pytest.raises(
            AuthenticationError) as unauthorized:
        bad.get_job(transcribed[0].id)
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.message_key == "UNAUTHORIZED"
    with pytest.raises(NotFoundError) as missing:
        client.get_job(str(uuid.uuid4()))
    assert missing.value.message_key == "NOT_FOUND" and missing.value.message
    with pytest.raises(BadRequestError) as refused:
        client.ai_content(transcribed[0].id, ["faq"])  # only an LLM writes FAQs
    assert refused.value.status_code == 400
    assert refused.value.message_key == "HAMS_LLM_BASE_URL_REQUIRED"
    assert "HAMS_LLM_BASE_URL" in refused.value.message


# --- AI content and TTS jobs ---------------------------------------------------------------


def test_ai_content_from_the_finished_transcription(client, transcribed):
    source = transcribed[0]
    assert client.estimate_ai_content(source.id) >= 0
    job = client.ai_content(source.id, ["summary", "keywords"], wait=True, timeout=60)
    assert job.succeeded and job.relevant_job_id == source.id
    content = job.ai_content
    assert set(content) == {"summary", "keywords"}
    assert content["summary"] and content["summary"] in source.transcript.text
    assert "weather" in content["keywords"].lower()
    assert client.get_ai_content(source.id).id == job.id  # by the transcription's id too


def test_transcribe_with_ai_content_in_one_call(client, speech):
    ai_id, transcription_id = client.transcribe_with_ai_content(
        speech, ["summary"], language="en")
    ai_job = client.wait_for_job(ai_id, 120)
    assert ai_job.succeeded and ai_job.relevant_job_id == transcription_id
    assert client.get_job(transcription_id).succeeded and ai_job.ai_content["summary"]


def test_tts_job_and_download(client, tmp_path):
    job = client.text_to_speech("Good morning, the report is ready.", voice="James",
                                title="greeting", wait=True, timeout=60)
    assert job.succeeded and job.type == "TTS" and job.usage_time > 0.5
    target = tmp_path / "greeting.wav"
    audio = client.download(job.media_url, target)
    assert target.read_bytes() == audio
    rate, channels, frames = wav_info(audio)
    assert (rate, channels) == (16_000, 1)
    assert frames / rate == pytest.approx(job.usage_time, abs=0.05)


# --- catalog, project, dictionaries, histories ---------------------------------------------


def test_voices_project_dictionaries_and_histories(client):
    voices = client.voices()
    assert len(voices) == len({v.id for v in voices}) >= 50
    english = client.voices(dialect="en")
    assert english and all(v.dialect_code == "en" for v in english)
    assert client.project().id
    found = client.search_voices("Salma", per_page=5)
    assert found.total_count >= 1 and all("salma" in v.name.lower() for v in found.voices)
    assert client.search_voices(dialect="en", per_page=1).total_pages == len(english)
    created = client.create_voice_dictionary("brands", {"hams": "hamz"})
    assert [(w.word, w.pronunciation) for w in created.words] == [("hams", "hamz")]
    updated = client.update_voice_dictionary(created.id, words=[("SDK", "S D K")])
    assert updated.words[0].word == "SDK" and updated.name == "brands"
    assert client.get_voice_dictionary(created.id).words[0].pronunciation == "S D K"
    history = client.create_tts_history("Hello from the SDK.", voice=english[0].id)
    assert history.script == "Hello from the SDK." and history.download_url
    assert client.get_tts_history(history.id).id == history.id
    assert history.id in {h.id for h in client.list_tts_histories(per_page=50).tts_histories}


# --- realtime ------------------------------------------------------------------------------


def test_realtime_stt_from_a_file_and_from_samples(client, speech):
    result = client.realtime_stt(speech, language="en", eos=True)
    assert wer(SPOKEN, result.text) < 0.35, result.text
    assert result.is_eos is not None and 0 <= result.eos_probability <= 1
    assert result.duration > 5 and result.language == "en"
    samples = speech_samples(speech)[: 16_000 * 4]
    partial = client.realtime_stt(samples, language="en")
    assert partial.duration == pytest.approx(4.0) and partial.is_eos is None
    assert partial.text.lower().startswith("the weather today is sunny")


def test_realtime_tts_whole_and_streamed(client):
    text = "Our meeting starts at nine. Please be on time."
    whole = client.realtime_tts(text, speaker="James", dialect="en")
    rate, _, frames = wav_info(whole)
    assert rate == 16_000 and frames / rate > 1.5
    chunks = list(client.realtime_tts_stream(text, speaker="James", dialect="en"))
    streamed = b"".join(chunks)
    assert streamed[:4] == b"RIFF" and streamed[4:8] == b"\xff\xff\xff\xff"
    # two syntheses differ by Piper's random phoneme durations (a few %), not by a sentence
    assert (len(streamed) - 44) // 2 == pytest.approx(frames, rel=0.10)
    mulaw = client.realtime_tts("Hello.", speaker="James", dialect="en", mulaw=True)
    assert int.from_bytes(mulaw[20:22], "little") == 7  # WAVE_FORMAT_MULAW
    with pytest.raises(BadRequestError) as bad:
        list(client.realtime_tts_stream("Hello.", speaker="Nobody-Here"))
    assert bad.value.message_key == "UNKNOWN_VOICE"
    default = client.realtime_tts("مرحبا")  # no speaker, no dialect: msa's default voice
    assert wav_info(default)[2] > 0


def test_websocket_session_tts_round_trips_through_stt(client, server):
    text = "Please send the report to the finance team before Friday."
    with client.realtime() as session:
        pcm = session.tts(text, speaker="James", dialect="en")
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
        assert 1.5 < samples.size / 16_000 < 10
        heard = session.stt(samples, language="en", eos=True)
        assert wer(text, heard) < 0.3, heard
        assert session.eos is not None and 0 <= session.eos.eos_probability <= 1
        with pytest.raises(UnsupportedMediaError) as undecodable:
            session.stt(b"not audio at all", language="en")  # an error frame...
        assert undecodable.value.message_key == "UNSUPPORTED_MEDIA"
        partials: list[str] = []
        chunks = [pcm[i:i + 6400] for i in range(0, len(pcm), 6400)]  # 0.2 s each
        final = session.stream_stt(chunks, language="en", on_partial=partials.append)
        assert wer(text, final) < 0.3 and partials  # ...and the socket still serves
    with Hams(api_key="not-a-key", base_url=server.base_url) as bad, pytest.raises(
            AuthenticationError):
        bad.realtime()


def test_async_client_transcribes_waits_and_streams(server, speech):
    async def flow() -> tuple[Job, str, str, int]:
        async with AsyncHams(api_key=server.key, base_url=server.base_url) as sdk:
            progress: list[int] = []
            job = await sdk.transcribe(speech, language="en", wait=True, timeout=120,
                                       on_upload_progress=lambda sent, _: progress.append(sent))
            assert progress[-1] == speech.stat().st_size
            utterance = await sdk.realtime_stt(speech, language="en")
            async with sdk.realtime() as session:
                pcm = await session.tts("Good morning.", speaker="James", dialect="en")
                heard = await session.stt(pcm_wav(pcm), language="en")
            streamed = [c async for c in sdk.realtime_tts_stream("Hi.", speaker="James",
                                                                 dialect="en")]
            with pytest.raises(NotFoundError):
                await sdk.get_job(str(uuid.uuid4()))
            return job, utterance.text, heard, len(b"".join(streamed))

    job, utterance, heard, streamed = asyncio.run(flow())
    assert job.succeeded and wer(SPOKEN, job.transcript.text) < 0.35
    assert wer(SPOKEN, utterance) < 0.35
    assert wer("Good morning.", heard) < 0.5 and streamed > 44


def pcm_wav(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16_000)
        wav.writeframes(pcm)
    return out.getvalue()


# --- retries and polling, against a scripted server ----------------------------------------


def test_a_read_is_retried_after_503_honouring_retry_after(scripted):
    scripted.script("GET", "/v1/jobs", [
        (503, {"success": False, "message": "Busy", "messageKey": "SERVICE_UNAVAILABLE"},
         {"Retry-After": "1"}),
        (200, job_body("j1"))])
    with Hams(api_key="k", base_url=scripted.base_url) as sdk:
        started = time.monotonic()
        job = sdk.get_job("j1")
    assert job.id == "j1" and job.usage_time == 1.5
    assert len(scripted.hits("GET", "/v1/jobs")) == 2
    assert time.monotonic() - started >= 1.0  # waited as asked
    assert scripted.hits("GET", "/v1/jobs")[0].headers["authorization"] == "Token k"


def test_a_create_is_retried_after_429_with_the_same_idempotency_key(scripted):
    scripted.script("POST", "/v1/jobs/text-to-speech", [
        (429, {"success": False, "message": "Slow down", "messageKey": "TOO_MANY_REQUESTS"},
         {"Retry-After": "0"}),
        (200, {"success": True, "data": {"id": "t1", "jobId": "t1", "status": "PENDING"}})])
    with Hams(api_key="k", base_url=scripted.base_url) as sdk:
        job = sdk.text_to_speech("Hello", voice="James")
    assert job.id == "t1" and job.status == "PENDING"
    keys = [r.headers.get("idempotency-key") for r in scripted.hits(
        "POST", "/v1/jobs/text-to-speech")]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]


def test_a_post_without_an_idempotency_key_is_not_retried(scripted):
    busy = (503, {"success": False, "message": "Busy", "messageKey": "SERVICE_UNAVAILABLE"},
            {"Retry-After": "0"})
    scripted.script("POST", "/v1/voice-agents/voice-dictionaries", [busy])
    scripted.script("POST", "/custom", [busy])
    with Hams(api_key="k", base_url=scripted.base_url) as sdk:
        with pytest.raises(ServerError) as failed:
            sdk.create_voice_dictionary("d", {"a": "b"})
        with pytest.raises(ServerError):
            sdk.request("POST", "/custom", json={})
    assert failed.value.status_code == 503
    assert failed.value.message_key == "SERVICE_UNAVAILABLE"
    assert len(scripted.hits("POST", "/v1/voice-agents/voice-dictionaries")) == 1
    assert len(scripted.hits("POST", "/custom")) == 1


def test_retries_stop_after_max_retries(scripted):
    scripted.script("GET", "/v2/jobs", [
        (429, {"success": False, "message": "Slow down", "messageKey": "TOO_MANY_REQUESTS"},
         {"Retry-After": "0"})])
    with Hams(api_key="k", base_url=scripted.base_url, max_retries=2) as sdk, pytest.raises(
            RateLimitError) as limited:
        sdk.list_jobs()
    assert limited.value.retry_after == 0 and len(scripted.hits("GET", "/v2/jobs")) == 3


def test_an_unreachable_server_is_a_connection_error_naming_it():
    with Hams(api_key="k", base_url="http://127.0.0.1:9", max_retries=1) as sdk, pytest.raises(
            APIConnectionError) as caught:
        sdk.get_job("x")
    assert caught.value.message == "Could not connect to http://127.0.0.1:9: connection refused"


def test_transcribe_without_a_language_asks_the_server_to_detect_it(scripted):
    scripted.script("POST", "/v1/jobs/transcribe", [(200, {"success": True,
                                                           "data": {"jobId": "j1"}})])
    scripted.script("GET", "/v1/jobs", [(200, job_body("j1"))])
    with Hams(api_key="k", base_url=scripted.base_url) as sdk:
        sdk.transcribe("https://example.com/a.mp3", language=None)
        sdk.transcribe("https://example.com/a.mp3")  # Hamsa's default stays
        sdk.transcribe("https://example.com/a.mp3", language="en")
    sent = [json.loads(hit.body)["language"] for hit in scripted.hits("POST",
                                                                      "/v1/jobs/transcribe")]
    assert sent == ["auto", "ar", "en"]


def test_waiting_on_a_server_that_ignores_wait_backs_off(scripted):
    # Hamsa's cloud answers at once: the client must pause between polls, not spin
    scripted.script("GET", "/v1/jobs", [(200, job_body("p1", "PENDING")),
                                        (200, job_body("p1", "PENDING")),
                                        (200, job_body("p1", "COMPLETED"))])
    seen: list[str] = []
    with Hams(api_key="k", base_url=scripted.base_url) as sdk:
        started = time.monotonic()
        job = sdk.wait_for_job("p1", 30, on_poll=lambda j: seen.append(j.status))
    assert job.succeeded and seen == ["PENDING", "PENDING", "COMPLETED"]
    hits = scripted.hits("GET", "/v1/jobs")[-3:]
    assert all(h.query["wait"] == ["20.0"] for h in hits)
    assert time.monotonic() - started >= 1.4  # two pauses: 0.5 s, then 1 s


def test_an_answer_the_models_cannot_read_is_a_hams_error(scripted):
    scripted.script("GET", "/v1/jobs", [(200, {"success": True, "data": {"id": None}})])
    with Hams(api_key="k", base_url=scripted.base_url) as sdk, \
            pytest.raises(HamsError) as caught:
        sdk.get_job("j1")
    assert caught.value.message_key == "INVALID_RESPONSE" and "id" in caught.value.message


def test_a_redirect_loop_is_a_connection_error_not_an_httpx_exception(scripted):
    scripted.script("GET", "/v1/jobs", [(302, {}, {"Location": "/v1/jobs?jobId=j1"})])
    with Hams(api_key="k", base_url=scripted.base_url, max_retries=0) as sdk, \
            pytest.raises(APIConnectionError) as caught:
        sdk.get_job("j1")
    assert "TooManyRedirects" in caught.value.message


def test_the_key_is_not_in_the_clients_repr():
    sdk = Hams(api_key="hams_very_secret", base_url="http://127.0.0.1:9")
    assert "very_secret" not in repr(sdk) + repr(sdk._config)


def test_usage_numbers_and_chart(client, transcribed):
    numbers = client.usage_numbers()  # this month, which holds the transcription above
    assert numbers.transcription.unit == "minutes" and float(numbers.transcription.value) > 0
    assert int(numbers.requests.value) >= 1 and numbers.price.unit
    today = datetime.now(UTC).date()
    daily = client.usage_chart(today - timedelta(days=3), today)  # an end date: that whole day
    assert len(daily.transcription) == 4 and daily.transcription[-1].value > 0
    now_ms = int(time.time() * 1000)
    hourly = client.usage_chart(now_ms - 6 * 3600_000, now_ms + 3600_000)
    assert len(hourly.requests) in (7, 8) and sum(p.value for p in hourly.requests) >= 1

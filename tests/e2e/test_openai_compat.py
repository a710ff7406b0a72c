"""The official openai package, unmodified, against a real `hams serve` process at /v1."""

from __future__ import annotations

import io
import math
import re
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openai
import pytest

from hams.media.audio import decode_audio
from hams.media.wav import to_wav_bytes
from tests.helpers.server import start_server
from tests.helpers.speech import SPEECH_SENTENCES, word_error_rate
from tests.helpers.wait import wait_until

REFERENCE = " ".join(SPEECH_SENTENCES)
SPOKEN = "The library opens at nine and closes at five every weekday."
TIMING = re.compile(r"^(\d\d):(\d\d):(\d\d)[,.](\d{3}) --> (\d\d):(\d\d):(\d\d)[,.](\d{3})$")
MAGIC = {"mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3"), "opus": (b"OggS",), "aac": (b"\xff\xf1",),
         "flac": (b"fLaC",)}
CONTENT_TYPES = {"wav": "audio/wav", "pcm": "audio/pcm", "mp3": "audio/mpeg",
                 "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac"}


@pytest.fixture(scope="module")
def client(server):
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.key, max_retries=0,
                       timeout=180) as oa:
        yield oa


@pytest.fixture(scope="module")
def audio(speech):
    return speech.read_bytes()


@pytest.fixture(scope="module")
def duration(speech):
    return len(decode_audio(speech, max_seconds=600)) / 16_000


def transcribe(client, audio: bytes, **options):
    options.setdefault("model", "whisper-1")
    return client.audio.transcriptions.create(file=("speech.wav", audio, "audio/wav"),
                                              **options)


def cues(body: str) -> list[tuple[float, float, str]]:
    """(start, end, text) of each cue of an SRT or VTT body."""
    found = []
    for block in body.strip().split("\n\n"):
        lines = block.strip().split("\n")
        timing = next((i for i, line in enumerate(lines) if TIMING.match(line)), None)
        if timing is None:
            continue
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, TIMING.match(lines[timing]).groups())
        found.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000,
                      " ".join(lines[timing + 1:])))
    return found


def assert_ordered(spans: list[tuple[float, float]], duration: float) -> None:
    assert spans
    for start, end in spans:
        assert 0 <= start <= end <= duration + 0.05, (start, end, duration)
    starts = [start for start, _ in spans]
    assert starts == sorted(starts)


# transcriptions, one per response_format


def test_json_transcription_is_the_speech(client, audio):
    result = transcribe(client, audio, language="en")
    assert isinstance(result, openai.types.audio.Transcription)
    assert word_error_rate(REFERENCE, result.text) < 0.35, result.text


def test_text_transcription_is_a_plain_body(client, audio):
    result = transcribe(client, audio, response_format="text")
    assert isinstance(result, str) and not result.lstrip().startswith("{")
    assert word_error_rate(REFERENCE, result) < 0.35, result


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_subtitles_have_one_ordered_cue_per_segment(client, audio, duration, fmt):
    body = transcribe(client, audio, response_format=fmt)
    assert isinstance(body, str)
    if fmt == "vtt":
        assert body.startswith("WEBVTT\n\n")
    else:
        numbers = [block.split("\n")[0] for block in body.strip().split("\n\n")]
        assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
    found = cues(body)
    assert_ordered([(start, end) for start, end, _ in found], duration)
    assert word_error_rate(REFERENCE, " ".join(text for _, _, text in found)) < 0.35, body


def test_verbose_json_has_segments_and_no_words_unless_asked(client, audio, duration):
    result = transcribe(client, audio, response_format="verbose_json", language="en")
    assert result.language == "english"
    assert result.duration == pytest.approx(duration, abs=0.05)
    assert word_error_rate(REFERENCE, result.text) < 0.35
    assert result.words is None
    body = result.model_dump()
    assert body["task"] == "transcribe"
    assert_ordered([(s.start, s.end) for s in result.segments], duration)
    for index, segment in enumerate(result.segments):
        assert segment.id == index
        assert segment.tokens and all(isinstance(t, int) for t in segment.tokens)
        assert segment.avg_logprob < 0 and segment.compression_ratio > 0
        assert 0 <= segment.no_speech_prob <= 1 and 0 <= segment.temperature <= 1
        assert segment.seek >= 0
    assert word_error_rate(REFERENCE, " ".join(s.text for s in result.segments)) < 0.35


def test_word_timestamps_only_when_asked(client, audio, duration):
    words_only = transcribe(client, audio, response_format="verbose_json",
                            timestamp_granularities=["word"])
    assert words_only.segments is None  # as OpenAI: only what was asked
    words = words_only.words
    assert_ordered([(w.start, w.end) for w in words], duration)
    assert all(w.word == w.word.strip() and w.word for w in words)
    assert word_error_rate(REFERENCE, " ".join(w.word for w in words)) < 0.35

    both = transcribe(client, audio, response_format="verbose_json",
                      timestamp_granularities=["word", "segment"])
    assert both.segments and both.words and len(both.words) == len(words)


def test_translation_is_english_text(client, audio):
    result = client.audio.translations.create(file=("speech.wav", audio, "audio/wav"),
                                              model="whisper-1", response_format="verbose_json")
    assert result.model_dump()["task"] == "translate" and result.language == "english"
    assert word_error_rate(REFERENCE, result.text) < 0.35, result.text
    text = client.audio.translations.create(file=("speech.wav", audio, "audio/wav"),
                                            model="whisper-1", response_format="text")
    assert word_error_rate(REFERENCE, text) < 0.35


def test_the_work_is_a_job_with_usage(client, server, audio, duration):
    raw = client.audio.transcriptions.with_raw_response.create(
        file=("speech.wav", audio, "audio/wav"), model="gpt-4o-mini-transcribe", language="en",
        prompt="Weather, finance team, Friday.", temperature=0.2)
    text = raw.parse().text
    job_id = raw.headers["x-job-id"]
    with server.client() as hamsa:
        job = hamsa.get("/v1/jobs", params={"jobId": job_id}).json()["data"]
        stored = hamsa.get(job["mediaUrl"].removeprefix(server.base_url))
    assert "/v1/media/" in job["mediaUrl"] and stored.content == audio  # kept as an upload
    assert (job["type"], job["status"], job["model"]) == (
        "TRANSCRIPTION", "COMPLETED", "Hamsa-General-V2.0")
    assert job["fromLng"] == "en" and job["processingType"] == "sync"
    assert job["jobResponse"]["text"] == text
    assert float(job["usageTime"]) == pytest.approx(duration, abs=0.05)
    assert job["totalCost"] == pytest.approx(duration / 60 * 0.6, rel=0.01)
    [(options,)] = server.rows("SELECT options FROM jobs WHERE id = ?", job_id)
    assert '"prompt": "Weather, finance team, Friday."' in options
    assert '"temperature": 0.2' in options and '"task": "transcribe"' in options


# speech


def speak(client, **options):
    values = {"model": "tts-1", "voice": "alloy", "input": SPOKEN, **options}
    return client.audio.speech.with_raw_response.create(**values)


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24_000, 1, 2)
        return wav.getnframes() / wav.getframerate()


@pytest.fixture(scope="module")
def spoken_wav(client):
    return speak(client, response_format="wav")


def test_speech_wav_says_the_input(client, spoken_wav):
    assert spoken_wav.headers["content-type"] == "audio/wav"
    audio = spoken_wav.content
    seconds = wav_seconds(audio)
    assert 1.5 < seconds < 10
    assert float(spoken_wav.headers["x-audio-duration"]) == pytest.approx(seconds, abs=0.01)
    heard = transcribe(client, audio, language="en").text
    assert word_error_rate(SPOKEN, heard) < 0.35, heard


@pytest.fixture(scope="module")
def durations_by_speed(client):
    return {speed: wav_seconds(speak(client, response_format="wav", speed=speed).content)
            for speed in (0.25, 0.5, 1.0, 2.0, 4.0)}


def test_speed_scales_the_duration(durations_by_speed):
    """0.5-2 is the engine's own speaking rate (Piper's length scale shortens speech less than
    proportionally, as /v2/tts/histories does); beyond it the audio is time-stretched exactly."""
    normal = durations_by_speed[1.0]
    ratios = {speed: seconds / normal for speed, seconds in durations_by_speed.items()}
    assert ratios[0.25] > ratios[0.5] > 1 > ratios[2.0] > ratios[4.0]
    assert 1.6 < ratios[0.5] < 2.4 and 0.45 < ratios[2.0] < 0.75
    # the stretch beyond the engine's range is exact, up to Piper's run-to-run variation
    assert ratios[4.0] / ratios[2.0] == pytest.approx(0.5, rel=0.12)
    assert ratios[0.25] / ratios[0.5] == pytest.approx(2.0, rel=0.12)


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac"])
def test_speech_in_compressed_formats_decodes_to_the_same_audio(client, fmt):
    response = speak(client, response_format=fmt)
    assert response.headers["content-type"] == CONTENT_TYPES[fmt]
    data = response.content
    assert data.startswith(MAGIC[fmt])
    seconds = len(decode_audio(io.BytesIO(data), max_seconds=60)) / 16_000
    assert seconds == pytest.approx(float(response.headers["x-audio-duration"]), abs=0.1)
    assert 1.5 < seconds < 10


def test_speech_pcm_is_raw_24khz_16bit(client):
    response = speak(client, response_format="pcm")
    data = response.content
    assert response.headers["content-type"] == "audio/pcm"
    assert not data.startswith(b"RIFF") and len(data) % 2 == 0
    assert len(data) / 2 / 24_000 == pytest.approx(float(response.headers["x-audio-duration"]),
                                                   abs=0.001)
    heard = transcribe(client, to_wav_bytes(np.frombuffer(data, "<i2"), 24_000), language="en")
    assert word_error_rate(SPOKEN, heard.text) < 0.35, heard.text


def test_openai_voices_follow_the_script_and_hams_voices_work_by_name_or_id(client, server):
    with server.client() as hamsa:
        voices = hamsa.get("/v1/tts/voices", params={"take": 1000}).json()["data"]
    dialect_of = {v["id"]: v["dialect"]["code"] for v in voices}
    english = speak(client, voice="nova")
    arabic = speak(client, voice="nova", input="مرحبا بكم في المكتبة")
    assert dialect_of[english.headers["x-voice-id"]] == "en"
    assert dialect_of[arabic.headers["x-voice-id"]] == "msa"
    layan = next(v for v in voices if v["name"] == "Layan")
    by_name = speak(client, voice="Layan", input="مرحبا")
    by_id = speak(client, voice={"id": layan["id"]}, input="مرحبا")
    assert by_name.headers["x-voice-id"] == by_id.headers["x-voice-id"] == layan["id"]
    assert wav_seconds(speak(client, voice="Layan", input="مرحبا",
                             response_format="wav").content) > 0.2


def test_speech_usage_is_recorded(client, server):
    text = "Usage is counted for every single call, one record each."
    response = speak(client, input=text, model="gpt-4o-mini-tts",
                     instructions="Speak cheerfully.", response_format="wav")
    seconds = wav_seconds(response.content)
    rows = server.rows("SELECT audio_seconds, model FROM usage_records WHERE kind = 'speech' "
                       "AND characters = ?", len(text))
    assert rows == [(pytest.approx(seconds, abs=0.01), response.headers["x-engine"])]


# models


def test_models_lists_transcription_and_speech_models(client):
    ids = {model.id for model in client.models.list()}
    assert {"whisper-1", "gpt-4o-transcribe", "Hamsa-General-V2.0", "tts-1",
            "gpt-4o-mini-tts"} <= ids
    model = client.models.retrieve("whisper-1")
    assert (model.id, model.object, model.owned_by) == ("whisper-1", "model", "hams")
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-9")
    assert caught.value.code == "model_not_found"


# errors, in OpenAI's shape so the package raises its own classes


def test_bad_key_is_an_authentication_error(server):
    bad = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="hams_wrong", max_retries=0)
    with bad, pytest.raises(openai.AuthenticationError) as caught:
        bad.models.list()
    assert caught.value.code == "invalid_api_key"
    assert set(caught.value.body) == {"message", "type", "param", "code"}


def test_undecodable_audio_is_refused_with_the_job_named(client):
    with pytest.raises(openai.BadRequestError) as caught:
        transcribe(client, b"this is not audio at all" * 50)
    error = caught.value
    assert error.status_code == 400
    assert (error.code, error.param, error.type) == ("unsupported_media", "file",
                                                     "invalid_request_error")
    assert "job " in error.message


@pytest.mark.parametrize("call, param", [
    (lambda c, a: speak(c, voice="nobody-by-that-name"), "voice"),
    (lambda c, a: speak(c, response_format="ogg"), "response_format"),
    (lambda c, a: speak(c, speed=5), "speed"),
    (lambda c, a: speak(c, input="   "), "input"),
    (lambda c, a: speak(c, model="eleven-turbo"), "model"),
    (lambda c, a: transcribe(c, a, response_format="xml"), "response_format"),
    (lambda c, a: transcribe(c, a, response_format="json",
                             timestamp_granularities=["word"]), "timestamp_granularities"),
    (lambda c, a: transcribe(c, a, language="ar"), "language"),  # tiny.en: English only
    (lambda c, a: transcribe(c, a, language="xx"), "language"),
    (lambda c, a: transcribe(c, a, model="nova-2"), "model"),
])
def test_bad_input_is_a_bad_request_error(client, audio, call, param):
    with pytest.raises(openai.BadRequestError) as caught:
        call(client, audio)
    error = caught.value
    assert error.param == param and error.type == "invalid_request_error"
    assert error.message and error.code


def test_hamsa_routes_keep_the_hamsa_envelope(server):
    with server.client(key="hams_wrong") as hamsa:
        body = hamsa.get("/v1/jobs", params={"jobId": "x"}).json()
    assert body == {"success": False, "message": "Invalid API key",
                    "messageKey": "UNAUTHORIZED", "data": None}


def test_json_usage_is_whole_seconds(client, audio, duration):
    raw = client.audio.transcriptions.with_raw_response.create(
        model="whisper-1", file=("speech.wav", audio, "audio/wav"), response_format="json")
    assert raw.http_response.json()["usage"] == {"type": "duration",
                                                 "seconds": math.ceil(duration)}


# --- a job nobody runs: a server without workers ---------------------------------------------


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory):
    process = start_server(tmp_path_factory.mktemp("idle"), workers=0)
    yield process
    process.stop()


def queued_job_titled(server, title: str, timeout: float = 20) -> dict:
    with server.client() as http:
        found = wait_until(lambda: http.get("/v2/jobs", params={
            "search": title, "perPage": 5}).json()["data"]["jobs"], timeout, interval=0.2,
            what=f"a job titled {title}")
        return http.get("/v1/jobs", params={"jobId": found[0]["id"]}).json()["data"]


def test_a_client_that_gives_up_gets_its_job_cancelled(idle_server, audio):
    impatient = openai.OpenAI(base_url=f"{idle_server.base_url}/v1", api_key=idle_server.key,
                              timeout=1.5, max_retries=0)
    with impatient, pytest.raises(openai.APITimeoutError):
        impatient.audio.transcriptions.create(model="whisper-1",
                                              file=("gave-up.wav", audio, "audio/wav"))
    def state() -> str:
        return queued_job_titled(idle_server, "gave-up.wav")["state"]

    # the server notices within its disconnect check
    wait_until(lambda: state() == "cancelled", 15, interval=0.3,
               what=lambda: f"the job to be cancelled (it is {state()})")


def test_a_job_cancelled_while_waited_for_is_a_conflict(idle_server, audio):
    patient = openai.OpenAI(base_url=f"{idle_server.base_url}/v1", api_key=idle_server.key,
                            max_retries=0)
    with ThreadPoolExecutor(1) as pool, patient:
        answer = pool.submit(patient.audio.transcriptions.create, model="whisper-1",
                             file=("cancel-me.wav", audio, "audio/wav"))
        job = queued_job_titled(idle_server, "cancel-me.wav")
        with idle_server.client() as http:
            assert http.post(f"/v1/jobs/{job['id']}/cancel").status_code == 200
        with pytest.raises(openai.ConflictError) as caught:
            answer.result(timeout=30)
    assert caught.value.code == "job_cancelled" and job["id"] in caught.value.message

"""Arabic on a fresh install: no HAMS_STT_MODEL, no network, real human Arabic recordings.

The default model (large-v3-turbo) cannot be downloaded here, so the server falls back to the
offline extra's multilingual Whisper base and must say so; Arabic is transcribed, not refused.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

import openai
import pytest
from websockets.sync.client import connect

from tests.helpers.server import start_server, wait_for_job

SPEECH_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "arabic-speech"
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")


@pytest.fixture(scope="module")
def arabic_wav() -> bytes:
    """ar_01: read Modern Standard Arabic, 7 s (Arabic Speech Corpus, CC BY 4.0)."""
    path = SPEECH_DIR / "ar_01.wav"
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the shared Arabic recordings are missing: {SPEECH_DIR}")
        pytest.skip("../shared/data/arabic-speech is not beside this checkout")
    return path.read_bytes()


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory):
    """`hams serve` exactly as a new user starts it: no model setting, no network."""
    process = start_server(tmp_path_factory.mktemp("fresh"), workers=1,
                           env={"HAMS_STT_MODEL": None, "HF_HUB_OFFLINE": "1"})
    yield process
    process.stop()


def transcribe(server, audio: bytes, language: str) -> dict:
    """Upload, then a transcription job of the upload; the finished job."""
    with server.client() as client:
        uploaded = client.post("/v1/media", files={"file": ("arabic.wav", audio, "audio/wav")})
        assert uploaded.status_code == 200, uploaded.text
        created = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": uploaded.json()["data"]["mediaUrl"], "language": language})
        assert created.status_code == 200, created.text
        return wait_for_job(client, created.json()["data"]["jobId"], timeout=240)["data"]


def test_a_fresh_server_transcribes_arabic(fresh_server, arabic_wav):
    job = transcribe(fresh_server, arabic_wav, "ar")
    assert job["status"] == "COMPLETED", job
    text = job["jobResponse"]["text"]
    assert len(ARABIC_LETTERS.findall(text)) > 20, text
    assert any(word in text for word in ("للمواطن", "يكون", "المتجول")), text
    assert job["jobResponse"]["engineModel"] == "whisper-base (bundled)"


def test_ready_says_which_model_serves_and_why(fresh_server, arabic_wav):
    with fresh_server.client() as client:
        stt = client.get("/ready").json()["stt"]["Hamsa-General-V2.0"]
    if stt["state"] == "not loaded":  # the worker preloads on start; give it the first job
        test_a_fresh_server_transcribes_arabic(fresh_server, arabic_wav)
        with fresh_server.client() as client:
            stt = client.get("/ready").json()["stt"]["Hamsa-General-V2.0"]
    assert stt["configured"] == "large-v3-turbo" and stt["state"] == "fallback"
    assert stt["servedBy"] == "whisper-base (bundled)" and stt["multilingual"] is True
    assert "no network to download large-v3-turbo" in stt["reason"]
    assert "hams models download large-v3-turbo" in stt["fix"]
    assert str(fresh_server.data_dir) not in str(stt)
    assert "could not be loaded" in fresh_server.log()


def test_language_auto_detects_arabic(fresh_server, arabic_wav):
    job = transcribe(fresh_server, arabic_wav, "auto")
    assert job["status"] == "COMPLETED", job
    assert job["jobResponse"]["language"] == "ar"
    assert ARABIC_LETTERS.search(job["jobResponse"]["text"])


def test_openai_route_without_language_reports_arabic(fresh_server, arabic_wav):
    with openai.OpenAI(base_url=f"{fresh_server.base_url}/v1", api_key=fresh_server.key,
                       max_retries=0, timeout=240) as client:
        result = client.audio.transcriptions.create(
            model="whisper-1", file=("arabic.wav", arabic_wav, "audio/wav"),
            response_format="verbose_json")
    assert result.language == "arabic"
    assert len(ARABIC_LETTERS.findall(result.text)) > 20, result.text


def test_an_english_only_model_refuses_arabic_it_detects(server, arabic_wav):
    """The shared server runs tiny.en: Arabic without ``language`` is a clear 400, never a
    confident English transcript of Arabic speech."""
    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=server.key, max_retries=0,
                       timeout=240) as client, pytest.raises(openai.BadRequestError) as refused:
        client.audio.transcriptions.create(
            model="whisper-1", file=("arabic.wav", arabic_wav, "audio/wav"))
    message = str(refused.value)
    assert "arabic" in message.lower() and "English-only" in message
    assert "tiny.en (bundled)" in message


def test_realtime_rest_and_websocket_take_arabic(fresh_server, arabic_wav):
    encoded = base64.b64encode(arabic_wav).decode()
    with fresh_server.client() as client:
        answer = client.post("/v1/realtime/stt", json={"audioBase64": encoded, "language": "ar"})
    assert answer.status_code == 200, answer.text
    assert len(ARABIC_LETTERS.findall(answer.json()["text"])) > 20, answer.text
    url = fresh_server.base_url.replace("http://", "ws://") + "/v1/realtime/ws"
    with connect(f"{url}?api_key={fresh_server.key}") as ws:
        ws.recv(timeout=60)  # info
        ws.send(json.dumps({"type": "stt", "payload": {"audioBase64": encoded,
                                                       "language": "auto"}}))
        transcript = ws.recv(timeout=120)  # the protocol answers stt with the plain text
    assert isinstance(transcript, str) and not transcript.startswith("{"), transcript
    assert len(ARABIC_LETTERS.findall(transcript)) > 20, transcript

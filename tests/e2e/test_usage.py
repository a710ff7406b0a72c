"""Usage on a dedicated real server (prices set, an LLM for tokens): the statistics numbers are
exactly the sums of what the jobs and realtime calls did, the chart adds up to them, `hams
usage` prints the same, and a quota set with `hams projects quota` refuses the request that
would exceed it after the ones before it succeeded."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect

from tests.e2e.test_realtime_ws import receive_json, stt_message, tts_audio, ws_url
from tests.helpers.llm_server import FakeLlmServer
from tests.helpers.server import ServerProcess, run_cli, start_server, wait_for_job
from tests.helpers.speech import speech_samples
from tests.helpers.wait import wait_until

STT_PRICE, TTS_PRICE, CONTENT_PRICE = 0.6, 3.0, 0.5  # per minute, per 1k chars, per 1k chars
TTS_TEXTS = ["The first report is ready.", "Second report, a little longer than the first."]
NUMBERS, CHART = "/v1/projects/statistics/numbers", "/v1/projects/statistics/chart"


@pytest.fixture(scope="module")
def usage_server(tmp_path_factory) -> Iterator[ServerProcess]:
    with FakeLlmServer() as llm:
        process = start_server(tmp_path_factory.mktemp("usage"), workers=2, env={
            "HAMS_ALLOW_PRIVATE_URLS": "true",
            "HAMS_STT_PRICE_PER_MINUTE": json.dumps({"Hamsa-General-V2.0": STT_PRICE}),
            "HAMS_TTS_PRICE_PER_1K_CHARS": str(TTS_PRICE),
            "HAMS_AI_CONTENT_PRICE_PER_1K_CHARS": str(CONTENT_PRICE),
            "HAMS_LLM_BASE_URL": llm.base_url, "HAMS_LLM_MODEL": "tiny-chat",
        })
        yield process
        process.stop()


def ms(seconds: float) -> str:
    return str(int(seconds * 1000))


def finished(client, job_id: str) -> dict:
    job = wait_for_job(client, job_id)["data"]
    assert job["status"] == "COMPLETED", job
    return job


@pytest.fixture(scope="module")
def done(usage_server, media_server, speech) -> dict:
    """N jobs of each type and realtime calls of each kind; what each reported it used."""
    started = time.time() - 1
    url = media_server.add_file("usage-speech.wav", speech.read_bytes())
    expected = {"requests": 0, "stt_seconds": 0.0, "tts_characters": 0, "tts_seconds": 0.0,
                "tokens": 0, "cost": 0.0}

    def add(*, seconds=0.0, characters=0, tts_seconds=0.0, tokens=0, cost=0.0):
        expected["requests"] += 1
        expected["stt_seconds"] += seconds
        expected["tts_characters"] += characters
        expected["tts_seconds"] += tts_seconds
        expected["tokens"] += tokens
        expected["cost"] += cost

    with usage_server.client() as client:
        transcriptions = [client.post("/v1/jobs/transcribe", json={
            "mediaUrl": url, "model": "Hamsa-General-V2.0", "processingType": "async",
            "isEosEnabled": False, "language": "en", "title": f"t{i}"}).json()["data"]["jobId"]
            for i in range(2)]
        tts_jobs = [client.post("/v1/jobs/text-to-speech", json={
            "voiceId": "Emma", "text": text}).json()["data"]["id"] for text in TTS_TEXTS]
        for job_id in transcriptions:
            job = finished(client, job_id)
            add(seconds=float(job["usageTime"]), cost=job["totalCost"])
            assert job["totalCost"] == pytest.approx(float(job["usageTime"]) / 60 * STT_PRICE,
                                                     abs=1e-5)
        for job_id, text in zip(tts_jobs, TTS_TEXTS, strict=True):
            job = finished(client, job_id)
            add(characters=len(text), tts_seconds=float(job["usageTime"]),
                cost=job["totalCost"])
            assert job["totalCost"] == pytest.approx(len(text) / 1000 * TTS_PRICE)
        contents = [client.post(f"/v1/jobs/ai-content?jobId={transcriptions[0]}",
                                json={"aiParts": ["summary"]}).json()["data"]["id"]
                    for _ in range(2)]
        for job_id in contents:
            job = finished(client, job_id)
            assert job["usageTokens"] > 0 and job["totalCost"] > 0
            add(tokens=job["usageTokens"], cost=job["totalCost"])

        audio = base64.b64encode(speech.read_bytes()).decode()
        for _ in range(2):
            stt = client.post("/v1/realtime/stt", json={"audioBase64": audio, "language": "en",
                                                        "model": "Hamsa-General-V2.0"})
            assert stt.status_code == 200, stt.text
            seconds = stt.json()["data"]["duration"]
            add(seconds=seconds, cost=round(seconds / 60 * STT_PRICE, 6))
        text = "Realtime speech is counted too."
        wav = client.post("/v1/realtime/tts", json={"text": text, "speaker": "Emma"})
        assert wav.status_code == 200
        add(characters=len(text), tts_seconds=float(wav.headers["X-Audio-Duration"]),
            cost=len(text) / 1000 * TTS_PRICE)
        speech_reply = client.post("/v1/audio/speech", json={"model": "tts-1", "input": text,
                                                             "voice": "alloy",
                                                             "response_format": "wav"})
        assert speech_reply.status_code == 200
        add(characters=len(text), tts_seconds=float(speech_reply.headers["X-Audio-Duration"]),
            cost=len(text) / 1000 * TTS_PRICE)
    with connect(ws_url(usage_server, api_key=usage_server.key)) as ws:
        receive_json(ws)
        _, pcm, _ = tts_audio(ws, text=text, speaker="Emma", dialect="en")
        add(characters=len(text), tts_seconds=len(pcm) / 2 / 16_000,
            cost=len(text) / 1000 * TTS_PRICE)
        samples = speech_samples(speech)
        ws.send(stt_message(samples))
        ws.recv(timeout=60)
        add(seconds=samples.size / 16_000, cost=samples.size / 16_000 / 60 * STT_PRICE)
    # streamed synthesis is recorded just after its last frame: wait for it, then close the
    # period, so that what later tests do falls outside it
    with usage_server.client() as client:
        wait_until(lambda: client.get(NUMBERS, params={"startPeriod": ms(started)}).json()[
            "data"]["requests"]["value"] == "12", timeout=10, what="12 requests counted")
    expected["period"] = {"startPeriod": ms(started), "endPeriod": ms(time.time())}
    return expected


def test_statistics_numbers_are_the_sums_of_what_was_done(usage_server, done):
    with usage_server.client() as client:
        project_id = client.get("/v1/projects/by-api-key").json()["data"]["id"]
        answer = client.get(NUMBERS, params={**done["period"], "projectId": project_id})
    assert answer.status_code == 200, answer.text
    data = answer.json()["data"]
    assert data["requests"] == {"value": str(done["requests"]), "unit": "requests"}
    assert done["requests"] == 12  # 2 + 2 + 2 jobs, 6 realtime calls
    assert data["tokens"] == {"value": done["tokens"], "unit": "tokens"}
    assert data["transcription"]["unit"] == "minutes"
    assert data["transcription"]["value"] == pytest.approx(done["stt_seconds"] / 60, abs=2e-4)
    assert data["price"]["unit"] == "USD"
    assert data["price"]["value"] == pytest.approx(done["cost"], abs=1e-5)
    assert data["tts"]["characters"] == done["tts_characters"]
    assert data["tts"]["seconds"] == pytest.approx(done["tts_seconds"], abs=0.01)
    assert data["realtime"]["requests"] == 5  # 2 REST STT, 1 REST TTS, 1 WS TTS, 1 WS STT
    assert data["byKind"]["speech"]["requests"] == 1


def test_chart_buckets_add_up_to_the_numbers(usage_server, done):
    with usage_server.client() as client:
        chart = client.get(CHART, params=done["period"]).json()["data"]
    assert chart["interval"] == "hour"  # the period is under two days
    assert sum(p["value"] for p in chart["requests"]) == done["requests"]
    assert sum(p["value"] for p in chart["tokens"]) == done["tokens"]
    assert sum(p["value"] for p in chart["cost"]) == pytest.approx(done["cost"], abs=1e-5)
    assert sum(p["value"] for p in chart["transcription"]) == pytest.approx(
        done["stt_seconds"] / 60, abs=1e-3)


def test_hams_usage_prints_the_same_numbers(usage_server, done):
    period = ["--from", done["period"]["startPeriod"], "--to", done["period"]["endPeriod"]]
    as_json = run_cli(usage_server.data_dir, "usage", "--project", "default", "--json", *period)
    assert as_json.returncode == 0, as_json.stderr
    [row] = json.loads(as_json.stdout)["projects"]
    context = f"{row} vs {done}"
    assert row["project"] == "default"
    assert row["requests"]["value"] == str(done["requests"]), context
    assert row["price"]["value"] == pytest.approx(done["cost"], abs=1e-5), context
    table = run_cli(usage_server.data_dir, "usage", *period)
    assert table.returncode == 0, table.stderr
    [line] = [line for line in table.stdout.splitlines() if line.startswith("default ")]
    requests, minutes = line.split()[1:3]
    assert requests == str(done["requests"]), table.stdout
    # printed to 2 decimals: compare as numbers, not strings that a rounding edge could split
    assert float(minutes) == pytest.approx(done["stt_seconds"] / 60, abs=0.006), table.stdout
    bad = run_cli(usage_server.data_dir, "usage", "--from", "2025-02-01", "--to", "2025-01-01")
    assert bad.returncode == 1 and "after" in bad.stderr


def test_a_quota_refuses_the_request_over_it_after_the_ones_before(usage_server, done):
    text = "Quota test."
    shown = run_cli(usage_server.data_dir, "projects", "quota", "default", "--json")
    used = json.loads(shown.stdout)["quotas"]["ttsCharacters"]["used"]
    assert used == done["tts_characters"]
    limit = int(used) + 2 * len(text) + 3
    set_quota = run_cli(usage_server.data_dir, "projects", "quota", "default",
                        "--tts-characters", str(limit))
    assert set_quota.returncode == 0, set_quota.stderr
    with usage_server.client() as client:
        answers = [client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": text})
                   for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 402]
        assert answers[2].json()["messageKey"] == "QUOTA_TTS_CHARACTERS_EXCEEDED"
        assert f"of {limit}" in answers[2].json()["message"]
        for answer in answers[:2]:  # the accepted ones are not lost
            finished(client, answer.json()["data"]["id"])
        cleared = run_cli(usage_server.data_dir, "projects", "quota", "default", "--clear")
        assert cleared.returncode == 0, cleared.stderr
        assert client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": text}
                           ).status_code == 200

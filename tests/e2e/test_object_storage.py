"""Every kind of blob on object storage: a real `hams serve` with HAMS_STORAGE_URL pointing at a
real SeaweedFS (tests/helpers/seaweedfs.py). Uploads, fetched media, TTS audio and histories,
knowledge-base files and a conversation's recording land in the bucket, are read back through
the server's links, and after each test the server's data directory holds no blob (only the
database and the models) and its temporary directory is empty."""

from __future__ import annotations

import asyncio
import io
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.helpers.conversation_client import SdkSocket
from tests.helpers.llm_server import FakeLlmServer
from tests.helpers.server import ServerProcess, free_port, run_cli, start_server, wait_for_job
from tests.helpers.wait import wait_until

if TYPE_CHECKING:
    from tests.helpers.seaweedfs import SeaweedFS

KB = "/v1/voice-agents/knowledge-base"
DATABASE_FILES = {"hams.db", "hams.db-wal", "hams.db-shm"}
KEPT_FOLDERS = {"models"}  # the bundled models, joined once: a cache, not a blob
NOT_OURS = {".ses"}  # onnxruntime's session marker (a time and an id), not a blob


@pytest.fixture(scope="module")
def prefix() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS,
              prefix: str) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("s3-server")
    spool = root / "tmp"
    spool.mkdir()
    process = start_server(root, workers=2, env={
        **seaweedfs.env(prefix), "TMPDIR": str(spool), "HAMS_ALLOW_PRIVATE_URLS": "true",
        "HAMS_KB_EMBEDDINGS": "false", "HAMS_AGENT_MAX_CONVERSATIONS": "1"})
    process.extra["spool"] = spool
    yield process
    process.stop()


@pytest.fixture
def no_blob_left(s3_server: ServerProcess) -> Iterator[None]:
    """After the test: the data directory holds only the database and models, and the
    server's temporary directory is empty (spools, downloads and fetches removed)."""
    yield
    assert_no_local_blobs(s3_server)


def assert_no_local_blobs(server: ServerProcess) -> None:
    data = server.data_dir
    stray = [str(path.relative_to(data)) for path in data.iterdir()
             if path.name not in DATABASE_FILES | KEPT_FOLDERS]
    assert not stray, f"the data directory holds more than the database and models: {stray}"
    spool: Path = server.extra["spool"]

    def left() -> list[str]:
        return [path.name for path in spool.iterdir() if path.name not in NOT_OURS]

    wait_until(lambda: not left(), 5, what=lambda: f"temporary files to be removed: {left()}")


def stored(seaweedfs: SeaweedFS, prefix: str, key: str) -> bytes:
    body = seaweedfs.client().get_object(Bucket=seaweedfs.bucket, Key=f"{prefix}/{key}")
    return body["Body"].read()


def test_upload_then_transcription(s3_server, seaweedfs, prefix, speech, no_blob_left):
    audio = speech.read_bytes()
    with s3_server.client() as client:
        uploaded = client.post("/v1/media", files={"file": ("talk.wav", audio, "audio/wav")})
        assert uploaded.status_code == 200, uploaded.text
        media = uploaded.json()["data"]
        [key] = [k for k in seaweedfs.keys(f"{prefix}/uploads/") if k.endswith(media["id"])]
        assert stored(seaweedfs, prefix, key.removeprefix(f"{prefix}/")) == audio
        created = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": media["mediaUrl"], "model": "Hamsa-General-V2.0", "language": "en"})
        assert created.status_code == 200, created.text
        body = wait_for_job(client, created.json()["data"]["jobId"])
        assert body["data"]["status"] == "COMPLETED", body
        assert "weather" in body["data"]["jobResponse"]["text"].lower()
        back = client.get(f"/v1/media/{media['id']}")
        assert back.status_code == 200 and back.content == audio
        assert back.headers["content-disposition"] == 'attachment; filename="talk.wav"'
        part = client.get(f"/v1/media/{media['id']}", headers={"Range": "bytes=4-11"})
        assert part.status_code == 206 and part.content == audio[4:12]
        assert part.headers["content-range"] == f"bytes 4-11/{len(audio)}"


def test_fetched_media_is_kept_in_the_bucket(s3_server, seaweedfs, prefix, speech,
                                             media_server, no_blob_left):
    audio = speech.read_bytes()
    url = media_server.add_file("s3-speech.wav", audio)
    with s3_server.client() as client:
        created = client.post("/v1/jobs/transcribe", json={
            "mediaUrl": url, "model": "Hamsa-General-V2.0", "language": "en"})
        job_id = created.json()["data"]["jobId"]
        body = wait_for_job(client, job_id)
    assert body["data"]["status"] == "COMPLETED", body
    assert stored(seaweedfs, prefix, f"jobs/{job_id}/source") == audio
    page = httpx.get(body["previewUrl"], timeout=10)
    player = page.text.split('<audio controls preload="none" src="', 1)[1].split('"', 1)[0]
    played = httpx.get(s3_server.base_url + player.replace("&amp;", "&"), timeout=10)
    assert played.status_code == 200 and played.content == audio
    with s3_server.client() as client:
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
    wait_until(lambda: not seaweedfs.keys(f"{prefix}/jobs/{job_id}/"), 10,
               what="the deleted job's source to leave the bucket")


def test_tts_job_and_history_audio(s3_server, seaweedfs, prefix, no_blob_left):
    with s3_server.client() as client:
        voices = client.get("/v1/tts/voices", params={"take": 100}).json()["data"]
        emma = next(v["id"] for v in voices if v["name"] == "Emma")
        created = client.post("/v1/jobs/text-to-speech", json={
            "voiceId": emma, "text": "The museum opens at nine."})
        assert created.status_code == 200, created.text
        job = wait_for_job(client, created.json()["data"]["id"])["data"]
        history = client.post("/v2/tts/histories", json={"ttsVoiceId": emma,
                                                          "script": "Good morning."})
        assert history.status_code == 200, history.text
        [entry] = history.json()["data"]
    assert job["status"] == "COMPLETED", job
    audio = httpx.get(job["mediaUrl"], timeout=30)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert audio.content[:4] == b"RIFF"
    assert audio.content == stored(seaweedfs, prefix, f"jobs/{job['id']}/speech.wav")
    tail = httpx.get(job["mediaUrl"], headers={"Range": "bytes=-100"}, timeout=30)
    assert tail.status_code == 206 and tail.content == audio.content[-100:]
    spoken = httpx.get(entry["audio"], timeout=30)
    assert spoken.status_code == 200 and spoken.content[:4] == b"RIFF"
    [key] = [k for k in seaweedfs.keys(f"{prefix}/histories/") if k.endswith(
        f"{entry['id']}.wav")]
    assert stored(seaweedfs, prefix, key.removeprefix(f"{prefix}/")) == spoken.content
    download = httpx.get(entry["downloadUrl"], timeout=30)
    assert "attachment" in download.headers["content-disposition"]


def test_knowledge_base_files(s3_server, seaweedfs, prefix, no_blob_left):
    note = b"The rooftop garden is open to visitors every Friday afternoon."
    with s3_server.client() as client:
        project = client.get("/v1/projects/by-api-key").json()["data"]["id"]
        sent = client.post(KB, files=[("file", ("garden.txt", note, "text/plain"))])
        assert sent.status_code == 200, sent.text
        upload = client.post("/v1/media", files={"file": ("tours.txt", b"Guided tours leave "
                                                          b"the lobby at noon daily.",
                                                          "text/plain")}).json()["data"]
        linked = client.post(KB, json={"items": [{"type": "FILE", "itemName": "Tours",
                                                  "itemUrl": upload["mediaUrl"]}]})
        assert linked.status_code == 200, linked.text
        items = [*sent.json()["data"], *linked.json()["data"]]
        for item in items:
            assert wait_for_job(client, item["jobId"])["data"]["status"] == "COMPLETED"
        for item, text in zip(items, (note, b"Guided tours"), strict=True):
            assert stored(seaweedfs, prefix, f"knowledge/{project}/{item['id']}/source.txt"
                          ).startswith(text)
        found = client.post(f"{KB}/search", json={"query": "rooftop garden Friday"})
        assert found.json()["data"]["results"][0]["itemId"] == items[0]["id"]
        assert client.delete(f"{KB}/{items[0]['id']}").status_code == 200
    wait_until(lambda: not seaweedfs.keys(f"{prefix}/knowledge/{project}/{items[0]['id']}/"), 10,
               what="the deleted item's file to leave the bucket")


def test_conversation_recording(s3_server, seaweedfs, prefix, no_blob_left):
    with FakeLlmServer() as llm, s3_server.client() as client:
        agent = client.post("/v1/voice-agents", json={
            "agentName": "Recorder", "lang": "en", "greetingMessage": "Hello there.",
            "preamble": "You answer briefly.", "llmConfig": {"baseUrl": llm.base_url,
                                                           "model": "test-model"}})
        assert agent.status_code == 200, agent.text
        init = client.post("/v1/voice-agents/conversation-init",
                           json={"voiceAgentId": agent.json()["data"]["id"]})
        job_id = init.json()["data"]["jobId"]
        url = f"{s3_server.base_url.replace('http', 'ws')}/stream/{job_id}?api_key={s3_server.key}"

        async def call() -> None:
            async with SdkSocket(url) as sdk:
                await sdk.start()
                await sdk.wait_for("answer", 30)
                await sdk.silence(1.5)  # the greeting plays out, and is recorded
                await sdk.send({"event": "stop"})
                await sdk.wait_closed(10)

        asyncio.run(call())
        record = wait_until(lambda: (r := client.get(
            f"/v1/voice-agents/conversation/{job_id}", params={"jobId": job_id}
        ).json()["data"])["status"] not in ("PENDING", "IN_PROGRESS") and r, 30,
            what="the conversation to end")
    assert record["status"] == "COMPLETED", record
    recording = httpx.get(record["mediaUrl"], timeout=30)
    assert recording.status_code == 200
    assert recording.content == stored(seaweedfs, prefix, f"jobs/{job_id}/recording.wav")
    with wave.open(io.BytesIO(recording.content)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, 16_000)
        assert wav.getnframes() > 16_000  # more than a second of the call


def test_a_wrong_secret_stops_the_start_naming_the_setting(seaweedfs, tmp_path):
    env = {**seaweedfs.env("x"), "HAMS_S3_SECRET_ACCESS_KEY": "wrong"}
    started = run_cli(tmp_path / "data", "serve", "--port", str(free_port()), env=env)
    assert started.returncode == 1
    assert "HAMS_S3_SECRET_ACCESS_KEY" in started.stderr, started.stderr
    assert not (tmp_path / "data" / "blobs").exists()

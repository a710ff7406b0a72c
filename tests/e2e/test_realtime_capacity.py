"""Realtime capacity on a server with a pool of one and a queue of one: bursts get 429 (REST)
or an error frame (WebSocket), never unbounded waiting; idle sockets are closed."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time

import httpx
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from hams.runtime import build_runtime
from hams.services import keys
from hams.settings import Settings
from tests.helpers.server import run_cli, start_server
from tests.helpers.speech import SPEECH_SENTENCES, speech_samples, synthesize_speech, wav_bytes


@pytest.fixture(scope="module")
def tight_server(tmp_path_factory):
    process = start_server(tmp_path_factory.mktemp("tight"), workers=0, env={
        "HAMS_REALTIME_POOL_SIZE": "1", "HAMS_REALTIME_QUEUE_SIZE": "1",
        "HAMS_REALTIME_RETRY_AFTER_SECONDS": "2", "HAMS_REALTIME_WS_IDLE_SECONDS": "3",
        "HAMS_REALTIME_WS_PING_SECONDS": "0.3", "HAMS_REALTIME_WS_REAUTH_SECONDS": "0.2",
    })
    yield process
    process.stop()


@pytest.fixture(scope="module")
def long_utterance(tmp_path_factory) -> str:
    path = synthesize_speech(SPEECH_SENTENCES, tmp_path_factory.mktemp("cap") / "long.wav")
    return base64.b64encode(wav_bytes(speech_samples(path))).decode()


def revoke_in_process(server, key_id: str) -> None:
    """Revoke through the keys service on the server's own database."""
    runtime = build_runtime(Settings(data_dir=server.data_dir, stt_model="bundled-tiny.en"),
                            migrate=False)
    try:
        with runtime.db.session() as session:
            keys.revoke_key(session, key_id)
    finally:
        runtime.db.dispose()


def ws_url(server) -> str:
    return server.base_url.replace("http://", "ws://") + f"/v1/realtime/ws?api_key={server.key}"


def test_a_burst_gets_some_429s_and_everything_else_succeeds(tight_server, long_utterance):
    body = {"audioBase64": long_utterance, "language": "en"}
    with tight_server.client() as client:  # load the model before the burst
        assert client.post("/v1/realtime/stt", json=body).status_code == 200
    results: list[httpx.Response] = []
    frames: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(9)

    def rest_call() -> None:
        with tight_server.client() as client:
            start.wait()
            results.append(client.post("/v1/realtime/stt", json=body))

    def ws_call() -> None:
        with connect(ws_url(tight_server)) as ws:
            ws.recv(timeout=30)  # info
            start.wait()
            ws.send(json.dumps({"type": "stt", "payload": body}))
            frames.append(ws.recv(timeout=120))

    def guarded(call) -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(rest_call,)) for _ in range(6)]
    threads += [threading.Thread(target=guarded, args=(ws_call,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures
    assert len(results) == 6 and len(frames) == 3

    busy = [r for r in results if r.status_code == 429]
    served = [r for r in results if r.status_code == 200]
    assert len(busy) + len(served) == 6, [r.status_code for r in results]
    busy_frames = [json.loads(f) for f in frames if f.startswith("{")]
    transcripts = [f for f in frames if not f.startswith("{")]
    # nine requests against room for two at a time: some must have been turned away
    assert len(busy) + len(busy_frames) >= 1
    assert len(served) + len(transcripts) >= 2
    for response in busy:
        assert response.headers["Retry-After"] == "2"
        assert response.json()["messageKey"] == "REALTIME_BUSY"
        assert "HAMS_REALTIME_POOL_SIZE" in response.json()["message"]
    for response in served:
        assert "finance team" in response.json()["text"].lower()
    for error in busy_frames:
        assert error["type"] == "error" and error["payload"]["messageKey"] == "REALTIME_BUSY"
        assert error["payload"]["retryAfter"] == 2
    for text in transcripts:
        assert "finance team" in text.lower()
    # the server is still healthy and serves the next request
    with tight_server.client() as client:
        assert client.get("/health").status_code == 200
        assert client.post("/v1/realtime/stt", json=body).status_code == 200


def test_synthesis_shares_the_pool_with_recognition(tight_server):
    """Streams and whole-WAV synthesis are admitted by the same pool: a burst of them gets
    429s too, and every admitted one returns real audio."""
    text = ("Welcome to customer service. We will help you book your next appointment. "
            "Thank you for choosing us today.")
    body = {"text": text, "speaker": "James", "dialect": "en"}  # Piper: hundreds of ms
    with tight_server.client() as client:
        assert client.post("/v1/realtime/tts", json=body).status_code == 200  # warm-up
    results: list[httpx.Response] = []
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def call(path: str) -> None:
        try:
            with tight_server.client() as client:
                start.wait()
                results.append(client.post(path, json=body))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=call, args=(path,))
               for path in ["/v1/realtime/tts", "/v1/realtime/tts-stream"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures and len(results) == 8, failures
    busy = [r for r in results if r.status_code == 429]
    served = [r for r in results if r.status_code == 200]
    assert len(busy) + len(served) == 8 and busy and len(served) >= 2
    for response in busy:
        assert response.json()["messageKey"] == "REALTIME_BUSY"
        assert response.headers["Retry-After"] == "2"
    for response in served:
        assert response.content[:4] == b"RIFF" and len(response.content) > 16_000
    with tight_server.client() as client:
        assert client.post("/v1/realtime/tts", json=body).status_code == 200


def test_a_revoked_key_stops_working_on_an_open_socket(tight_server):
    created = run_cli(tight_server.data_dir, "keys", "create", "--name", "short-lived",
                      "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout.strip().splitlines()[-1])
    secret, key_id = key["key"], key["id"]
    url = tight_server.base_url.replace("http://", "ws://") + f"/v1/realtime/ws?api_key={secret}"
    with connect(url) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "info"
        revoke_in_process(tight_server, key_id)  # quick: the socket must not idle out first
        time.sleep(0.3)  # past HAMS_REALTIME_WS_REAUTH_SECONDS
        ws.send(json.dumps({"type": "stt", "payload": {"audioList": [0.0] * 1600,
                                                       "language": "en"}}))
        error = json.loads(ws.recv(timeout=10))
        assert error["type"] == "error" and error["payload"]["messageKey"] == "UNAUTHORIZED"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1008


def test_an_idle_socket_is_closed(tight_server):
    with connect(ws_url(tight_server)) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "info"
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd.code == 1000 and closed.value.rcvd.reason == "idle timeout"
    assert time.monotonic() - started < 20


def test_the_server_pings_every_socket(tight_server):
    """A bare client that never answers pings sees the server's ping frames (opcode 9)."""
    host, port = tight_server.base_url.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall((f"GET /v1/realtime/ws?api_key={tight_server.key} HTTP/1.1\r\n"
                      f"Host: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                      ).encode())
        stream = conn.makefile("rb")
        assert b" 101 " in stream.readline()
        while stream.readline() not in (b"\r\n", b""):
            pass
        opcodes = []
        deadline = time.monotonic() + 10
        while 0x9 not in opcodes and time.monotonic() < deadline:
            head = stream.read(2)
            if len(head) < 2:
                break
            length = head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(stream.read(2), "big")
            elif length == 127:
                length = int.from_bytes(stream.read(8), "big")
            stream.read(length)
            opcodes.append(head[0] & 0x0F)
    assert opcodes[0] == 0x1  # the info frame
    assert 0x9 in opcodes, opcodes


def test_a_long_request_does_not_starve_the_keepalive(tight_server, long_utterance):
    """Pings every 0.3 s, dropped after 1.2 s without a pong: a request that takes longer is
    still answered, because the server keeps reading (and so sees the pongs) meanwhile."""
    samples = np.frombuffer(base64.b64decode(long_utterance)[44:], dtype="<i2")
    thrice = base64.b64encode(wav_bytes(np.tile(samples, 3).astype(np.float32) / 32768))
    body = {"audioBase64": thrice.decode(), "language": "en"}  # about 28 s of speech
    with connect(ws_url(tight_server)) as ws:
        ws.recv(timeout=10)
        started = time.monotonic()
        ws.send(json.dumps({"type": "stt", "payload": body}))
        # a second request waits, unread by the application, while the first one runs
        ws.send(json.dumps({"type": "stt", "payload": {"audioList": [0.0] * 1600,
                                                       "language": "en"}}))
        answers = [ws.recv(timeout=120) for _ in range(2)]
        elapsed = time.monotonic() - started
    assert elapsed > 3, elapsed  # far past the 1.2 s a starved keepalive allows
    assert answers[0].lower().count("finance team") == 3 and answers[1] == "", answers

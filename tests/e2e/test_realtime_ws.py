"""The realtime WebSocket on a real server, with a real WebSocket client (``websockets``)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from hams.media.wav import decode_mulaw
from tests.helpers.speech import (
    SPEECH_SENTENCES,
    speech_samples,
    synthesize_speech,
    wav_bytes,
)
from tests.helpers.speech import word_error_rate as wer
from tests.helpers.wait import wait_until

SPOKEN = SPEECH_SENTENCES[2:]
TTS_TEXT = "Please send the report to the finance team before Friday."


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    path = synthesize_speech(SPOKEN, tmp_path_factory.mktemp("ws") / "ws.wav")
    return speech_samples(path)


def ws_url(server, **query) -> str:
    url = server.base_url.replace("http://", "ws://") + "/v1/realtime/ws"
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def receive_json(ws) -> dict:
    frame = ws.recv(timeout=60)
    assert isinstance(frame, str), frame[:40]
    return json.loads(frame)


def stt_message(samples: np.ndarray, **extra) -> str:
    return json.dumps({"type": "stt", "payload": {
        "audioBase64": base64.b64encode(wav_bytes(samples)).decode(), "language": "en",
        **extra}})


def tts_audio(ws, **payload) -> tuple[dict, bytes, dict]:
    """Send a tts request; the ack, the audio bytes and the end frame."""
    ws.send(json.dumps({"type": "tts", "payload": payload}))
    ack = receive_json(ws)
    audio = b""
    while True:
        frame = ws.recv(timeout=60)
        if isinstance(frame, bytes):
            audio += frame
            continue
        return ack, audio, json.loads(frame)


def test_info_on_connect_then_tts_audio_round_trips_through_stt(server):
    with connect(ws_url(server, api_key=server.key)) as ws:
        info = receive_json(ws)
        assert info == {"type": "info",
                        "payload": {"message": "Connected to realtime WebSocket server"}}
        ack, audio, end = tts_audio(ws, text=TTS_TEXT, speaker="James", dialect="en",
                                    languageId="en", mulaw=False)
        assert ack["type"] == "ack" and end == {"type": "end",
                                                "payload": {"message": "End of TTS stream"}}
        pcm = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768
        assert 1.5 < pcm.size / 16_000 < 10  # PCM16 at 16 kHz, no header
        ws.send(json.dumps({"type": "stt", "payload": {"audioList": pcm.tolist(),
                                                       "language": "en"}}))
        transcript = ws.recv(timeout=60)
    assert isinstance(transcript, str) and not transcript.startswith("{")
    assert wer(TTS_TEXT, transcript) < 0.35, transcript


def test_mulaw_tts_is_8khz_mulaw(server):
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        _, pcm16, _ = tts_audio(ws, text="Good morning.", speaker="Emma", dialect="en")
        _, mulaw, end = tts_audio(ws, text="Good morning.", speaker="Emma", dialect="en",
                                  mulaw=True)
    assert end["type"] == "end"
    # one byte per sample at 8 kHz against two at 16 kHz: the same duration (Piper's own
    # timing varies a little from run to run)
    assert len(mulaw) / 8_000 == pytest.approx(len(pcm16) / 2 / 16_000, rel=0.2)
    decoded = decode_mulaw(mulaw)
    assert decoded.size == len(mulaw) and np.abs(decoded).max() > 1000


def test_stt_answers_a_plain_text_frame_and_an_error_keeps_the_socket(server, samples):
    with connect(ws_url(server), additional_headers={"X-Api-Key": server.key}) as ws:
        receive_json(ws)
        ws.send(json.dumps({"type": "stt", "payload": {
            "audioBase64": base64.b64encode(b"RIFF....WAVEjunk" * 10).decode(),
            "language": "en"}}))
        error = receive_json(ws)
        assert error["type"] == "error" and error["payload"]["messageKey"] == "UNSUPPORTED_MEDIA"
        ws.send("this is not json")
        assert receive_json(ws)["payload"]["messageKey"] == "INVALID_MESSAGE"
        ws.send(json.dumps({"type": "dance", "payload": {}}))
        assert receive_json(ws)["payload"]["messageKey"] == "UNKNOWN_MESSAGE_TYPE"
        ws.send(json.dumps({"type": "tts", "payload": {"speaker": "James"}}))
        assert receive_json(ws)["payload"]["messageKey"] == "VALIDATION_ERROR"
        ws.send(stt_message(samples))
        transcript = ws.recv(timeout=60)
    assert wer(" ".join(SPOKEN), transcript) < 0.3, transcript


def test_spekoai_gateway_expectations(server, samples):
    """Key only in the query; skip typed JSON frames; the first other frame is the text."""
    with connect(ws_url(server, api_key=server.key)) as ws:
        ws.send(stt_message(np.concatenate([samples, np.zeros(16_000, np.float32)]),
                            model="s3", isEosEnabled=True, eosThreshold=0.3))
        frames = []
        while True:
            frame = ws.recv(timeout=60)
            frames.append(frame)
            if isinstance(frame, str) and frame.startswith("{") and "type" in json.loads(frame):
                continue
            if isinstance(frame, str) and frame.startswith("["):
                continue
            break
        eos = receive_json(ws)
    assert json.loads(frames[0])["type"] == "info"
    assert wer(" ".join(SPOKEN), frames[-1]) < 0.3
    assert eos["type"] == "eos" and eos["payload"]["isEos"] is True


def test_livekit_plugin_sends_query_and_token_header(server):
    headers = {"Authorization": f"Token {server.key}"}
    with connect(ws_url(server, api_key=server.key), additional_headers=headers) as ws:
        assert receive_json(ws)["type"] == "info"
        ack, audio, end = tts_audio(ws, text="مرحبا بكم", speaker="Salem", dialect="modern",
                                    languageId="ar", mulaw=False)
    assert ack["type"] == "ack" and end["type"] == "end" and len(audio) > 8000


def test_a_bad_key_gets_an_error_and_a_policy_close(server):
    with connect(ws_url(server, api_key="nope")) as ws:
        error = receive_json(ws)
        assert error["type"] == "error" and error["payload"]["messageKey"] == "UNAUTHORIZED"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 1008


def test_many_requests_on_one_connection_are_answered_in_order(server, samples):
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        ws.send(json.dumps({"type": "tts", "payload": {"text": "One.", "speaker": "Emma",
                                                       "dialect": "en"}}))
        ws.send(stt_message(samples))
        ws.send(json.dumps({"type": "tts", "payload": {"text": "Two.", "speaker": "Emma",
                                                       "dialect": "en"}}))
        kinds = []
        while len([k for k in kinds if k in ("end", "text")]) < 3:
            frame = ws.recv(timeout=60)
            if isinstance(frame, bytes):
                if kinds[-1] != "audio":
                    kinds.append("audio")
                continue
            kinds.append(json.loads(frame)["type"] if frame.startswith("{") else "text")
    assert kinds == ["ack", "audio", "end", "text", "ack", "audio", "end"]


def test_streaming_stt_gives_partials_eos_and_a_final(server, samples):
    audio = np.concatenate([samples, np.zeros(24_000, np.float32)])
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        ws.send(json.dumps({"type": "stt_stream_start", "payload": {
            "language": "en", "sampleRate": 16000, "isEosEnabled": True}}))
        assert receive_json(ws)["type"] == "ack"
        step = 8_000  # 0.25 s of PCM16
        for start in range(0, len(pcm), step):
            ws.send(pcm[start:start + step])
        ws.send(json.dumps({"type": "stt_stream_end", "payload": {}}))
        events = []
        while not events or events[-1]["type"] != "final":
            events.append(receive_json(ws))
    partials = [e for e in events if e["type"] == "partial"]
    assert len(partials) >= 2
    assert [e["payload"]["duration"] for e in partials] == sorted(
        e["payload"]["duration"] for e in partials)
    assert any(e["type"] == "eos" and e["payload"]["isEos"] for e in events)
    final = events[-1]["payload"]
    assert wer(" ".join(SPOKEN), final["text"]) < 0.3, final
    assert final["isEos"] is True and final["duration"] == pytest.approx(audio.size / 16_000,
                                                                         abs=0.01)


def test_audio_frames_without_a_stream_are_an_error(server):
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        ws.send(b"\x00\x00" * 100)
        assert receive_json(ws)["payload"]["messageKey"] == "NO_STREAM"
        ws.send(json.dumps({"type": "stt_stream_end"}))
        assert receive_json(ws)["payload"]["messageKey"] == "NO_STREAM"


def test_every_realtime_synthesis_records_its_usage(server):
    def rows() -> list[tuple]:
        return server.rows("SELECT audio_seconds, characters, model FROM usage_records "
                           "WHERE kind = 'realtime_tts' ORDER BY created_at")

    before = len(rows())
    text = "Usage is counted."
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        _, audio, _ = tts_audio(ws, text=text, speaker="Emma", dialect="en")
    body = {"text": text, "speaker": "Emma", "dialect": "en"}
    with server.client() as client:
        wav = client.post("/v1/realtime/tts", json=body)
        stream = client.post("/v1/realtime/tts-stream", json={**body, "mulaw": True})
    assert wav.status_code == stream.status_code == 200
    # streamed usage is written just after the last byte
    wait_until(lambda: len(rows()) >= before + 3, timeout=10, what="three new usage rows")
    recorded = rows()[before:]
    assert [r[1] for r in recorded] == [len(text)] * 3
    seconds = sorted(r[0] for r in recorded)
    expected = sorted([len(audio) / 2 / 16_000, float(wav.headers["X-Audio-Duration"]),
                       (len(stream.content) - 44) / 8_000])
    assert seconds == pytest.approx(expected, abs=0.01)
    assert all(r[2] for r in recorded)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def run_stream(ws, frames: list[bytes], **start) -> list[dict]:
    ws.send(json.dumps({"type": "stt_stream_start", "payload": {"language": "en", **start}}))
    assert receive_json(ws)["type"] == "ack"
    for frame in frames:
        ws.send(frame)
    ws.send(json.dumps({"type": "stt_stream_end", "payload": {}}))
    events = []
    while not events or events[-1]["type"] not in ("final", "error"):
        events.append(receive_json(ws))
    return events


def test_an_8khz_stream_in_odd_sized_frames(server, samples):
    from hams.media.wav import resample

    at_8k = resample((np.clip(samples, -1, 1) * 32767).astype(np.int16), 16_000, 8_000)
    data = at_8k.astype("<i2").tobytes()
    frames = [data[i:i + 1601] for i in range(0, len(data), 1601)]  # odd: samples split
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        events = run_stream(ws, frames, sampleRate=8000)
    final = events[-1]
    assert final["type"] == "final", events
    assert wer(" ".join(SPOKEN), final["payload"]["text"]) < 0.35, final
    assert final["payload"]["duration"] == pytest.approx(at_8k.size / 8_000, abs=0.01)
    assert "isEos" not in final["payload"]  # not asked for


def test_stream_protocol_errors(server):
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        start = json.dumps({"type": "stt_stream_start", "payload": {"language": "en"}})
        ws.send(start)
        assert receive_json(ws)["type"] == "ack"
        ws.send(start)
        assert receive_json(ws)["payload"]["messageKey"] == "STREAM_ALREADY_OPEN"
        ws.send(json.dumps({"type": "stt_stream_end"}))
        assert receive_json(ws)["type"] == "final"
        for payload in ({"sampleRate": [16000]}, {"sampleRate": 44100},
                        {"isEosEnabled": "maybe"}, {"language": 5}):
            ws.send(json.dumps({"type": "stt_stream_start", "payload": payload}))
            assert receive_json(ws)["payload"]["messageKey"] == "VALIDATION_ERROR", payload
        for message in ({"type": "stt", "payload": []}, {"type": "stt", "payload": 0},
                        ["stt"]):
            ws.send(json.dumps(message))
            assert receive_json(ws)["payload"]["messageKey"] == "INVALID_MESSAGE", message
        ws.send(json.dumps({"type": "stt", "payload": {"audioList": [0.0] * 1600,
                                                       "language": "en", "model": 7,
                                                       "isEosEnabled": "false"}}))
        assert ws.recv(timeout=60) == ""  # silence has no words; odd model type is ignored


def test_a_stream_over_the_limit_is_dropped_with_one_error(server):
    second = pcm16(np.zeros(16_000, np.float32))
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        ws.send(json.dumps({"type": "stt_stream_start", "payload": {"language": "en"}}))
        assert receive_json(ws)["type"] == "ack"
        for _ in range(62):  # the limit is 60 s
            ws.send(second)
        ws.send(json.dumps({"type": "stt_stream_end"}))
        frames = []
        while True:
            frame = receive_json(ws)
            frames.append(frame)
            if frame["type"] == "error" and "nothing to finish" in frame["payload"]["message"]:
                break
    errors = [f for f in frames if f["type"] == "error"]
    assert len(errors) == 2 and errors[0]["payload"]["messageKey"] == "PAYLOAD_TOO_LARGE"
    assert all(f["type"] in ("partial", "error") for f in frames)


def test_websocket_stt_and_streams_record_usage(server, samples):
    def rows() -> list[tuple]:
        return server.rows("SELECT audio_seconds, characters FROM usage_records "
                           "WHERE kind = 'realtime_stt' ORDER BY created_at")

    before = len(rows())
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
        ws.send(stt_message(samples))
        text = ws.recv(timeout=60)
        final = run_stream(ws, [pcm16(samples)])[-1]["payload"]
    recorded = rows()[before:]
    assert recorded == [(pytest.approx(samples.size / 16_000, abs=0.01), len(text)),
                        (pytest.approx(final["duration"], abs=0.01), len(final["text"]))]


@pytest.mark.parametrize("headers, query", [({}, {}), ({"Authorization": "Bearer nope"}, {})])
def test_no_or_wrong_key_is_refused(server, headers, query):
    with connect(ws_url(server, **query), additional_headers=headers) as ws:
        assert receive_json(ws)["payload"]["messageKey"] == "UNAUTHORIZED"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)


def test_bearer_header_is_accepted(server):
    with connect(ws_url(server), additional_headers={"Authorization": f"Bearer {server.key}"}
                 ) as ws:
        assert receive_json(ws)["type"] == "info"


def test_the_api_key_never_reaches_the_server_log(server):
    with connect(ws_url(server, api_key=server.key)) as ws:
        receive_json(ws)
    log = server.log()
    assert "/v1/realtime/ws" in log and "api_key=[redacted]" in log
    assert server.key not in log

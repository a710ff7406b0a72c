"""Realtime speech to text on a real server: POST /v1/realtime/stt as every client sends it."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

from tests.helpers.speech import (
    SPEECH_SENTENCES,
    mid_word_cut,
    speech_samples,
    synthesize_speech,
    wav_bytes,
    word_error_rate,
)

SPOKEN = SPEECH_SENTENCES[:2]


def wer(text: str) -> float:
    return word_error_rate(" ".join(SPOKEN), text)


@pytest.fixture(scope="module")
def utterance(tmp_path_factory):
    """Two sentences from the Piper voice, as 16 kHz samples."""
    path = synthesize_speech(SPOKEN, tmp_path_factory.mktemp("rt") / "utterance.wav")
    return path, speech_samples(path)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def usage_rows(server, kind: str) -> list[tuple]:
    return server.rows("SELECT audio_seconds, characters FROM usage_records WHERE kind = ?",
                       kind)


def test_livekit_plugin_request_reads_success_and_data_text(server, utterance):
    path, _ = utterance
    with server.client() as client:
        before = len(usage_rows(server, "realtime_stt"))
        response = client.post("/v1/realtime/stt", headers={"User-Agent": "LiveKit Agents"},
                               json={"audioBase64": b64(path.read_bytes()), "language": "en",
                                     "isEosEnabled": False, "eosThreshold": 0.3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["text"] == body["data"]["text"]
    assert wer(body["data"]["text"]) < 0.3, body
    assert "isEos" not in body["data"] and "eos" not in body
    rows = usage_rows(server, "realtime_stt")
    assert len(rows) == before + 1
    assert rows[-1][0] == pytest.approx(body["data"]["duration"], abs=0.01)
    assert rows[-1][1] == len(body["text"])


def test_pipecat_request_reads_top_level_text(server, utterance):
    _, samples = utterance
    with server.client() as client:
        response = client.post("/v1/realtime/stt", json={
            "audioBase64": b64(wav_bytes(samples)), "language": "en", "eos_threshold": 0.3})
    assert response.status_code == 200 and wer(response.json()["text"]) < 0.3


def test_audio_list_gives_the_same_text(server, utterance):
    path, samples = utterance
    wav = wav_bytes(samples)  # PCM16: the list carries exactly the samples the WAV holds
    heard = np.frombuffer(wav[44:], dtype="<i2").astype(np.float32) / 32768
    with server.client() as client:
        from_wav = client.post("/v1/realtime/stt", json={
            "audioBase64": b64(wav), "language": "en"}).json()
        from_list = client.post("/v1/realtime/stt", json={
            "audioList": heard.tolist(), "language": "en"}).json()
    assert from_list["text"] == from_wav["text"] and from_list["text"]


def test_end_of_speech_after_silence_but_not_mid_word(server, utterance):
    _, samples = utterance
    finished = np.concatenate([samples, np.zeros(16_000, np.float32)])
    cut = samples[: mid_word_cut(samples)]
    with server.client() as client:
        ended = client.post("/v1/realtime/stt", json={
            "audioBase64": b64(wav_bytes(finished)), "language": "en",
            "isEosEnabled": True}).json()
        speaking = client.post("/v1/realtime/stt", json={
            "audioBase64": b64(wav_bytes(cut)), "language": "en", "isEosEnabled": True}).json()
    assert ended["data"]["isEos"] is True and ended["eos"] is True and ended["isEos"] is True
    assert ended["data"]["eosProbability"] > 0.3
    assert speaking["data"]["isEos"] is False and speaking["data"]["eosProbability"] < 0.3
    assert wer(ended["text"]) < 0.3


@pytest.mark.parametrize("body, status, key", [
    ({"audioBase64": "not base64 at all!", "language": "en"}, 400, "VALIDATION_ERROR"),
    ({"audioBase64": base64.b64encode(b"hello, not audio" * 20).decode(), "language": "en"},
     415, "UNSUPPORTED_MEDIA"),
    ({"language": "en"}, 400, "VALIDATION_ERROR"),
    ({"audioList": [0.0] * 10, "audioBase64": "AAAA", "language": "en"}, 400,
     "VALIDATION_ERROR"),
    ({"audioList": [0.0] * 1600, "language": "fr"}, 400, "UNSUPPORTED_LANGUAGE"),
    ({"audioList": [0.0] * 1600}, 400, "UNSUPPORTED_LANGUAGE"),  # ar on tiny.en
    ({"audioList": [0.0] * 1600, "language": "en", "eosThreshold": 2}, 400,
     "VALIDATION_ERROR"),
    ({"audioList": [], "language": "en"}, 400, "EMPTY_AUDIO"),
    ({"audioList": [0.0] * (61 * 16_000), "language": "en"}, 413, "PAYLOAD_TOO_LARGE"),
])
def test_bad_requests_get_clear_errors(server, body, status, key):
    with server.client() as client:
        response = client.post("/v1/realtime/stt", json=body)
    assert response.status_code == status, response.text
    assert response.json()["success"] is False and response.json()["messageKey"] == key


def test_arabic_refusal_names_the_setting(server):
    with server.client() as client:
        refused = client.post("/v1/realtime/stt", json={"audioList": [0.0] * 1600})
    assert "HAMS_STT_MODEL" in refused.json()["message"]


def test_no_key_no_transcription(server):
    with server.client(key="wrong") as client:
        assert client.post("/v1/realtime/stt", json={"audioList": [0.0]}).status_code == 401


def test_other_containers_pyav_decodes_are_accepted(server, utterance):
    """An Ogg/Opus file at 48 kHz (no WAV fast path) goes through PyAV."""
    import av

    _, samples = utterance
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000, layout="mono")
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16_000
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48_000)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    assert buffer.getvalue()[:4] == b"OggS"
    with server.client() as client:
        response = client.post("/v1/realtime/stt", json={
            "audioBase64": b64(buffer.getvalue()), "language": "en"})
    assert response.status_code == 200, response.text
    assert wer(response.json()["text"]) < 0.3


def hostile_wav(rate: int, frames_claimed: int | None = None) -> bytes:
    import struct

    data = b"\x00\x01" * 1000
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    size = len(data) if frames_claimed is None else frames_claimed * 2
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " +
            struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", size) + data)


@pytest.mark.parametrize("wav, status", [
    (hostile_wav(1), 415), (hostile_wav(0), 415),
    (hostile_wav(16_000, frames_claimed=16_000 * 3600), 413),
])
def test_a_hostile_wav_header_is_refused_before_anything_is_allocated(server, wav, status):
    with server.client() as client:
        response = client.post("/v1/realtime/stt", json={"audioBase64": b64(wav),
                                                          "language": "en"})
        assert response.status_code == status, response.text
        assert client.get("/health").status_code == 200

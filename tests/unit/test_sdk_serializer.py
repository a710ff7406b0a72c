"""The voice SDK's wire as a Pipecat serializer: what the SDK sends becomes frames, what the
pipeline makes becomes the SDK's events, and bad frames become reports, never crashes."""

from __future__ import annotations

import asyncio
import base64
import json

import numpy as np
from pipecat.frames.frames import (
    InputAudioRawFrame,
    InputTransportMessageFrame,
    InterruptionFrame,
    OutputAudioRawFrame,
    OutputTransportMessageUrgentFrame,
)

from hams.agents.serializer import HamsaSdkSerializer


def run(coroutine):
    return asyncio.run(coroutine)


def media(samples: np.ndarray, **extra) -> str:
    payload = base64.b64encode(samples.astype("<f4").tobytes()).decode()
    return json.dumps({"event": "media", "streamSid": "WEBSDK", "media": {"payload": payload,
                                                                         **extra}})


def test_float32_media_becomes_16khz_pcm16_audio_in_32ms_blocks():
    serializer = HamsaSdkSerializer()
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, np.nan] + [0.0] * 121, np.float32)
    quiet = np.zeros(128, np.float32)
    held = [run(serializer.deserialize(media(s))) for s in (samples, quiet, quiet)]
    assert held == [None, None, None]  # the SDK's 8 ms frames, gathered
    frame = run(serializer.deserialize(media(quiet)))
    assert isinstance(frame, InputAudioRawFrame)
    assert (frame.sample_rate, frame.num_channels, len(frame.audio)) == (16_000, 1, 1024)
    pcm = np.frombuffer(frame.audio, "<i2")
    assert pcm[:7].tolist() == [0, 16384, -16384, 32767, -32767, 32767, 0]


def test_a_declared_rate_is_resampled_to_16khz():
    serializer = HamsaSdkSerializer()
    run(serializer.deserialize(json.dumps({"event": "start", "sampleRate": 48_000})))
    tone = np.sin(np.arange(4800) / 48_000 * 2 * np.pi * 440).astype(np.float32) * 0.5
    frames = [run(serializer.deserialize(media(tone[i:i + 480]))) for i in range(0, 4800, 480)]
    total = sum(len(f.audio) // 2 for f in frames if f is not None)
    assert 600 <= total <= 1600  # 0.1 s at 16 kHz, less what the resampler and batch hold


def test_control_events_reach_the_pipeline_as_messages():
    serializer = HamsaSdkSerializer()
    for event in ("start", "stop", "mark", "tools_response"):
        frame = run(serializer.deserialize(json.dumps({"event": event})))
        assert isinstance(frame, InputTransportMessageFrame)
        assert frame.message["event"] == event


def test_bad_frames_are_reported_not_raised():
    serializer = HamsaSdkSerializer()
    bad = ["not json", json.dumps([1, 2]), json.dumps({"event": "dance"}),
           json.dumps({"event": "media"}), json.dumps({"event": "media", "media": {
               "payload": "%%%"}}), json.dumps({"event": "media", "media": {
                   "payload": base64.b64encode(b"abc").decode()}}),
           media(np.zeros(20_000, np.float32)), b"\x00\x01"]
    for data in bad:
        frame = run(serializer.deserialize(data))
        assert isinstance(frame, InputTransportMessageFrame), data
        assert frame.message["event"] == "malformed" and frame.message["reason"]


def test_audio_far_ahead_of_real_time_is_dropped():
    serializer = HamsaSdkSerializer()
    second = np.zeros(16_000, np.float32)
    results = [run(serializer.deserialize(media(second))) for _ in range(14)]
    audio = [r for r in results if isinstance(r, InputAudioRawFrame)]
    reports = [r for r in results if isinstance(r, InputTransportMessageFrame)]
    assert len(audio) == 10  # MAX_AHEAD_SECONDS of audio (a second is a whole batch)
    assert len(reports) == 1 and "faster than real time" in reports[0].message["reason"]


def test_pipeline_output_becomes_the_sdk_events():
    serializer = HamsaSdkSerializer()
    pcm = np.array([1, -2, 300], "<i2").tobytes()
    sent = json.loads(run(serializer.serialize(OutputAudioRawFrame(pcm, 16_000, 1))))
    assert sent["event"] == "media" and base64.b64decode(sent["media"]["payload"]) == pcm
    assert json.loads(run(serializer.serialize(InterruptionFrame())))["event"] == "clear"
    message = {"event": "answer", "content": "مرحبا"}
    sent = run(serializer.serialize(OutputTransportMessageUrgentFrame(message=message)))
    assert json.loads(sent) == message and "مرحبا" in sent

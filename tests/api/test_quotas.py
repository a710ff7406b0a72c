"""Monthly quotas on SQLite and PostgreSQL: the request that would exceed one is refused with
402 and a key naming the quota; the ones before it succeed; accepted but unfinished jobs
count; last month does not."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from hams.db.models import Job, Project, UsageRecord, utcnow
from hams.runtime import Runtime
from hams.services import quotas
from hams.worker.runner import Worker
from tests.factories import api_client, make_job
from tests.helpers.speech import wav_bytes

TEXT = "Ten chars."  # 10 characters
TRANSCRIBE = {"mediaUrl": "http://127.0.0.1:1/audio.wav", "model": "Hamsa-General-V2.0",
              "processingType": "async", "isEosEnabled": False, "language": "en",
              "title": "quota"}


def set_quota(runtime: Runtime, project_id: str, quota: quotas.Quota, value: float | None):
    with runtime.db.session() as session:
        quotas.set_quotas(session, session.get(Project, project_id), {quota: value})


def spend(runtime: Runtime, project_id: str, kind: str, *, days_ago: float = 0, **measures):
    with runtime.db.session() as session:
        session.add(UsageRecord(project_id=project_id, kind=kind, **measures,
                                created_at=utcnow() - timedelta(days=days_ago)))


def refused(answer, key: str) -> dict:
    assert answer.status_code == 402, answer.text
    body = answer.json()
    assert body["success"] is False and body["messageKey"] == key
    return body


def test_tts_characters_count_pending_jobs_and_refuse_the_one_over(runtime):
    with api_client(runtime) as client:
        set_quota(runtime, client.project.id, quotas.TTS_CHARACTERS, 35)
        accepted = [client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma",
                                                                 "text": TEXT},
                                headers={"Idempotency-Key": f"k{i}"}) for i in range(3)]
        assert [a.status_code for a in accepted] == [200, 200, 200]
        # nothing has run yet: the three queued jobs already hold 30 of the 35 characters
        body = refused(client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma",
                                                                    "text": TEXT}),
                       "QUOTA_TTS_CHARACTERS_EXCEEDED")
        assert body["data"] == {"quota": "ttsCharacters", "used": 30, "limit": 35,
                                "requested": 10}
        assert "TTS characters" in body["message"] and "30 of 35" in body["message"]
        # a retry of an accepted request is the same job, not a new charge
        replay = client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": TEXT},
                             headers={"Idempotency-Key": "k0"})
        assert replay.json()["data"]["id"] == accepted[0].json()["data"]["id"]
        assert client.post("/v1/realtime/tts", json={"text": "Five.", "speaker": "Emma"}
                           ).status_code == 200  # 35 exactly is within the quota
        worker = Worker(runtime)
        while worker.run_once():
            pass
        refused(client.post("/v1/realtime/tts", json={"text": "x", "speaker": "Emma"}),
                "QUOTA_TTS_CHARACTERS_EXCEEDED")
        refused(client.post("/v1/realtime/tts-stream", json={"text": "x", "speaker": "Emma"}),
                "QUOTA_TTS_CHARACTERS_EXCEEDED")
        speech = client.post("/v1/audio/speech", json={"model": "tts-1", "input": "x",
                                                       "voice": "alloy"})
        assert speech.status_code == 402  # the OpenAI routes keep OpenAI's error shape
        assert speech.json()["error"]["code"] == "quota_tts_characters_exceeded"
        assert speech.json()["error"]["type"] == "insufficient_quota"
        with client.websocket_connect("/v1/realtime/ws") as ws:
            ws.receive_json()  # info
            ws.send_text(json.dumps({"type": "tts", "payload": {"text": "x",
                                                                "speaker": "Emma"}}))
            frame = ws.receive_json()
        assert frame["type"] == "error"
        assert frame["payload"]["messageKey"] == "QUOTA_TTS_CHARACTERS_EXCEEDED"
        set_quota(runtime, client.project.id, quotas.TTS_CHARACTERS, None)  # cleared
        assert client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": TEXT}
                           ).status_code == 200


def test_tts_histories_are_recorded_and_limited(runtime):
    with api_client(runtime) as client:
        set_quota(runtime, client.project.id, quotas.TTS_CHARACTERS, 15)
        made = client.post("/v2/tts/histories", json={"ttsVoiceId": "Emma", "script": TEXT})
        assert made.status_code == 200, made.text
        with runtime.db.session() as session:
            rows = session.scalars(select(UsageRecord).where(
                UsageRecord.project_id == client.project.id)).all()
        assert [(r.kind, r.characters, r.quantity, r.unit) for r in rows] == [
            ("tts_history", 10, 10, "characters")]
        assert rows[0].audio_seconds > 0.3 and rows[0].api_key_id == client.principal.api_key_id
        refused(client.post("/v2/tts/histories", json={"ttsVoiceId": "Emma", "script": TEXT}),
                "QUOTA_TTS_CHARACTERS_EXCEEDED")


def test_audio_seconds_refuse_transcription_and_realtime_stt_once_reached(runtime):
    with api_client(runtime) as client:
        project = client.project.id
        set_quota(runtime, project, quotas.AUDIO_SECONDS, 60)
        spend(runtime, project, "transcription", days_ago=40, audio_seconds=500)  # last month
        spend(runtime, project, "realtime_stt", audio_seconds=59.5)
        assert client.post("/v1/jobs/transcribe", json=TRANSCRIBE).status_code == 200
        spend(runtime, project, "transcription", audio_seconds=0.5)  # 60 of 60
        body = refused(client.post("/v1/jobs/transcribe", json=TRANSCRIBE),
                       "QUOTA_AUDIO_SECONDS_EXCEEDED")
        assert body["data"]["quota"] == "audioSeconds" and body["data"]["limit"] == 60
        refused(client.post("/v2/jobs", json={"type": "TRANSCRIPTION", "title": "quota",
                                              "mediaUrl": TRANSCRIBE["mediaUrl"],
                                              "language": "en"}),
                "QUOTA_AUDIO_SECONDS_EXCEEDED")
        audio = base64.b64encode(wav_bytes(np.zeros(1600))).decode()
        refused(client.post("/v1/realtime/stt", json={"audioBase64": audio, "language": "en"}),
                "QUOTA_AUDIO_SECONDS_EXCEEDED")
        with client.websocket_connect("/v1/realtime/ws") as ws:
            ws.receive_json()
            ws.send_text(json.dumps({"type": "stt", "payload": {"audioBase64": audio,
                                                                "language": "en"}}))
            stt_frame = ws.receive_json()
            ws.send_text(json.dumps({"type": "stt_stream_start", "payload": {
                "language": "en"}}))
            stream_frame = ws.receive_json()
        assert stt_frame["payload"]["messageKey"] == "QUOTA_AUDIO_SECONDS_EXCEEDED"
        assert stream_frame["payload"]["messageKey"] == "QUOTA_AUDIO_SECONDS_EXCEEDED"
        openai = client.post("/v1/audio/transcriptions", data={"model": "whisper-1"},
                             files={"file": ("a.wav", wav_bytes(np.zeros(1600)), "audio/wav")})
        assert openai.status_code == 402, openai.text
        # text to speech draws on another quota
        assert client.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": TEXT}
                           ).status_code == 200


def test_tokens_refuse_ai_content_once_reached(runtime):
    with api_client(runtime) as client:
        project = client.project.id
        source = make_job(runtime, client.principal, state="completed", status="COMPLETED",
                          job_response={"text": "A transcript to summarize.", "language": "en"})
        set_quota(runtime, project, quotas.TOKENS, 100)
        spend(runtime, project, "ai_content", tokens=99)
        assert client.post(f"/v1/jobs/ai-content?jobId={source.id}",
                           json={"aiParts": ["summary"]}).status_code == 200
        spend(runtime, project, "ai_content", tokens=1)
        refused(client.post(f"/v1/jobs/ai-content?jobId={source.id}",
                            json={"aiParts": ["summary"]}), "QUOTA_TOKENS_EXCEEDED")
        refused(client.post("/v2/jobs/generate-transcription-ai-content", json={
            "mediaUrl": TRANSCRIBE["mediaUrl"], "title": "t", "language": "en",
            "aiParts": ["summary"]}), "QUOTA_TOKENS_EXCEEDED")
        with runtime.db.session() as session:  # the refused v2 call left no transcription
            assert session.query(UsageRecord).count() == 2
            assert session.query(Job).filter_by(type="TRANSCRIPTION").count() == 1


def test_other_projects_usage_does_not_count(runtime):
    with api_client(runtime) as first, api_client(runtime) as second:
        set_quota(runtime, first.project.id, quotas.TTS_CHARACTERS, 10)
        spend(runtime, second.project.id, "tts", characters=1000)
        assert first.post("/v1/jobs/text-to-speech", json={"voiceId": "Emma", "text": TEXT}
                          ).status_code == 200


def test_negative_quotas_are_refused(sqlite_runtime):
    with sqlite_runtime.db.session() as session:
        project = Project(name="p", webhook_secret="s")
        session.add(project)
        with pytest.raises(Exception, match="0 or more"):
            quotas.set_quotas(session, project, {quotas.TOKENS: -1})

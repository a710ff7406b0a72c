"""Voice-agent latency: voice to voice at the client, with the stage breakdown.

A real `hams serve` process runs an English voice agent (bundled Whisper tiny.en, Silero VAD,
Smart Turn v3, the Piper voice) whose LLM is a local OpenAI-compatible server in this process
that answers every streamed request after a fixed delay (200 ms by default). A client written
from the SDK's socket protocol keeps an open microphone (one 8 ms media frame at real-time
pace, silence between turns), speaks short English questions (Piper, trailing silence
trimmed) and times, per turn, from the moment the last speech frame was sent (end of speech):

- the `transcription` event, the LLM request reaching the local LLM server, the `answer`
  event, and the first agent `media` frame (voice to voice);
- hams' share = voice to voice − the LLM's fixed delay.

After each conversation the server's own record (performanceMetrics) is read, and a baseline
runs in this process on the same utterances and answers: the models alone — Whisper tiny.en
(hams' engine, greedy, as a turn is decoded), Smart Turn v3 inference, and the Piper voice's
first sentence — so the report separates the models from the pipeline's waits and transport.

    .venv/bin/python bench/agent_latency.py [--turns 20] [--conversations 4] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.conversation_client import FRAME_SAMPLES, SdkSocket  # noqa: E402
from tests.helpers.llm_server import (  # noqa: E402
    FakeLlmServer,
    LlmRequest,
    ScriptedResponse,
    completion,
)
from tests.helpers.server import ServerProcess, start_server  # noqa: E402
from tests.helpers.speech import speech_samples, synthesize_speech  # noqa: E402
from tests.helpers.wait import wait_until  # noqa: E402

RATE = 16_000
FRAME_SECONDS = FRAME_SAMPLES / RATE
QUESTIONS = [
    "What is the weather like today?",
    "Can you book a table for two tonight?",
    "When does the store open tomorrow?",
    "How much does the premium plan cost?",
    "Where is the nearest train station?",
    "Is the office open on Saturday?",
    "What time is my appointment?",
    "Do you deliver to the airport?",
    "How long will the repair take?",
    "Can I change my password online?",
]
ANSWERS = [
    "It is sunny and warm today. You will not need an umbrella.",
    "Your table is booked for eight. We look forward to seeing you.",
    "We open at nine in the morning. Parking is free before noon.",
    "The premium plan costs twenty dollars. The first month is free.",
    "The station is two blocks north. It takes five minutes on foot.",
]
QUIET_SECONDS = 1.0  # the answer has played out when no media came for this long
TURN_TIMEOUT = 30.0
SPEECH_FLOOR = 0.01  # |sample| above this counts as speech when trimming the trailing silence


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(values: list[float | None]) -> dict[str, float | int | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"median": None, "p95": None, "n": 0}
    return {"median": round(statistics.median(present), 1), "p95": round(p95(present), 1),
            "n": len(present)}


class TimedLlm(FakeLlmServer):
    """The test LLM server: every streamed request (a conversation's turn) is answered after
    a fixed delay with the next scripted answer, and its arrival time is kept."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.arrivals: list[float] = []
        self._next = 0
        self._answers_lock = threading.Lock()

    def default_answer(self, request: LlmRequest) -> ScriptedResponse:
        if isinstance(request.body, dict) and request.body.get("stream"):
            arrived = time.monotonic()
            with self._answers_lock:
                self.arrivals.append(arrived)
                text = ANSWERS[self._next % len(ANSWERS)]
                self._next += 1
            return ScriptedResponse(body=completion(text, self.DEFAULT_USAGE), delay=self.delay)
        return super().default_answer(request)


class Microphone:
    """An open microphone: one media frame every 8 ms on an absolute clock, silence unless an
    utterance is queued; ``say`` returns the monotonic time its last speech frame was sent."""

    def __init__(self, sdk: SdkSocket) -> None:
        self.sdk = sdk
        self._pending: tuple[np.ndarray, asyncio.Future[float]] | None = None
        self._silence = np.zeros(FRAME_SAMPLES, dtype="<f4")
        self.late_frames = 0  # frames sent more than one frame behind schedule (load)
        self._task = asyncio.create_task(self._run())

    async def say(self, samples: np.ndarray) -> float:
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._pending = (samples.astype("<f4"), done)
        return await done

    async def _send(self, chunk: np.ndarray) -> None:
        await self.sdk.send({"event": "media", "streamSid": "WEBSDK",
                             "media": {"payload": base64.b64encode(chunk.tobytes()).decode()}})

    async def _run(self) -> None:
        began = time.monotonic()
        index = 0
        while True:
            if self._pending is None:
                await self._send(self._silence)
                index += 1
                await self._pace(began, index)
                continue
            samples, done = self._pending
            self._pending = None
            sent_at = time.monotonic()
            for start in range(0, samples.size, FRAME_SAMPLES):
                await self._send(samples[start:start + FRAME_SAMPLES])
                sent_at = time.monotonic()
                index += 1
                await self._pace(began, index)
            done.set_result(sent_at)  # when the last speech frame was sent

    async def _pace(self, began: float, index: int) -> None:
        wait = began + index * FRAME_SECONDS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -FRAME_SECONDS:
            self.late_frames += 1

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # socket may be gone
            await self._task


def trim_trailing_silence(samples: np.ndarray) -> tuple[np.ndarray, float]:
    """The utterance up to its last sample above SPEECH_FLOOR, and that point in seconds."""
    loud = np.flatnonzero(np.abs(samples) > SPEECH_FLOOR)
    end = int(loud[-1]) + 1 if loud.size else samples.size
    return samples[:end].astype(np.float32), end / RATE


def first_after(sdk: SdkSocket, event: str, after: float) -> tuple[float, dict] | None:
    for t, message in sdk.events:
        if t + sdk.started >= after and message.get("event") == event:
            return t + sdk.started, message
    return None


def last_media(sdk: SdkSocket) -> float | None:
    for t, message in reversed(sdk.events):
        if message.get("event") == "media":
            return t + sdk.started
    return None


async def wait_played_out(sdk: SdkSocket, after: float, timeout: float) -> None:
    """Until the agent's audio after ``after`` has started and then stopped for QUIET_SECONDS."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = last_media(sdk)
        if last is not None and last >= after and time.monotonic() - last >= QUIET_SECONDS:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the agent's audio did not play out within {timeout} s")


async def talk(url: str, utterances: list[dict], llm: TimedLlm) -> tuple[list[dict], int]:
    """One conversation: the greeting, then each utterance as a turn; the client's figures."""
    turns = []
    async with SdkSocket(url) as sdk:
        await sdk.start()
        mic = Microphone(sdk)
        try:
            await wait_played_out(sdk, sdk.started, TURN_TIMEOUT)  # the greeting
            for utterance in utterances:
                turns.append(await one_turn(sdk, mic, utterance, llm))
        finally:
            late = mic.late_frames
            await mic.close()
            await sdk.send({"event": "stop"})
            await sdk.wait_closed(15)
    return turns, late


async def one_turn(sdk: SdkSocket, mic: Microphone, utterance: dict, llm: TimedLlm) -> dict:
    spoke_at = time.monotonic()
    end = await mic.say(utterance["samples"])
    turn: dict[str, Any] = {"text": utterance["text"], "speech_s": utterance["speech_s"],
                            "speech_end_offset_s": utterance["speech_end_offset_s"],
                            "audio_s": utterance["audio_s"]}
    deadline = time.monotonic() + TURN_TIMEOUT
    media = None
    while time.monotonic() < deadline:
        media = first_after(sdk, "media", end)
        if media and first_after(sdk, "answer", end) and first_after(sdk, "transcription", end):
            break
        await asyncio.sleep(0.01)
    if media is None:
        turn["error"] = "no agent audio"
        await asyncio.sleep(QUIET_SECONDS)
        return turn

    def ms(at: float | None) -> float | None:
        return round((at - end) * 1000, 1) if at is not None else None

    transcription = first_after(sdk, "transcription", end)
    answer = first_after(sdk, "answer", end)
    requests = [a for a in list(llm.arrivals) if spoke_at <= a <= media[0]]
    request = next((a for a in requests if a >= end), None)
    turn.update({
        "transcript": transcription[1].get("content") if transcription else None,
        "answer": answer[1].get("content") if answer else None,
        "transcription_ms": ms(transcription[0] if transcription else None),
        "llm_request_ms": ms(request),
        "answer_ms": ms(answer[0] if answer else None),
        "first_media_ms": ms(media[0]),
        "llm_requests": len(requests),
    })
    turn["voice_to_voice_ms"] = turn["first_media_ms"]
    turn["hams_share_ms"] = round(turn["first_media_ms"] - llm.delay * 1000, 1)
    if request is not None:
        turn["llm_answer_to_first_media_ms"] = round(
            turn["first_media_ms"] - turn["llm_request_ms"] - llm.delay * 1000, 1)
    await wait_played_out(sdk, media[0], TURN_TIMEOUT)
    return turn


def make_agent(server: ServerProcess, llm: TimedLlm, response_delay_ms: int) -> str:
    body = {"agentName": "Latency bench", "lang": "en", "greetingMessage": "Hello.",
            "preamble": "You answer short questions from callers.",
            "responseDelay": response_delay_ms,
            "llmConfig": {"baseUrl": llm.base_url, "model": "bench"}}
    with server.client() as client:
        answer = client.post("/v1/voice-agents", json=body)
        answer.raise_for_status()
        return answer.json()["data"]["id"]


def conversation(server: ServerProcess, agent_id: str, utterances: list[dict],
                 llm: TimedLlm) -> dict:
    with server.client() as client:
        answer = client.post("/v1/voice-agents/conversation-init",
                             json={"voiceAgentId": agent_id})
        answer.raise_for_status()
        job_id = answer.json()["data"]["jobId"]
        url = f"{server.base_url.replace('http', 'ws')}/stream/{job_id}?api_key={server.key}"
        turns, late = asyncio.run(talk(url, utterances, llm))

        def ended() -> dict | None:
            data = client.get(f"/v1/voice-agents/conversation/{job_id}",
                              params={"jobId": job_id}).json()["data"]
            return data if data["status"] not in ("PENDING", "IN_PROGRESS") else None

        record = wait_until(ended, 30, interval=0.2, what="the conversation to end")
    metrics = record.get("performanceMetrics") or {}
    server_turns = metrics.get("turns") or []
    aligned = len(server_turns) == len(turns)
    if aligned:
        for turn, stages in zip(turns, server_turns, strict=True):
            turn["server"] = stages
    return {"jobId": job_id, "status": record["status"], "turns": turns,
            "late_mic_frames": late, "server_turns_aligned": aligned,
            "performanceMetrics": metrics}


class Baseline:
    """The models alone, in this process: what the server's turn cannot do faster."""

    def __init__(self, work: Path, voice_row: tuple) -> None:
        from pipecat.audio.turn.smart_turn.base_smart_turn import SmartTurnParams
        from pipecat.audio.turn.smart_turn.local_smart_turn_v3 import LocalSmartTurnAnalyzerV3

        from hams.db.models import Voice
        from hams.engines.models import SttModels
        from hams.engines.voices import TtsEngines
        from hams.settings import Settings

        self.settings = Settings(stt_model="bundled-tiny.en", data_dir=work / "engine")
        self.models = SttModels(self.settings, self.settings.realtime_pool_size)
        self.tts = TtsEngines(self.settings)
        name, language, dialect, engine, engine_voice = voice_row
        self.voice = Voice(id="bench", name=name, language=language, dialect=dialect, tags=[],
                           engine=engine, engine_voice=engine_voice)
        self.smart_turn = LocalSmartTurnAnalyzerV3(sample_rate=RATE, params=SmartTurnParams())

    def stt(self, samples: np.ndarray) -> tuple[float, str]:
        from hams.services.realtime_stt import transcribe_samples

        start = time.perf_counter()
        text, _ = transcribe_samples(samples, model=self.settings.agent_stt_model, code="en",
                                     settings=self.settings, models=self.models, greedy=True)
        return (time.perf_counter() - start) * 1000, text

    def turn_model(self, samples: np.ndarray) -> float:
        start = time.perf_counter()
        self.smart_turn._predict_endpoint(samples)  # the inference Pipecat runs at a VAD stop
        return (time.perf_counter() - start) * 1000

    def tts_first_sentence(self, answer: str) -> float:
        from hams.services.tts import prepare_sentences, synthesize_pcm

        start = time.perf_counter()
        sentences = prepare_sentences(answer, self.voice.language, {},
                                      self.settings.tts_realtime_max_chars)
        next(synthesize_pcm(self.tts, self.voice, sentences[:1], out_rate=RATE))
        return (time.perf_counter() - start) * 1000

    def run(self, utterance: dict, answer: str) -> dict:
        # the segment the server transcribes: the utterance and the VAD's 0.2 s stop window
        segment = np.concatenate([utterance["samples"], np.zeros(int(0.2 * RATE), np.float32)])
        stt_ms, text = self.stt(segment)
        # as at a VAD stop in the server: Smart Turn's inference beside the transcription
        with ThreadPoolExecutor(1) as beside:
            turn_model = beside.submit(self.turn_model, segment)
            stt_beside_ms, _ = self.stt(segment)
            turn_model.result()
        return {"stt_ms": round(stt_ms, 1), "smart_turn_ms": round(self.turn_model(segment), 1),
                "stt_beside_smart_turn_ms": round(stt_beside_ms, 1),
                "tts_first_sentence_ms": round(self.tts_first_sentence(answer), 1),
                "transcript": text}


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its finished children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def prepare_utterances(work: Path) -> list[dict]:
    utterances = []
    for index, text in enumerate(QUESTIONS):
        samples = speech_samples(synthesize_speech([text], work / f"q{index}.wav"))
        speech, end = trim_trailing_silence(samples)
        utterances.append({"text": text, "samples": speech,
                           "speech_s": round(speech.size / RATE, 3),
                           "speech_end_offset_s": round(end, 3),
                           "audio_s": round(samples.size / RATE, 3)})
    return utterances


def measure(args: argparse.Namespace) -> dict:
    load = {"before": [round(v, 2) for v in os.getloadavg()]}
    per_conversation = [args.turns // args.conversations + (i < args.turns % args.conversations)
                        for i in range(args.conversations)]
    with tempfile.TemporaryDirectory() as tmp, TimedLlm(args.llm_delay) as llm:
        work = Path(tmp)
        utterances = prepare_utterances(work)
        (work / "server").mkdir()
        server = start_server(work / "server", workers=1,
                              env={"HAMS_ALLOW_PRIVATE_URLS": "true"})
        conversations, baseline = [], []
        try:
            voice_row = server.rows("SELECT name, language, dialect, engine, engine_voice "
                                    "FROM voices WHERE dialect = 'en' "
                                    "ORDER BY created_at, name LIMIT 1")[0]
            bench = Baseline(work, voice_row)
            bench.run(utterances[0], ANSWERS[0])  # load the models, first-call costs
            agent_id = make_agent(server, llm, args.response_delay)
            spoken = 0
            for number, count in enumerate(per_conversation):
                warmup = args.warmup if number == 0 else 0
                chosen = [utterances[(spoken + i) % len(utterances)]
                          for i in range(warmup + count)]
                answers_from = llm._next
                cpu = (time.process_time(), process_cpu(server.process.pid), time.monotonic())
                result = conversation(server, agent_id, chosen, llm)
                result["cpu"] = {"wall_s": round(time.monotonic() - cpu[2], 1),
                                 "bench_process_s": round(time.process_time() - cpu[0], 1),
                                 "server_process_s": round(
                                     process_cpu(server.process.pid) - cpu[1], 1)}
                for index, turn in enumerate(result["turns"]):
                    turn["conversation"] = number
                    turn["warmup"] = index < warmup
                conversations.append(result)
                # the baseline on the same utterances and answers, between conversations
                for index, utterance in enumerate(chosen):
                    if index >= warmup:
                        answer = ANSWERS[(answers_from + index) % len(ANSWERS)]
                        baseline.append(bench.run(utterance, answer))
                spoken += count
                print(f"conversation {number + 1}/{len(per_conversation)}: "
                      f"{len(result['turns'])} turns, load {os.getloadavg()[0]:.2f}",
                      file=sys.stderr)
        finally:
            server.stop()
    load["after"] = [round(v, 2) for v in os.getloadavg()]
    return report(args, conversations, baseline, load, utterances)


def report(args: argparse.Namespace, conversations: list[dict], baseline: list[dict],
           load: dict, utterances: list[dict]) -> dict:
    turns = [t for c in conversations for t in c["turns"] if not t.get("warmup")]
    ok = [t for t in turns if "error" not in t]
    server = [t["server"] for t in ok if "server" in t]
    client = {key: summary([t.get(key) for t in ok]) for key in (
        "transcription_ms", "llm_request_ms", "answer_ms", "first_media_ms",
        "hams_share_ms", "llm_answer_to_first_media_ms")}
    server_stages = {key: summary([s.get(key) for s in server]) for key in (
        "endOfSpeechToTranscriptMs", "endOfSpeechToLlmFirstTokenMs",
        "endOfSpeechToFirstAudioMs")}
    server_averages = {key: summary([c["performanceMetrics"].get(key) for c in conversations])
                       for key in ("sttMs", "ttsFirstAudioMs")}
    models = {key: summary([b[key] for b in baseline])
              for key in ("stt_ms", "smart_turn_ms", "stt_beside_smart_turn_ms",
                          "tts_first_sentence_ms")}
    share = client["hams_share_ms"]["median"]
    floor = sum(models[k]["median"] or 0 for k in ("stt_ms", "tts_first_sentence_ms")) + 200
    return {
        "machine": {"cpu_count": os.cpu_count(), "nproc": len(os.sched_getaffinity(0)),
                    "load_average": load, "python": sys.version.split()[0]},
        "settings": {"stt_model": "bundled-tiny.en", "llm_delay_ms": args.llm_delay * 1000,
                     "response_delay_ms": args.response_delay, "vad_stop_s": 0.2,
                     "turns": len(turns), "warmup_turns": args.warmup,
                     "conversations": len(conversations)},
        "utterances": [{k: u[k] for k in ("text", "speech_s", "speech_end_offset_s", "audio_s")}
                       for u in utterances],
        "failed_turns": len(turns) - len(ok),
        "client": client, "server": server_stages, "server_averages": server_averages,
        "baseline": models,
        "ratio_share_to_models_and_vad": round(share / floor, 2) if share else None,
        "goal": {"hams_share_median_ms": 500, "met": share is not None and share <= 500},
        "conversations": conversations,
        "baseline_runs": baseline,
    }


def fmt(s: dict) -> str:
    if s["median"] is None:
        return "      —         —"
    return f"{s['median']:8.0f}  {s['p95']:8.0f}"


def print_report(r: dict) -> None:
    m, s = r["machine"], r["settings"]
    print(f"{s['turns']} turns in {s['conversations']} conversations (+{s['warmup_turns']} "
          f"warm-up); {s['stt_model']}; LLM delay {s['llm_delay_ms']:.0f} ms; responseDelay "
          f"{s['response_delay_ms']} ms; {m['nproc']} CPUs; load average "
          f"{m['load_average']['before'][0]} -> {m['load_average']['after'][0]}")
    offsets = [u["audio_s"] - u["speech_end_offset_s"] for u in r["utterances"]]
    print(f"speech: trailing silence trimmed ({min(offsets):.2f}-{max(offsets):.2f} s per "
          f"utterance); end of speech = last speech frame sent; failed turns {r['failed_turns']}")
    print(f"{'ms after end of speech (client)':48s}{'median':>8s}  {'p95':>8s}")
    c = r["client"]
    rows = [("transcription event", c["transcription_ms"]),
            ("LLM request reaches the LLM server", c["llm_request_ms"]),
            ("answer event", c["answer_ms"]),
            ("first agent media frame = voice to voice", c["first_media_ms"]),
            ("hams' share (voice to voice - LLM delay)", c["hams_share_ms"]),
            ("  LLM answer sent -> first media", c["llm_answer_to_first_media_ms"])]
    for label, values in rows:
        print(f"{label:48s}{fmt(values)}")
    print("server record (from the VAD's end-of-speech estimate)")
    for key, values in r["server"].items():
        print(f"  {key:46s}{fmt(values)}")
    for key, values in r["server_averages"].items():
        print(f"  {key + ' (per-conversation averages)':46s}{fmt(values)}")
    print("baseline in this process (the models alone, same utterances and answers)")
    labels = {"stt_ms": "Whisper tiny.en, greedy (utterance + 0.2 s)",
              "smart_turn_ms": "Smart Turn v3 inference",
              "stt_beside_smart_turn_ms": "Whisper, Smart Turn running beside it",
              "tts_first_sentence_ms":
              "Piper, answer's first sentence"}
    for key, values in r["baseline"].items():
        print(f"  {labels[key]:46s}{fmt(values)}")
    share = c["hams_share_ms"]["median"]
    models = sum(r["baseline"][k]["median"] or 0 for k in ("stt_ms", "tts_first_sentence_ms"))
    if share is not None:
        print(f"hams' share {share:.0f} ms median: models alone (STT + TTS first sentence) "
              f"{models:.0f} ms, VAD stop wait 200 ms, the rest {share - models - 200:.0f} ms "
              f"(Smart Turn, pipeline, transport); ratio share / (models + 200 ms) "
              f"{r['ratio_share_to_models_and_vad']}")
        cpu = [c["cpu"] for c in r["conversations"]]
        wall = sum(c["wall_s"] for c in cpu)
        print(f"CPU during the conversations: hams server "
              f"{sum(c['server_process_s'] for c in cpu) / wall:.0%} of one core, this bench "
              f"process (client microphone, LLM server) "
              f"{sum(c['bench_process_s'] for c in cpu) / wall:.0%}, over {wall:.0f} s")
        print(f"goal: hams' share <= 500 ms median: {'met' if r['goal']['met'] else 'not met'}"
              f"; client microphone frames sent late (load): "
              f"{sum(c['late_mic_frames'] for c in r['conversations'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20, help="measured turns (default 20)")
    parser.add_argument("--conversations", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1,
                        help="turns at the start of the first conversation, not counted")
    parser.add_argument("--llm-delay", type=float, default=0.2, help="seconds (default 0.2)")
    parser.add_argument("--response-delay", type=int, default=100, help="ms (minimum 100)")
    parser.add_argument("--json", metavar="PATH", help="write the raw figures here")
    args = parser.parse_args()
    args.conversations = max(1, min(args.conversations, args.turns))
    result = measure(args)
    print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()

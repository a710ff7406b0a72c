"""Realtime STT latency: /v1/realtime/stt and the WebSocket against the engine itself.

Twenty English utterances of 2–5 s, spoken by the bundled Piper voice, are transcribed three
ways in one run, interleaved so that machine noise hits all three alike:

- engine: the bundled tiny.en model called directly in this process, on the same samples,
  with the server's options (same beam, VAD filter, no word timestamps);
- REST: POST /v1/realtime/stt with the utterance as a base64 WAV, to a real `hams serve`;
- WebSocket: an `stt` message on one open /v1/realtime/ws connection, until its text frame.

Prints median and p95 latency of each and the ratios of the medians (goal: REST ≤ 1.15,
WebSocket ≤ 1.10).

    .venv/bin/python bench/realtime_stt.py [--json]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.server import start_server  # noqa: E402
from tests.helpers.speech import speech_samples, synthesize_speech, wav_bytes  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from hams.engines.models import SttModels  # noqa: E402
from hams.services.realtime_stt import transcribe_samples  # noqa: E402
from hams.settings import Settings  # noqa: E402

UTTERANCES = [
    "Good morning, thank you for calling, how can I help you today?",
    "I would like to book a table for two people.",
    "The train to the airport leaves at half past nine.",
    "Could you please repeat the last number of your reference code?",
    "My account was charged twice this month.",
    "We are open from eight in the morning until six.",
    "Please hold the line while I transfer your call to the right team.",
    "The package should arrive on Thursday afternoon.",
    "Thank you for calling, have a wonderful day.",
    "I need to change the address on my order.",
    "The weather will be cloudy with light rain tomorrow.",
    "Your appointment is confirmed for next Monday.",
    "Can you send me the invoice and the receipt by email this afternoon?",
    "The meeting has been moved to the second floor.",
    "I forgot my password and now I cannot log in to my account.",
    "Our new store opens in the city centre next week.",
    "Press one to speak with a customer service agent.",
    "The doctor will see you in about ten minutes.",
    "Please bring your passport and two photographs.",
    "The total comes to forty two dollars and fifty cents.",
]
GOALS = {"rest": 1.15, "websocket": 1.10}


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audio = []
        for index, text in enumerate(UTTERANCES):
            samples = speech_samples(synthesize_speech([text], work / f"u{index}.wav"))
            audio.append((samples, base64.b64encode(wav_bytes(samples)).decode()))
        settings = Settings(stt_model="bundled-tiny.en", data_dir=work / "engine")
        models = SttModels(settings, settings.realtime_pool_size)  # as the server holds it
        (work / "server").mkdir()
        server = start_server(work / "server", workers=0)
        timings: dict[str, list[float]] = {"engine": [], "rest": [], "websocket": []}
        try:
            url = server.base_url.replace("http://", "ws://") + "/v1/realtime/ws"
            with server.client() as client, connect(f"{url}?api_key={server.key}") as ws:
                ws.recv(timeout=30)  # info
                for samples, encoded in audio[:2]:  # warm-up: load models, open paths
                    transcribe_samples(samples, model="Hamsa-General-V2.0", code="en",
                                       settings=settings, models=models)
                    client.post("/v1/realtime/stt",
                                json={"audioBase64": encoded, "language": "en"})
                for samples, encoded in audio:
                    start = time.perf_counter()
                    transcribe_samples(samples, model="Hamsa-General-V2.0", code="en",
                                       settings=settings, models=models)
                    timings["engine"].append(time.perf_counter() - start)

                    start = time.perf_counter()
                    response = client.post("/v1/realtime/stt",
                                           json={"audioBase64": encoded, "language": "en"})
                    response.raise_for_status()
                    timings["rest"].append(time.perf_counter() - start)

                    message = json.dumps({"type": "stt", "payload": {"audioBase64": encoded,
                                                                     "language": "en"}})
                    start = time.perf_counter()
                    ws.send(message)
                    ws.recv(timeout=120)
                    timings["websocket"].append(time.perf_counter() - start)
        finally:
            server.stop()
    durations = [samples.size / 16_000 for samples, _ in audio]
    engine_median = statistics.median(timings["engine"])
    result = {"utterances": len(audio),
              "audio_seconds": [round(min(durations), 2), round(max(durations), 2)]}
    for name, values in timings.items():
        median = statistics.median(values)
        result[name] = {"median_ms": round(median * 1000, 1),
                        "p95_ms": round(p95(values) * 1000, 1)}
        if name != "engine":
            result[name]["median_ratio"] = round(median / engine_median, 3)
            result[name]["goal"] = GOALS[name]
            result[name]["overhead_ms"] = round((median - engine_median) * 1000, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure()
    if args.json:
        print(json.dumps(result, indent=2))
        return
    low, high = result["audio_seconds"]
    print(f"{result['utterances']} utterances of {low}-{high} s, tiny.en int8 on this CPU")
    for name in ("engine", "rest", "websocket"):
        row = result[name]
        line = f"{name:>10}: median {row['median_ms']:7.1f} ms   p95 {row['p95_ms']:7.1f} ms"
        if "median_ratio" in row:
            met = "met" if row["median_ratio"] <= row["goal"] else "NOT met"
            line += (f"   ratio {row['median_ratio']:.3f} (goal ≤ {row['goal']}, {met}; "
                     f"+{row['overhead_ms']} ms)")
        print(line)


if __name__ == "__main__":
    main()

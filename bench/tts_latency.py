"""TTS latency: time to first audio byte on /v1/realtime/tts-stream vs the engine itself.

For a 3-sentence Arabic text (espeak-ng) and a 3-sentence English text (the bundled Piper
voice), measure through a real `hams serve` process the time to the first audio byte and to
the last, and in this process the engine's own time for its first sentence and for all
three (same front end, same voice). Prints medians and ratios.

    .venv/bin/python bench/tts_latency.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.server import start_server  # noqa: E402

from hams.db.models import Voice  # noqa: E402
from hams.engines.voices import TtsEngines  # noqa: E402
from hams.settings import Settings  # noqa: E402
from hams.text import prepare_text  # noqa: E402

CASES = {
    "arabic (espeak-ng)": {
        "body": {"speaker": "Salma", "dialect": "uae",
                 "text": "مرحبا بكم في خدمة العملاء. سنساعدكم في حجز موعدكم القادم. "
                         "شكرا لاختياركم خدماتنا اليوم."},
        "voice": Voice(id="b", name="Salma", dialect="uae", language="ar", tags=[],
                       engine="espeak", engine_voice="ar+f1"),
    },
    "english (piper joe)": {
        "body": {"speaker": "James", "dialect": "en",
                 "text": "Welcome to customer service. We will help you book your next "
                         "appointment. Thank you for choosing us today."},
        "voice": Voice(id="e", name="James", dialect="en", language="en", tags=[],
                       engine="espeak", engine_voice="en-us+m1"),
    },
}
GOAL_RATIO = 1.2
GOAL_ESPEAK_MS = 300


def time_engine(engines: TtsEngines, voice: Voice, text: str) -> tuple[float, float]:
    """Seconds to the engine's first sentence and to its last, front end included."""
    start = time.perf_counter()
    sentences = prepare_text(text, voice.language)
    engine, options = engines.engine_for(voice)
    stream = engine.synthesize(sentences, options)
    next(stream)
    first = time.perf_counter() - start
    for _ in stream:
        pass
    return first, time.perf_counter() - start


def time_stream(client: httpx.Client, body: dict) -> tuple[float, float]:
    """Seconds from sending the request to the first audio byte (after the header) and the last."""
    start = time.perf_counter()
    first = None
    received = 0
    with client.stream("POST", "/v1/realtime/tts-stream", json=body) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            received += len(chunk)
            if first is None and received > 44:
                first = time.perf_counter() - start
    return first or 0.0, time.perf_counter() - start


def measure(runs: int) -> dict:
    engines = TtsEngines(Settings())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), workers=0)
        try:
            with server.client() as client:
                for label, case in CASES.items():
                    time_engine(engines, case["voice"], case["body"]["text"])  # warm-up
                    time_stream(client, case["body"])
                    engine_runs, api_runs = [], []
                    for _ in range(runs):
                        engine_runs.append(time_engine(engines, case["voice"],
                                                       case["body"]["text"]))
                        api_runs.append(time_stream(client, case["body"]))
                    results[label] = summarize(engine_runs, api_runs)
        finally:
            server.stop()
    return results


def summarize(engine_runs: list, api_runs: list) -> dict:
    median = lambda values: statistics.median(values) * 1000  # noqa: E731
    engine_first = median([r[0] for r in engine_runs])
    api_first = median([r[0] for r in api_runs])
    return {
        "engine_first_ms": round(engine_first, 1),
        "engine_total_ms": round(median([r[1] for r in engine_runs]), 1),
        "api_first_byte_ms": round(api_first, 1),
        "api_total_ms": round(median([r[1] for r in api_runs]), 1),
        "first_byte_ratio": round(api_first / engine_first, 2),
        "first_byte_overhead_ms": round(api_first - engine_first, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.runs)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for label, r in results.items():
        print(f"{label}: engine first sentence {r['engine_first_ms']} ms, all "
              f"{r['engine_total_ms']} ms; API first audio byte {r['api_first_byte_ms']} ms, "
              f"last {r['api_total_ms']} ms; first-byte ratio {r['first_byte_ratio']} "
              f"(+{r['first_byte_overhead_ms']} ms)")
    for label, r in results.items():
        verdict = "met" if r["first_byte_ratio"] <= GOAL_RATIO else "not met"
        print(f"goal first byte <= {GOAL_RATIO} x engine first sentence, {label}: "
              f"{r['first_byte_ratio']} ({verdict})")
    espeak = results["arabic (espeak-ng)"]["api_first_byte_ms"]
    print(f"goal espeak-ng first byte <= {GOAL_ESPEAK_MS} ms: {espeak} ms "
          f"({'met' if espeak <= GOAL_ESPEAK_MS else 'not met'})")


if __name__ == "__main__":
    main()

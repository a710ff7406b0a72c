"""Batched speech throughput: N concurrent ~6 s jobs against the same N one at a time.

In one process, on one loaded model (the offline extra's multilingual Whisper base unless
--model names another), real Arabic recordings (../shared/data/arabic-speech, 5.5-7.1 s)
are transcribed as jobs ask (language ar, VAD, word timestamps, beam 5):

- one at a time, unbatched (today's path, STT_BATCH_SIZE=1), then
- N at once from N threads with batching on (STT_BATCH_SIZE, STT_BATCH_WAIT_MS),

for N = 1, 4, 16, interleaved over --rounds so that both see the same machine load; the
figures are medians: audio-seconds per second and the ratio batched / one at a time. Then a
long file (the recordings end to end, about 57 s) decoded unbatched and batched. Each case
also prints the folded character error rate between the two transcripts and the word error
rate of each against the reference transcripts, so a speed-up cannot hide lost words.

    .venv/bin/python bench/stt_throughput.py [--rounds 3] [--sizes 1,4,16] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import jiwer
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hams.engines.models import SttModels  # noqa: E402
from hams.engines.stt import TranscriptionOptions  # noqa: E402
from hams.engines.stt.whisper import WhisperEngine  # noqa: E402
from hams.media.audio import SAMPLE_RATE, decode_audio  # noqa: E402
from hams.settings import Settings  # noqa: E402
from hams.text.compare import fold_for_scoring  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "arabic-speech"
JOB = TranscriptionOptions(language="ar")


def load_clips() -> tuple[list[np.ndarray], list[str]]:
    rows = [line.split("\t") for line in (DATA / "manifest.tsv").read_text().splitlines()[1:]]
    return ([decode_audio(DATA / row[0], max_seconds=60) for row in rows],
            [row[2] for row in rows])


def transcribe(engine: WhisperEngine, audio: np.ndarray, options: TranscriptionOptions) -> str:
    segments, _ = engine.transcribe(audio, options)
    return "".join(segment.text for segment in segments)


def one_at_a_time(engine: WhisperEngine, clips: list[np.ndarray]) -> tuple[float, list[str]]:
    start = time.perf_counter()
    texts = [transcribe(engine, clip, JOB) for clip in clips]
    return time.perf_counter() - start, texts


def together(engine: WhisperEngine, clips: list[np.ndarray]) -> tuple[float, list[str]]:
    texts: list[str] = [""] * len(clips)
    options = replace(JOB, batch=True)

    def run(index: int) -> None:
        texts[index] = transcribe(engine, clips[index], options)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clips))]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, texts


def cer(reference: str, text: str) -> float:
    return jiwer.cer(fold_for_scoring(reference), fold_for_scoring(text))


def wer(references: list[str], texts: list[str]) -> float:
    return jiwer.wer([fold_for_scoring(r) for r in references],
                     [fold_for_scoring(t) or "-" for t in texts])


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--batch-size", type=int, default=Settings().stt_batch_size)
    parser.add_argument("--wait-ms", type=float, default=Settings().stt_batch_wait_ms)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="hams-stt-bench-"))
    settings = Settings(data_dir=data_dir, stt_model=args.model,
                        stt_batch_size=args.batch_size, stt_batch_wait_ms=args.wait_ms)
    engine = SttModels(settings).get(args.model)
    assert isinstance(engine, WhisperEngine)
    device = engine.model.model.device
    clips, references = load_clips()
    print(f"model {engine.name} on {device}, batch size {args.batch_size}, wait "
          f"{args.wait_ms:g} ms; load average before: {load_average()}")
    transcribe(engine, clips[0], JOB)  # warm up: first-call allocations are not throughput
    together(engine, clips[:2])

    report: dict = {"model": engine.name, "device": device, "batch_size": args.batch_size,
                    "wait_ms": args.wait_ms, "load_before": load_average(), "cases": []}
    for size in [int(n) for n in args.sizes.split(",")]:
        batch = [clips[i % len(clips)] for i in range(size)]
        refs = [references[i % len(clips)] for i in range(size)]
        seconds = sum(clip.size for clip in batch) / SAMPLE_RATE
        alone_times, shared_times = [], []
        for _ in range(args.rounds):
            alone_time, alone_texts = one_at_a_time(engine, batch)
            shared_time, shared_texts = together(engine, batch)
            alone_times.append(alone_time)
            shared_times.append(shared_time)
        alone_time, shared_time = statistics.median(alone_times), statistics.median(shared_times)
        case = {
            "case": f"{size} concurrent jobs", "audio_seconds": round(seconds, 2),
            "one_at_a_time_rate": round(seconds / alone_time, 2),
            "batched_rate": round(seconds / shared_time, 2),
            "throughput_ratio": round(alone_time / shared_time, 2),
            "cer_between": round(statistics.mean(
                cer(a, b) for a, b in zip(alone_texts, shared_texts, strict=True)), 3),
            "wer_one_at_a_time": round(wer(refs, alone_texts), 3),
            "wer_batched": round(wer(refs, shared_texts), 3),
        }
        case["redecoded_alone"] = engine.redecoded
        report["cases"].append(case)
        print(json.dumps(case, ensure_ascii=False))

    silence = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    long = np.concatenate([part for clip in clips * 2 for part in (clip, silence)])
    seconds = long.size / SAMPLE_RATE
    alone_times, shared_times = [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        alone_text = transcribe(engine, long, JOB)
        alone_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        shared_text = transcribe(engine, long, replace(JOB, batch=True))
        shared_times.append(time.perf_counter() - start)
    alone_time, shared_time = statistics.median(alone_times), statistics.median(shared_times)
    reference = " ".join(references * 2)
    case = {
        "case": f"one {seconds:.0f} s file", "audio_seconds": round(seconds, 2),
        "one_at_a_time_rate": round(seconds / alone_time, 2),
        "batched_rate": round(seconds / shared_time, 2),
        "throughput_ratio": round(alone_time / shared_time, 2),
        "cer_between": round(cer(alone_text, shared_text), 3),
        "wer_one_at_a_time": round(wer([reference], [alone_text]), 3),
        "wer_batched": round(wer([reference], [shared_text]), 3),
    }
    report["cases"].append(case)
    print(json.dumps(case, ensure_ascii=False))
    report["load_after"] = load_average()
    print(f"load average after: {report['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

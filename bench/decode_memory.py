"""Peak memory of decoding a 4-hour file: hams' decode_audio against the old approach.

Builds two 4-hour files in a temporary directory, each far smaller than what it decodes to:

- a 1 Hz WAV (14 400 random 16-bit samples, 28 KB): the resampler expands it 16 000-fold;
- a silent 8 kHz FLAC (a few MB).

Each is decoded in a fresh subprocess at the default limit (HAMS_MEDIA_MAX_SECONDS = 14 400),
which reports its peak RSS (ru_maxrss) and its RSS before decoding (imports done). The old
approach (s16 chunks in a list, concatenate, astype, divide), kept here as it was, is measured
the same way unless --skip-old. --features HOURS also measures faster-whisper's log-mel
feature extractor, which the engine runs on the whole decoded array, on HOURS of audio.

    .venv/bin/python bench/decode_memory.py [--hours 4] [--skip-old] [--features 0.5] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import av
import numpy as np

HOURS = 4.0
MAX_SECONDS = 14_400.0  # the default HAMS_MEDIA_MAX_SECONDS
MIB = 1024 * 1024


def write_one_hertz_wav(path: Path, seconds: int) -> Path:
    """A WAV whose header claims 1 Hz: a few bytes per second of audio."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(1)
        out.writeframes(np.random.default_rng(1).integers(-8000, 8000, seconds, np.int16))
    return path


def write_silent_flac(path: Path, seconds: int, rate: int = 8000) -> Path:
    """Silence compresses to almost nothing, so hours of it fit in a few MB."""
    block = np.zeros((1, rate * 60), dtype=np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=rate, layout="mono", format="s16")
        for minute in range(seconds // 60):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, minute * block.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_old(path: Path, max_seconds: float, sample_rate: int = 16_000) -> np.ndarray:
    """decode_audio as it was before the memory fix (chunks + concatenate + astype)."""
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        limit = int(max_seconds * sample_rate)
        chunks: list[np.ndarray] = []
        total = 0
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                total += chunk.size
            if total > limit:
                raise RuntimeError("over the limit")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(way: str, path: Path, max_seconds: float, features: bool) -> None:
    """Runs in the subprocess: decode once, print the figures as JSON."""
    from hams.media.audio import decode_audio

    if features:
        from faster_whisper.feature_extractor import FeatureExtractor
    before = rss_mib()
    start = time.perf_counter()
    audio = decode_audio(path, max_seconds=max_seconds) if way == "new" else \
        decode_old(path, max_seconds)
    seconds = time.perf_counter() - start
    decoded_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"way": way, "audio_seconds": audio.size / 16_000, "decode_s": round(seconds, 1),
              "rss_before_mib": round(before), "peak_rss_mib": round(decoded_peak),
              "array_mib": round(audio.nbytes / MIB)}
    if features:
        FeatureExtractor(feature_size=80)(audio)
        result["peak_rss_with_features_mib"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(result))


def measure_in_subprocess(way: str, path: Path, max_seconds: float = MAX_SECONDS,
                          features: bool = False) -> dict:
    command = [sys.executable, __file__, "--child", way, str(path),
               "--max-seconds", str(max_seconds)] + (["--with-features"] if features else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{way} decode of {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def measure(hours: float, skip_old: bool, feature_hours: float) -> dict:
    seconds = int(hours * 3600)
    result: dict = {"load_before": Path("/proc/loadavg").read_text().strip(), "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = {"1 Hz WAV": write_one_hertz_wav(Path(tmp) / "one-hertz.wav", seconds),
                 "silent 8 kHz FLAC": write_silent_flac(Path(tmp) / "silent.flac", seconds)}
        for name, path in files.items():
            row = {"file_kib": round(path.stat().st_size / 1024),
                   "new": measure_in_subprocess("new", path)}
            if not skip_old:
                row["old"] = measure_in_subprocess("old", path)
                row["ratio_old_over_new"] = round(
                    row["old"]["peak_rss_mib"] / row["new"]["peak_rss_mib"], 2)
            result["files"][name] = row
        if feature_hours:
            short = write_silent_flac(Path(tmp) / "short.flac", int(feature_hours * 3600))
            result["features"] = measure_in_subprocess("new", short, features=True)
    result["load_after"] = Path("/proc/loadavg").read_text().strip()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hours", type=float, default=HOURS, help="length of the files")
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument("--features", type=float, default=0.0, metavar="HOURS")
    parser.add_argument("--child", nargs=2, metavar=("WAY", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--max-seconds", type=float, default=MAX_SECONDS,
                        help=argparse.SUPPRESS)
    parser.add_argument("--with-features", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), args.max_seconds, args.with_features)
        return
    result = measure(args.hours, args.skip_old, args.features)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{args.hours:g} h of audio at the default limit; load {result['load_before']}")
    for name, row in result["files"].items():
        for way in ("new", "old"):
            if way in row:
                r = row[way]
                print(f"{name:>18} ({row['file_kib']} KiB) {way}: peak RSS {r['peak_rss_mib']} "
                      f"MiB (before decoding {r['rss_before_mib']} MiB; the array "
                      f"{r['array_mib']} MiB; {r['decode_s']} s)")
        if "ratio_old_over_new" in row:
            print(f"{'':>18} ratio old/new peak RSS: {row['ratio_old_over_new']}")
    if "features" in result:
        r = result["features"]
        print(f"faster-whisper features on {r['audio_seconds'] / 3600:g} h: peak RSS "
              f"{r['peak_rss_with_features_mib']} MiB (after decoding {r['peak_rss_mib']} MiB)")
    print(f"load after {result['load_after']}")


if __name__ == "__main__":
    main()

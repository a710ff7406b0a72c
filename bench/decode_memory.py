"""Peak memory of decoding a 4-hour file: hams' decode_audio against the old approach.

Builds two 4-hour files in a temporary directory, each far smaller than what it decodes to:

- a 1 Hz WAV (14 400 random 16-bit samples, 28 KB): the resampler expands it 16 000-fold;
- a silent 8 kHz FLAC (a few MB).

Each is decoded in a fresh subprocess at the default limit (HAMS_MEDIA_MAX_SECONDS = 14 400),
which reports its peak RSS (VmHWM, which exec resets, unlike ru_maxrss) and its RSS before
decoding (imports done). The old approach (s16 chunks in a list, concatenate, astype, divide),
kept here as it was, is measured the same way unless --skip-old.

--after MINUTES measures what the Whisper engine does next with the decoded array, step by
step, on MINUTES of Piper speech: faster-whisper's Silero VAD (get_speech_timestamps), the
speech gathered into one array (collect_chunks + concatenate) and the log-mel features of that
array, each over the whole audio at once, as WhisperModel.transcribe runs them (about 20 times
the array: do not ask for hours). --window SECONDS runs those steps on consecutive slices
(views) of that length instead, as an engine that hands faster-whisper one window at a time
would. --transcribe MINUTES runs hams' engine itself (bundled tiny.en, the worker's options).

--worker runs, in a fresh subprocess per file and model, what a worker does with each 4-hour
file at full size: decode_audio, then hams' (windowed) Whisper engine loaded through SttModels
as the worker loads it, every segment consumed: bundled tiny.en (language "en") and the bundled
multilingual Whisper base (language "ar", the worker's default). --worker-speech adds a file
of as many hours of Piper speech (English, so language "en" for both models). --worker-cap
SECONDS stops handing windows to faster-whisper once transcribing has run that long (the
figures then cover the windows done, and say so).

    .venv/bin/python bench/decode_memory.py [--hours 4] [--skip-old] [--after 10]
        [--window 300] [--transcribe 3] [--worker] [--worker-speech]
        [--worker-cap 600] [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HOURS = 4.0
MAX_SECONDS = 14_400.0  # the default HAMS_MEDIA_MAX_SECONDS
MIB = 1024 * 1024
WORKER_MODELS = (("bundled-tiny.en", "en"), ("bundled", "ar"))  # model, the job's language


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
        for minute in range(max(1, seconds // 60)):
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, minute * block.shape[1]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_speech(path: Path, minutes: float, work: Path) -> Path:
    """Piper sentences, each followed by half a second of silence, repeated to ``minutes``."""
    from tests.helpers.speech import (
        SPEECH_SENTENCES,
        speech_samples,
        synthesize_speech,
        wav_bytes,
    )

    spoken = speech_samples(synthesize_speech(SPEECH_SENTENCES, work / "sentences.wav"))
    unit = np.concatenate([spoken, np.zeros(8000, dtype=np.float32)])
    size = int(minutes * 60 * 16_000)
    path.write_bytes(wav_bytes(np.tile(unit, size // unit.size + 1)[:size]))
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


def memory_mib(field: str = "VmHWM") -> int:
    """This process's peak (VmHWM) or current (VmRSS) resident memory."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024)
    return 0


def after_decoding(audio: np.ndarray, window: int) -> dict:
    """Peak RSS after each whole-array step WhisperModel.transcribe takes (VAD filter on),
    over the whole array, or over each ``window`` samples in turn."""
    from faster_whisper.feature_extractor import FeatureExtractor
    from faster_whisper.vad import collect_chunks, get_speech_timestamps

    steps: dict[str, int] = {}
    for start in range(0, audio.size, window or audio.size):
        part = audio[start:start + window] if window else audio
        speech = get_speech_timestamps(part)
        steps["peak_rss_vad_mib"] = memory_mib()
        gathered = np.concatenate(collect_chunks(part, speech)[0])
        steps["peak_rss_gathered_mib"] = memory_mib()
        FeatureExtractor(feature_size=80)(gathered)
        steps["peak_rss_features_mib"] = memory_mib()
    return steps


def transcribed(audio: np.ndarray) -> dict:
    """Peak RSS of hams' Whisper engine on ``audio`` (bundled tiny.en, VAD, word times)."""
    from hams.engines.models import SttModels
    from hams.engines.stt import TranscriptionOptions
    from hams.settings import Settings

    with tempfile.TemporaryDirectory() as work:
        settings = Settings(stt_model="bundled-tiny.en", data_dir=Path(work))
        engine = SttModels(settings).get(settings.engine_model_for("Hamsa-General-V2.0"))
        loaded = memory_mib("VmRSS")
        start = time.perf_counter()
        segments, _ = engine.transcribe(audio, TranscriptionOptions(language="en"))
        words = sum(len(segment.words) for segment in segments)
    return {"rss_model_loaded_mib": loaded, "words": words,
            "transcribe_s": round(time.perf_counter() - start, 1),
            "peak_rss_transcribed_mib": memory_mib()}


def worker_transcribed(audio: np.ndarray, model: str, language: str, cap: float) -> dict:
    """What the worker does after decoding: load ``model`` through SttModels, transcribe the
    whole array with the worker's options, consume every segment (the windows are counted;
    past ``cap`` seconds the rest are skipped and the result says how far it got)."""
    from hams.engines.models import SttModels
    from hams.engines.stt import TranscriptionOptions
    from hams.settings import Settings

    decoded = memory_mib("VmRSS")
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        engine = SttModels(Settings(stt_model=model, data_dir=Path(work))).get(model)
        loaded, load_s = memory_mib("VmRSS"), time.perf_counter() - start
        window, done = engine._window, {"windows": 0, "samples": 0}  # noqa: SLF001

        def counted(part: np.ndarray, options: object) -> tuple:
            if done["windows"] and cap and time.perf_counter() - start > cap:
                return iter(()), None  # capped: later windows are not transcribed
            done["windows"] += 1
            done["samples"] += part.size
            return window(part, options)

        engine._window = counted  # noqa: SLF001
        start = time.perf_counter()
        options = TranscriptionOptions(language=language, vad_filter=True, beam_size=5)
        segments = list(engine.transcribe(audio, options)[0])
    return {"model": engine.name, "language": language, "rss_decoded_mib": decoded,
            "rss_model_loaded_mib": loaded, "load_s": round(load_s, 1),
            "transcribe_s": round(time.perf_counter() - start, 1),
            "windows": done["windows"], "seconds_transcribed": done["samples"] / 16_000,
            "capped": done["samples"] < audio.size, "segments": len(segments),
            "words": sum(len(s.words) for s in segments),
            "speech_s": round(sum(s.end - s.start for s in segments), 1),
            "text_sample": " ".join(s.text.strip() for s in segments[:3])[:120],
            "peak_rss_worker_mib": memory_mib()}


def child(way: str, path: Path, max_seconds: float, window: int, worker: tuple = ()) -> None:
    """Runs in the subprocess: decode once (then maybe more), print the figures as JSON."""
    from hams.media.audio import decode_audio

    if way == "after":
        import faster_whisper.vad  # noqa: F401 - imported before the baseline is read
    before = memory_mib("VmRSS")
    start = time.perf_counter()
    audio = decode_old(path, max_seconds) if way == "old" else \
        decode_audio(path, max_seconds=max_seconds, pcm16=way == "worker")
    result = {"way": way, "audio_seconds": audio.size / 16_000,
              "decode_s": round(time.perf_counter() - start, 1), "rss_before_mib": before,
              "peak_rss_mib": memory_mib(), "array_mib": round(audio.nbytes / MIB)}
    if way == "after":
        result.update(after_decoding(audio, window), window_s=window / 16_000)
    elif way == "transcribe":
        result.update(transcribed(audio))
    elif way == "worker":
        result.update(worker_transcribed(audio, *worker))
    print(json.dumps(result))


def measure_in_subprocess(way: str, path: Path, window: float = 0.0,
                          extra: tuple[str, ...] = ()) -> dict:
    command = [sys.executable, __file__, "--child", way, str(path), "--window", str(window),
               *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{way} decode of {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1])


def measure(args: argparse.Namespace) -> dict:
    seconds = int(args.hours * 3600)
    result: dict = {"load_before": Path("/proc/loadavg").read_text().strip(), "files": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        files = {"1 Hz WAV": write_one_hertz_wav(work / "one-hertz.wav", seconds),
                 "silent 8 kHz FLAC": write_silent_flac(work / "silent.flac", seconds)}
        for name, path in files.items():
            row = {"file_kib": round(path.stat().st_size / 1024),
                   "new": measure_in_subprocess("new", path)}
            if not args.skip_old:
                row["old"] = measure_in_subprocess("old", path)
                row["ratio_old_over_new"] = round(
                    row["old"]["peak_rss_mib"] / row["new"]["peak_rss_mib"], 2)
            result["files"][name] = row
        if args.worker_speech:
            files["Piper speech"] = write_speech(work / "speech-worker.wav", seconds / 60, work)
        if args.worker:
            result["worker"] = {
                f"{name}, {model}": measure_in_subprocess("worker", path, extra=(
                    "--model", model, "--language", "en" if "speech" in name else language,
                    "--worker-cap", str(args.worker_cap)))
                for name, path in files.items() for model, language in WORKER_MODELS}
        for way, minutes in (("after", args.after), ("transcribe", args.transcribe)):
            if minutes:
                speech = write_speech(work / f"speech-{way}.wav", minutes, work)
                result[way] = measure_in_subprocess(way, speech, args.window)
    result["load_after"] = Path("/proc/loadavg").read_text().strip()
    return result


def report(result: dict, hours: float) -> None:
    print(f"{hours:g} h of audio at the default limit; load {result['load_before']}")
    for name, row in result["files"].items():
        for way in ("new", "old"):
            if way in row:
                r = row[way]
                print(f"{name:>18} ({row['file_kib']} KiB) {way}: peak RSS {r['peak_rss_mib']} "
                      f"MiB (before decoding {r['rss_before_mib']} MiB; the array "
                      f"{r['array_mib']} MiB; {r['decode_s']} s)")
        if "ratio_old_over_new" in row:
            print(f"{'':>18} ratio old/new peak RSS: {row['ratio_old_over_new']}")
    if "after" in result:
        r = result["after"]
        windows = f" in {r['window_s']:g} s windows" if r["window_s"] else ""
        print(f"after decoding {r['audio_seconds'] / 60:.1f} min of speech{windows} (array "
              f"{r['array_mib']} MiB): peak RSS decoded {r['peak_rss_mib']}, VAD "
              f"{r['peak_rss_vad_mib']}, speech gathered {r['peak_rss_gathered_mib']}, "
              f"log-mel features {r['peak_rss_features_mib']} MiB")
    if "transcribe" in result:
        r = result["transcribe"]
        print(f"Whisper tiny.en on {r['audio_seconds'] / 60:.1f} min of speech: peak RSS "
              f"{r['peak_rss_transcribed_mib']} MiB (model loaded {r['rss_model_loaded_mib']} "
              f"MiB; {r['words']} words in {r['transcribe_s']} s)")
    for name, r in result.get("worker", {}).items():
        capped = (f"; CAPPED after {r['windows']} windows, {r['seconds_transcribed'] / 3600:.2f}"
                  " h" if r["capped"] else f"; {r['windows']} windows")
        print(f"worker, {name} ({r['language']}): peak RSS {r['peak_rss_worker_mib']} MiB "
              f"(decoded {r['peak_rss_mib']}, model loaded {r['rss_model_loaded_mib']} MiB; "
              f"decode {r['decode_s']} s, load {r['load_s']} s, transcribe {r['transcribe_s']} s"
              f"{capped}; {r['segments']} segments, {r['words']} words, {r['speech_s']} s)"
              + (f" {r['text_sample']!r}" if r["text_sample"] else ""))
    print(f"load after {result['load_after']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--hours", type=float, default=HOURS, help="length of the files")
    parser.add_argument("--skip-old", action="store_true")
    parser.add_argument("--after", type=float, default=0.0, metavar="MINUTES")
    parser.add_argument("--window", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--transcribe", type=float, default=0.0, metavar="MINUTES")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--worker-speech", action="store_true")
    parser.add_argument("--worker-cap", type=float, default=0.0, metavar="SECONDS",
                        help="stop transcribing after this long (0: the whole file)")
    parser.add_argument("--child", nargs=2, metavar=("WAY", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--language", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), MAX_SECONDS, int(args.window * 16_000),
              (args.model, args.language, args.worker_cap))
        return
    result = measure(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result, args.hours)


if __name__ == "__main__":
    main()

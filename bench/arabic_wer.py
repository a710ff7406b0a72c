"""Arabic accuracy: WER and CER of hams' STT engine on real human Arabic recordings.

Reads the recordings and reference transcripts in ../shared/data/arabic-speech/ (manifest.tsv;
never copied into the repository), transcribes each with hams' engine for the model (language
"ar", beam 5, VAD on, int8 on CPU: the server's decoding options) and scores it after the
Arabic fold of hams.text.compare (harakat and tatweel stripped, أ إ آ ٱ -> ا, ى -> ي,
ة -> ه, punctuation removed, Arabic-Indic digits to ASCII). Prints per-file and total WER/CER,
the real-time factor and the machine's load.

    .venv/bin/python bench/arabic_wer.py                      # the bundled Whisper base
    .venv/bin/python bench/arabic_wer.py --model /models/large-v3-turbo-ct2 --model bundled
    .venv/bin/python bench/arabic_wer.py --json
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

from arabic_common import (
    BEAM_SIZE,
    ROOT,
    SPEECH_DIR,
    load_average,
    load_stt,
    machine,
    score,
    transcribe,
)
from faster_whisper import decode_audio


def read_manifest(directory: Path) -> list[dict[str, str]]:
    """The recordings listed in manifest.tsv whose WAV is present."""
    with (directory / "manifest.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row for row in rows if (directory / row["file"]).is_file()]


def run_model(model: str, rows: list[dict[str, str]], directory: Path, data_dir: Path) -> dict:
    """Load ``model`` once, transcribe every recording, and score each and all together."""
    started = time.perf_counter()
    engine, name = load_stt(model, data_dir)
    load_seconds = time.perf_counter() - started
    files, refs, hyps, audio_total, compute_total = [], [], [], 0.0, 0.0
    transcribe(engine, decode_audio(str(directory / rows[0]["file"])))  # warm-up, untimed
    for row in rows:
        audio = decode_audio(str(directory / row["file"]))
        started = time.perf_counter()
        text = transcribe(engine, audio)
        seconds = time.perf_counter() - started
        duration = len(audio) / 16_000
        one = score([row["reference_text"]], [text])
        files.append({"file": row["file"], "style": row["dialect_or_style"],
                      "audio_s": round(duration, 2), "rtf": round(seconds / duration, 3),
                      "wer": round(one.wer, 3), "cer": round(one.cer, 3),
                      "reference": row["reference_text"], "hypothesis": text})
        refs.append(row["reference_text"])
        hyps.append(text)
        audio_total += duration
        compute_total += seconds
    total = score(refs, hyps)
    msa = [i for i, row in enumerate(rows) if row["dialect_or_style"].startswith("MSA")]
    by_msa = score([refs[i] for i in msa], [hyps[i] for i in msa]) if msa else None
    return {"model": model, "engine": name, "load_s": round(load_seconds, 2), "files": files,
            "total": {"wer": round(total.wer, 3), "cer": round(total.cer, 3),
                      "words": total.words, "rtf": round(compute_total / audio_total, 3)},
            "msa": None if by_msa is None else {"wer": round(by_msa.wer, 3),
                                                 "cer": round(by_msa.cer, 3)}}


def print_report(report: dict) -> None:
    print(f"{report['machine']}; load average {report['load_before']:.2f} -> "
          f"{report['load_after']:.2f}; beam {BEAM_SIZE}, int8 on cpu, VAD on, language ar")
    for result in report["results"]:
        print(f"\n{result['engine']} (--model {result['model']}), loaded in {result['load_s']} s")
        for f in result["files"]:
            print(f"  {f['file']}  {f['audio_s']:5.2f} s  WER {f['wer']:.3f}  CER {f['cer']:.3f}"
                  f"  RTF {f['rtf']:.3f}  {f['style']}")
            print(f"      ref: {f['reference']}\n      hyp: {f['hypothesis']}")
        total = result["total"]
        msa = result["msa"]
        msa_text = f"; MSA files WER {msa['wer']:.3f} CER {msa['cer']:.3f}" if msa else ""
        print(f"  total ({total['words']} words): WER {total['wer']:.3f}  CER {total['cer']:.3f}"
              f"  RTF {total['rtf']:.3f}{msa_text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append",
                        help="'bundled' (default), a faster-whisper model name or a local "
                             "CTranslate2 directory; repeat to compare several")
    parser.add_argument("--data", type=Path, default=SPEECH_DIR,
                        help="folder with manifest.tsv and the WAVs")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data",
                        help="HAMS_DATA_DIR for models (the bundled model is joined there)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args()
    if not (args.data / "manifest.tsv").is_file():
        sys.exit(f"no Arabic recordings at {args.data} (manifest.tsv missing): this benchmark "
                 "needs the shared data set; nothing measured")
    rows = read_manifest(args.data)
    if not rows:
        sys.exit(f"manifest.tsv in {args.data} lists no WAV that is present; nothing measured")
    load_before = load_average()
    results = [run_model(m, rows, args.data, args.data_dir) for m in args.model or ["bundled"]]
    report = {"machine": machine(), "load_before": load_before, "load_after": load_average(),
              "results": results}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report)


if __name__ == "__main__":
    main()

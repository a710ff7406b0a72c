"""What the Arabic benchmarks share: hams' own STT engine pinned to CPU int8, and the scoring."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ctranslate2  # noqa: E402
import jiwer  # noqa: E402
import numpy as np  # noqa: E402

from hams.engines.models import SttModels  # noqa: E402
from hams.engines.stt import SpeechToText, TranscriptionOptions  # noqa: E402
from hams.settings import Settings  # noqa: E402
from hams.text.compare import fold_for_scoring  # noqa: E402

SPEECH_DIR = ROOT.parent / "shared" / "data" / "arabic-speech"
BEAM_SIZE = 5


def load_average() -> float:
    """The machine's 1-minute load average, to judge how quiet it was during a run."""
    return os.getloadavg()[0]


def machine() -> str:
    """CPU count and model name, for the report line."""
    name = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({name})"


def load_stt(model: str, data_dir: Path) -> tuple[SpeechToText, str]:
    """hams' engine for ``model`` on CPU int8 beam 5, refusing a silent fallback to another."""
    models = SttModels(Settings(stt_model=model, data_dir=data_dir, stt_device="cpu",
                                stt_compute_type="int8", stt_beam_size=BEAM_SIZE))
    engine = models.get(model)
    status = models.status(model)
    if status.reason:
        raise SystemExit(f"model {model!r} could not be loaded ({status.reason}); hams would "
                         f"serve {status.served_by} instead, which is not what was asked")
    return engine, engine.name


def transcribe(engine: SpeechToText, audio: np.ndarray, *, seed: int | None = None) -> str:
    """The Arabic transcript of 16 kHz float32 ``audio`` with the server's decoding options.

    With ``seed``, Whisper's sampled retries (after a window fails its checks) draw the same
    numbers every time, so the same audio always gives the same text.
    """
    options = TranscriptionOptions(language="ar", word_timestamps=False, beam_size=BEAM_SIZE)
    if seed is not None:
        ctranslate2.set_random_seed(seed)
    segments, _info = engine.transcribe(audio, options)
    return " ".join(segment.text.strip() for segment in segments).strip()


@dataclass(frozen=True)
class Score:
    """Word and character error rates of one hypothesis (or a corpus) after the Arabic fold."""

    wer: float
    cer: float
    words: int
    chars: int


def score(references: list[str], hypotheses: list[str]) -> Score:
    """Corpus WER and CER (errors over all reference words / characters) on folded text."""
    refs = [fold_for_scoring(r) for r in references]
    hyps = [fold_for_scoring(h) for h in hypotheses]
    words = jiwer.process_words(refs, hyps)
    chars = jiwer.process_characters(refs, hyps)
    return Score(wer=words.wer, cer=chars.cer, words=sum(len(r.split()) for r in refs),
                 chars=sum(len(r) for r in refs))

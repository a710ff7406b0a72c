"""End-of-speech detection with Silero VAD, from the ONNX model faster-whisper ships.

The model scores each 32 ms frame (512 samples at 16 kHz) with the probability that it holds
speech; its recurrent state carries context from frame to frame, so frames are scored in
order from the start of the utterance (or the last ``MAX_CONTEXT_SECONDS`` of it).

End of speech is decided on the trailing window (``window_seconds``, 0.6 s by default): the
end-of-speech probability is one minus the mean speech probability there, and the speaker has
finished when that probability reaches the caller's ``eosThreshold`` — after some speech was
heard. A higher threshold asks for more certain silence; a cut mid-word scores near zero.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hams.errors import EngineUnavailable
from hams.media.audio import SAMPLE_RATE

FRAME = 512  # samples per scored frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous frame the model sees with each frame
SPEECH = 0.5  # a frame scoring at least this holds speech
MAX_CONTEXT_SECONDS = 8.0  # older audio no longer changes the trailing frames' scores
MODEL_FILE = "silero_vad_v6.onnx"


def model_path() -> Path:
    """The Silero model inside the installed faster-whisper package (never downloaded)."""
    from faster_whisper.utils import get_assets_path

    path = Path(get_assets_path()) / MODEL_FILE
    if not path.is_file():
        raise EngineUnavailable(
            f"Silero VAD model {MODEL_FILE} is missing from the installed faster-whisper "
            "package; reinstall faster-whisper (>= 1.1)")
    return path


@dataclass(frozen=True)
class EndOfSpeech:
    """The verdict on one utterance."""

    is_eos: bool
    probability: float  # end-of-speech probability over the trailing window, 0..1
    speech_heard: bool  # whether any frame held speech at all


class SileroVad:
    """One loaded Silero session per process; ``run`` is safe from several threads."""

    def __init__(self, path: Path | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            str(path or model_path()), sess_options=options,
            providers=["CPUExecutionProvider"])

    def speech_probabilities(self, audio: np.ndarray) -> np.ndarray:
        """One speech probability per 32 ms frame of 16 kHz mono float32 ``audio``."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        audio = audio[-int(MAX_CONTEXT_SECONDS * SAMPLE_RATE):]
        if audio.size == 0:
            return np.zeros(0, dtype=np.float32)
        padded = np.pad(audio, (0, -audio.size % FRAME))
        frames = padded.reshape(-1, FRAME)
        previous = np.zeros_like(frames[:, -CONTEXT:])
        previous[1:] = frames[:-1, -CONTEXT:]
        batch = np.concatenate([previous, frames], axis=1)
        state = np.zeros((1, 1, 128), dtype=np.float32)
        probabilities, _, _ = self._session.run(None, {"input": batch, "h": state,
                                                       "c": state.copy()})
        return np.asarray(probabilities, dtype=np.float32).reshape(-1)[: frames.shape[0]]

    def end_of_speech(self, audio: np.ndarray, threshold: float = 0.3,
                      window_seconds: float = 0.6) -> EndOfSpeech:
        """Whether the speaker has finished at the end of ``audio``."""
        scores = self.speech_probabilities(audio)
        window = max(1, round(window_seconds * SAMPLE_RATE / FRAME))
        if scores.size == 0:
            return EndOfSpeech(False, 0.0, False)
        heard = bool((scores >= SPEECH).any())
        probability = float(1.0 - scores[-window:].mean())
        probability = round(min(1.0, max(0.0, probability)), 4)
        return EndOfSpeech(heard and probability >= threshold, probability, heard)


_shared: SileroVad | None = None
_shared_lock = threading.Lock()


def shared_vad() -> SileroVad:
    """The process's VAD session, loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SileroVad()
        return _shared

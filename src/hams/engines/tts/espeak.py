"""espeak-ng behind the TextToSpeech Protocol, through the espeakng-loader wheel with ctypes.

The wheel ships the shared library and its voice data, so nothing is installed system-wide and
nothing is downloaded. The voice is robotic but synthesis takes milliseconds and covers Arabic.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterable, Iterator

import numpy as np

from hams.engines.tts import SynthesisOptions
from hams.errors import EngineUnavailable, ValidationFailed

# Constants from espeak-ng's speak_lib.h.
_AUDIO_OUTPUT_SYNCHRONOUS = 2  # espeak_Synth returns once the callback has had every sample
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data directory instead of calling exit()
_BUFFER_MS = 200  # how much audio espeak-ng hands the callback at a time
_PARAMETER_RATE = 1  # espeakRATE, in words per minute
_POSITION_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_EE_NOT_FOUND = 2
_PHONEMES_IPA = 0x02  # espeakPHONEMES_IPA, for espeak_TextToPhonemes
_NORMAL_WPM = 175  # espeakRATE_NORMAL
_MIN_WPM, _MAX_WPM = 80, 450  # espeakRATE_MINIMUM, espeakRATE_MAXIMUM

DEFAULT_VOICES = {"ar": "ar", "en": "en-us"}
"""The bundled espeak-ng voice for each language hams speaks."""

# int SynthCallback(short *wav, int numsamples, espeak_EVENT *events); non-zero aborts.
_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)

# espeak-ng is not thread-safe: the current voice, the rate, the synthesizer's state and the
# one registered callback are process globals, so two threads inside the library mix each
# other's settings and audio or crash it. Every call into the library, and the sample buffer
# the callback fills, is guarded by this one lock. (Piper's own espeak-ng is a separate,
# statically linked copy with its own lock, so it does not need this one.)
_LOCK = threading.Lock()
_library: _Library | None = None


class _Library:
    """The initialized libespeak-ng and the buffer its callback fills; use only under _LOCK."""

    def __init__(self, lib: ctypes.CDLL, data_path: str):
        _declare(lib)
        rate = lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path.encode(), _INITIALIZE_DONT_EXIT
        )
        if rate <= 0:
            raise EngineUnavailable(
                "espeak-ng could not initialize with its bundled data; "
                "reinstall the espeakng-loader package"
            )
        self.lib = lib
        self.sample_rate = int(rate)
        self.chunks: list[bytes] = []
        self.callback = _SynthCallback(self._collect)  # kept here: ctypes must not free it
        lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, wav: ctypes._Pointer, count: int, _events: int | None) -> int:
        if wav and count > 0:
            self.chunks.append(ctypes.string_at(wav, count * ctypes.sizeof(ctypes.c_short)))
        return 0

    def speak(self, text: str, voice: str, wpm: int) -> np.ndarray:
        """The whole of ``text`` as int16 samples; the caller holds _LOCK."""
        status = self.lib.espeak_SetVoiceByName(voice.encode())
        if status == _EE_NOT_FOUND:
            raise ValidationFailed(f"Unknown espeak-ng voice {voice!r}", data={"field": "voice"})
        if status != _EE_OK:
            raise EngineUnavailable(f"espeak-ng could not select voice {voice!r} ({status})")
        self.lib.espeak_SetParameter(_PARAMETER_RATE, wpm, 0)
        data = text.encode("utf-8")
        self.chunks = []
        status = self.lib.espeak_Synth(
            data, len(data) + 1, 0, _POSITION_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        samples = b"".join(self.chunks)
        self.chunks = []
        if status != _EE_OK:
            raise EngineUnavailable(f"espeak-ng failed to synthesize ({status})")
        return np.frombuffer(samples, dtype=np.int16).copy()

    def phonemes(self, text: str, voice: str) -> str:
        """The IPA espeak-ng reads ``text`` as, clause by clause; the caller holds _LOCK."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise ValidationFailed(f"Unknown espeak-ng voice {voice!r}", data={"field": "voice"})
        buffer = ctypes.c_char_p(text.encode("utf-8"))
        pointer = ctypes.pointer(buffer)
        clauses = []
        while buffer.value:  # the library advances the pointer past each clause it reads
            clause = self.lib.espeak_TextToPhonemes(pointer, _CHARS_UTF8, _PHONEMES_IPA)
            clauses.append((clause or b"").decode("utf-8", "replace"))
        return " ".join(c for c in clauses if c)


def _declare(lib: ctypes.CDLL) -> None:
    """Give each function ctypes uses its C signature, so arguments are converted, not guessed."""
    c_int, c_uint, c_char_p = ctypes.c_int, ctypes.c_uint, ctypes.c_char_p
    lib.espeak_Initialize.argtypes = [c_int, c_int, c_char_p, c_int]
    lib.espeak_Initialize.restype = c_int
    lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [c_char_p]
    lib.espeak_SetVoiceByName.restype = c_int
    lib.espeak_SetParameter.argtypes = [c_int, c_int, c_int]
    lib.espeak_SetParameter.restype = c_int
    lib.espeak_Synth.argtypes = [
        c_char_p, ctypes.c_size_t, c_uint, c_int, c_uint, c_uint,
        ctypes.POINTER(c_uint), ctypes.c_void_p,
    ]
    lib.espeak_Synth.restype = c_int
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(c_char_p), c_int, c_int]
    lib.espeak_TextToPhonemes.restype = c_char_p


def _load() -> _Library:
    """The process's one initialized library; the caller holds _LOCK."""
    global _library
    if _library is None:
        try:
            import espeakng_loader

            path = espeakng_loader.get_library_path()
            data_path = espeakng_loader.get_data_path()
            lib = ctypes.CDLL(path)
        except (ImportError, OSError, RuntimeError) as exc:
            raise EngineUnavailable(
                "espeak-ng could not be loaded; install the espeakng-loader package"
            ) from exc
        _library = _Library(lib, data_path)
    return _library


def _words_per_minute(speed: float) -> int:
    """espeak-ng's rate for a speed relative to normal, within what the library accepts."""
    return max(_MIN_WPM, min(_MAX_WPM, round(_NORMAL_WPM * speed)))


class EspeakEngine:
    """espeak-ng voices; cheap to create, every instance shares the process's one library."""

    name = "espeak-ng"

    def __init__(self) -> None:
        with _LOCK:
            self.sample_rate = _load().sample_rate

    def synthesize(
        self, sentences: Iterable[str], options: SynthesisOptions
    ) -> Iterator[np.ndarray]:
        wpm = _words_per_minute(options.speed)
        for sentence in sentences:
            if not sentence.strip():
                yield np.zeros(0, dtype=np.int16)
                continue
            with _LOCK:  # released before yielding: a slow consumer must not stall others
                pcm = _load().speak(sentence, options.voice, wpm)
            yield pcm

    def phonemes(self, text: str, voice: str) -> str:
        """What espeak-ng will say for ``text``, in IPA: shows whether a word got its vowels."""
        with _LOCK:
            return _load().phonemes(text, voice)

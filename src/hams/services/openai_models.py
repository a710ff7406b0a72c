"""The models the OpenAI-compatible routes answer to (GET /v1/models): hams' public names and
OpenAI's, each with what it does."""

from __future__ import annotations

from dataclasses import dataclass

from hams.errors import NotFound
from hams.services.openai_speech import OPENAI_TTS_MODELS
from hams.services.openai_transcription import OPENAI_STT_MODELS
from hams.services.tts_jobs import TTS_MODEL
from hams.settings import PUBLIC_STT_MODELS

MODELS_CREATED = 1735689600  # a fixed date (2025-01-01): the same answer from every replica
CAPABILITIES = {**dict.fromkeys((*PUBLIC_STT_MODELS, *OPENAI_STT_MODELS), "transcription"),
                **dict.fromkeys((TTS_MODEL, *OPENAI_TTS_MODELS), "speech")}


@dataclass(frozen=True)
class ModelInfo:
    id: str
    capability: str  # "transcription" or "speech"
    created: int = MODELS_CREATED


def list_models() -> list[ModelInfo]:
    return [ModelInfo(name, capability) for name, capability in CAPABILITIES.items()]


def get_model(model_id: str) -> ModelInfo:
    """One model, or 404."""
    if model_id not in CAPABILITIES:
        raise NotFound(f"The model {model_id!r} does not exist on this server",
                       message_key="MODEL_NOT_FOUND")
    return ModelInfo(model_id, CAPABILITIES[model_id])

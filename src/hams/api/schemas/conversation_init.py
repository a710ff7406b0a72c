"""conversation-init's body as the voice SDK (≤0.3.1) sends it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ConversationInitBody(BaseModel):
    model_config = ConfigDict(extra="ignore")  # newer SDKs add jobId, channelType...

    voiceAgentId: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    params: dict[str, Any] | None = Field(None, description="Values of the agent's "
                                          "{{params}}; echoed in call.ended's outcomeResult")
    voiceEnablement: bool = False
    tools: list[dict[str, Any]] | None = Field(
        None, max_length=32, description="Client tools in OpenAI's function shape, called "
        "through the socket's tools event")


class ConversationStarted(BaseModel):
    jobId: str

"""Voice agents, v1 (flat) and v2 (nested): one stored agent, two wire shapes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Voice agents"])

"""Web tools: versioned HTTP functions an agent may call."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Web tools"])

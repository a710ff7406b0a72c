"""Phone numbers (Twilio, SIP) as records, assigned to agents; the call routes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Phone numbers"])

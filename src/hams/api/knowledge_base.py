"""Knowledge base: items processed into chunks by a job, and hybrid search over them."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["Knowledge base"])

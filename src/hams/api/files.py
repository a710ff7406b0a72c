"""Stored files (TTS audio) behind signed, expiring links; range requests work."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from hams.api.deps import RuntimeDep
from hams.errors import NotFound, Unauthorized
from hams.services.links import verify_path

router = APIRouter(tags=["Files"])


@router.get("/v1/files/{key:path}")
def signed_file(key: str, runtime: RuntimeDep, expires: int | None = Query(None),
                signature: str | None = Query(None), download: bool = False) -> FileResponse:
    """A file the server handed out a link to; the signature covers the path and expiry."""
    if not verify_path(runtime.secret_key, f"/v1/files/{key}", expires, signature):
        raise Unauthorized("This link is invalid or has expired")
    if not runtime.storage.exists(key):
        raise NotFound("File not found")
    media_type = ("audio/wav" if key.endswith(".wav")
                  else mimetypes.guess_type(key)[0] or "application/octet-stream")
    return FileResponse(runtime.storage.path_for(key), media_type=media_type,
                        filename=key.rsplit("/", 1)[-1] if download else None)

"""Stored files (TTS audio) behind signed, expiring links; range requests work."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from hams.api.deps import RuntimeDep
from hams.api.schemas.common import COMMON, error_responses
from hams.api.schemas.media import LINK_REFUSED, file_response
from hams.services.links import open_signed_file

router = APIRouter(tags=["Files"])


@router.get("/v1/files/{key:path}", response_class=FileResponse,
            responses={**file_response("The stored file (WAV for synthesized speech)",
                                       "audio/*", "application/octet-stream"),
                       **error_responses(*COMMON, 404), **LINK_REFUSED})
def signed_file(key: str, runtime: RuntimeDep, expires: int | None = Query(None),
                signature: str | None = Query(None), download: bool = False) -> FileResponse:
    """A file the server handed out a link to; the signature covers the path and expiry."""
    stored = open_signed_file(key, expires, signature, storage=runtime.storage,
                              secret_key=runtime.secret_key)
    media_type = ("audio/wav" if key.endswith(".wav")
                  else mimetypes.guess_type(key)[0] or "application/octet-stream")
    return FileResponse(stored, media_type=media_type,
                        filename=key.rsplit("/", 1)[-1] if download else None)

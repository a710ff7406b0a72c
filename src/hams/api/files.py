"""Stored files (TTS audio, recordings) behind signed, expiring links; range requests work."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response, StreamingResponse

from hams.api.deps import RuntimeDep
from hams.api.downloads import PARTIAL, file_answer
from hams.api.schemas.common import COMMON, error_responses
from hams.api.schemas.media import LINK_REFUSED, file_response
from hams.services.links import open_signed_file

router = APIRouter(tags=["Files"])


@router.get("/v1/files/{key:path}", response_class=StreamingResponse,
            responses={**file_response("The stored file (WAV for synthesized speech)",
                                       "audio/*", "application/octet-stream"), **PARTIAL,
                       **error_responses(*COMMON, 404), **LINK_REFUSED})
def signed_file(key: str, runtime: RuntimeDep, expires: int | None = Query(None),
                signature: str | None = Query(None), download: bool = False,
                range_header: str | None = Header(None, alias="Range",
                                                  include_in_schema=False)) -> Response:
    """A file the server handed out a link to; the signature covers the path and expiry."""
    stored = open_signed_file(key, expires, signature, storage=runtime.storage,
                              secret_key=runtime.secret_key, download=download,
                              presigned=runtime.settings.s3_presigned_downloads)
    return file_answer(stored, range_header)

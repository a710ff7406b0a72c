"""Answer of the media upload route, and the answers that are files (downloads, signed links)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from hams.api.schemas.common import ErrorEnvelope, ResponseModel, iso
from hams.db.models import Upload

BINARY = {"schema": {"type": "string", "format": "binary"}}
# GET routes opened without an API key: their 401 is about the link
LINK_REFUSED = {401: {"model": ErrorEnvelope,
                      "description": "The signed link is invalid or has expired"}}


def file_response(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entry for a 200 that is a file, not JSON."""
    return {200: {"description": description,
                  "content": {media_type: BINARY for media_type in media_types}}}


class MediaPublic(ResponseModel):
    id: str
    mediaUrl: str = Field(description="Usable as any job's mediaUrl, by this project's keys")
    size: int
    filename: str | None
    contentType: str | None
    createdAt: str | None

    @classmethod
    def from_upload(cls, upload: Upload, media_url: str) -> MediaPublic:
        return cls(id=upload.id, mediaUrl=media_url, size=upload.size,
                   filename=upload.filename, contentType=upload.content_type,
                   createdAt=iso(upload.created_at))

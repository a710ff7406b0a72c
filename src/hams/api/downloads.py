"""Sending a stored file: streamed a chunk at a time from either storage backend (memory stays
bounded), one byte range when asked (players seek with ``Range``), or a redirect to the object
store's presigned URL when the server is set to hand those out."""

from __future__ import annotations

import re

from fastapi.responses import RedirectResponse, Response, StreamingResponse

from hams.services.links import StoredFile
from hams.storage.blobs import content_disposition

RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)  # units are case-insensitive

# documented beside each file route's 200
PARTIAL = {206: {"description": "The byte range asked for with Range",
                 "content": {"application/octet-stream": {
                     "schema": {"type": "string", "format": "binary"}}}}}


def file_answer(stored: StoredFile, range_header: str | None) -> Response:
    """200 with the whole file, 206 with one range, 416 for a range outside it, or a 307
    to the presigned URL."""
    if stored.redirect_url:
        return RedirectResponse(stored.redirect_url, status_code=307)
    headers = {"Accept-Ranges": "bytes"}
    if stored.filename:
        headers["Content-Disposition"] = content_disposition(stored.filename)
    wanted = byte_range(range_header, stored.size)
    if wanted is None:
        headers["Content-Length"] = str(stored.size)
        return StreamingResponse(stored.chunks(), media_type=stored.media_type,
                                 headers=headers)
    if wanted == ():
        return Response(status_code=416, headers={**headers,
                                                  "Content-Range": f"bytes */{stored.size}"})
    start, stop = wanted
    headers.update({"Content-Length": str(stop - start),
                    "Content-Range": f"bytes {start}-{stop - 1}/{stored.size}"})
    return StreamingResponse(stored.chunks(start, stop), status_code=206,
                             media_type=stored.media_type, headers=headers)


def byte_range(header: str | None, size: int) -> tuple[int, int] | tuple[()] | None:
    """``(start, stop)`` of a single range; ``()`` when it lies outside the file; None for the
    whole file (no header, several ranges, or one hams cannot read: RFC 9110 lets a server
    ignore those)."""
    match = RANGE.fullmatch((header or "").strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        return (max(0, size - length), size) if length and size else ()
    start = int(first)
    stop = min(size, int(last) + 1) if last else size
    if last and int(last) < start:
        return None
    return (start, stop) if start < size else ()

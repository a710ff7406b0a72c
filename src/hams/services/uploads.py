"""Uploaded media: stored per project, usable as a job's mediaUrl, idempotent by key."""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from sqlalchemy.orm import Session

from hams.db.models import Upload, new_id
from hams.errors import NotFound, PayloadTooLarge, ValidationFailed
from hams.services import idempotency
from hams.services.keys import Principal
from hams.services.links import StoredFile, stored_file
from hams.settings import Settings
from hams.storage import BlobStorage

CHUNK = 1024 * 1024
UPLOAD_URL = re.compile(r"/v1/media/([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$")
"""An upload named as a job's mediaUrl: the form ``upload_url`` writes, on any host."""


def upload_url(base_url: str, upload_id: str) -> str:
    """Where clients fetch an upload, and what they pass as a job's mediaUrl."""
    return f"{base_url}/v1/media/{upload_id}"


def upload_id_in(media_url: str) -> str | None:
    """The upload a mediaUrl names, if it names one (query string ignored)."""
    match = UPLOAD_URL.search(media_url.split("?", 1)[0])
    return match.group(1) if match else None


def store_upload(
    session: Session, principal: Principal, source: BinaryIO, *, storage: BlobStorage,
    filename: str | None, content_type: str | None, max_bytes: int,
    idempotency_key: str | None = None, idempotency_hours: float = 24,
) -> Upload:
    """Copy ``source`` into storage in chunks, refusing it once it passes ``max_bytes``."""
    upload_id = new_id()
    key = f"uploads/{principal.project_id}/{upload_id}"
    with storage.writer(key) as out:  # nothing is stored unless the copy completes
        size, request_hash = _copy_limited(source, out, filename, max_bytes)
    try:
        if idempotency_key:
            earlier = idempotency.find_resource(session, principal.project_id, idempotency_key,
                                                request_hash, idempotency_hours)
            if earlier is not None and (existing := session.get(Upload, earlier)) is not None:
                storage.delete_prefix(key)
                return existing
        upload = Upload(id=upload_id, project_id=principal.project_id, filename=filename,
                        content_type=content_type, size=size, storage_key=key)
        session.add(upload)
        session.flush()
        if idempotency_key:
            idempotency.remember(session, principal.project_id, idempotency_key, request_hash,
                                 upload_id)
    except BaseException:
        storage.delete_prefix(key)  # nothing half-made stays behind
        raise
    return upload


def _copy_limited(source: BinaryIO, out: BinaryIO, filename: str | None,
                  max_bytes: int) -> tuple[int, str]:
    """Write ``source`` to ``out``; the size and a hash of name and content. An empty file
    is refused before anything is written: no job could ever use it."""
    chunk = source.read(CHUNK)
    if not chunk:
        raise ValidationFailed("The uploaded file is empty (0 bytes)",
                               data=[{"field": "file", "message": "The file is empty"}])
    digest = hashlib.sha256((filename or "").encode() + b"\0")
    size = 0
    while chunk:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The upload is larger than the limit of {max_bytes} "
                                  "bytes (HAMS_MEDIA_MAX_BYTES)")
        digest.update(chunk)
        out.write(chunk)
        chunk = source.read(CHUNK)
    return size, digest.hexdigest()


def get_upload(session: Session, principal: Principal, upload_id: str) -> Upload:
    upload = session.get(Upload, upload_id)
    if upload is None or upload.project_id != principal.project_id:
        raise NotFound("Media not found")
    return upload


def upload_file(session: Session, principal: Principal, upload_id: str, *,
                storage: BlobStorage, settings: Settings) -> StoredFile:
    """The caller's upload as a file to send, for GET /v1/media/{id}: under its own name and
    content type, or a presigned URL when the server hands those out."""
    upload = get_upload(session, principal, upload_id)
    presign = settings.signed_url_seconds if settings.s3_presigned_downloads else None
    return stored_file(upload.storage_key, storage=storage,
                       media_type=upload.content_type or "application/octet-stream",
                       filename=upload.filename, presign_seconds=presign)

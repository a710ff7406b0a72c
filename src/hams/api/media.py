"""Media uploads (beyond Hamsa): send a local file, get a mediaUrl usable in any job."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Header, Request, UploadFile
from fastapi.responses import FileResponse

from hams.api.deps import PrincipalDep, RuntimeDep, SessionDep, base_url, get_principal
from hams.api.envelope import ok
from hams.services.jobs import iso
from hams.services.uploads import get_upload, store_upload

router = APIRouter(tags=["Media"], dependencies=[Depends(get_principal)])


@router.post("/v1/media")
def upload_media(request: Request, runtime: RuntimeDep, session: SessionDep,
                 principal: PrincipalDep, file: UploadFile = File(...),
                 idempotency_key: str | None = Header(None)) -> dict:
    """Store an uploaded audio or video file for this project."""
    upload = store_upload(session, runtime.storage, principal, file.file,
                          filename=file.filename, content_type=file.content_type,
                          max_bytes=runtime.settings.media_max_bytes,
                          idempotency_key=idempotency_key,
                          idempotency_hours=runtime.settings.idempotency_hours)
    media_url = f"{base_url(request, runtime.settings)}/v1/media/{upload.id}"
    return ok({"id": upload.id, "mediaUrl": media_url, "size": upload.size,
               "filename": upload.filename, "contentType": upload.content_type,
               "createdAt": iso(upload.created_at)}, message="Media uploaded")


@router.get("/v1/media/{upload_id}")
def download_media(upload_id: str, runtime: RuntimeDep, session: SessionDep,
                   principal: PrincipalDep) -> FileResponse:
    """Download an uploaded file (range requests supported)."""
    upload = get_upload(session, principal, upload_id)
    return FileResponse(runtime.storage.path_for(upload.storage_key),
                        media_type=upload.content_type or "application/octet-stream",
                        filename=upload.filename)

"""Media uploads (beyond Hamsa): send a local file, get a mediaUrl usable in any job."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import FileResponse

from hams.api.deps import PrincipalDep, RuntimeDep, SessionDep, base_url, get_principal
from hams.api.envelope import ok
from hams.db.models import Upload, new_id
from hams.errors import NotFound, PayloadTooLarge
from hams.services.jobs import iso

router = APIRouter(tags=["Media"], dependencies=[Depends(get_principal)])


@router.post("/v1/media")
def upload_media(request: Request, runtime: RuntimeDep, session: SessionDep,
                 principal: PrincipalDep, file: UploadFile = File(...)) -> dict:
    """Store an uploaded audio or video file for this project."""
    upload_id = new_id()
    key = f"uploads/{principal.project_id}/{upload_id}"
    path = runtime.storage.path_for(key)
    with path.open("wb") as out:
        shutil.copyfileobj(file.file, out, length=1024 * 1024)
    size = path.stat().st_size
    if size > runtime.settings.media_max_bytes:
        path.unlink(missing_ok=True)
        raise PayloadTooLarge("The upload is larger than HAMS_MEDIA_MAX_BYTES")
    upload = Upload(id=upload_id, project_id=principal.project_id, filename=file.filename,
                    content_type=file.content_type, size=size, storage_key=key)
    session.add(upload)
    media_url = f"{base_url(request, runtime.settings)}/v1/media/{upload_id}"
    return ok({"id": upload_id, "mediaUrl": media_url, "size": size,
               "filename": file.filename, "contentType": file.content_type,
               "createdAt": iso(upload.created_at)}, message="Media uploaded")


@router.get("/v1/media/{upload_id}")
def download_media(upload_id: str, runtime: RuntimeDep, session: SessionDep,
                   principal: PrincipalDep) -> FileResponse:
    """Download an uploaded file (range requests supported)."""
    upload = session.get(Upload, upload_id)
    if upload is None or upload.project_id != principal.project_id:
        raise NotFound("Media not found")
    return FileResponse(runtime.storage.path_for(upload.storage_key),
                        media_type=upload.content_type or "application/octet-stream",
                        filename=upload.filename)

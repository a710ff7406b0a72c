"""Media uploads (beyond Hamsa): send a local file, get a mediaUrl usable in any job."""

from __future__ import annotations

from fastapi import APIRouter, File, Header, Request, UploadFile
from fastapi.responses import Response, StreamingResponse

from hams.api.deps import JOBS, READ, PrincipalDep, RuntimeDep, SessionDep, base_url
from hams.api.downloads import PARTIAL, file_answer
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.media import MediaPublic, file_response
from hams.services.uploads import store_upload, upload_file, upload_url

router = APIRouter(tags=["Media"])
MediaAnswer = Envelope[MediaPublic]


@router.post("/v1/media", dependencies=[JOBS], response_model=MediaAnswer,
             responses=error_responses(*AUTHENTICATED, 409, 503))  # 409: Idempotency-Key reuse
def upload_media(request: Request, runtime: RuntimeDep, session: SessionDep,
                 principal: PrincipalDep, file: UploadFile = File(...),
                 idempotency_key: str | None = Header(None)) -> MediaAnswer:
    """Store an uploaded audio or video file for this project."""
    upload = store_upload(session, principal, file.file, storage=runtime.storage,
                          filename=file.filename, content_type=file.content_type,
                          max_bytes=runtime.settings.media_max_bytes,
                          idempotency_key=idempotency_key,
                          idempotency_hours=runtime.settings.idempotency_hours)
    media_url = upload_url(base_url(request, runtime.settings), upload.id)
    return MediaAnswer(message="Media uploaded", data=MediaPublic.from_upload(upload, media_url))


@router.get("/v1/media/{upload_id}", dependencies=[READ], response_class=StreamingResponse,
            responses={**file_response("The file, with the content type it was uploaded with",
                                       "*/*"), **PARTIAL,
                       **error_responses(*AUTHENTICATED, 404, 503)})
def download_media(upload_id: str, runtime: RuntimeDep, session: SessionDep,
                   principal: PrincipalDep,
                   range_header: str | None = Header(None, alias="Range",
                                                     include_in_schema=False)) -> Response:
    """Download an uploaded file (range requests supported)."""
    stored = upload_file(session, principal, upload_id, storage=runtime.storage,
                         settings=runtime.settings)
    return file_answer(stored, range_header)

"""The job preview page behind ``previewUrl``: opened in a browser with a signed link."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from hams.api.deps import RuntimeDep
from hams.api.schemas.common import COMMON, error_responses
from hams.api.schemas.media import LINK_REFUSED
from hams.db.models import Job
from hams.services.jobs import preview_job

router = APIRouter(tags=["Jobs"])


PAGE = {200: {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}}


# response_class=Response: the errors stay documented as JSON, only the page is HTML
@router.get("/v1/jobs/{job_id}/preview", response_class=Response,
            responses={**PAGE, **error_responses(*COMMON, 404, 503), **LINK_REFUSED})
def preview(job_id: str, runtime: RuntimeDep, expires: int | None = Query(None),
            signature: str | None = Query(None)) -> HTMLResponse:
    """An HTML page with the job's status, a media player and the timed transcript."""
    shown = preview_job(runtime.db, job_id, expires, signature, storage=runtime.storage,
                        secret_key=runtime.secret_key,
                        link_seconds=runtime.settings.signed_url_seconds)
    return HTMLResponse(render_preview(shown.job, shown.media_link))


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


def render_preview(job: Job, media_link: str | None = None) -> str:
    """The page: Arabic transcripts right to left, times left to right."""
    response = job.job_response or {}
    language = job.from_lng or response.get("language") or "ar"
    direction = "rtl" if language == "ar" else "ltr"
    rows = "".join(
        f'<tr><td class="t">{_clock(s.get("start", 0))}–{_clock(s.get("end", 0))}</td>'
        f"<td>{escape(str(s.get('text', '')).strip())}</td></tr>"
        for s in response.get("segments") or [])
    source = media_link or job.media_url or ""
    media = (f'<audio controls preload="none" src="{escape(source)}"></audio>'
             if source.startswith(("http://", "https://", "/")) else "")
    error = f'<p class="error">{escape(job.error)}</p>' if job.error else ""
    title = escape(job.title or job.id)
    return f"""<!doctype html>
<html lang="{escape(language)}" dir="{direction}"><head><meta charset="utf-8">
<title>{title} — hams</title>
<style>body{{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}}
.status{{font-weight:600}} .error{{color:#b00}} td{{padding:.25rem .5rem;vertical-align:top}}
.t{{color:#666;white-space:nowrap;direction:ltr}}</style></head>
<body><h1>{title}</h1>
<p>Status: <span class="status">{escape(job.status)}</span> · {escape(job.type)} ·
{escape(job.model or "")}</p>{error}{media}
<table>{rows}</table>
</body></html>"""

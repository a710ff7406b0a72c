"""Media uploads, transcription, jobs and AI content: one definition for both clients."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hams.client._http import (
    ApiRequest,
    FileBody,
    ProgressCallback,
    Sleep,
    new_idempotency_key,
)
from hams.client._ops import (
    ClientBase,
    Op,
    PollCallback,
    WebhookAuth,
    body_of,
    camel_keys,
    data_of,
    json_body,
    local_file,
    operation,
    part_names,
    segment,
    webhook_auth_body,
)
from hams.client.errors import JobTimeout, NotFoundError
from hams.client.models import Job, JobList, JobPage, JobView, Upload, WebhookDelivery

DEFAULT_MODEL = "Hamsa-General-V2.0"
DETECT_LANGUAGE = "auto"  # hams: detect the spoken language (Hamsa takes only ar and en)
LONG_POLL_SECONDS = 20.0  # held by the server per request (hams allows up to 60)
POLL_START = 0.5  # first pause when the server does not hold requests (Hamsa's cloud)
POLL_MAX = 10.0


class JobMethods(ClientBase):
    """The job routes; see docs/python-sdk.md."""

    # --- raw access ---------------------------------------------------------------------

    @operation
    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json: Any = None, idempotency_key: str | None = None) -> Op[Any]:
        """Call any route; returns the decoded JSON body. Reads, and writes that carry an
        idempotency key, are retried; other writes are sent once."""
        response = yield ApiRequest(method.upper(), path, params=dict(params or {}),
                                    json=json, idempotency_key=idempotency_key)
        return json_body(response)

    # --- media and transcription ---------------------------------------------------------

    @operation
    def upload(self, path: str | os.PathLike, *, on_progress: ProgressCallback | None
               = None, idempotency_key: str | None = None) -> Op[Upload]:
        """Store a local audio or video file on the server (hams' ``POST /v1/media``)."""
        return (yield from self._upload(local_file(path), on_progress, idempotency_key))

    def _upload(self, path: Path, on_progress: ProgressCallback | None,
                idempotency_key: str | None) -> Op[Upload]:
        try:
            response = yield ApiRequest(
                "POST", "/v1/media", file=FileBody(path, on_progress),
                idempotency_key=idempotency_key or new_idempotency_key())
        except NotFoundError as exc:
            raise NotFoundError(
                "This server does not take uploads (POST /v1/media is a hams extension); "
                "pass an http(s) URL instead", status_code=exc.status_code,
                message_key=exc.message_key, body=exc.body) from exc
        return Upload.model_validate(data_of(response))

    @operation
    def transcribe(
        self, source: str | os.PathLike, *, language: str | None = "ar",
        model: str | None = None, title: str | None = None, return_srt: bool = False,
        srt_options: Mapping[str, Any] | None = None, webhook_url: str | None = None,
        webhook_auth: WebhookAuth | None = None, idempotency_key: str | None = None,
        wait: bool = False, timeout: float | None = None,
        on_upload_progress: ProgressCallback | None = None,
        on_poll: PollCallback | None = None,
    ) -> Op[Job]:
        """Transcribe a URL or a local file (uploaded first); with ``wait`` the finished job.

        ``language`` is ``"ar"`` (Hamsa's default), ``"en"``, or None to have hams detect it
        (sent as ``"auto"``, a hams extension). Without ``wait`` the new job is read back
        once, so the result is always a whole Job.
        """
        key = idempotency_key or new_idempotency_key()
        media_url, title = yield from self._media_source(source, title, key, on_upload_progress)
        body = body_of(
            mediaUrl=media_url, model=model or DEFAULT_MODEL,
            language=DETECT_LANGUAGE if language is None else language, title=title,
            returnSrtFormat=return_srt or None, srtOptions=camel_keys(srt_options),
            webhookUrl=webhook_url, webhookAuth=webhook_auth_body(webhook_auth))
        response = yield ApiRequest("POST", "/v1/jobs/transcribe", json=body,
                                    idempotency_key=key)
        job_id = data_of(response)["jobId"]
        if wait:
            return (yield from self._wait(job_id, timeout, on_poll))
        return (yield from self._job(job_id))

    def _media_source(self, source: str | os.PathLike, title: str | None, key: str,
                      on_progress: ProgressCallback | None) -> Op[tuple[str, str]]:
        """A URL as it is, or a local file uploaded (under a key derived from the job's, so a
        retried call reuses the upload); the title defaults to the file's name."""
        if isinstance(source, str) and source.startswith(("http://", "https://")):
            return source, title or Path(urlsplit(source).path).name or source
        path = local_file(source)
        upload = yield from self._upload(path, on_progress, f"{key}-upload")
        return upload.media_url, title or path.name

    @operation
    def transcribe_with_ai_content(
        self, source: str | os.PathLike, parts: str | Sequence[str], *, language: str = "ar",
        title: str | None = None, model: str | None = None,
        ai_content_title: str | None = None, ai_content_language: str | None = None,
        ai_content_date: str | None = None, instructions: str | None = None,
        webhook_url: str | None = None, webhook_auth: WebhookAuth | None = None,
        idempotency_key: str | None = None,
        on_upload_progress: ProgressCallback | None = None,
    ) -> Op[tuple[str, str]]:
        """Transcribe and write AI content in one call (v2); ``(ai_job_id,
        transcription_job_id)``. The AI content job starts when the transcription completes."""
        key = idempotency_key or new_idempotency_key()
        media_url, title = yield from self._media_source(source, title, key, on_upload_progress)
        response = yield ApiRequest(
            "POST", "/v2/jobs/generate-transcription-ai-content", idempotency_key=key,
            json=body_of(mediaUrl=media_url, title=title, language=language,
                       aiParts=part_names(parts), model=model, aiContentTitle=ai_content_title,
                       aiContentLanguage=ai_content_language, aiContentDate=ai_content_date,
                       aiContentText=instructions, webhookUrl=webhook_url,
                       webhookAuth=webhook_auth_body(webhook_auth)))
        data = data_of(response)
        return data["jobId"], data["transcriptionJobId"]

    @operation
    def create_job(
        self, source: str | os.PathLike, *, title: str | None = None, language: str = "ar",
        sync: bool = False, sync_timeout: float = 300.0, webhook_url: str | None = None,
        webhook_auth: WebhookAuth | None = None, idempotency_key: str | None = None,
        on_upload_progress: ProgressCallback | None = None,
    ) -> Op[Job]:
        """Hamsa's v2 create (``POST /v2/jobs``, a transcription). With ``sync`` the server
        holds the request until the job ends or its own limit passes (``sync_timeout`` covers
        it); either way the job as it stands is returned."""
        key = idempotency_key or new_idempotency_key()
        media_url, title = yield from self._media_source(source, title, key, on_upload_progress)
        response = yield ApiRequest(
            "POST", "/v2/jobs", idempotency_key=key,
            timeout=self._config.timeout + sync_timeout if sync else None,
            json=body_of(type="TRANSCRIPTION", mediaUrl=media_url, title=title,
                         language=language, processingType="sync" if sync else "async",
                         webhookUrl=webhook_url, webhookAuth=webhook_auth_body(webhook_auth)))
        data = data_of(response)
        if "status" in data:  # sync: the job object came with the answer
            return Job.model_validate({**data, "id": data.get("id") or data["jobId"]})
        return (yield from self._job(data["jobId"]))

    # --- jobs ----------------------------------------------------------------------------

    @operation
    def get_job(self, job_id: str) -> Op[Job]:
        """A job of any type, as it stands now."""
        return (yield from self._job(job_id))

    def _created(self, data: dict[str, Any], wait: bool, timeout: float | None,
                 on_poll: PollCallback | None) -> Op[Job]:
        """The job a create route answered with: waited for, or read back when the answer
        has only ``jobId`` (as Hamsa's transcription route does)."""
        if wait:
            return (yield from self._wait(data.get("id") or data["jobId"], timeout, on_poll))
        if "id" in data:
            return Job.model_validate(data)
        return (yield from self._job(data["jobId"]))

    def _job(self, job_id: str, wait: float | None = None) -> Op[Job]:
        timeout = self._config.timeout + wait if wait else None
        response = yield ApiRequest("GET", "/v1/jobs", params={"jobId": job_id, "wait": wait},
                                    timeout=timeout)
        body = json_body(response)
        return Job.model_validate({**body["data"], "previewUrl": body.get("previewUrl")})

    @operation
    def wait_for_job(self, job_id: str, timeout: float | None = None, *,
                     on_poll: PollCallback | None = None) -> Op[Job]:
        """The job once COMPLETED or FAILED; JobTimeout if it is still running after
        ``timeout`` seconds (None: no limit). ``on_poll(job)`` sees every answer."""
        return (yield from self._wait(job_id, timeout, on_poll))

    def _wait(self, job_id: str, timeout: float | None, on_poll: PollCallback | None
              ) -> Op[Job]:
        """Long-poll (``wait=``): hams answers as soon as the job ends, so there is no
        polling delay. A server that ignores ``wait`` answers at once; then back off."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = POLL_START
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            hold = LONG_POLL_SECONDS if left is None else max(0.0, min(LONG_POLL_SECONDS, left))
            asked = time.monotonic()
            job = yield from self._job(job_id, round(hold, 1) if hold >= 0.1 else None)
            if on_poll is not None:
                on_poll(job)
            if job.done:
                return job
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise JobTimeout(
                    f"Job {job_id} is still {job.state or job.status.lower()} after "
                    f"{timeout:g} s; it keeps running (wait_for_job({job_id!r}) waits again)",
                    job=job)
            if now - asked < hold / 2:  # not held: this server does not long-poll
                yield Sleep(pause if deadline is None else min(pause, deadline - now))
                pause = min(pause * 2, POLL_MAX)
            else:
                pause = POLL_START

    @operation
    def list_jobs(self, *, page: int = 1, per_page: int = 10, type: str | None = None,
                  status: str | None = None, search: str | None = None,
                  sort_by: str | None = None, order_by: str | None = None) -> Op[JobPage]:
        """One page of the project's jobs, newest first unless ``sort_by``/``order_by``."""
        response = yield ApiRequest("GET", "/v2/jobs", params=dict(
            page=page, perPage=per_page, type=type, status=status, search=search,
            sortBy=sort_by, orderBy=order_by))
        return JobPage.model_validate(data_of(response))

    @operation
    def list_jobs_v1(self, *, take: int = 10, skip: int = 1, search: str | None = None,
                     status: str | None = None, type: str | None = None,
                     sort_field: str | None = None, sort_direction: str | None = None
                     ) -> Op[JobList]:
        """``POST /v1/jobs/all``: ``skip`` is a 1-based page number, as Hamsa defines it."""
        sort = {"field": sort_field or "createdAt", "direction": sort_direction or "desc"}
        response = yield ApiRequest("POST", "/v1/jobs/all", idempotent=True, json=body_of(
            take=take, skip=skip, search=search, status=status, type=type, sort=sort))
        return JobList.model_validate(data_of(response))

    @operation
    def view_job(self, job_id: str) -> Op[JobView]:
        """The v2 summary of a job (``GET /v2/jobs/view/{id}``)."""
        response = yield ApiRequest("GET", f"/v2/jobs/view/{segment(job_id)}")
        return JobView.model_validate(data_of(response))

    @operation
    def cancel_job(self, job_id: str) -> Op[Job]:
        """Cancel a job that has not finished (ConflictError if it has); hams extension."""
        response = yield ApiRequest("POST", f"/v1/jobs/{segment(job_id)}/cancel",
                                    idempotent=True)
        return Job.model_validate(data_of(response))

    @operation
    def delete_job(self, job_id: str) -> Op[None]:
        """Delete a job, its deliveries and its stored media; hams extension."""
        yield ApiRequest("DELETE", f"/v1/jobs/{segment(job_id)}")

    @operation
    def webhook_deliveries(self, job_id: str) -> Op[list[WebhookDelivery]]:
        """The job's webhook deliveries and every attempt made; hams extension."""
        response = yield ApiRequest("GET", f"/v1/jobs/{segment(job_id)}/webhook-deliveries")
        return [WebhookDelivery.model_validate(d) for d in data_of(response)]

    # --- AI content ----------------------------------------------------------------------

    @operation
    def ai_content(
        self, job_id: str, parts: str | Sequence[str], *, language: str | None = None,
        prompts: Mapping[str, str] | None = None, title: str | None = None,
        webhook_url: str | None = None, webhook_auth: WebhookAuth | None = None,
        idempotency_key: str | None = None, wait: bool = False, timeout: float | None = None,
        on_poll: PollCallback | None = None,
    ) -> Op[Job]:
        """Write AI content (summary, keywords, ...) from a completed transcription job;
        ``prompts`` ({part: prompt}) use the custom route and need an LLM on the server."""
        path = "/v1/jobs/ai-content/custom" if prompts else "/v1/jobs/ai-content"
        response = yield ApiRequest(
            "POST", path, params={"jobId": job_id},
            idempotency_key=idempotency_key or new_idempotency_key(),
            json=body_of(aiParts=part_names(parts), language=language, title=title,
                       prompts=dict(prompts) if prompts else None, webhookUrl=webhook_url,
                       webhookAuth=webhook_auth_body(webhook_auth)))
        return (yield from self._created(data_of(response), wait, timeout, on_poll))

    @operation
    def get_ai_content(self, job_id: str) -> Op[Job]:
        """An AI content job by its id, or the newest one made from a transcription's id."""
        response = yield ApiRequest("GET", "/v1/jobs/ai-content", params={"jobId": job_id})
        return Job.model_validate(data_of(response))

    @operation
    def estimate_ai_content(self, job_id: str) -> Op[float]:
        """What AI content for a completed transcription would cost."""
        response = yield ApiRequest("GET", "/v1/jobs/ai-content/estimate",
                                    params={"jobId": job_id})
        data = data_of(response)
        return float(data["data"] if isinstance(data, dict) else data)

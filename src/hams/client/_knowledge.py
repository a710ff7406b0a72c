"""The knowledge base: ``client.knowledge_base``, one definition for both clients.

An item (a text, web pages, a file) is made searchable by a job on the server: it is
PROCESSING until that job has extracted, chunked and embedded it, then PROCESSED (or FAILED).
``wait`` long-polls the item's job on hams, so it returns as soon as the job ends; on a server
whose items name no job it polls the item with backoff.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from hams.client._http import ApiRequest, FileBody, ProgressCallback, Sleep
from hams.client._ops import Op, body_of, data_of, local_file, operation, segment
from hams.client._resource import Resource, many
from hams.client.errors import KnowledgeItemTimeout, NotFoundError
from hams.client.models import Job, KnowledgeItem, KnowledgePage, KnowledgeSearch

KB = "/v1/voice-agents/knowledge-base"
LONG_POLL_SECONDS = 20.0
POLL_START = 0.5  # pauses when the server does not hold requests, or names no job
POLL_MAX = 5.0
ItemCallback = Callable[[KnowledgeItem], Any]


class KnowledgeBase(Resource):
    """``client.knowledge_base``: add texts, pages and files, wait for them to be processed,
    search them, and manage them."""

    # --- adding ----------------------------------------------------------------------------

    @operation
    def add_text(self, name: str | None, text: str, *, wait: bool = False,
                 timeout: float | None = None) -> Op[KnowledgeItem]:
        """A TEXT item (``name`` None: its first line). ``wait``: returned once processed."""
        item = yield from self._create({"type": "TEXT", "itemName": name, "content": text})
        return (yield from self._maybe_wait(item, wait, timeout))

    @operation
    def add_urls(self, name: str | None, urls: str | Sequence[str], *, wait: bool = False,
                 timeout: float | None = None) -> Op[KnowledgeItem]:
        """A URL item: the server fetches each page (through its URL guard) and reads its
        text (HTML, PDF, DOCX, text). ``name`` None: the first URL."""
        item = yield from self._create({"type": "URL", "itemName": name,
                                        "itemUrls": many(urls)})
        return (yield from self._maybe_wait(item, wait, timeout))

    @operation
    def add_file(self, path: str | os.PathLike, name: str | None = None, *,
                 wait: bool = False, timeout: float | None = None,
                 on_progress: ProgressCallback | None = None) -> Op[KnowledgeItem]:
        """A FILE item from a local file (txt, md, html, pdf, docx), sent as multipart and
        streamed; ``name`` defaults to the file's name. FileNotFoundError before any request
        when it is not there. Sent once: a retry could add the file twice."""
        body = FileBody(local_file(path), on_progress,
                        fields=(("itemName", name),) if name else ())
        response = yield ApiRequest("POST", KB, file=body, idempotent=False)
        item = KnowledgeItem.model_validate(data_of(response)[0])
        return (yield from self._maybe_wait(item, wait, timeout))

    def _create(self, item: dict[str, Any]) -> Op[KnowledgeItem]:
        response = yield ApiRequest("POST", KB, json={"items": [body_of(**item)]})
        return KnowledgeItem.model_validate(data_of(response)[0])

    def _maybe_wait(self, item: KnowledgeItem, wait: bool, timeout: float | None
                    ) -> Op[KnowledgeItem]:
        if not wait or item.done:
            return item
        return (yield from self._wait(item.id, timeout, None))

    # --- waiting ---------------------------------------------------------------------------

    @operation
    def wait(self, item_id: str, timeout: float | None = None, *,
             on_poll: ItemCallback | None = None) -> Op[KnowledgeItem]:
        """The item once PROCESSED or FAILED (returned, not raised: check ``item.processed``
        and ``failure_reason``). KnowledgeItemTimeout (a JobTimeout) if it is still
        PROCESSING after ``timeout`` seconds (None: no limit); it keeps being processed."""
        return (yield from self._wait(item_id, timeout, on_poll))

    def _wait(self, item_id: str, timeout: float | None, on_poll: ItemCallback | None
              ) -> Op[KnowledgeItem]:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause, job, ended = POLL_START, None, None
        while True:
            item = yield from self._item(item_id)
            if on_poll is not None:
                on_poll(item)
            if item.done:
                return item
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise KnowledgeItemTimeout(
                    f"Knowledge-base item {item_id} is still {item.status} after {timeout:g} s;"
                    f" it keeps being processed (wait({item_id!r}) waits again)",
                    item=item, job=job)
            if item.job_id and item.job_id != ended:
                hold = LONG_POLL_SECONDS if left is None else min(LONG_POLL_SECONDS, left)
                asked = time.monotonic()
                try:
                    job = yield from self._job(item.job_id, hold)
                except NotFoundError:  # the job was deleted: poll the item instead
                    ended = item.job_id
                    continue
                if job.done:  # read the item at once, then poll should it still be PROCESSING
                    ended = item.job_id
                    continue
                if time.monotonic() - asked >= hold / 2:  # held: the server long-polls
                    pause = POLL_START
                    continue
            yield Sleep(pause if left is None else max(0.0, min(pause, left)))
            pause = min(pause * 2, POLL_MAX)

    def _job(self, job_id: str, hold: float) -> Op[Job]:
        wait = round(hold, 1) if hold >= 0.1 else None
        response = yield ApiRequest("GET", "/v1/jobs", params={"jobId": job_id, "wait": wait},
                                    timeout=self._config.timeout + wait if wait else None)
        return Job.model_validate(data_of(response))

    def _item(self, item_id: str) -> Op[KnowledgeItem]:
        response = yield ApiRequest("GET", f"{KB}/{segment(item_id)}")
        return KnowledgeItem.model_validate(data_of(response))

    # --- reading, changing, searching ------------------------------------------------------

    @operation
    def get(self, item_id: str) -> Op[KnowledgeItem]:
        return (yield from self._item(item_id))

    @operation
    def list(self, *, page: int = 1, per_page: int = 10, search: str | None = None,
             type: str | Sequence[str] | None = None, agent_id: str | None = None,
             is_active: bool | None = None, used: bool | None = None) -> Op[KnowledgePage]:
        """One page of the project's items, newest first; ``type`` is TEXT, URL or FILE
        (one or several); ``agent_id``: the items that agent uses."""
        response = yield ApiRequest("GET", KB + "/list", params=dict(
            skip=page, take=per_page, search=search, type=many(type), voiceAgentId=agent_id,
            isActive=is_active, used=used))
        return KnowledgePage.model_validate(data_of(response))

    @operation
    def update(self, item_id: str, *, name: str | None = None, is_active: bool | None = None,
               text: str | None = None, urls: str | Sequence[str] | None = None
               ) -> Op[KnowledgeItem]:
        """Rename, (de)activate (an inactive item is not searched), or replace a TEXT item's
        text or a URL item's pages, which processes the item again (``wait`` for it)."""
        response = yield ApiRequest("PATCH", f"{KB}/{segment(item_id)}", idempotent=True,
                                    json=body_of(itemName=name, isActive=is_active,
                                                 content=text, itemUrls=many(urls)))
        return KnowledgeItem.model_validate(data_of(response))

    @operation
    def delete(self, item_id: str) -> Op[None]:
        """Delete an item, its chunks and its file."""
        yield ApiRequest("DELETE", f"{KB}/{segment(item_id)}")

    @operation
    def delete_url(self, item_id: str, url: str) -> Op[KnowledgeItem]:
        """Take one page (and its chunks) out of a URL item."""
        response = yield ApiRequest("DELETE", f"{KB}/{segment(item_id)}/url",
                                    json={"url": url})
        return KnowledgeItem.model_validate(data_of(response))

    @operation
    def search(self, query: str, item_ids: Sequence[str] | None = None, top_k: int = 5, *,
               mode: str | None = None, fusion: str | None = None) -> Op[KnowledgeSearch]:
        """The chunks of the project's active, processed items that best answer ``query``,
        best first (a hams extension). ``mode``: "hybrid" (the default: BM25 and embeddings
        fused), "bm25" or "vector"; ``fusion``: "rrf" (the default, by rank) or "convex" (by
        score)."""
        response = yield ApiRequest("POST", KB + "/search", idempotent=True, json=body_of(
            query=query, itemIds=list(item_ids) if item_ids is not None else None, topK=top_k,
            mode=mode, fusion=fusion))
        return KnowledgeSearch.model_validate(data_of(response))

"""The KNOWLEDGE_BASE job: read an item's text (its content, its stored file, or its pages
fetched through the SSRF guard), cut it into chunks, embed them, and store chunks and status
together. Apart from the records (``knowledge_base``) because only the worker runs it.

The write is one transaction fenced on the item's current job (an update that queues a newer
job makes the older one's result void) and on the job's own lease. Bad input (a file that
cannot be read, no text, a page that answers 404) fails the item with a ``failureReason`` and
its job at once, and so do chunks that would take the project past
HAMS_KB_MAX_CHUNKS_PER_PROJECT (checked in that write with the project's row locked, so two
jobs of one project cannot both take the last room).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hams.db.models import Job, KnowledgeChunk, KnowledgeItem, Project
from hams.engines.knowledge import (
    SUPPORTED_EXTENSIONS,
    Embedder,
    ExtractionError,
    chunk_text,
    embedding_to_bytes,
    extract_text,
    normalize_for_search,
)
from hams.errors import BadRequest, HamsError, PayloadTooLarge
from hams.media.fetch import fetch_to_file
from hams.media.urls import url_policy
from hams.services.knowledge_base import MIME_EXTENSIONS, url_extension
from hams.worker.outcome import JobOutcome

if TYPE_CHECKING:
    from hams.db.session import Database
    from hams.settings import Settings
    from hams.storage import BlobStorage

EMBED_BATCH = 64
GENERIC_TYPES = ("", "application/octet-stream", "binary/octet-stream")


@dataclass(frozen=True)
class _Source:
    """What the job reads of the item, taken in a short transaction."""

    type: str
    content: str | None
    item_url: str | None
    item_urls: tuple[str, ...]
    storage_key: str | None
    extension: str | None
    name: str


@dataclass(frozen=True)
class _Page:
    source: str | None
    text: str
    extension: str
    size: int  # bytes read


@dataclass(frozen=True)
class _Piece:
    """A chunk ready to store."""

    source: str | None
    text: str
    search_text: str
    embedding: bytes | None


def run_knowledge_job(db: Database, job: Job, *, settings: Settings, storage: BlobStorage,
                      embedder: Embedder | None) -> JobOutcome:
    """Extract, chunk and embed the item's text, then store chunks and status together."""
    item_id = str(job.options.get("itemId") or "")
    with db.session() as session:
        item = session.get(KnowledgeItem, item_id)
        source = None if item is None or item.job_id != job.id else _Source(
            item.type, item.content, item.item_url, tuple(item.item_urls or ()),
            item.storage_key, item.extension, item.item_name)
    if source is None:
        return _outcome(item_id, skipped="the item was deleted or is processed by a newer job")
    try:
        pages = _read_pages(source, settings=settings, storage=storage)
        cut = [(page.source, text) for page in pages
               for text in chunk_text(page.text, max_chars=settings.kb_chunk_chars)]
        vectors = _embed([text for _, text in cut], embedder)
    except Exception as exc:
        retryable = not isinstance(exc, HamsError) or exc.retryable
        if not retryable or job.attempts >= job.max_attempts:
            _write_result(db, job, item_id, settings=settings, failure=_reason(exc))
        raise
    pieces = [_Piece(origin, text, normalize_for_search(text), vectors and vectors[index])
              for index, (origin, text) in enumerate(cut)]
    stored = _write_result(db, job, item_id, settings=settings, pages=pages, pieces=pieces)
    if isinstance(stored, str):
        raise BadRequest(stored)  # the item failed with this reason: so does its job
    if stored is None:
        return _outcome(item_id, skipped="the item changed while it was processed")
    return _outcome(item_id, chunks=stored, embeddings=embedder.name if vectors else None)


def _outcome(item_id: str, **values: object) -> JobOutcome:
    return JobOutcome(job_response={"itemId": item_id, **values}, usage_seconds=None,
                      total_cost=0.0)


def _reason(error: Exception) -> str:
    if isinstance(error, HamsError):
        return error.message
    return "Internal error while processing the item; the server log has details"


def _read_pages(source: _Source, *, settings: Settings, storage: BlobStorage) -> list[_Page]:
    if source.type == "TEXT":
        data = (source.content or "").encode()
        return [_Page(None, _extract(data, "txt", None, settings), "txt", len(data))]
    if source.type == "FILE" and source.storage_key:
        data = storage.read_bytes(source.storage_key)
        return [_Page(source.name, _extract(data, source.extension or "", None, settings),
                      source.extension or "", len(data))]
    urls = source.item_urls if source.type == "URL" else (source.item_url or "",)
    pages, total = [], 0
    for url in urls:
        try:
            data, content_type, final_url = _fetch(url, settings)
            extension = _detected_extension(content_type, final_url, data)
            text = _extract(data, extension, final_url, settings)
        except HamsError as exc:
            if exc.retryable:
                raise
            raise BadRequest(f"{url}: {exc.message}", message_key=exc.message_key) from exc
        total += len(text)
        if total > settings.kb_max_text_chars:
            raise BadRequest(f"The pages' text is longer than {settings.kb_max_text_chars:,} "
                             "characters (HAMS_KB_MAX_TEXT_CHARS)")
        pages.append(_Page(url, text, extension, len(data)))
    return pages


def _extract(data: bytes, extension: str, url: str | None, settings: Settings) -> str:
    return extract_text(data, extension, url=url, max_chars=settings.kb_max_text_chars,
                        max_bytes=max(settings.kb_max_file_bytes, len(data)))


def _fetch(url: str, settings: Settings) -> tuple[bytes, str | None, str]:
    """The URL's body through the SSRF guard, at most HAMS_KB_MAX_FILE_BYTES."""
    folder = Path(tempfile.mkdtemp(prefix="hams-kb-"))
    try:
        try:
            fetched = fetch_to_file(url, folder / "page", policy=url_policy(settings),
                                    max_bytes=settings.kb_max_file_bytes,
                                    timeout=settings.media_fetch_timeout, purpose="the URL")
        except PayloadTooLarge:
            raise PayloadTooLarge("it is larger than the limit of "
                                  f"{settings.kb_max_file_bytes} bytes "
                                  "(HAMS_KB_MAX_FILE_BYTES)") from None
        return fetched.path.read_bytes(), fetched.content_type, fetched.final_url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _detected_extension(content_type: str | None, url: str, data: bytes) -> str:
    """The format of a fetched body: its content type, else the URL's extension, else what
    its first bytes look like."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in MIME_EXTENSIONS:
        return MIME_EXTENSIONS[mime]
    extension = url_extension(url)
    if extension in SUPPORTED_EXTENSIONS:
        return extension
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "pdf"
    if head.startswith(b"pk\x03\x04"):
        return "docx"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if mime not in GENERIC_TYPES and not mime.startswith("text/"):
        raise ExtractionError(f"pages of type {mime} are not supported")
    return "txt"


def _embed(texts: list[str], embedder: Embedder | None) -> list[bytes] | None:
    if embedder is None or not texts:
        return None
    vectors = []
    for start in range(0, len(texts), EMBED_BATCH):
        vectors.extend(embedding_to_bytes(row)
                       for row in embedder.embed(texts[start:start + EMBED_BATCH]))
    return vectors


def _write_result(db: Database, job: Job, item_id: str, *, settings: Settings,
                  failure: str | None = None, pages: Sequence[_Page] = (),
                  pieces: Sequence[_Piece] = ()) -> int | str | None:
    """Replace the item's chunks and set its status in one transaction, if the item is still
    this job's and the job still this worker's: how many chunks were stored, None when
    neither, or the reason the item failed because its chunks would not fit the project."""
    with db.session() as session:
        if failure is None:  # the project's room is counted by one job at a time
            session.get(Project, job.project_id, with_for_update=True)
        item = session.get(KnowledgeItem, item_id, with_for_update=True,
                           populate_existing=True)
        current = session.execute(select(Job.fencing, Job.state).where(Job.id == job.id)).first()
        if item is None or item.job_id != job.id or current != (job.fencing, "running"):
            return None
        session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.item_id == item_id))
        if failure is not None:
            item.status, item.failure_reason = "FAILED", failure
            return 0
        listed = set(item.item_urls or ()) if item.type == "URL" else None  # a page removed
        kept = [piece for piece in pieces if listed is None or piece.source in listed]  # meanwhile
        if refused := _no_room(session, item, len(kept), settings):
            item.status, item.failure_reason = "FAILED", refused
            return refused
        rows = [KnowledgeChunk(item_id=item_id, project_id=item.project_id, position=position,
                               source=piece.source, text=piece.text,
                               search_text=piece.search_text, embedding=piece.embedding)
                for position, piece in enumerate(kept)]
        session.add_all(rows)
        item.status, item.failure_reason = "PROCESSED", None
        item.words_number = sum(len(row.text.split()) for row in rows)
        if item.type == "URL":  # the pages' text: what a removed page can be subtracted from
            item.file_size = sum(len(row.text.encode()) for row in rows)
            item.extension = pages[0].extension if pages else None
        elif item.type == "FILE" and item.storage_key is None and pages:  # fetched by URL
            item.file_size, item.extension = pages[0].size, pages[0].extension
        return len(rows)


def _no_room(session: Session, item: KnowledgeItem, chunks: int, settings: Settings
             ) -> str | None:
    """Why ``chunks`` more would not fit the project (its other items' chunks, active or
    not, count: an item switched on again is not processed again); None when they fit."""
    limit = settings.kb_max_chunks_per_project
    held = session.scalar(select(func.count()).select_from(KnowledgeChunk).where(
        KnowledgeChunk.project_id == item.project_id, KnowledgeChunk.item_id != item.id)) or 0
    if held + chunks <= limit:
        return None
    return (f"The item's {chunks:,} chunks would take the project's knowledge base to "
            f"{held + chunks:,} chunks; the limit is {limit:,} "
            "(HAMS_KB_MAX_CHUNKS_PER_PROJECT). Delete or shorten items, or ask the operator "
            "to raise it.")

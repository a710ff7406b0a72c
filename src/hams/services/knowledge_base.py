"""The knowledge base's items (TEXT, URL pages, FILE): their checks, create, list, get,
update and delete, in the caller's transaction; the job that makes their chunks is
``knowledge_ingest``, the search over those chunks ``knowledge_search``.

An item is PROCESSING until its current KNOWLEDGE_BASE job writes its chunks and status; a
change that needs new chunks queues a new job, which becomes the current one. An item whose
job ended without processing it (cancelled, deleted) is failed when it is next read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.orm import Session

from hams.db.models import Job, KnowledgeChunk, KnowledgeItem, VoiceAgentKnowledgeItem, new_id
from hams.db.session import after_commit
from hams.db.text_search import contains
from hams.engines.knowledge import SUPPORTED_EXTENSIONS
from hams.errors import NotFound, PayloadTooLarge, UnsupportedMedia, ValidationFailed
from hams.media.urls import check_url, url_policy
from hams.services.jobs import NewJob, create_job
from hams.services.keys import Principal
from hams.services.uploads import get_upload, upload_id_in

field_error = ValidationFailed.at_field  # a 400 naming the field at fault

if TYPE_CHECKING:
    from hams.settings import Settings
    from hams.storage import BlobStorage

ITEM_TYPES = ("TEXT", "URL", "FILE")
JOB_TYPE = "KNOWLEDGE_BASE"
COPY_CHUNK = 1024 * 1024
MIME_EXTENSIONS = {
    "text/html": "html", "application/xhtml+xml": "html", "application/pdf": "pdf",
    "text/plain": "txt", "text/markdown": "md", "text/x-markdown": "md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


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


# --- create, read, update, delete -------------------------------------------------------------

def create_items(session: Session, principal: Principal, items: Sequence[NewItem], *,
                 settings: Settings, storage: BlobStorage) -> list[ItemView]:
    """Check every item, then store each with its queued job; nothing is kept if one fails."""
    drafts = [_draft(session, principal, new, f"items.{index}", settings=settings,
                     storage=storage) for index, new in enumerate(items)]
    try:
        for item, source in drafts:  # files first: no row written (no SQLite lock) meanwhile
            if source is not None:
                _store_file(item, source, settings=settings, storage=storage)
        for item, _ in drafts:
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
    if query.search:  # the words as written: % and _ match themselves
        filtered = filtered.where(or_(contains(KnowledgeItem.item_name, query.search),
                                      contains(KnowledgeItem.item_url, query.search)))
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
            raise field_error("content", f"only a TEXT item has content; this one is {item.type}")
        content = _checked_text(changes.content, "content", settings)
        again = content != item.content or item.status == "FAILED"
        item.content, item.file_size = content, len(content.encode())
    if changes.item_urls is not None:
        if item.type != "URL":
            raise field_error("itemUrls", f"only a URL item has itemUrls; this one is {item.type}")
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
    """Remove one page from a URL item, and its chunks; the rest stays searchable. The only
    page is refused (400): an item without pages would be PROCESSED with nothing to search."""
    item = _own_item(session, principal, item_id)
    if item.type != "URL":
        raise field_error("url", f"only a URL item has URLs; this one is {item.type}")
    urls = list(item.item_urls or [])
    if url not in urls:
        raise NotFound(f"The item has no URL {url!r}")
    if urls == [url]:
        raise field_error("url", "it is the item's only URL: delete the item instead")
    urls.remove(url)
    item.item_urls = urls
    if item.item_url == url:
        item.item_url = urls[0]
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

def _draft(session: Session, principal: Principal, new: NewItem, where: str, *,
           settings: Settings, storage: BlobStorage
           ) -> tuple[KnowledgeItem, BinaryIO | str | None]:
    """The item row, checked but not stored, and the file to copy into storage, if any (an
    upload's storage key, or the file sent with the request)."""
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
        raise field_error(f"{where}.type", f"must be one of {', '.join(ITEM_TYPES)}")
    if new.file is not None:
        item.extension = _file_extension(new.filename, new.content_type)
        item.item_name = _name(new.name or new.filename or "file")
        return item, new.file
    if not new.item_url:
        raise field_error(f"{where}.itemUrl", "a FILE item needs an uploaded file (multipart) or "
                       "an itemUrl: a /v1/media upload link or the URL of a file")
    item.item_url = new.item_url
    upload_id = upload_id_in(new.item_url)
    if upload_id is not None:
        upload = get_upload(session, principal, upload_id)
        _check_size(upload.size, settings)
        item.extension = _file_extension(upload.filename, upload.content_type)
        item.item_name = _name(new.name or upload.filename or upload_id)
        return item, upload.storage_key
    check_url(new.item_url, url_policy(settings), purpose=f"{where}.itemUrl")
    extension = url_extension(new.item_url)
    item.extension = extension if extension in SUPPORTED_EXTENSIONS else None
    item.item_name = _name(new.name or _url_name(new.item_url))
    return item, None


def _checked_text(content: str | None, where: str, settings: Settings) -> str:
    if content is None or not content.strip():
        raise field_error(where, "a TEXT item needs content with some text")
    if len(content) > settings.kb_max_text_chars:
        raise PayloadTooLarge(f"{where} has {len(content):,} characters; the limit is "
                              f"{settings.kb_max_text_chars:,} (HAMS_KB_MAX_TEXT_CHARS)")
    return content


def _checked_urls(urls: list[str], where: str, settings: Settings) -> list[str]:
    unique = list(dict.fromkeys(url.strip() for url in urls if url and url.strip()))
    if not unique:
        raise field_error(where, "a URL item needs at least one URL in itemUrls (or itemUrl)")
    if len(unique) > settings.kb_max_urls_per_item:
        raise field_error(where, f"at most {settings.kb_max_urls_per_item} URLs per item "
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


def url_extension(url: str) -> str:
    """The extension of a URL's path, lowercased, without the dot."""
    return PurePosixPath(unquote(urlsplit(url).path)).suffix.lower().lstrip(".")


def _url_name(url: str) -> str:
    parts = urlsplit(url)
    return PurePosixPath(unquote(parts.path)).name or parts.hostname or url


def _name(text: str) -> str:
    """An item name from a file name, a URL or a text's first line: printable, one line."""
    return " ".join("".join(c for c in text if c.isprintable()).split())[:300] or "item"


def _blob_prefix(item: KnowledgeItem) -> str:
    return f"knowledge/{item.project_id}/{item.id}"


def _store_file(item: KnowledgeItem, source: BinaryIO | str, *, settings: Settings,
                storage: BlobStorage) -> None:
    """Copy the file (sent, or an upload's blob) into the item's own blob, refusing it once
    past the size limit."""
    key = f"{_blob_prefix(item)}/source.{item.extension}"
    size = 0
    with storage.writer(key) as out:
        for chunk in (storage.stream(source) if isinstance(source, str)
                      else iter(lambda: source.read(COPY_CHUNK), b"")):
            size += len(chunk)
            _check_size(size, settings)
            out.write(chunk)
        if size == 0:
            raise field_error("file", "the file is empty (0 bytes)")
    item.storage_key, item.file_size = key, size


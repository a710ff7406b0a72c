"""Knowledge base: items processed into chunks by a job, and hybrid search over them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from hams.api.deps import JOBS, READ, PrincipalDep, RuntimeDep, SessionDep
from hams.api.envelope import validation_failed
from hams.api.schemas.common import AUTHENTICATED, Envelope, error_responses
from hams.api.schemas.knowledge_base import (
    ItemType,
    KnowledgeBaseCreate,
    KnowledgeItemDeleted,
    KnowledgeItemPublic,
    KnowledgeItemsPage,
    KnowledgeItemUpdate,
    KnowledgeSearchRequest,
    KnowledgeSearchResult,
    KnowledgeSearchResults,
    KnowledgeUrlDelete,
    inline_schema,
)
from hams.api.schemas.paging import MAX_PAGE
from hams.errors import ValidationFailed
from hams.services import knowledge_base as kb
from hams.services import knowledge_search
from hams.services.knowledge_base import NewItem

router = APIRouter(tags=["Knowledge base"])
PATH = "/v1/voice-agents/knowledge-base"
MAX_FILES = 20
READS = error_responses(*AUTHENTICATED, 404)
WRITES = error_responses(*AUTHENTICATED, 404, 413)
ItemAnswer = Envelope[KnowledgeItemPublic]
ItemsAnswer = Envelope[list[KnowledgeItemPublic]]
PageAnswer = Envelope[KnowledgeItemsPage]
DeletedAnswer = Envelope[KnowledgeItemDeleted]
SearchAnswer = Envelope[KnowledgeSearchResults]
CREATE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": inline_schema(KnowledgeBaseCreate)},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "array", "maxItems": MAX_FILES,
                     "items": {"type": "string", "format": "binary"},
                     "description": "One FILE item per file: txt, md, html, htm, pdf, docx"},
            "itemName": {"type": "array", "items": {"type": "string", "maxLength": 300},
                         "description": "The name of the file at the same place (default: "
                                        "its file name)"}}}}}}}


async def new_items(request: Request) -> AsyncIterator[list[NewItem]]:
    """The items to create: ``{"items": [...]}`` as JSON, or files as multipart/form-data."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            body = KnowledgeBaseCreate.model_validate_json(await request.body())
        except ValidationError as exc:
            raise validation_failed(exc.errors()) from None
        yield [item.new_item() for item in body.items]
        return
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=MAX_FILES + 10)
    except StarletteHTTPException as exc:
        raise ValidationFailed(f"Invalid multipart body: {exc.detail}") from None
    try:
        yield _file_items(form)
    finally:
        await form.close()


def _file_items(form: FormData) -> list[NewItem]:
    files = [*form.getlist("file"), *form.getlist("files")]
    names = [name for name in form.getlist("itemName") if isinstance(name, str)]
    if not files or not all(isinstance(file, UploadFile) for file in files):
        raise ValidationFailed("Invalid request: file: send one or more files in the 'file' "
                               "field", data=[{"field": "file", "message": "a file is needed"}])
    if any(len(name) > 300 for name in names):
        raise ValidationFailed("Invalid request: itemName: at most 300 characters",
                               data=[{"field": "itemName", "message": "at most 300 characters"}])
    return [NewItem(type="FILE", name=names[index] if index < len(names) else None,
                    file=file.file, filename=file.filename, content_type=file.content_type)
            for index, file in enumerate(files)]


@router.post(PATH, dependencies=[JOBS], response_model=ItemsAnswer, openapi_extra=CREATE_BODY,
             responses=error_responses(*AUTHENTICATED, 404, 415))
def create_items(items: Annotated[list[NewItem], Depends(new_items)], runtime: RuntimeDep,
                 session: SessionDep, principal: PrincipalDep) -> ItemsAnswer:
    """Create knowledge-base items (TEXT, URL, FILE); each is processed by a job."""
    views = kb.create_items(session, principal, items, settings=runtime.settings,
                            storage=runtime.storage)
    return ItemsAnswer(data=[KnowledgeItemPublic.of(view) for view in views],
                       message="Knowledge base items created",
                       messageKey="KnowledgeBaseItemsCreatedSuccessfully")


@router.get(PATH + "/list", dependencies=[READ], response_model=PageAnswer, responses=READS)
def list_items(
    session: SessionDep, principal: PrincipalDep,
    voice_agent_id: str | None = Query(None, alias="voiceAgentId", max_length=100),
    is_active: bool | None = Query(None, alias="isActive"),
    used: bool | None = Query(None),
    skip: int = Query(1, ge=0, le=MAX_PAGE, description="Page number from 1 (0 reads as 1)"),
    take: int = Query(10, ge=1, le=1000),
    search: str | None = Query(None, max_length=500),
    type: list[ItemType] | None = Query(None),  # noqa: A002 - the wire's name
    bracket_type: list[ItemType] | None = Query(None, alias="type[]"),
) -> PageAnswer:
    """List knowledge-base items, newest first."""
    query = kb.ItemQuery(voice_agent_id=voice_agent_id, is_active=is_active, used=used,
                         search=search, types=(*(type or ()), *(bracket_type or ())),
                         page=max(skip, 1), per_page=take)
    views, total, filtered = kb.list_items(session, principal, query)
    return PageAnswer(data=KnowledgeItemsPage(
        total=total, filtered=filtered, items=[KnowledgeItemPublic.of(v) for v in views]))


@router.post(PATH + "/search", dependencies=[READ], response_model=SearchAnswer,
             responses=READS)
def search_items(body: KnowledgeSearchRequest, runtime: RuntimeDep,
                 principal: PrincipalDep) -> SearchAnswer:
    """Search the project's active items: BM25 and embeddings fused by rank (hams)."""
    found = knowledge_search.search(runtime.db, principal, body.search_query(),
                                    settings=runtime.settings, embedder=runtime.embedder)
    return SearchAnswer(data=KnowledgeSearchResults(
        mode=found.mode, results=[KnowledgeSearchResult.of(hit) for hit in found.hits]))


@router.get(PATH + "/{item_id}", dependencies=[READ], response_model=ItemAnswer,
            responses=READS)
def get_item(item_id: str, session: SessionDep, principal: PrincipalDep) -> ItemAnswer:
    """One knowledge-base item."""
    return ItemAnswer(data=KnowledgeItemPublic.of(kb.get_item(session, principal, item_id)),
                      message="Success")


@router.patch(PATH + "/{item_id}", dependencies=[JOBS], response_model=ItemAnswer,
              responses=WRITES)
def update_item(item_id: str, body: KnowledgeItemUpdate, runtime: RuntimeDep,
                session: SessionDep, principal: PrincipalDep) -> ItemAnswer:
    """Rename, (de)activate, or change a TEXT item's content or a URL item's pages."""
    changes = kb.ItemChanges(name=body.itemName, is_active=body.isActive, content=body.content,
                             item_urls=None if body.itemUrls is None else tuple(body.itemUrls))
    view = kb.update_item(session, principal, item_id, changes, settings=runtime.settings)
    return ItemAnswer(data=KnowledgeItemPublic.of(view), message="Knowledge base item updated",
                      messageKey="KnowledgeBaseItemUpdatedSuccessfully")


@router.delete(PATH + "/{item_id}", dependencies=[JOBS], response_model=DeletedAnswer,
               responses=READS)
def delete_item(item_id: str, runtime: RuntimeDep, session: SessionDep,
                principal: PrincipalDep) -> DeletedAnswer:
    """Delete an item, its chunks and its file."""
    kb.delete_item(session, principal, item_id, storage=runtime.storage)
    return DeletedAnswer(data=KnowledgeItemDeleted(id=item_id),
                         message="Knowledge base item deleted",
                         messageKey="KnowledgeBaseItemDeletedSuccessfully")


@router.delete(PATH + "/{item_id}/url", dependencies=[JOBS], response_model=ItemAnswer,
               responses=READS)
def delete_item_url(item_id: str, session: SessionDep, principal: PrincipalDep,
                    body: KnowledgeUrlDelete = Body()) -> ItemAnswer:
    """Remove one URL (and its chunks) from a URL item; its only URL is refused (400)."""
    view = kb.delete_item_url(session, principal, item_id, body.url)
    return ItemAnswer(data=KnowledgeItemPublic.of(view), message="URL deleted successfully",
                      messageKey="URL_DELETED_SUCCESSFULLY")

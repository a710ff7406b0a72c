"""Wire models of the knowledge base: items to create (JSON; files come as multipart, read by
the router), updates, the KB item object and its pages, and the search (a hams extension)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from hams.api.schemas.common import ResponseModel, WireModel, iso
from hams.services.knowledge_base import ItemView, NewItem
from hams.services.knowledge_search import MAX_TOP_K, ChunkHit, SearchQuery

ItemType = Literal["TEXT", "URL", "FILE"]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL


def _upper(value: Any) -> Any:
    """``text`` and ``Text`` are ``TEXT``: clients write the type in any case."""
    return value.upper() if isinstance(value, str) else value


def _short_urls(urls: list[str] | None) -> list[str] | None:
    if urls and any(len(url) > 2000 or "\x00" in url for url in urls):
        raise ValueError("each URL has at most 2000 characters, none of them NUL")
    return urls


class KnowledgeItemCreate(WireModel):
    """One item of ``POST /v1/voice-agents/knowledge-base``: TEXT with ``content``, URL with
    ``itemUrls`` (or one ``itemUrl``), FILE with ``itemUrl`` naming an upload of this project
    (``/v1/media/<id>``) or a public file URL."""

    itemName: str | None = Field(None, min_length=1, max_length=300, pattern=NO_NUL,
                                 description="Defaults to the file or page name")
    type: ItemType
    content: str | None = Field(None, pattern=NO_NUL, description="The text of a TEXT item")
    itemUrl: str | None = Field(None, max_length=2000, pattern=NO_NUL)
    itemUrls: list[str] | None = Field(None, max_length=1000)

    _type_case = field_validator("type", mode="before")(_upper)
    _url_lengths = field_validator("itemUrls")(_short_urls)

    def new_item(self) -> NewItem:
        return NewItem(type=self.type, name=self.itemName, content=self.content,
                       item_url=self.itemUrl, item_urls=tuple(self.itemUrls or ()))


class KnowledgeBaseCreate(WireModel):
    items: list[KnowledgeItemCreate] = Field(min_length=1, max_length=100)


class KnowledgeItemUpdate(WireModel):
    """PATCH: rename, (de)activate, or replace a TEXT item's content or a URL item's pages
    (which processes the item again)."""

    itemName: str | None = Field(None, min_length=1, max_length=300, pattern=NO_NUL)
    isActive: bool | None = None
    content: str | None = Field(None, pattern=NO_NUL)
    itemUrls: list[str] | None = Field(None, min_length=1, max_length=1000)

    _url_lengths = field_validator("itemUrls")(_short_urls)


class KnowledgeUrlDelete(WireModel):
    url: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class KnowledgeSearchRequest(WireModel):
    query: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
    itemIds: list[str] | None = Field(None, max_length=1000,
                                      description="Only these items (default: all of them)")
    topK: int = Field(5, ge=1, le=MAX_TOP_K)
    mode: Literal["hybrid", "bm25", "vector"] = Field(
        "hybrid", description="hybrid: BM25 and embeddings fused (see fusion)")
    fusion: Literal["rrf", "convex"] = Field(
        "rrf", description="How hybrid joins the rankings: reciprocal rank fusion, or a convex "
        "combination of the scores (0.2 x BM25 / best + 0.8 x cosine), which "
        "bench/kb_retrieval.py measured better on paraphrases and exact lookups")

    def search_query(self) -> SearchQuery:
        return SearchQuery(text=self.query, item_ids=tuple(self.itemIds or ()) or None,
                           top_k=self.topK, mode=self.mode, fusion=self.fusion)


def file_size_text(size: int | None) -> str | None:
    """Hamsa's ``fileSize``: ``"2.5MB"``, ``"12KB"``, ``"300B"`` (powers of 1024)."""
    if size is None:
        return None
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            break
        value /= 1024
    return f"{value:.1f}".rstrip("0").rstrip(".") + unit


class KnowledgeItemPublic(ResponseModel):
    """The KB item object, Hamsa's fields first, then hams' own."""

    id: str
    userId: str | None = Field(description="Always null: hams has keys, not users")
    projectId: str
    itemName: str
    fileSize: str | None = Field(description='Size as Hamsa writes it, e.g. "2.5MB"')
    type: ItemType
    status: Literal["PROCESSING", "PROCESSED", "FAILED"]
    failureReason: str | None
    content: str | None
    itemUrl: str | None
    itemUrls: list[str]
    wordsNumber: int | None
    extension: str | None
    createdAt: str | None
    isActive: bool
    used: bool = Field(description="Whether a voice agent uses the item")
    fileSizeBytes: int | None = Field(description="fileSize in bytes (the file's, or the "
                                                  "UTF-8 size of a text or of pages' text)")
    apiKeyId: str | None
    jobId: str | None = Field(description="The KNOWLEDGE_BASE job that processes it")
    updatedAt: str | None

    @classmethod
    def of(cls, view: ItemView) -> KnowledgeItemPublic:
        item = view.item
        return cls(id=item.id, userId=None, projectId=item.project_id, itemName=item.item_name,
                   fileSize=file_size_text(item.file_size), type=item.type, status=item.status,
                   failureReason=item.failure_reason, content=item.content,
                   itemUrl=item.item_url, itemUrls=list(item.item_urls or []),
                   wordsNumber=item.words_number, extension=item.extension,
                   createdAt=iso(item.created_at), isActive=item.is_active, used=view.used,
                   fileSizeBytes=item.file_size, apiKeyId=item.api_key_id, jobId=item.job_id,
                   updatedAt=iso(item.updated_at))


class KnowledgeItemsPage(ResponseModel):
    total: int = Field(description="The project's items")
    filtered: int = Field(description="Items that match the filters")
    items: list[KnowledgeItemPublic]


class KnowledgeItemDeleted(ResponseModel):
    id: str


class KnowledgeSearchResult(ResponseModel):
    itemId: str
    itemName: str
    chunkId: int
    position: int = Field(description="The chunk's place in its item, from 0")
    text: str
    source: str | None = Field(description="The page URL or file name the chunk came from")
    score: float = Field(description="The fused score (reciprocal rank in hybrid mode)")
    bm25Score: float | None
    vectorScore: float | None = Field(description="Cosine similarity, when embeddings ran")

    @classmethod
    def of(cls, hit: ChunkHit) -> KnowledgeSearchResult:
        chunk = hit.chunk
        return cls(itemId=chunk.item_id, itemName=chunk.item_name, chunkId=chunk.id,
                   position=chunk.position, text=chunk.text, source=chunk.source,
                   score=hit.score, bm25Score=hit.bm25_score, vectorScore=hit.vector_score)


class KnowledgeSearchResults(ResponseModel):
    mode: Literal["hybrid", "bm25", "vector"] = Field(
        description="The mode that ran: hybrid falls back to bm25 without embeddings")
    results: list[KnowledgeSearchResult]


def inline_schema(model: type[WireModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` written in place, for ``openapi_extra``
    (which cannot register components)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(definitions[ref.rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    return resolve(schema)


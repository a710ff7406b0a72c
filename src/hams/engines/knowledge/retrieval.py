"""Hybrid search over one knowledge base's chunks: BM25 on Arabic-aware normalized words
finds exact names, numbers and rare terms; sentence embeddings find paraphrases and answers in
the other language; a fusion joins the two rankings.

Two fusions: reciprocal rank fusion (Cormack et al., 2009; the default) needs no calibration
but forgets how far ahead a ranking's first item is; ``convex`` (alpha x BM25 score / best
BM25 score + (1 - alpha) x cosine; Bruch et al., 2023) keeps it, and was measured better on
both paraphrased and exact-lookup questions (docs/benchmarks.md).

The BM25 index is built from the chunks given, not stored: nothing to keep in sync with the
database, and every replica answers from the same rows. Tokenizing and building cost about
35 ms per 1,000 chunks on 2 cores; the last few indexes stay cached by content (a query then
costs about 3 ms), since an agent asks the same knowledge base many times in one conversation.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import bm25s
import numpy as np

from hams.engines.knowledge.embeddings import Embedder
from hams.engines.knowledge.normalize import search_tokens

SearchMode = Literal["hybrid", "bm25", "vector"]
Fusion = Literal["rrf", "convex"]
Tokenizer = Callable[[str], list[str]]
DEFAULT_FUSION: Fusion = "rrf"
DEFAULT_RRF_K = 60
DEFAULT_ALPHA = 0.2  # BM25's share in convex fusion (bench/kb_retrieval.py)
CANDIDATES = 100  # each ranking's depth that fusion looks at (at least 4 x top_k)
INDEX_CACHE_SIZE = 8  # knowledge bases whose BM25 index stays built (a few MB at most each)

_cache: OrderedDict[tuple, bm25s.BM25 | None] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class SearchHit:
    """One chunk found: its position in the ``texts`` searched, the score hits are ranked by
    (fused in hybrid mode, else the one ranking's own score), its BM25 score (None when it
    shares no term with the query or BM25 did not run) and its cosine similarity to the query
    (None without embeddings or in BM25 mode)."""

    index: int
    score: float
    bm25_score: float | None
    vector_score: float | None


def hybrid_search(query: str, texts: Sequence[str], embeddings: np.ndarray | None, *,
                  embedder: Embedder | None, top_k: int = 5, mode: SearchMode = "hybrid",
                  rrf_k: int = DEFAULT_RRF_K, fusion: Fusion = DEFAULT_FUSION,
                  alpha: float = DEFAULT_ALPHA,
                  tokenize: Tokenizer = search_tokens) -> list[SearchHit]:
    """The ``top_k`` best chunks for ``query``, best first.

    ``texts`` are the chunks' texts, original or already passed through
    ``normalize_for_search`` (tokenizing folds both alike); ``embeddings`` holds one
    L2-normalized row per text, from the same model as ``embedder``. Without embeddings or an
    embedder every mode searches BM25 only. In hybrid mode a chunk only one ranking found still
    ranks, so a question sharing no word with its answer gets vector hits; ``fusion`` picks
    reciprocal rank fusion (``rrf_k``) or the convex combination (``alpha``).
    """
    if embeddings is not None and len(embeddings) != len(texts):
        raise ValueError(f"{len(embeddings)} embeddings for {len(texts)} texts")
    if not texts or top_k < 1 or not query.strip():
        return []
    use_vectors = mode != "bm25" and embedder is not None and embeddings is not None
    use_bm25 = mode != "vector" or not use_vectors
    bm25 = bm25_scores(query, texts, tokenize=tokenize) if use_bm25 else None
    cosine = (np.asarray(embeddings, dtype=np.float32) @ embedder.embed([query])[0]
              if use_vectors else None)
    return rank_scores(bm25, cosine, top_k=top_k, fuse=use_bm25 and use_vectors,
                       fusion=fusion, alpha=alpha, rrf_k=rrf_k)


def rank_scores(bm25: np.ndarray | None, cosine: np.ndarray | None, *, top_k: int, fuse: bool,
                candidates: np.ndarray | None = None, fusion: Fusion = DEFAULT_FUSION,
                alpha: float = DEFAULT_ALPHA, rrf_k: int = DEFAULT_RRF_K) -> list[SearchHit]:
    """The ``top_k`` hits from each chunk's BM25 score and cosine (either may be None), best
    first: fused when ``fuse`` (both rankings were asked for, even if one found nothing), else
    the one ranking there is. Only the positions in ``candidates`` rank (default: all), so a
    caller holding a larger index can search part of it."""
    scores = bm25 if bm25 is not None else cosine
    if scores is None or top_k < 1:
        return []
    pool = np.arange(len(scores)) if candidates is None else candidates
    depth = max(CANDIDATES, 4 * top_k)
    keyword = _top(bm25, pool[bm25[pool] > 0], depth) if bm25 is not None else []
    vector = _top(cosine, pool, depth) if cosine is not None else []
    if not fuse:
        ranked = keyword or vector
    elif fusion == "convex":
        pooled = dict.fromkeys([i for i, _ in vector] + [i for i, _ in keyword])
        ranked = convex_fuse(keyword, [(i, float(cosine[i])) for i in pooled], alpha=alpha)
    else:
        ranked = rrf_fuse([keyword, vector], rrf_k=rrf_k)
    return [SearchHit(index, score,
                      float(bm25[index]) if bm25 is not None and bm25[index] > 0 else None,
                      float(cosine[index]) if cosine is not None else None)
            for index, score in ranked[:top_k]]


def bm25_scores(query: str, texts: Sequence[str], *,
                tokenize: Tokenizer = search_tokens) -> np.ndarray | None:
    """Each text's BM25 score for the query (0 when it shares no term); None when no text
    or the query has a term."""
    return index_scores(bm25_index(texts, tokenize), query, tokenize=tokenize)


def index_scores(index: bm25s.BM25 | None, query: str, *,
                 tokenize: Tokenizer = search_tokens) -> np.ndarray | None:
    """Each indexed text's BM25 score for the query (0 when it shares no term); None when
    there is no index or the query has no term of it."""
    if index is None:
        return None
    known = index.vocab_dict
    ids = sorted({known[t] for t in tokenize(query) if t and t in known})
    return index.get_scores(ids) if ids else None


def bm25_index(texts: Sequence[str], tokenize: Tokenizer = search_tokens) -> bm25s.BM25 | None:
    """The BM25 index of ``texts`` (None when they hold no term), from a small cache keyed by
    their content and the tokenizer."""
    digest = hashlib.blake2b(digest_size=16)
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    key = (tokenize, len(texts), digest.digest())
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    index = build_bm25_index([tokenize(text) for text in texts])
    with _cache_lock:
        _cache[key] = index
        while len(_cache) > INDEX_CACHE_SIZE:
            _cache.popitem(last=False)
    return index


def build_bm25_index(corpus_tokens: Sequence[Sequence[str]]) -> bm25s.BM25 | None:
    """A fresh BM25 index over tokenized texts; None when no text has a term."""
    if not any(corpus_tokens):
        return None
    index = bm25s.BM25()
    index.index([list(tokens) for tokens in corpus_tokens], show_progress=False)
    return index


def _top(scores: np.ndarray, candidates: np.ndarray, depth: int) -> list[tuple[int, float]]:
    """(index, score) of the ``depth`` best ``candidates``, best first (ties by index)."""
    if len(candidates) > depth:
        candidates = candidates[np.argpartition(-scores[candidates], depth - 1)[:depth]]
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [(int(i), float(scores[i])) for i in order]


def rrf_fuse(rankings: Sequence[Sequence[tuple[int, float]]], *,
             rrf_k: int = DEFAULT_RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each ranking gives 1 / (rrf_k + rank) to each item it holds
    (rank from 1); items sorted by their sum, ties kept in first-seen order."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, (index, _) in enumerate(ranking, start=1):
            fused[index] = fused.get(index, 0.0) + 1.0 / (rrf_k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def convex_fuse(keyword: Sequence[tuple[int, float]], vector: Sequence[tuple[int, float]], *,
                alpha: float = DEFAULT_ALPHA) -> list[tuple[int, float]]:
    """alpha x BM25 score scaled by the best one (0 when BM25 did not find the item)
    + (1 - alpha) x cosine; items of either ranking, best first."""
    best = max((score for _, score in keyword), default=0.0) or 1.0
    fused = {index: (1 - alpha) * score for index, score in vector}
    for index, score in keyword:
        fused[index] = fused.get(index, 0.0) + alpha * score / best
    return sorted(fused.items(), key=lambda item: -item[1])

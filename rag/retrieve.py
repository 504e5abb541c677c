"""Hybrid retrieval: dense (Chroma) and BM25 lists fused by reciprocal rank.

RRF needs no score calibration between the two lists, which is why it is
the default fusion in most hybrid search engines. A compound question is
also retrieved part by part (``rag.questions``), and each passage ranks by
its best fused score over the whole question and the parts (CombMAX), so the
passage that answers one part best is not outranked by passages middling for
every part, as summing the parts' ranks would do.
"""

from __future__ import annotations

from datetime import date

from .bm25_index import BM25Index, Row
from .embeddings import Embedder
from .errors import EmptyIndexError
from .questions import parts
from .sources import resolve_keys
from .store import Hit, Store, article_meta, spans_from_meta
from .text import jaccard, terms
from .types import Filters, Passage


class HybridRetriever:
    def __init__(self, store: Store, embedder: Embedder, rrf_k: int = 60,
                 candidates: int = 30, duplicate_jaccard: float = 0.8) -> None:
        self.store = store
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.candidates = candidates
        self.duplicate_jaccard = duplicate_jaccard

    def retrieve(self, query: str, top_k: int = 5, filters: Filters | None = None) -> list[Passage]:
        """Fused passages, best first; texts are fetched only for passages that can make the cut."""
        bm25 = self.store.bm25()  # also the one check per question that the side index is current
        if bm25.count == 0 and self.store.count() == 0:
            raise EmptyIndexError(self.store.where)
        allowed = allowed_doc_ids(bm25.rows, filters) if filters and not filters.is_empty() else None
        if allowed is not None and not allowed:
            return []
        n = max(self.candidates, top_k * 4)
        asked = parts(query)
        queries = [query, *asked] if len(asked) > 1 else [query]  # a compound question's parts too
        dense_lists = [dict(self.store.query_dense(self.embedder.embed_query(q), n, allowed)) for q in queries]
        sparse_lists = [dict(bm25.search(q, n, allowed)) for q in queries]
        rankings = [self._fuse(d, s) for d, s in zip(dense_lists, sparse_lists)]
        dense, sparse = _best(dense_lists), _best(sparse_lists)
        fused = _best(rankings)  # a passage ranks by its best match: to the whole question or to one part
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))

        passages: list[Passage] = []
        kept_terms: list[set[str]] = []
        start, size = 0, top_k + 1  # one spare for a near-duplicate; more (doubling) if needed
        while len(passages) < top_k and start < len(order):
            batch = order[start : start + size]
            start, size = start + len(batch), size * 2
            for hit in _hits(batch, bm25, self.store):
                words = set(terms(hit.text))
                if any(jaccard(words, seen) >= self.duplicate_jaccard for seen in kept_terms):
                    continue  # near-duplicate of a better passage (syndicated or repeated text)
                kept_terms.append(words)
                hit.dense_score = dense.get(hit.chunk_id)
                passages.append(to_passage(hit, fused[hit.chunk_id], sparse.get(hit.chunk_id)))
                if len(passages) == top_k:
                    break
        return passages


    def _fuse(self, dense: dict[str, float], sparse: dict[str, float]) -> dict[str, float]:
        """Reciprocal rank fusion of one query's dense and BM25 lists: chunk id -> score, best first."""
        fused: dict[str, float] = {}
        for ranked in (dense, sparse):  # both dicts keep best-first order
            for rank, chunk_id in enumerate(ranked, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank)
        return {cid: fused[cid] for cid in sorted(fused, key=lambda cid: (-fused[cid], cid))}


def _best(lists: list[dict[str, float]]) -> dict[str, float]:
    """Each chunk's best score over several queries' lists (the passage shows its best match)."""
    best: dict[str, float] = {}
    for scores in lists:
        for chunk_id, score in scores.items():
            best[chunk_id] = max(score, best.get(chunk_id, score))
    return best


def _hits(chunk_ids: list[str], bm25: BM25Index, store: Store) -> list[Hit]:
    """Texts and metadata from the side index's copy (current: its generation was just checked),
    from Chroma for chunks it does not hold (written while this process was ingesting)."""
    stored = bm25.stored(chunk_ids)
    fetched = {h.chunk_id: h for h in store.get([c for c in chunk_ids if c not in stored])}
    hits = [Hit(c, *stored[c]) if c in stored else fetched.get(c) for c in chunk_ids]
    return [h for h in hits if h is not None]


def allowed_doc_ids(rows: list[Row], filters: Filters) -> set[str]:
    """Doc ids that pass the source and date filters; a source key that names no article raises
    UnknownSourceError (see ``sources.resolve_keys``) rather than leaving nothing to retrieve."""
    wanted = resolve_keys(filters.sources, rows) if filters.sources else None
    lo = _day(filters.date_from) if filters.date_from else None
    hi = _day(filters.date_to) if filters.date_to else None
    allowed = set()
    for r in rows:
        if wanted is not None and r.doc_id not in wanted:
            continue
        if (lo is not None or hi is not None) and r.published_day < 0:
            continue
        if lo is not None and r.published_day < lo:
            continue
        if hi is not None and r.published_day > hi:
            continue
        allowed.add(r.doc_id)
    return allowed


def _day(d: date) -> int:
    return int(d.strftime("%Y%m%d"))


def to_passage(hit: Hit, score: float, bm25_score: float | None) -> Passage:
    m = hit.meta
    return Passage(
        chunk_id=hit.chunk_id,
        doc_id=m["doc_id"],
        text=hit.text,
        title=m["title"],
        source=m["source"],
        file_name=m["file_name"],
        **article_meta(m),
        start=m["start"],
        end=m["end"],
        spans=spans_from_meta(m),
        score=score,
        dense_score=hit.dense_score,
        bm25_score=bm25_score,
    )

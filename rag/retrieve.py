"""Hybrid retrieval: dense (Chroma) and BM25 lists fused by reciprocal rank.

RRF needs no score calibration between the two lists, which is why it is
the default fusion in most hybrid search engines. A compound question is
also retrieved part by part (``rag.questions``), and each passage ranks by
its best fused score over the whole question and the parts (CombMAX), so the
passage that answers one part best is not outranked by passages middling for
every part, as summing the parts' ranks would do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from .embeddings import Embedder
from .errors import EmptyIndexError
from .questions import parts
from .sources import resolve_keys
from .store import BM25Index, Hit, Row, Store
from .stories import Stories
from .text import jaccard, terms
from .time import day_number, recency, window
from .types import Filters, Passage, Report, TimeScope


class HybridRetriever:
    def __init__(self, store: Store, embedder: Embedder, rrf_k: int = 60,
                 candidates: int = 30, duplicate_jaccard: float = 0.8, half_life_days: float = 14.0,
                 time_weight: float = 1.0, stories: Callable[[BM25Index], Stories] | None = None) -> None:
        """``stories``: the current stories of a side index (``rag.stories``); with it a story's copies are left
        out and its passages name them (``Passage.also_reported_by``); without it every article stands alone."""
        self.store = store
        self.stories = stories
        self.embedder = embedder
        self.rrf_k = rrf_k
        self.candidates = candidates
        self.duplicate_jaccard = duplicate_jaccard
        self.half_life_days = half_life_days
        self.time_weight = time_weight

    def retrieve(self, query: str, top_k: int = 5, filters: Filters | None = None, as_of: date | None = None,
                 scopes: Sequence[TimeScope] = ()) -> list[Passage]:
        """Fused passages, best first; texts are fetched only for passages that can make the cut.

        ``as_of``: articles published after it are left out (undated ones stay). ``scopes``: the question's
        resolved time words; when one asks for a period or the current state, a third ranked list (articles
        in the period, or matches discounted by age) is fused with the dense and BM25 lists (``_timed``).
        """
        bm25 = self._index()
        allowed = allowed_doc_ids(bm25.rows, filters) if filters and not filters.is_empty() else None
        # some article is after as_of: not evidence (undated ones, stored as -1, stay); a filter both stores apply
        max_day = day_number(as_of) if as_of is not None and bm25.latest_day > day_number(as_of) else None
        stories = self.stories(bm25) if self.stories else None
        allowed, hidden = self._hide_copies(stories, bm25, filters, allowed, max_day)
        if allowed is not None and not allowed:
            return []
        n = max(self.candidates, top_k * 4)
        asked = parts(query)
        queries = [query, *asked] if len(asked) > 1 else [query]  # a compound question's parts too
        dense_lists = [dict(self._dense(self.embedder.embed_query(q), n, allowed, max_day, hidden, bm25))
                       for q in queries]
        sparse_lists = [dict(bm25.search(q, n, allowed, max_day, hidden)) for q in queries]
        rankings = [self._fuse(d, s) for d, s in zip(dense_lists, sparse_lists)]
        dense, sparse = _best(dense_lists), _best(sparse_lists)
        fused = _best(rankings)  # a passage ranks by its best match: to the whole question or to one part
        if as_of is not None and scopes:
            fused = self._timed(fused, bm25, as_of, scopes, n, dense, sparse)
        order = _ranked(fused, dense, sparse)

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
                also = stories.also(hit.record.doc_id, max_day) if stories else []
                passages.append(to_passage(hit, fused[hit.chunk_id], sparse.get(hit.chunk_id), also))
                if len(passages) == top_k:
                    break
        return passages

    def _hide_copies(self, stories: Stories | None, bm25: BM25Index, filters: Filters | None,
                     allowed: set[str] | None, max_day: int | None) -> tuple[set[str] | None, frozenset[str]]:
        """(the allowed doc ids, the doc ids to leave out) once each story keeps only its earliest usable member
        (``Stories.hidden``), an article a source filter names on its own included. With a filter the copies
        simply leave its list; without one they are a set both stores leave out."""
        if stories is None or not stories.groups:
            return allowed, frozenset()
        hidden = stories.hidden(allowed, max_day, named_articles(bm25.rows, filters))
        if allowed is not None:
            return allowed - hidden, frozenset()
        return None, hidden

    def _dense(self, embedding: list[float], n: int, allowed: set[str] | None, max_day: int | None,
               hidden: frozenset[str], bm25: BM25Index) -> list[tuple[str, float]]:
        """The ``n`` nearest chunks outside ``hidden`` articles. Fetched with room for the hidden ones' chunks
        and filtered here (more fetched in the rare case that was not enough): a Chroma ``$nin`` over doc ids
        would scan every chunk's metadata on every question."""
        if not hidden:
            return self.store.query_dense(embedding, n, allowed, max_day)
        fetch = n + min(n, bm25.chunk_count(hidden))
        while True:
            got = self.store.query_dense(embedding, fetch, allowed, max_day)
            kept = [(cid, score) for cid, score in got if bm25.doc_id(cid) not in hidden]
            if len(kept) >= n or len(got) < fetch:
                return kept[:n]
            fetch *= 2


    def leads(self, period: tuple[date | None, date | None], filters: Filters | None, as_of: date,
              limit: int) -> tuple[list[Passage], int]:
        """(the first passage of each of the ``limit`` newest articles published in ``period``, inclusive bounds,
        None open, and not after ``as_of``, oldest first; how many articles the period holds). What "What
        happened this week?" reads: it names no topic to search for, so the period's articles are its answer.
        Undated articles are in no period. Raises EmptyIndexError on an empty index."""
        bm25 = self._index()
        allowed = allowed_doc_ids(bm25.rows, filters) if filters and not filters.is_empty() else None
        lo = day_number(period[0]) if period[0] else 0
        hi = min(day_number(period[1]) if period[1] else day_number(as_of), day_number(as_of))
        stories = self.stories(bm25) if self.stories else None
        allowed, hidden = self._hide_copies(stories, bm25, filters, allowed, day_number(as_of))
        first: dict[str, Row] = {}
        for row in bm25.rows:
            if row.doc_id in hidden:
                continue
            if lo <= row.published_day <= hi and (allowed is None or row.doc_id in allowed) and (
                    row.doc_id not in first or _position(row.chunk_id) < _position(first[row.doc_id].chunk_id)):
                first[row.doc_id] = row
        newest = sorted(first.values(), key=lambda r: (-r.published_day, r.source))[:limit]
        chosen = sorted(newest, key=lambda r: (r.published_day, r.source))
        day = day_number(as_of)
        return [to_passage(hit, 0.0, None, stories.also(hit.record.doc_id, day) if stories else [])
                for hit in _hits([r.chunk_id for r in chosen], bm25, self.store)], len(first)

    def _index(self) -> BM25Index:
        """The side index, checked current (once per question); EmptyIndexError when nothing is indexed."""
        bm25 = self.store.bm25()
        if bm25.count == 0 and self.store.count() == 0:
            raise EmptyIndexError(self.store.where)
        return bm25

    def _timed(self, fused: dict[str, float], bm25: BM25Index, as_of: date, scopes: Sequence[TimeScope],
               depth: int, dense: dict[str, float], sparse: dict[str, float]) -> dict[str, float]:
        """``fused`` with a time list fused in (reciprocal rank, weight ``time_weight``) when the question asks
        for a period ("this week": articles in it, best match first) or the current state ("latest": best
        match discounted by age, halving every ``half_life_days``, so the newest good matches lead and a far
        better older one can still outrank them). Only the best ``depth`` candidates by fused score take
        part, so a new article that barely matches is not pulled up; undated articles are left where they
        are, and a strong match outside the period keeps its dense and BM25 ranks."""
        span, recent = window(list(scopes)), any(s.recent for s in scopes)
        if span is None and not recent:
            return fused
        lo = day_number(span[0]) if span and span[0] else 0
        hi = day_number(span[1]) if span and span[1] else day_number(as_of)
        order: dict[str, float] = {}
        best_first = _ranked(fused, dense, sparse)  # a compound question's lists are merged
        for cid in best_first[:depth]:
            day = bm25.published_day(cid)
            if day < 0 or not lo <= day <= hi:
                continue
            published = date(day // 10000, day // 100 % 100, day % 100)
            decay = (recency(published, as_of, self.half_life_days) or 0.0) if recent else 1.0
            order[cid] = decay * fused[cid]  # relevance discounted by age: a far better older match can lead
        timed = dict(fused)
        for rank, cid in enumerate(_ranked(order, dense, sparse), start=1):  # reciprocal rank, like the others
            timed[cid] += self.time_weight / (self.rrf_k + rank)
        return timed

    def _fuse(self, dense: dict[str, float], sparse: dict[str, float]) -> dict[str, float]:
        """Reciprocal rank fusion of one query's dense and BM25 lists: chunk id -> score, best first."""
        fused: dict[str, float] = {}
        for ranked in (dense, sparse):  # both dicts keep best-first order
            for rank, chunk_id in enumerate(ranked, start=1):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank)
        return {cid: fused[cid] for cid in _ranked(fused, dense, sparse)}


def _ranked(scores: dict[str, float], dense: dict[str, float], sparse: dict[str, float]) -> list[str]:
    """Chunk ids by score, best first. Reciprocal-rank scores tie often (dense 1st + BM25 2nd against dense
    2nd + BM25 1st). A tie goes to the chunk nearer its article's start (news puts the facts first, the
    inverted pyramid), then to the closer dense match, then the higher BM25 score, and only then to the
    chunk id. Ids hash the article's absolute path, so breaking ties by id alone made results (and eval
    figures) depend on where the corpus was cloned."""
    low = float("-inf")
    return sorted(scores, key=lambda cid: (-scores[cid], _position(cid), -dense.get(cid, low),
                                           -sparse.get(cid, low), cid))


def _position(chunk_id: str) -> int:
    """A chunk's place in its article, from its id ("doc:0003:hash" -> 3); 0 for an id of another form."""
    parts = chunk_id.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


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
    lo = day_number(filters.date_from) if filters.date_from else None
    hi = day_number(filters.date_to) if filters.date_to else None
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


def named_articles(rows: list[Row], filters: Filters | None) -> set[str]:
    """Doc ids a source filter names one by one (its doc id, its path, a file name no other article has):
    a syndicated copy asked for by name is retrieved; a folder's copies are not."""
    if filters is None or not filters.sources:
        return set()
    docs = list({r.doc_id: r for r in rows}.values())
    named: set[str] = set()
    for key in filters.sources:
        found = resolve_keys([key], docs)
        if len(found) == 1:
            named |= found
    return named


def to_passage(hit: Hit, score: float, bm25_score: float | None, also: list[Report] | None = None) -> Passage:
    r = hit.record
    return Passage(
        chunk_id=hit.chunk_id,
        doc_id=r.doc_id,
        text=hit.text,
        title=r.title,
        source=r.source,
        file_name=r.file_name,
        **r.article(),
        start=r.start,
        end=r.end,
        spans=r.spans,
        score=score,
        dense_score=hit.dense_score,
        bm25_score=bm25_score,
        also_reported_by=also or [],
    )

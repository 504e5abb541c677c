"""Stories: articles that carry the same text (a wire story syndicated with small edits) kept as one.

A wire story runs on many sites under a new headline, with a "Reporting by" line added, a sentence changed or
paragraphs moved. As separate articles the copies spend retrieval's top-k on one text and split its citations;
as one story, only its earliest copy is retrieved and cited, and the others are named beside it
(``Passage.also_reported_by``).

How two articles are found to be one story (Broder, "On the resemblance and containment of documents", 1997;
Leskovec, Rajaraman and Ullman, "Mining of Massive Datasets", ch. 3):

- An article is the set of its 5-word shingles over the matcher's folded words (``text.words``: case, accents
  and curly quotes fold away; stop words stay, since word order is what makes a shingle rare). Five words is
  the usual size for news-length text (MMDS 3.2.2; the 5-grams of Lee et al., "Deduplicating Training Data
  Makes Language Models Better", ACL 2022): long enough that two different reports rarely share a shingle by
  chance, short enough that one edited sentence costs only its own shingles. Shingles are taken per stored
  chunk and pooled, so the chunks' overlap adds nothing; the headline, which every outlet rewrites, is left
  out where a chunk opens with it (a page's h1, a text file's first line).
- A MinHash signature of 128 permutations (datasketch's default) estimates the Jaccard similarity of two sets
  with standard error sqrt(J(1-J)/128): 0.035 at the threshold.
- LSH with 32 bands of 4 rows proposes the pairs to compare: a pair at J = 0.8 is proposed with probability
  1 - (1 - 0.8^4)^32 > 0.99999, one at J = 0.2 with 5%, so banding loses no copies and compares few others.
- A proposed pair is one story when the estimated Jaccard is at least ``SAME_STORY`` = 0.8: the near-duplicate
  threshold of Lee et al. (2022), and the retriever's own passage-level duplicate threshold. Lower would merge
  follow-ups: an article rewritten after the event (new lede, new facts, the background kept) shares half or
  more of its shingles with the earlier one and must stay an article of its own, or its new facts are hidden.
- Stories are the connected components of those pairs (union-find), so a chain of copies is one story.

A story's representative is its earliest member (published date; undated after dated; then headline, file
name and doc id, so the folder a corpus was cloned into never decides).

``DATA_DIR/stories.json`` keeps each article's signature (keyed by its content hash, pipeline fingerprint and
chunk ids, so an unchanged article is never read again) and the stories, stamped with the side index's
generation. Like the BM25 side index it is derived: written whole and swapped in by rename, and computed again
when missing, unreadable, made with other parameters, or stamped with another generation, so a crash between
writing chunks and writing stories heals on the next ingest or question.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np

from .store import BM25Index, ChunkRecord, Store
from .text import fold, matcher_fingerprint, words
from .time import day_number
from .types import Report, Story

SHINGLE_WORDS = 5
PERMUTATIONS = 128
SEED = 1
SCHEME = "affine32"  # datasketch's MinHash scheme, named: stored signatures must be compared like with like
BANDS, ROWS = 32, 4
SAME_STORY = 0.8
_FORMAT = 1
_FILE = "stories.json"


def shingles(text: str) -> set[bytes]:
    """The text's 5-word shingles over folded words; a text shorter than one shingle has none."""
    found = words(text)
    return {" ".join(found[i : i + SHINGLE_WORDS]).encode() for i in range(len(found) - SHINGLE_WORDS + 1)}


def body(text: str, title: str) -> str:
    """A chunk's text without the article's headline when its first line is that headline: outlets rewrite
    headlines, the story is the text under them."""
    first, _, rest = text.partition("\n")
    return rest if words(first) == words(title) else text


def signature(texts: Iterable[str]) -> np.ndarray | None:
    """The MinHash signature of the shingles of ``texts`` (an article's chunks), or None when there are none."""
    from datasketch import MinHash

    found: set[bytes] = set()
    for text in texts:
        found |= shingles(text)
    if not found:
        return None
    sketch = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme=SCHEME)
    sketch.update_batch(sorted(found))
    return np.asarray(sketch.hashvalues, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """The estimated Jaccard similarity of two signatures: the share of permutations whose minimums agree."""
    return float(np.count_nonzero(a == b)) / len(a)


def group(signatures: dict[str, np.ndarray]) -> list[list[str]]:
    """Doc ids whose signatures are ``SAME_STORY`` alike, transitively: LSH proposes, the estimate confirms."""
    from datasketch import LeanMinHash, MinHashLSH

    lsh = MinHashLSH(num_perm=PERMUTATIONS, params=(BANDS, ROWS))
    parent = {d: d for d in signatures}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for doc_id in sorted(signatures):  # sorted: the same pairs are compared whatever the store's order
        sketch = LeanMinHash(seed=SEED, hashvalues=signatures[doc_id], scheme=SCHEME)
        for other in lsh.query(sketch):
            if similarity(signatures[doc_id], signatures[other]) >= SAME_STORY:
                parent[root(other)] = root(doc_id)
        lsh.insert(doc_id, sketch)
    groups: dict[str, list[str]] = {}
    for doc_id in signatures:
        groups.setdefault(root(doc_id), []).append(doc_id)
    return [g for g in groups.values() if len(g) > 1]


@dataclass(frozen=True, eq=False)
class Member:
    """One indexed article as stories need it: what orders it in its story, what a reader is shown, and its
    signature with the key it was computed for."""

    doc_id: str
    key: str  # content hash | pipeline fingerprint | digest of the chunk ids: the text the signature is of
    title: str
    file_name: str
    source: str
    published: date | None
    outlet: str | None
    url: str | None
    signature: np.ndarray | None  # None: too short to have a shingle; never in a story

    def order(self) -> tuple:
        """Earliest first; undated after dated; then headline, file name, doc id (never the clone's path)."""
        return (self.published is None, self.published or date.min, fold(self.title), self.file_name, self.doc_id)

    @property
    def day(self) -> int:
        return day_number(self.published) if self.published else -1

    def report(self) -> Report:
        return Report(doc_id=self.doc_id, title=self.title, source=self.source, outlet=self.outlet, url=self.url,
                      published=self.published)

    def to_json(self) -> dict:
        out = asdict(self)
        out["published"] = self.published.isoformat() if self.published else None
        out["signature"] = (base64.b64encode(self.signature.astype("<u4").tobytes()).decode()
                            if self.signature is not None else None)
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Member":
        raw = data["signature"]
        sig = np.frombuffer(base64.b64decode(raw), dtype="<u4").astype(np.uint32) if raw is not None else None
        if sig is not None and len(sig) != PERMUTATIONS:
            raise ValueError("a signature of the wrong length")
        return cls(**{**data, "published": date.fromisoformat(data["published"]) if data["published"] else None,
                      "signature": sig})


class Stories:
    """The stories of one side-index generation (``basis``): which articles are copies, and of what."""

    def __init__(self, basis: str, members: dict[str, Member], groups: list[list[str]]) -> None:
        self.basis = basis
        self.members = members
        ordered = [sorted(g, key=lambda d: members[d].order()) for g in groups if len(g) > 1]
        self.groups = sorted(ordered, key=lambda g: members[g[0]].order())
        self._group_of = {d: g for g in self.groups for d in g}
        self.copies = frozenset(d for g in self.groups for d in g[1:])
        """Every member but its story's earliest: what retrieval leaves out when nothing narrows the question."""
        self._stand_ins = [(members[g[0]].day, next(d for d in g if members[d].published is None))
                           for g in self.groups if members[g[0]].published and members[g[-1]].published is None]

    def hidden(self, allowed: Collection[str] | None = None, max_day: int | None = None,
               named: Collection[str] = ()) -> frozenset[str]:
        """Doc ids a question leaves out: in each story, every member but the earliest one it may use (in
        ``allowed``, when given; published by ``max_day``, YYYYMMDD, or undated), and never one ``named`` alone
        by a source filter. The earliest member is usually that one: published first, it is evidence whenever a
        copy is; an undated copy stands in when every dated one is after ``max_day``.

        Without a filter the answer is ``copies`` itself (a dated earliest member after ``max_day`` is left out
        by ``max_day`` anyway), less those stand-ins: the same set object question after question, so the
        stores' masks for it are built once."""
        if allowed is None and not named:
            late = {d for day, d in self._stand_ins if max_day is not None and day > max_day}
            return self.copies - late if late else self.copies
        out: set[str] = set()
        for members in self.groups:
            lead = next((d for d in members if self._usable(d, allowed, max_day)), None)
            out.update(d for d in members if d != lead and d not in named)
        return frozenset(out)

    def also(self, doc_id: str, max_day: int | None = None) -> list[Report]:
        """The other members of ``doc_id``'s story published by ``max_day`` (or undated), earliest first."""
        members = self._group_of.get(doc_id, ())
        return [self.members[d].report() for d in members if d != doc_id and self._usable(d, None, max_day)]

    def stories(self) -> list[Story]:
        """Every story of two or more articles, earliest first."""
        return [Story(members=[self.members[d].report() for d in g]) for g in self.groups]

    def _usable(self, doc_id: str, allowed: Collection[str] | None, max_day: int | None) -> bool:
        day = self.members[doc_id].day
        return (allowed is None or doc_id in allowed) and (max_day is None or day <= max_day)

    # --- the file -------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the file whole beside ``path`` and swap it in by rename: a reader sees the old one or this."""
        payload = {"params": _params(), "basis": self.basis,
                   "members": [m.to_json() for m in self.members.values()], "groups": self.groups}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "Stories | None":
        """The saved stories, or None when the file is missing, unreadable or made with other parameters."""
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            if payload["params"] != _params():
                return None
            members = {m.doc_id: m for m in map(Member.from_json, payload["members"])}
            groups = [[str(d) for d in g] for g in payload["groups"]]
            if any(d not in members for g in groups for d in g):
                return None
            return cls(str(payload["basis"]), members, groups)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None


def _params() -> dict:
    """What made the signatures and stories: a file made with other values is computed again."""
    return {"format": _FORMAT, "shingle_words": SHINGLE_WORDS, "permutations": PERMUTATIONS, "seed": SEED,
            "scheme": SCHEME, "bands": [BANDS, ROWS], "same_story": SAME_STORY, "matcher": matcher_fingerprint()}


def basis(bm25: BM25Index) -> str:
    """What the stories are current for: the side index's generation (its chunk count for stores from before
    generations, as ``Store.bm25`` falls back to)."""
    return bm25.generation or f"count:{bm25.count}"


def compute(store: Store, bm25: BM25Index, previous: Stories | None = None) -> Stories:
    """The stories of what ``bm25`` indexes, reusing ``previous`` signatures of unchanged articles.

    Texts come from the side index's stored copy of the chunks (Chroma for chunks it lacks): one chunk's
    metadata per article for its key, every chunk only of an article that is new or changed.
    """
    chunk_ids: dict[str, list[str]] = {}
    for row in bm25.rows:
        chunk_ids.setdefault(row.doc_id, []).append(row.chunk_id)
    firsts = _chunks([ids[0] for ids in chunk_ids.values()], bm25, store)
    members: dict[str, Member] = {}
    for doc_id, ids in chunk_ids.items():
        if ids[0] not in firsts:
            continue  # deleted since the side index was built
        record = ChunkRecord.from_meta(firsts[ids[0]][1])
        digest = hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()[:16]
        key = f"{record.content_hash}|{record.fingerprint}|{digest}"
        known = previous.members.get(doc_id) if previous else None
        if known is not None and known.key == key:
            members[doc_id] = known
            continue
        texts = [body(text, record.title) for text, _ in _chunks(ids, bm25, store).values()]
        members[doc_id] = Member(doc_id, key, record.title, record.file_name, record.source, record.published,
                                 record.outlet, record.url, signature(texts))
    signed = {d: m.signature for d, m in members.items() if m.signature is not None}
    return Stories(basis(bm25), members, group(signed))


def _chunks(chunk_ids: list[str], bm25: BM25Index, store: Store) -> dict[str, tuple[str, dict]]:
    """(text, metadata) of those chunks, from the side index's copy, else from Chroma."""
    found = bm25.stored(chunk_ids)
    missing = [c for c in chunk_ids if c not in found]
    found.update({h.chunk_id: (h.text, h.meta) for h in store.get(missing)})
    return found


class StoryIndex:
    """One data folder's stories, kept current with its side index and shared by a RAG's threads."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / _FILE
        self._lock = threading.Lock()
        self._stories: Stories | None = None

    def current(self, store: Store, bm25: BM25Index | None = None) -> Stories:
        """The stories of the store's current side index (``bm25``, when the caller has it): from memory, else
        from the file, else computed and saved (a failed save costs only the next process the work)."""
        bm25 = bm25 if bm25 is not None else store.bm25()
        wanted = basis(bm25)
        known = self._stories
        if known is not None and known.basis == wanted:
            return known
        with self._lock:
            if self._stories is not None and self._stories.basis == wanted:
                return self._stories
            saved = Stories.load(self.path)
            if saved is None or saved.basis != wanted:
                saved = compute(store, bm25, previous=saved or self._stories)
                try:
                    saved.save(self.path)
                except OSError:
                    pass
            self._stories = saved
            return saved

    def wipe(self) -> None:
        """Forget the stories (``ingest --rebuild``)."""
        with self._lock:
            self._stories = None
            self.path.unlink(missing_ok=True)

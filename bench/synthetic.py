"""Large stores without hours of embedding: the benchmark articles repeated with cheap changes.

Copy ``j`` of a real chunk keeps a random 60% of its words, rotated, plus
words drawn from another real chunk and an edition tag, so BM25 sees distinct
texts with the real vocabulary and copies are not near-duplicates of each
other (retrieval would drop those); its vector is the real chunk's vector plus
Gaussian noise, renormalised, so the HNSW graph sees realistic clusters.
These vectors are fake: dense scores on them say nothing about quality,
only about speed.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from rag.store import Hit, Store
from rag.types import Chunk, Document

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def perturb(text: str, other: str, copy: int) -> str:
    """A different text with the same vocabulary for each copy number (deterministic)."""
    rng = np.random.default_rng(copy * 7919 + len(text))
    words, extra = text.split(), other.split()
    kept = [w for w in words if rng.random() < 0.6]
    shift = copy % max(1, len(kept))
    borrowed = [extra[i] for i in sorted(rng.choice(len(extra), min(len(extra), len(words) // 3), replace=False))]
    return f"{' '.join(kept[shift:] + kept[:shift] + borrowed)} (edition {copy})"


def fill(store: Store, base: list[Hit], base_vectors: np.ndarray, total: int, seed: int = 0,
         noise: float = 0.02, batch_docs: int = 50) -> int:
    """Add copies of ``base`` chunks, grouped by document, until the store holds ``total`` chunks."""
    rng = np.random.default_rng(seed)
    by_doc: dict[str, list[int]] = {}
    for i, hit in enumerate(base):
        by_doc.setdefault(hit.record.doc_id, []).append(i)
    groups = list(by_doc.values())
    store.begin_write()
    added, copy = 0, 0
    pending: list[tuple[Document, list[Chunk], np.ndarray]] = []
    while added < total:
        copy += 1
        for members in groups:
            if added >= total:
                break
            members = members[: total - added]
            doc, chunks = _copy_doc([base[i] for i in members], copy, base)
            vectors = base_vectors[members] + rng.normal(0.0, noise, (len(members), base_vectors.shape[1]))
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            pending.append((doc, chunks, vectors))
            added += len(chunks)
            if len(pending) >= batch_docs:
                _flush(store, pending)
    _flush(store, pending)
    store.sync_bm25()
    return added


def _flush(store: Store, pending: list) -> None:
    for doc, chunks, vectors in pending:
        store.add(doc, chunks, vectors.tolist(), fingerprint="synthetic", n_chunks=len(chunks))
    pending.clear()


def _copy_doc(hits: list[Hit], copy: int, base: list[Hit]) -> tuple[Document, list[Chunk]]:
    first = hits[0].record
    doc_id = hashlib.sha256(f"{first.doc_id}|{copy}".encode()).hexdigest()[:16]
    stem = Path(first.file_name).stem
    doc = Document(
        doc_id=doc_id, source=f"/synthetic/{stem}-{copy}.txt", file_name=f"{stem}-{copy}.txt",
        title=f"{first.title} ({copy})", content_hash=f"synthetic-{copy}", kind="text",
        n_chars=max(h.record.end for h in hits),
    )
    chunks = []
    for ordinal, hit in enumerate(hits):
        text = perturb(hit.text, base[(copy * 31 + ordinal * 17) % len(base)].text, copy)
        chunks.append(Chunk(
            chunk_id=f"{doc_id}-{ordinal:04d}", doc_id=doc_id, ordinal=ordinal, text=text,
            start=hit.record.start, end=hit.record.end, spans=hit.record.spans[:1],
            n_tokens=hit.record.n_tokens,
        ))
    return doc, chunks

"""The drift report behind ``rag stats --check``: where Chroma and the BM25 side index disagree.

It only reads, so it is safe beside a running ingest, and it lives apart from
``Store`` because it is a diagnosis of the store rather than part of keeping it.
It reads the store's package-private helpers (``_all``, ``_generation``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .bm25 import BM25Index

if TYPE_CHECKING:
    from .store import Store


def drift_report(store: Store) -> list[str]:
    """Drift between Chroma and the saved side index, read-only: empty when they agree.

    What an interrupted ingest can leave: documents missing chunks or
    mixing versions, a side index marked stale, built from another
    generation, or holding other chunk ids or texts than Chroma.
    """
    problems = []
    data = store._all(["documents", "metadatas"])
    ids = data["ids"]
    if len(set(ids)) != len(ids):
        problems.append(f"Chroma holds {len(ids) - len(set(ids))} duplicate chunk ids")
    for doc in store.documents().values():
        if doc.content_hash == "(mixed)":
            problems.append(f"{doc.file_name}: chunks of two versions of the file ({doc.doc_id})")
        elif len(doc.chunk_ids) != doc.n_chunks:
            problems.append(f"{doc.file_name}: {len(doc.chunk_ids)} of {doc.n_chunks} chunks ({doc.doc_id})")
    if store._marked_stale():
        problems.append("the BM25 side index is marked stale (an ingest died, or is running)")
    index = BM25Index.load(store._bm25_dir)
    if index is None:
        return problems + (["the BM25 side index is missing, unreadable or built by an older matcher"] if ids else [])
    generation = store._generation()
    if generation is not None and index.generation != generation:
        problems.append(f"the BM25 side index was built at generation {index.generation}, Chroma is at {generation}")
    side = [r.chunk_id for r in index.rows]
    missing, extra = set(ids) - set(side), set(side) - set(ids)
    if missing or extra or len(side) != len(set(side)):
        problems.append(f"BM25 and Chroma disagree: {len(missing)} chunks only in Chroma, {len(extra)} only in "
                        f"BM25, {len(side) - len(set(side))} duplicated in BM25")
    copies = index.stored(ids)
    differing = sum(copies[i][0] != text for i, text in zip(ids, data["documents"]) if i in copies)
    if differing:
        problems.append(f"{differing} chunk texts in the side copy differ from Chroma's")
    return problems

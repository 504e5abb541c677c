"""The index: Chroma (the source of truth) and the BM25 side index kept in agreement with it.

Callers import from here, not from the modules, so the package can be rearranged behind them.
"""

from .bm25 import BM25Index, Row
from .content import StoredChunks
from .records import ChunkRecord, article_meta, date_from_meta, spans_from_meta
from .server import ChromaServer, server_errors
from .store import Hit, Store, StoredDoc

__all__ = [
    "BM25Index", "ChromaServer", "ChunkRecord", "Hit", "Row", "Store", "StoredChunks", "StoredDoc",
    "article_meta", "date_from_meta", "server_errors", "spans_from_meta",
]

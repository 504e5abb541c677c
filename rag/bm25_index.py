"""The BM25 side index: a derived copy of the Chroma collection, rebuilt whole.

It is never edited in place. After every ingest that changed the store it is
rebuilt from what Chroma holds and swapped in by rename; a marker file written
before the first change to Chroma and removed after the swap tells a later
process that an ingest died in between, so it rebuilds before answering.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

from .text import terms

_MANIFEST = "manifest.json"
_ROWS = "rows.json"


@dataclass
class Row:
    """What filters need to know about each indexed chunk."""

    chunk_id: str
    doc_id: str
    source: str
    file_name: str
    published_day: int  # YYYYMMDD, -1 when unknown


class BM25Index:
    def __init__(self, retriever: bm25s.BM25 | None, rows: list[Row], count: int) -> None:
        self._retriever = retriever
        self.rows = rows
        self.count = count

    @classmethod
    def build(cls, texts: list[str], rows: list[Row]) -> "BM25Index":
        retriever = None
        if rows:
            retriever = bm25s.BM25()
            retriever.index([terms(t) or ["\u2205"] for t in texts], show_progress=False)
        return cls(retriever, rows, len(rows))

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp))
        (tmp / _ROWS).write_text(json.dumps([r.__dict__ for r in self.rows]))
        (tmp / _MANIFEST).write_text(json.dumps({"count": self.count}))
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> "BM25Index | None":
        """The saved index, or None when it is missing or unreadable (then rebuild)."""
        try:
            manifest = json.loads((folder / _MANIFEST).read_text())
            rows = [Row(**r) for r in json.loads((folder / _ROWS).read_text())]
            retriever = bm25s.BM25.load(str(folder)) if rows else None
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if manifest.get("count") != len(rows):
            return None
        return cls(retriever, rows, len(rows))

    def search(self, query: str, k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """(chunk_id, score) best first; ``allowed`` restricts to those doc ids."""
        if self._retriever is None or k <= 0:
            return []
        vocab = self._retriever.vocab_dict
        tokens = [t for t in terms(query) if t in vocab]
        if not tokens:
            return []
        mask = None
        if allowed is not None:
            mask = np.array([1 if r.doc_id in allowed else 0 for r in self.rows], dtype=np.float32)
        k = min(k, len(self.rows))
        # get_scores + argpartition: bm25s.retrieve starts a thread pool and a tqdm bar on every call
        scores = self._retriever.get_scores(tokens, weight_mask=mask)
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.rows[int(d)].chunk_id, float(scores[d])) for d in top if scores[d] > 0]

"""Sentence vectors by content, kept on disk beside the index.

The extractive answerer compares the question with every sentence of the
retrieved passages. Encoding those sentences at question time was 93% of a
warm answer (268 of 288 ms, 100 squad2-a questions, 2 cores), so they are
encoded once, at ingest, and read back here. A vector is keyed by a hash of
the model name and the exact text the answerer encodes, so it can never go
stale: a changed sentence is a new key, a kept chunk keeps its vectors, and a
sentence missing (an index built before this existed, an interrupted ingest)
is encoded when first needed and stored then.

A cache must never cost an answer: a folder that cannot be written (read-only
data, a locked file) is logged once and the vectors are computed as before.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from .embeddings import Embedder

log = logging.getLogger(__name__)

FILE_NAME = "sentences.sqlite3"
_LOOKUP = 500  # keys per SELECT: under SQLite's bound-variable limit


class SentenceVectors:
    """``embed(texts)`` like ``Embedder.embed_texts``, served from ``data_dir/sentences.sqlite3`` when known.

    Thread-safe: one SQLite connection per thread (WAL mode, so readers never wait for a writer).
    """

    def __init__(self, data_dir: Path | str, embedder: Embedder) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.embedder = embedder
        self._local = threading.local()
        self._broken = False

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, shape (len(texts), dim), float32; the unknown ones are encoded and stored."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        keys = [self._key(t) for t in texts]
        known = self._read(set(keys))
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in known}.items())
        if missing:
            fresh = np.asarray(self.embedder.embed_texts([t for _, t in missing]), dtype=np.float32)
            new = {k: v for (k, _), v in zip(missing, fresh)}
            self._write(new)
            known.update(new)
        return np.stack([known[k] for k in keys])

    def fill(self, texts: Sequence[str]) -> None:
        """Encode and store the ones not stored yet (at ingest)."""
        self.embed(list(dict.fromkeys(texts)))

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.embedder.name}\0{text}".encode(), digest_size=16).digest()

    def _read(self, keys: set[bytes]) -> dict[bytes, np.ndarray]:
        db = self._db()
        if db is None or not keys:
            return {}
        wanted, found = list(keys), {}
        try:
            for k in range(0, len(wanted), _LOOKUP):
                part = wanted[k : k + _LOOKUP]
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                found.update((key, np.frombuffer(vec, dtype=np.float32)) for key, vec in rows)
        except sqlite3.Error as exc:
            self._give_up(exc)
            return {}
        return {k: v for k, v in found.items() if v.shape == (self.embedder.dim,)}

    def _write(self, vectors: dict[bytes, np.ndarray]) -> None:
        db = self._db()
        if db is None:
            return
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                               [(k, v.astype(np.float32).tobytes()) for k, v in vectors.items()])
        except sqlite3.Error as exc:
            self._give_up(exc)

    def _db(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=10)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
            except (sqlite3.Error, OSError) as exc:
                self._give_up(exc)
                return None
            self._local.db = db
        return db

    def _give_up(self, exc: Exception) -> None:
        """Stop using the file for this process; answers go on, each encoding its sentences."""
        if not self._broken:
            log.warning("Sentence vectors in %s are unavailable (%s); sentences are encoded per question.",
                        self.path, exc)
        self._broken = True


def wipe(data_dir: Path | str) -> None:
    """Remove the stored vectors (a rebuild starts clean)."""
    for suffix in ("", "-wal", "-shm"):
        target = Path(data_dir) / f"{FILE_NAME}{suffix}"
        if target.exists():
            target.unlink()

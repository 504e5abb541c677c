"""Sentence vectors by content, kept on disk beside the index.

The extractive answerer compares the question with every sentence of the
retrieved passages. Encoding those sentences at question time was 93% of a
warm answer (268 of 288 ms, 100 squad2-a questions, 2 cores), so they are
encoded once, at ingest, and read back here. A vector is keyed by a hash of
the model name and the exact text the answerer encodes, so it can never go
stale: a changed sentence is a new key, a kept chunk keeps its vectors, and a
sentence missing (an index built before this existed, an interrupted ingest)
is encoded when first needed and stored then.

A cache must never cost an answer: a folder that cannot be written (a shared,
read-only index) is read as it is; a file that cannot be read at all is logged
once and the vectors are computed as before; a file busy with another
writer costs one question its speed-up. Rows of articles removed or changed
stay until ``rag ingest --rebuild`` (they are never wrong, only unused).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
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
        self._read_only = False

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

    def close(self) -> None:
        """Close this thread's connection (the last one to close folds the write-ahead log into the file)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.embedder.name}\0{text}".encode(), digest_size=16).digest()

    def _read(self, keys: set[bytes]) -> dict[bytes, np.ndarray]:
        db = self._db()
        if db is None or not keys:
            return {}
        wanted, found = list(keys), {}
        size = 4 * self.embedder.dim
        try:
            for k in range(0, len(wanted), _LOOKUP):
                part = wanted[k : k + _LOOKUP]
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})", part)
                # a damaged row (another size) is not trusted: encoded again and replaced
                found.update((key, np.frombuffer(vec, dtype=np.float32)) for key, vec in rows
                             if isinstance(vec, bytes) and len(vec) == size)
        except sqlite3.Error as exc:
            self._trouble(exc)
            return {}
        return found

    def _write(self, vectors: dict[bytes, np.ndarray]) -> None:
        db = self._db()
        if db is None or self._read_only:
            return
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                               [(k, v.astype(np.float32).tobytes()) for k, v in vectors.items()])
        except sqlite3.Error as exc:
            self._trouble(exc)

    def _db(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = self._open()
            except (sqlite3.Error, OSError) as exc:
                try:
                    db = self._open_read_only()
                except (sqlite3.Error, OSError):
                    self._trouble(exc, for_good=True)
                    return None
                self._read_only = True
                log.warning("Sentence vectors in %s are read-only here (%s): stored ones are used, new ones are "
                            "encoded per question.", self.path, exc)
            self._local.db = db
        return db

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        """A data folder this user may not write (a shared index): read the file as it is, without the WAL
        side files that a normal open must create."""
        if not self.path.is_file():
            raise OSError(f"{self.path} does not exist")
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?immutable=1", uri=True)
        db.execute("SELECT 1 FROM vectors LIMIT 1")
        return db

    def _trouble(self, exc: Exception, for_good: bool = False) -> None:
        """A busy file (another process writing) costs this question its speed-up; anything else stops using
        the file for this process. Answers go on either way, encoding their sentences."""
        if not for_good and isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            log.debug("Sentence vectors in %s are busy (%s)", self.path, exc)
            return
        if not self._broken:
            log.warning("Sentence vectors in %s are unavailable (%s); sentences are encoded per question, which "
                        "is slower. To fix it, delete that file (it is rebuilt as questions are asked) or run "
                        "`rag ingest PATH --rebuild`.", self.path, exc)
        self._broken = True


def wipe(data_dir: Path | str) -> None:
    """Remove the stored vectors (a rebuild starts clean); a file that cannot be removed is left, with a
    warning, rather than fail the rebuild."""
    for suffix in ("", "-wal", "-shm"):
        target = Path(data_dir) / f"{FILE_NAME}{suffix}"
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("Could not remove %s (%s); remove it by hand. Answers work without it, more slowly.",
                        target, exc)

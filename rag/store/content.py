"""The stored text copy beside the BM25 side index: each chunk's text and metadata, read by row.

Like a search engine's stored fields, it lets the passages that win fusion skip
a second Chroma round trip. It is written with the side index and swapped in
with it, so it always matches the generation the index was built at.
"""

from __future__ import annotations

import json
import mmap
from pathlib import Path

import numpy as np

_STORED = "chunks.jsonl"
_OFFSETS = "chunks.offsets.npy"


class StoredChunks:
    """Each chunk's text and metadata as Chroma held them at the index's generation, read by row.

    One JSON line per row in a memory-mapped file, plus the row offsets: opening
    it reads only the offsets, so a large store costs no load time or memory.
    """

    def __init__(self, folder: Path) -> None:
        self._offsets = np.load(folder / _OFFSETS)
        with open(folder / _STORED, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if self._offsets[-1] else b""

    def __getitem__(self, row: int) -> tuple[str, dict]:
        text, meta = json.loads(self._map[self._offsets[row] : self._offsets[row + 1]])
        return text, meta

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @staticmethod
    def exists(folder: Path) -> bool:
        """Whether ``folder`` holds a copy (indexes saved before copies existed do not)."""
        return (folder / _STORED).exists()

    @staticmethod
    def write(folder: Path, documents: list[str], metadatas: list[dict]) -> None:
        offsets = [0]
        with open(folder / _STORED, "wb") as fh:
            for doc, meta in zip(documents, metadatas):
                line = json.dumps([doc, meta], ensure_ascii=False).encode() + b"\n"
                fh.write(line)
                offsets.append(offsets[-1] + len(line))
        np.save(folder / _OFFSETS, np.asarray(offsets, dtype=np.int64))

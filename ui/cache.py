"""Gradio's upload cache: the temporary copies of uploaded files, kept out of reach once they are no longer needed.

Gradio saves every uploaded file under its cache folder (``GRADIO_TEMP_DIR``, by
default ``<temp>/gradio``) and serves it back at ``/gradio_api/file=...`` for as
long as it is there, which by default is forever. The page has its own copy in
the upload folder once a file is accepted, so the cached one is deleted after
the ingest (and when the upload is refused), the folder is swept on start, and
never grows past a size cap.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True)
class CacheLimits:
    """How long Gradio's temporary copies may stay and how much room they may take."""

    max_age_s: int = 3600  # an upload is ingested in seconds; an hour-old copy is an abandoned one
    every_s: int = 600  # how often Gradio deletes this app's copies older than ``max_age_s``
    max_bytes: int = 500_000_000  # beyond this the oldest copies go first

    def gradio(self) -> tuple[int, int]:
        """``gr.Blocks(delete_cache=...)``: (how often, how old), in seconds."""
        return self.every_s, self.max_age_s


def cache_dir() -> Path:
    """Gradio's upload folder, as Gradio itself reads it (``gradio.utils.get_upload_folder``) when a page is
    built and launched: set ``GRADIO_TEMP_DIR`` before that to move it."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()


def owned() -> bool:
    """Whether the upload folder is one this page was given (``GRADIO_TEMP_DIR``, which ``rag-ui`` sets to
    a folder of its own): only then is it swept by age and size. Gradio's default ``<temp>/gradio`` is
    shared by every Gradio app of the machine, so there only this page's own copies are deleted."""
    return bool(os.environ.get("GRADIO_TEMP_DIR"))


def discard(paths: Iterable[str | Path], root: Path) -> list[Path]:
    """Delete the temporary copies among ``paths`` (files inside ``root`` only: a path elsewhere is a user's file
    and is left alone) and the folders Gradio made for them once empty; returns what was deleted."""
    root = root.resolve()
    gone = []
    for given in paths:
        path = Path(given).resolve()
        if root not in path.parents or not path.is_file():
            continue
        path.unlink(missing_ok=True)
        gone.append(path)
        _prune_empty(path.parent, root)
    return gone


def sweep(root: Path, max_age_s: float | None, max_bytes: int | None, now: float | None = None) -> list[Path]:
    """Delete copies older than ``max_age_s`` (None: keep by age), then the oldest until the rest fit in
    ``max_bytes`` (None: no cap); empty folders go too. Returns the deleted files. A file that vanishes meanwhile
    (another sweep, Gradio's own) is skipped."""
    root = root.resolve()
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    files = []
    for path in root.rglob("*"):
        try:
            stat = path.lstat()
        except OSError:
            continue
        if path.is_file() or path.is_symlink():
            files.append((stat.st_mtime, stat.st_size, path))
    files.sort()  # oldest first
    total = sum(size for _, size, _ in files)
    gone = []
    for mtime, size, path in files:
        too_old = max_age_s is not None and now - mtime > max_age_s
        too_big = max_bytes is not None and total > max_bytes
        if not (too_old or too_big):
            continue
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            continue
        total -= size
        gone.append(path)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        _prune_empty(folder, root)
    return gone


def _prune_empty(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents up to (not including) ``root`` while they are empty."""
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty, or gone
            return
        folder = folder.parent

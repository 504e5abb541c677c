"""Metadata sidecars: ``metadata.csv`` / ``metadata.jsonl`` a user puts beside a scraped corpus.

One row per article, naming it by a ``file`` column; the other columns are
those of front matter (``published``, ``updated``, ``author``, ``outlet``,
``url``, ``title``). A sidecar's facts beat everything an article says about
itself (see ``metadata.py``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from .metadata import ArticleMeta, DateOrder, meta_from_mapping, row_value, unread_fields

SIDECAR_NAMES = ("metadata.csv", "metadata.jsonl")


class Sidecars:
    """``metadata.csv`` / ``metadata.jsonl`` files beside the articles, read once per folder.

    A sidecar's rows name files by a ``file`` column (also ``filename``,
    ``path`` or ``name``), relative to the sidecar's folder; the other columns
    are those of front matter (``published``, ``updated``, ``author``,
    ``outlet``, ``url``, ``title``). A file's facts come from the nearest
    sidecar that names it, in its own folder or a folder above, up to the
    folder that was given to ingest. Problems (an unreadable file, a bad
    line, a row for no file, a value that does not parse) are collected in
    ``warnings``; they never stop an ingest, and cost no article.
    """

    def __init__(self, roots: list[Path], order: DateOrder | None = None) -> None:
        self._roots = [r.resolve() for r in roots]
        self._order = order
        self._rows: dict[Path, dict[str, tuple[Path, dict[str, Any]]]] = {}  # folder -> file -> (sidecar, row)
        self.warnings: list[str] = []

    def meta(self, path: Path) -> ArticleMeta | None:
        """The facts the nearest sidecar row gives for ``path``; None when no sidecar names it.

        A value that does not parse (a date that is not one, a URL that is not
        http(s)) is left unknown and reported in ``warnings``.
        """
        path = path.resolve()
        for folder in path.parents:
            if not any(folder == root or root in folder.parents for root in self._roots):
                return None
            key = path.relative_to(folder).as_posix()
            if (found := self._folder(folder).get(key)) is not None:
                sidecar, row = found
                meta = meta_from_mapping(row, self._order)
                for name in unread_fields(row, meta):
                    self.warnings.append(f"{sidecar}: {key}: {name} {row_value(row, name)!r} could not be read; "
                                         "left unknown")
                return meta
            if folder in self._roots:
                return None
        return None

    def _folder(self, folder: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
        if folder not in self._rows:
            rows: dict[str, tuple[Path, dict[str, Any]]] = {}
            for name in SIDECAR_NAMES:
                sidecar = folder / name
                if sidecar.is_file():
                    for row in self._read(sidecar):
                        named = {str(k).strip().lower(): v for k, v in row.items()}  # "File" from a spreadsheet
                        ref = next((named[k] for k in ("file", "filename", "file_name", "path", "name")
                                    if isinstance(named.get(k), str) and named[k].strip()), None)
                        if ref is None:
                            self.warnings.append(f"{sidecar}: a row names no file (column 'file'); it was ignored")
                            continue
                        key = Path(ref.strip()).as_posix().removeprefix("./")
                        if not (folder / key).is_file():
                            self.warnings.append(f"{sidecar}: a row names {key!r}, which is not a file there; "
                                                 "it was ignored")
                        rows[key] = (sidecar, row)
            self._rows[folder] = rows
        return self._rows[folder]

    def _read(self, sidecar: Path) -> list[dict[str, Any]]:
        try:
            text = sidecar.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            self.warnings.append(f"{sidecar}: not read ({exc}); its metadata was not used")
            return []
        if sidecar.suffix == ".csv":
            try:
                dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")  # a spreadsheet's ";" or tabs
            except csv.Error:
                dialect = csv.excel
            try:
                return [dict(r) for r in csv.DictReader(io.StringIO(text), dialect=dialect)]
            except csv.Error as exc:
                self.warnings.append(f"{sidecar}: not valid CSV ({exc}); its metadata was not used")
                return []
        rows = []
        for no, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            else:
                self.warnings.append(f"{sidecar}:{no}: not a JSON object; the line was ignored")
        return rows

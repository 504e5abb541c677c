"""What a fetch got back: its media type and charset, whether it fits the kind asked for, its decoded body.

Kept apart from the fetcher because none of it touches the network: a body arrives here a read at a time.
"""

from __future__ import annotations

import zlib
from typing import Literal

PageKind = Literal["page", "feed", "robots"]

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
                        "text/xml", "application/feed+xml", "text/plain"})

def content_type(header: str) -> tuple[str, str | None]:
    """("text/html", "utf-8") from "text/html; charset=UTF-8"; ("", None) when absent or malformed."""
    parts = header.split(";")
    media_type = parts[0].strip().lower()
    if media_type.count("/") != 1 or " " in media_type:
        return "", None
    charset = None
    for param in parts[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"\''):
            charset = value.strip().strip('"\'').lower()
    return media_type, charset


def type_fits(kind: PageKind, media_type: str) -> bool:
    if kind == "page":
        return media_type in PAGE_TYPES
    if kind == "feed":
        return media_type in FEED_TYPES or media_type.endswith("+xml")
    return True


def sniff_fits(kind: PageKind, content: bytes) -> bool:
    """Without a content type: does the start of the body look like ``kind``?"""
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if kind == "page":
        return head.startswith(b"<!doctype html") or b"<html" in head
    if kind == "feed":
        return head.startswith(b"<?xml") or any(tag in head for tag in (b"<rss", b"<feed", b"<rdf", b"<urlset"))
    return True


class Decoder:
    """Content-Encoding undone 64 KiB at a time, straight into the body: a bomb stops at the cap."""

    def __init__(self, header: str) -> None:
        codings = [c.strip().lower() for c in header.split(",") if c.strip().lower() not in ("", "identity")]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise ValueError(f"unsupported Content-Encoding {header.strip()!r}")
        self.coding = codings[0] if codings else None
        self.started = False
        self._z = self._new()

    def _new(self, raw_deflate: bool = False) -> zlib._Decompress | None:
        if self.coding is None:
            return None
        if self.coding == "deflate":  # RFC 9110 says zlib-wrapped; some servers send raw deflate
            return zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, into: bytearray, limit: int, last: bool = False) -> None:
        """Append what ``data`` decodes to onto ``into``, stopping once ``into`` holds ``limit`` bytes."""
        if self._z is None:
            into += data
            return
        if self._z.eof and data[:2] == b"\x1f\x8b" and self.coding != "deflate":
            self._z = self._new()  # another gzip member, in a later read
        while len(into) < limit and not self._z.eof:
            step = min(limit - len(into), 64 * 1024)
            try:
                piece = self._z.decompress(data, step) if data or not last else self._z.flush(step)
            except zlib.error:
                if self.started or self.coding != "deflate":
                    raise
                self._z = self._new(raw_deflate=True)
                piece = self._z.decompress(data, step)
            self.started = True
            into += piece
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data[:2] == b"\x1f\x8b" and self.coding != "deflate":
                data, self._z = self._z.unused_data + data, self._new()  # another gzip member follows
            elif self._z.eof:
                break  # anything after the stream's end is ignored, as browsers do
            if not piece and not data:
                break

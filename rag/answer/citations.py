"""Pure citation helpers: number markers, parse them, resolve them to source offsets."""

from __future__ import annotations

import re

from ..sentences import block_sentences, sentence_spans
from ..types import Citation, Passage

_MARKER = re.compile(r"\[(\d+(?:\s*[-–,]\s*\d+)*)\]")


def parse_markers(text: str) -> list[int]:
    """Passage numbers cited in ``text``: ``[1]``, ``[1, 3]``, ``[1][3]``, ``[1-2]``; in order, unique."""
    found: list[int] = []
    for m in _MARKER.finditer(text):
        for part in re.split(r"\s*,\s*", m.group(1)):
            if re.search(r"[-–]", part):
                lo, hi = (int(x) for x in re.split(r"\s*[-–]\s*", part))
                numbers = range(lo, hi + 1) if 0 < hi - lo < 50 else [lo, hi]
            else:
                numbers = [int(part)]
            found += [n for n in numbers if n not in found]
    return found


def strip_markers(text: str) -> str:
    """``text`` without its ``[n]`` markers: "said [1]." becomes "said."."""
    return " ".join(re.sub(r"\s*" + _MARKER.pattern, "", text).split())


def passage_sentences(passage: Passage) -> list[tuple[int, int]]:
    """The sentences a citation may quote, as (start, end) in ``passage.text``.

    Each span of a stored passage is one cleaned paragraph whose line breaks
    only wrapped it, so a sentence never crosses a span and always maps back
    to the source; a passage without spans is split as free text.
    """
    if not passage.spans:
        return sentence_spans(passage.text)
    return [sentence for span in passage.spans
            for sentence in block_sentences(passage.text, span.chunk_start, span.chunk_start + span.length)]


def cite(n: int, passage: Passage, start: int, end: int) -> Citation:
    """A citation of ``passage.text[start:end]``, the passage being number ``n``."""
    source_start, source_end = passage.to_source(start, end)
    return Citation(
        n=n,
        chunk_id=passage.chunk_id,
        doc_id=passage.doc_id,
        title=passage.title,
        source=passage.source,
        published=passage.published,
        updated=passage.updated,
        author=passage.author,
        outlet=passage.outlet,
        url=passage.url,
        quote=passage.text[start:end],
        start=source_start,
        end=source_end,
        passage_start=start,
        passage_end=end,
        origin=passage.origin,
        uploaded_by=passage.uploaded_by,
        uploaded_at=passage.uploaded_at,
        also_reported_by=passage.also_reported_by,
    )


def with_marker(sentence: str, n: int) -> str:
    """A quoted sentence and its citation; brackets in the quote that read as markers become ``(n)``.

    An article's own "[9]" (a footnote, or an attack) must never look like a
    citation of passage 9 to whatever reads the answer's markers.
    """
    return f"{defuse_markers(sentence)} [{n}]"


def defuse_markers(text: str) -> str:
    """``text`` with each ``[n]``-style marker written ``(n)``, so it cites nothing."""
    return _MARKER.sub(lambda m: f"({m.group(1)})", text)

"""Cleaning scraped news text without losing track of where each character came from.

Cleaning never rewrites text: it only chooses which line segments of the
source text to keep, so every kept character still has its source offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import line_spans

# Whole lines that are page furniture, not article text (matched case-insensitively).
_BOILERPLATE = re.compile(
    r"""^(?:
        post\s+a\s+comment | leave\s+a\s+(?:comment|reply) | \d+\s+comments? | no\s+comments?
      | header\s+ads?\s+widget | footer\s+ads?\s+widget | ads?\s+widget | advertisement | sponsored
      | share\s+(?:this|on\s+\w+)(?:\s+\w+)? | (?:click\s+here\s+to\s+)?subscribe(?:\s+now)?
      | read\s+more | related\s+(?:posts?|articles?|stories) | you\s+may\s+also\s+like
      | follow\s+us(?:\s+on\s+\w+)? | skip\s+to\s+(?:main\s+)?content | all\s+rights\s+reserved\.?
      | (?:copyright\s+)?©.{0,80} | tags?:.{0,200} | previous\s+(?:post|article) | next\s+(?:post|article)
    )[\s.:!]*$""",
    re.IGNORECASE | re.VERBOSE,
)
_URL = r"(?:https?://|www\.)\S+"
_ONLY_URL = re.compile(rf"^(?:{_URL}\s*)+$", re.IGNORECASE)
_TRAILING_URL = re.compile(rf"(?<=\S){_URL}$", re.IGNORECASE)
_MD_PREFIX = re.compile(r"^(?:#{1,6}\s+|[>*+-]\s+)")


@dataclass
class CleanText:
    """The kept (start, end) segments of a source text, in order."""

    source: str
    segments: list[tuple[int, int]] = field(default_factory=list)
    dropped: int = 0

    def lines(self) -> list[str]:
        return [self.source[s:e] for s, e in self.segments]


def clean(source: str, markdown: bool = False) -> CleanText:
    """Drop boilerplate lines, bare URLs, symbol-only lines and repeated paragraphs."""
    out = CleanText(source)
    seen: set[str] = set()
    for start, end in line_spans(source):
        whole = _whole_line(source, start, end)
        line = source[start:end]
        if markdown and (m := _MD_PREFIX.match(line)):
            start += m.end()
            line = source[start:end]
        if url := _TRAILING_URL.search(line):  # "...end of article.https://site.com/"
            end = start + url.start()
            line = source[start:end].rstrip()
            end = start + len(line)
        if (
            not line
            or _BOILERPLATE.match(line)
            or _ONLY_URL.match(line)
            or not any(ch.isalnum() for ch in line)
        ):
            out.dropped += 1
            continue
        key = " ".join(line.casefold().split())
        if whole:  # only whole lines can be repeated paragraphs
            if key in seen:
                out.dropped += 1
                continue
            seen.add(key)
        out.segments.append((start, end))
    return out


def _whole_line(source: str, start: int, end: int) -> bool:
    """True unless an escape sequence or control character cut this piece out of a longer line.

    Only whole lines are repeated paragraphs; a repeated fragment ("minister"
    between two colour codes) is text.
    """
    before, after = start - 1, end
    while before >= 0 and source[before] in " \t":
        before -= 1
    while after < len(source) and source[after] in " \t":
        after += 1
    return (before < 0 or source[before] in "\n\r") and (after >= len(source) or source[after] in "\n\r")

"""Cleaning scraped news text without losing track of where each character came from.

Cleaning never rewrites text: it only chooses which segments of the source
text to keep, so every kept character still has its source offset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..sentences import line_spans, soft_breaks

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
_BULLET = re.compile(r"^[-*+•▪●◦]\s+")  # a plain-text list's mark: not the item's words


@dataclass
class CleanText:
    """The kept (start, end) segments of a source text, in order.

    A segment is a paragraph as a reader sees it (``rag.text.blocks``), or the
    part of one that survived cleaning: it may span lines joined by soft
    (wrapping) line breaks, never a blank line, a heading or a table row.
    """

    source: str
    segments: list[tuple[int, int]] = field(default_factory=list)
    dropped: int = 0  # lines left out

    def lines(self) -> list[str]:
        return [self.source[s:e] for s, e in self.segments]


def clean(source: str, markdown: bool = False, skip_to: int = 0) -> CleanText:
    """Drop boilerplate lines, bare URLs, symbol-only lines and repeated paragraphs.

    Lines wrapped inside one paragraph are kept together as one segment.
    ``skip_to``: an offset before which every line is metadata, not text
    (Markdown front matter).
    """
    out = CleanText(source)
    lines = line_spans(source)
    soft = [False, *soft_breaks(source, lines)]
    kept = [None if start < skip_to else _keep(source, start, end, markdown) for start, end in lines]
    seen: set[str] = set()
    block: list[int] = []
    for k in range(len(lines) + 1):
        if k < len(lines) and soft[k]:
            block.append(k)
            continue
        if block:
            _add_block(out, lines, kept, block, seen)
        block = [k]
    return out


def _keep(source: str, start: int, end: int, markdown: bool) -> tuple[int, int] | None:
    """The part of one line worth keeping, or None for page furniture."""
    line = source[start:end]
    if m := (_MD_PREFIX if markdown else _BULLET).match(line):
        start += m.end()
    if source.startswith("|", start):  # a table row: its outer pipes are debris, its cells the text
        row = source[start:end]
        start, end = start + len(row) - len(row.lstrip("| \t")), end - (len(row) - len(row.rstrip("| \t")))
        if start >= end:
            return None
    line = source[start:end]
    if url := _TRAILING_URL.search(line):  # "...end of article.https://site.com/"
        line = line[: url.start()].rstrip()
        end = start + len(line)
    if not line or _BOILERPLATE.match(line) or _ONLY_URL.match(line) or not any(ch.isalnum() for ch in line):
        return None
    return start, end


def _add_block(out: CleanText, lines: list[tuple[int, int]], kept: list[tuple[int, int] | None],
               block: list[int], seen: set[str]) -> None:
    """Keep one paragraph's surviving lines, joined where nothing between them was cut; a repeat is dropped.

    Only whole lines make a repeated paragraph; a repeated fragment ("minister"
    between two colour codes) is text.
    """
    groups: list[list[int]] = []  # line numbers of each segment
    for k in block:
        if kept[k] is None:
            out.dropped += 1
        elif groups and groups[-1][-1] == k - 1 and kept[k - 1][1] == lines[k - 1][1] and kept[k][0] == lines[k][0]:
            groups[-1].append(k)
        else:
            groups.append([k])
    for group in groups:
        start, end = kept[group[0]][0], kept[group[-1]][1]
        if all(_whole_line(out.source, *lines[k]) for k in group):
            key = " ".join(out.source[start:end].casefold().split())
            if key in seen:
                out.dropped += len(group)
                continue
            seen.add(key)
        out.segments.append((start, end))


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

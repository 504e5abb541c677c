"""What an article says about itself: title, published date.

Guesses from the cleaned text's first lines, used when the reader found no
metadata of its own (HTML meta tags, a PDF's Info dictionary).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from .clean import CleanText


def guess_title(cleaned: CleanText, fallback: str) -> str:
    """A headline-like line near the top: short and not ending like a sentence."""
    lines = cleaned.lines()
    for line in lines[:3]:
        if len(line.split()) <= 16 and not line.rstrip().endswith((".", "?", "!", ":", ",")):
            return line.strip()
    if lines:
        first = lines[0].strip()
        if len(first) <= 90:
            return first
        cut = first[:90].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + "…"
    return fallback


_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_DATE_PATTERNS = [
    (re.compile(r"\b(\d{4}-\d{2}-\d{2})\b"), "%Y-%m-%d"),
    (re.compile(rf"\b((?:{_MONTHS})\s+\d{{1,2}},\s+\d{{4}})\b"), "%B %d, %Y"),
    (re.compile(rf"\b(\d{{1,2}}\s+(?:{_MONTHS})\s+\d{{4}})\b"), "%d %B %Y"),
]


def guess_date(cleaned: CleanText, head_lines: int = 8) -> date | None:
    """A full date (with year) in the first lines, e.g. a byline or front matter."""
    for line in cleaned.lines()[:head_lines]:
        for pattern, fmt in _DATE_PATTERNS:
            if m := pattern.search(line):
                try:
                    return datetime.strptime(m.group(1), fmt).date()
                except ValueError:
                    continue
    return None

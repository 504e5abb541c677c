"""What a reader should know about an answer's evidence and its dates, said under the answer.

An answer from a three-month-old article is true of then, not of now; an
empty result under a date filter over undated articles looks like "not in the
articles" unless it says why. These notes are facts about the evidence, never
claims about the story, so they carry no citation check.
"""

from __future__ import annotations

from datetime import date

from ..time import human_date, stale_notice
from ..types import Filters
from .base import Draft


def evidence_notices(draft: Draft, as_of: date, stale_after_days: int) -> list[str]:
    """The answerer's own notes (two reports giving two values), then whether the newest cited article is
    older than ``stale_after_days`` at ``as_of``; none for an abstention."""
    if draft.abstained or not draft.citations:
        return []
    dated = [c.published for c in draft.citations if c.published is not None]
    notice = stale_notice(max(dated) if dated else None, as_of, stale_after_days)
    return draft.notices + ([notice] if notice else [])


def empty_reasons(published_days: list[int], filters: Filters | None, as_of: date) -> list[str]:
    """Why nothing could be retrieved when dates are the reason, from each indexed article's published day
    (YYYYMMDD, -1 when undated): a date filter that leaves undated articles out, or articles published after
    ``as_of``."""
    undated = sum(day < 0 for day in published_days)
    later = sum(day > int(as_of.strftime("%Y%m%d")) for day in published_days)
    total = len(published_days)
    said = []
    if filters and (filters.date_from or filters.date_to):
        span = f"{filters.date_from or 'the start'} to {filters.date_to or 'today'}"
        said.append(f"No article published from {span} matched" + (
            f"; {undated} of the {total} articles have no published date, so a date filter leaves them out."
            if undated else "."))
    if later:
        said.append(f"{later} of the {total} articles were published after {human_date(as_of)}, so they "
                    "are not evidence as of that date.")
    return said

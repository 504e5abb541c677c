"""What a reader should know about an answer's evidence and its dates, said under the answer.

An answer from a three-month-old article is true of then, not of now; an
empty result under a date filter over undated articles looks like "not in the
articles" unless it says why. These notes are facts about the evidence, never
claims about the story, so they carry no citation check.
"""

from __future__ import annotations

from datetime import date

from ..time import day_number, human_date, in_period, stale_notice
from ..types import Filters
from .base import Draft

Period = tuple[date | None, date | None]


def evidence_notices(draft: Draft, as_of: date, stale_after_days: int, period: Period | None = None) -> list[str]:
    """The answerer's own notes (two reports giving two values); then, for a question about a period, that no
    quoted article is from it, or else whether the newest quoted article is older than ``stale_after_days``
    at ``as_of`` (not said of a question about a period that ended before then: old is what it asks for).
    None for an abstention."""
    if draft.abstained or not draft.citations:
        return []
    dated = sorted({c.published for c in draft.citations if c.published is not None})
    said = list(draft.notices)
    if period is not None and not dated:
        said.append(f"The quoted articles have no published date, so whether they are from {period_words(period, as_of)} "
                    "is not known.")
    elif period is not None and not any(in_period(d, period) for d in dated):
        said.append(f"No quoted article is from {period_words(period, as_of)}; they are from "
                    f"{', '.join(human_date(d) for d in dated)}.")
    elif period is None or period[1] is None or (as_of - period[1]).days <= stale_after_days:
        notice = stale_notice(dated[-1] if dated else None, as_of, stale_after_days)
        said += [notice] if notice else []
    return said


def period_words(period: Period, as_of: date) -> str:
    """"9 June 2025", or "3 June 2025 to 9 June 2025" ("the start" for an open beginning, ``as_of`` for an
    open end)."""
    lo, hi = period
    if lo == hi and lo is not None:
        return human_date(lo)
    return f"{human_date(lo) if lo else 'the start'} to {human_date(hi or as_of)}"


def empty_reasons(published_days: list[int], filters: Filters | None, as_of: date) -> list[str]:
    """Why nothing could be retrieved when dates are the reason, from each indexed article's published day
    (YYYYMMDD, -1 when undated): a date filter that leaves undated articles out, or articles published after
    ``as_of``."""
    undated = sum(day < 0 for day in published_days)
    later = sum(day > day_number(as_of) for day in published_days)
    total = len(published_days)
    said = []
    if filters and (filters.date_from or filters.date_to):
        span = period_words((filters.date_from, filters.date_to), max(as_of, filters.date_to or as_of))
        said.append(f"No article published from {span} matched" + (
            f"; {undated} of the {total} articles have no published date, so a date filter leaves them out."
            if undated else "."))
    if later:
        said.append(f"{later} of the {total} articles were published after {human_date(as_of)}, so they "
                    "are not evidence as of that date.")
    return said

"""As of: a question's reference date, and the time words in it resolved against that date.

News questions are about time ("this week", "latest", "in August"). Every
question is answered as of a date (default: today): articles published after
it are not evidence, and its time words become a date range or a preference
for the newest evidence. dateparser reads the dates themselves ("15 August",
"June 2024", "Monday"); this module only maps phrases around them to ranges.

"this week" is the seven days up to ``as_of`` (RealTime QA's reading: a quiz
asked on 16 June means 9-16 June); "last week" the seven days before those.
"""

from __future__ import annotations

import calendar
import re
import threading
from datetime import date, datetime, timedelta
from functools import lru_cache

from typing import TYPE_CHECKING

from .types import TimeScope

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "twelve": 12}
_NUM = r"(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve)"
_UNIT = r"(day|week|month|year)s?"
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_DATE = (rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"       # August 15(, 2022)
         rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"  # 15 (of) August (2022)
         rf"|{_MONTH}(?:\s+\d{{4}})?"                                        # August (2022)
         rf"|\d{{4}}-\d{{2}}-\d{{2}}|(?:19|20)\d{{2}}|{_WEEKDAY})")          # 2022-06-12, 2024, Monday
_WRITTEN_DAY = re.compile(rf"(?:{_WEEKDAY},?\s+)?(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?|"
                          rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?)\s+\d{{4}}", re.I)  # (Fri) 16 June 2022
_PREPOSITION = r"(in|on|during|since|after|from|before|until|till|by)"
_DATED = re.compile(rf"\b{_PREPOSITION}\s+(?:early\s+|late\s+|mid-?)?({_DATE})(?![\w-])", re.I)
_BEFORE_EVENT = re.compile(r"\b(before|after|since|until)\b[^.?!;,]{1,40}?\bon\s+$", re.I)

_FIXED: dict[str, tuple[int, int]] = {  # phrase -> (days back to the range's start, days back to its end)
    "today": (0, 0), "tonight": (0, 0), "yesterday": (1, 1), "this week": (7, 0), "past week": (7, 0),
    "this past week": (7, 0), "last week": (14, 8), "past few days": (4, 0), "last few days": (4, 0),
    "past month": (31, 0), "past year": (365, 0), "this weekend": (-1, -1), "last weekend": (-1, -1),
    "over the weekend": (-1, -1), "at the weekend": (-1, -1), "on the weekend": (-1, -1), "this past weekend": (-1, -1),
}
_FIXED_RE = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, _FIXED), key=len, reverse=True))
                       + r")(?![\w-])", re.I)
_CALENDAR = re.compile(r"\b(this|last)\s+(month|year)\b", re.I)
_SPAN = re.compile(rf"\b(?:in|over|during)\s+the\s+(?:past|last)\s+(?:{_NUM}\s+)?{_UNIT}\b", re.I)
_PART_OF = re.compile(r"(?:\bthe|\bhis|\bher|\btheir|\bits|\bour|\bmy|\byour|'s)\s+$", re.I)  # "the last week of"
_QUANTITY = re.compile(r"\s+(?!(?:and|or|to|when|while|after|before|but|as|with|at|in|on|for|than|until|"
                       r"since|during|is|was|were|are|has|had)\b)[a-z]")  # "by 2000 passengers": a count
_AGO = re.compile(rf"\b{_NUM}\s+{_UNIT}\s+ago\b", re.I)
_NAME_AFTER = re.compile(r"\s+[A-Z]")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")  # What happened in “Ferry fares to rise in January”?
_RECENT = re.compile(r"(?<![\w-])(latest|most recent|recent(?:ly)?|currently|current|still|right now|as of now|"
                     r"so far|at the moment|these days|now|new|newest|ongoing)(?![\w-])", re.I)


def as_of_date(value: date | datetime | str | None) -> date:
    """The reference date: a date, a datetime (its date), an ISO string ("2022-06-16", "2022/06/16",
    "2022-06-16T10:00"), a written day with its year ("16 June 2022", "June 16, 2022", read by dateparser)
    or None (today). Raises ValueError for anything else, naming the forms wanted: a month alone
    ("June 2022"), numbers in another order ("16/06/2022") and relative words ("next Tuesday") are refused
    rather than guessed."""
    if value is None:
        return date.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    iso = text.replace("/", "-")
    try:
        return datetime.fromisoformat(iso).date() if "T" in iso or " " in iso else date.fromisoformat(iso)
    except ValueError:
        pass
    written = _parse(text, date.today()) if _WRITTEN_DAY.fullmatch(text) else None
    if written is not None and written[0] == written[1]:
        return written[0]
    raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD (2022-06-16) or as a day with its month "
                     "in words (16 June 2022).")


def resolve(question: str, as_of: date) -> list[TimeScope]:
    """The time expressions of ``question`` resolved against ``as_of``, in the order written.

    A range is clipped to end at ``as_of`` (nothing later is evidence); one that lies wholly after it,
    and event-relative phrases ("since the summit"), stay unresolved. Words asking for the current
    state ("latest", "currently", "still", "new") give a scope with ``recent=True`` and no range.
    """
    found: list[tuple[int, TimeScope]] = []
    taken: list[tuple[int, int]] = [m.span() for m in _QUOTED.finditer(question)]  # a quoted title's words

    def add(match: re.Match, lo: date | None, hi: date | None, recent: bool = False) -> None:
        if match.re in (_FIXED_RE, _CALENDAR) and _PART_OF.search(question[: match.start()]) or (
                match.re is _SPAN and re.match(r"\s+of\b", question[match.end():])):
            return  # "the last week of the trial", "his last year as mayor": a part of something, not a date
        if match.group(0)[0].isupper() and match.start() > 0 and not recent and match.re is not _DATED:
            return  # capitalised inside the question: a name ("the Today show"), not a time
        if recent and match.group(0)[0].isupper() and (match.start() > 0 or _NAME_AFTER.match(question, match.end())):
            return  # "New York", "Still Life", "Current Affairs"
        if any(s < match.end() and match.start() < e for s, e in taken):
            return  # inside a phrase already read ("last week" is not also "week")
        taken.append(match.span())
        if lo is not None and lo > as_of:
            return  # wholly after as_of: nothing can be evidence for it, so it restricts nothing
        hi = min(hi, as_of) if hi is not None else (None if recent else as_of)
        found.append((match.start(), TimeScope(expression=match.group(0), date_from=lo, date_to=hi, recent=recent)))

    for m in _SPAN.finditer(question):  # first: "in the last week" is the trailing week, not "last week"
        add(m, _back(as_of, _count(m.group(1) or "1"), m.group(2).lower()), as_of)
    for m in _FIXED_RE.finditer(question):
        phrase = m.group(1).lower()
        if phrase.endswith("weekend"):
            add(m, *_weekend(as_of, last=phrase.startswith("last")))
            continue
        back_lo, back_hi = _FIXED[phrase]
        add(m, as_of - timedelta(days=back_lo), as_of - timedelta(days=back_hi))
    for m in _CALENDAR.finditer(question):
        this, unit = m.group(1).lower() == "this", m.group(2).lower()
        if unit == "month":
            first = as_of.replace(day=1) if this else (as_of.replace(day=1) - timedelta(days=1)).replace(day=1)
            add(m, first, _month_end(first))
        else:
            year = as_of.year if this else as_of.year - 1
            add(m, date(year, 1, 1), date(year, 12, 31))
    for m in _AGO.finditer(question):
        unit = m.group(2).lower()
        point = _back(as_of, _count(m.group(1)), unit)
        lo, hi = _period(point, {"day": "day", "week": "week", "month": "month", "year": "year"}[unit])
        add(m, lo, hi)
    for m in _DATED.finditer(question):
        if re.fullmatch(r"(?:19|20)\d{2}", m.group(2)) and _QUANTITY.match(question, m.end()):
            continue  # "grew by 2000 passengers", "in 2000 homes": a count, not a year
        parsed = _parse(m.group(2), as_of)
        if parsed is None:
            continue
        lo, hi = parsed
        word = m.group(1).lower()
        event = _BEFORE_EVENT.search(question[: m.start()] + "on ") if word == "on" else None
        word = event.group(1).lower() if event else word  # "before the summit on 15 August": before that day
        if word in ("since", "from"):
            add(m, lo, as_of)
        elif word == "after":
            add(m, hi + timedelta(days=1), as_of)
        elif word == "before":
            add(m, None, lo - timedelta(days=1))
        elif word in ("until", "till", "by"):
            add(m, None, hi)
        else:
            add(m, lo, hi)
    for m in _RECENT.finditer(question):
        add(m, None, None, recent=True)
    return [scope for _, scope in sorted(found, key=lambda f: f[0])]


def without_time(text: str, scopes: list[TimeScope], keep_empty: bool = False) -> str:
    """``text`` without its resolved time words, whole words only: "Lakeport this week" -> "Lakeport", for
    matching a topic whose period is already a date range ("week" is not a word the story must contain);
    ``text`` itself when nothing else is left, unless ``keep_empty``."""
    cut = text
    for scope in scopes:
        cut = re.sub(rf"(?<![\w-]){re.escape(scope.expression)}(?![\w-])", " ", cut, count=1)
    return " ".join(cut.split()) or ("" if keep_empty else text)


def window(scopes: list[TimeScope]) -> tuple[date | None, date | None] | None:
    """The date range all ranged scopes share (their intersection), or None when none has a range."""
    ranged = [s for s in scopes if s.date_from is not None or s.date_to is not None]
    if not ranged:
        return None
    lows = [s.date_from for s in ranged if s.date_from is not None]
    highs = [s.date_to for s in ranged if s.date_to is not None]
    lo, hi = (max(lows) if lows else None, min(highs) if highs else None)
    if lo is not None and hi is not None and lo > hi:
        return None  # "in May 2022 and in June": two periods, not one; no range rather than an empty one
    return lo, hi


def day_number(day: date) -> int:
    """YYYYMMDD as an int: how the index stores published days (-1 for undated), ordered like dates."""
    return day.year * 10000 + day.month * 100 + day.day


def in_period(day: date | None, period: tuple[date | None, date | None] | None) -> bool:
    """``day`` lies inside ``period`` (inclusive; None bounds open); an undated article lies in no period, and
    everything lies in no period at all (None)."""
    if period is None:
        return True
    lo, hi = period
    return day is not None and (lo is None or day >= lo) and (hi is None or day <= hi)


def recency(published: date | None, as_of: date, half_life_days: float) -> float | None:
    """Exponential decay 0.5 ** (age / half-life) of an article's age in days at ``as_of``; None when the
    article is undated (neither boosted nor dropped) or published after ``as_of``."""
    if published is None or published > as_of:
        return None
    return 0.5 ** ((as_of - published).days / half_life_days)


def stale_notice(newest: date | None, as_of: date, stale_after_days: int) -> str | None:
    """"The newest article quoted is from 3 March 2025." when the newest cited article is older than
    ``stale_after_days`` at ``as_of``; None otherwise (or when no cited article is dated)."""
    if newest is None or (as_of - newest).days <= stale_after_days:
        return None
    return f"The newest article quoted is from {human_date(newest)}."


def human_date(day: date) -> str:
    """3 March 2025: unambiguous in every English locale."""
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _back(day: date, n: int, unit: str) -> date:
    if unit == "day":
        return day - timedelta(days=n)
    if unit == "week":
        return day - timedelta(weeks=n)
    months = day.year * 12 + day.month - 1 - (n if unit == "month" else 12 * n)
    year, month = divmod(months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _period(day: date, period: str) -> tuple[date, date]:
    if period == "month":
        first = day.replace(day=1)
        return first, _month_end(first)
    if period == "year":
        return date(day.year, 1, 1), date(day.year, 12, 31)
    if period == "week":
        return day - timedelta(days=3), day + timedelta(days=3)
    return day, day


def _weekend(as_of: date, last: bool) -> tuple[date, date]:
    """The latest Saturday and Sunday on or before as_of ("this weekend" asked on a Thursday is the one just
    past: a later one has no articles yet); "last weekend" asked on a weekend is the one before it."""
    saturday = as_of - timedelta(days=(as_of.weekday() - 5) % 7)
    if last and as_of.weekday() >= 5:
        saturday -= timedelta(days=7)
    return saturday, min(saturday + timedelta(days=1), as_of)


def _month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _parse(text: str, as_of: date) -> tuple[date, date] | None:
    """(first day, last day) of the date ``text`` names, read by dateparser preferring the past of ``as_of``."""
    with _PARSING:  # dateparser before 1.4.3 let one parse's settings leak into another thread's
        data = _parser(as_of).get_date_data(text)
    if data is None or data.date_obj is None:
        return None
    period = data.period or "day"
    if re.fullmatch(r"(?:19|20)\d{2}", text.strip()):
        period = "year"  # dateparser reads a bare year as that day of as_of's month
    return _period(data.date_obj.date(), period if period in ("month", "year") else "day")


_PARSING = threading.Lock()


@lru_cache(maxsize=32)
def _parser(as_of: date) -> "DateDataParser":
    from dateparser.date import DateDataParser  # loaded on the first dated question only (about 0.1 s)

    return DateDataParser(languages=["en"], settings={
        "RELATIVE_BASE": datetime(as_of.year, as_of.month, as_of.day), "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first", "DATE_ORDER": "DMY"})

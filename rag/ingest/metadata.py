"""What an article says about itself: title, published and updated dates, author, outlet, URL.

Where each fact comes from, best first:
1. a metadata sidecar the user put beside the files (``metadata.csv`` or
   ``metadata.jsonl``; see ``sidecar.py``);
2. the file's own metadata: HTML meta tags, Markdown front matter;
3. the article's printed byline or dateline ("By Jane Doe | Sept. 14, 2025",
   "Published: 14.09.2025", "Updated March 4, 2025");
4. a PDF's CreationDate: when the file was made, which a printed date beats.

Dates are read only where a cue says a date is meant: a byline's field, a
front-matter key, a sidecar column (these by dateparser), or an HTML page's
date markup (meta tags, JSON-LD, ``<time>``, a dated URL; htmldate's search of
the running text is off). So "12 kilometres" or "31 to 14" in a first
sentence, or "first floated on 12 March 2019" in a story, is never a date. An all-numeric date whose day
and month could swap (03/04/2025) stays unknown unless ``RAG_DATE_ORDER``
says how the corpus writes dates. A malformed value anywhere leaves that
field unknown; it never costs the document.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from .clean import CleanText

DateOrder = Literal["DMY", "MDY", "YMD"]


@dataclass
class ArticleMeta:
    """Facts about one article; None where unknown."""

    title: str | None = None
    published: date | None = None
    updated: date | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None

    def over(self, other: ArticleMeta) -> ArticleMeta:
        """These facts, with ``other``'s where these are unknown."""
        return ArticleMeta(**{f.name: getattr(self, f.name) if getattr(self, f.name) is not None
                              else getattr(other, f.name) for f in fields(self)})


# --- dates ----------------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(?:1[89]\d\d|2\d\d\d)(?!\d)|(?<!\d)\d{1,2}[./-]\d{1,2}[./-]\d{2}(?!\d)")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?\s*$")
_NUMERIC = re.compile(r"(?<![\d./-])(\d{1,2})[./ -](\d{1,2})[./ -](\d{2}|\d{4})(?![\d./-])")


def parse_date(value: Any, order: DateOrder | None = None) -> date | None:
    """A calendar date from a field meant to hold one, or None.

    Accepts ``date``/``datetime`` objects, ISO 8601, and whatever dateparser
    reads with day, month and year all present ("Sept. 14, 2025",
    "March 3rd, 2025", "14.09.2025", "5 марта 2025"). Relative dates
    ("yesterday", "3 days ago, 2025") and values without a year are refused:
    they depend on when the file was read. A numeric date whose first two
    numbers could both be the month, anywhere in the value, is None unless
    ``order`` is given.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _YEAR.search(value) or len(value) > 200:
        return None
    if m := _ISO.match(value):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    numeric = _NUMERIC.search(value)  # anywhere: "Tue 03/04/2025 10:30" is as ambiguous as "03/04/2025"
    if numeric and order is None:
        first, second = int(numeric.group(1)), int(numeric.group(2))
        if first <= 12 and second <= 12 and first != second:
            return None  # 03/04/2025: March 4 or 3 April; set RAG_DATE_ORDER to say
    return _dateparser(value.strip(), order)


def _dateparser(value: str, order: DateOrder | None) -> date | None:
    import dateparser

    settings: dict[str, Any] = {
        "REQUIRE_PARTS": ["day", "month", "year"], "RETURN_AS_TIMEZONE_AWARE": False,
        # no "relative-time": "3 days ago, 2025" would depend on when the file was read
        "PARSERS": ["timestamp", "custom-formats", "absolute-time"],
    }
    if order:
        settings["DATE_ORDER"] = order
    try:
        parsed = dateparser.parse(value, languages=_languages(value), settings=settings)
    except Exception:  # dateparser raises assorted errors on odd input; a bad date is only unknown
        return None
    return parsed.date() if parsed else None


_SCRIPT_LANGUAGES = [  # month names by script; detecting the language among all of dateparser's costs 20 ms a field
    (re.compile(r"[\u0400-\u04ff]"), ["ru", "uk", "bg", "sr"]),
    (re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]"), ["el"]),
    (re.compile(r"[\u3040-\u30ff]"), ["ja"]),
    (re.compile(r"[\u4e00-\u9fff]"), ["zh", "ja"]),
    (re.compile(r"[\uac00-\ud7af]"), ["ko"]),
    (re.compile(r"[\u0600-\u06ff]"), ["ar", "fa"]),
    (re.compile(r"[\u0590-\u05ff]"), ["he"]),
]


_LATIN_LANGUAGES = ["en", "fr", "de", "es", "it", "pt", "nl", "pl", "cs", "sv", "da", "nb", "fi", "tr", "ro", "hu"]


def _languages(value: str) -> list[str]:
    """dateparser languages to try for ``value``, by its script ("5 mars 2025", "12. Mai 2025" are Latin)."""
    for script, languages in _SCRIPT_LANGUAGES:
        if script.search(value):
            return languages
    return _LATIN_LANGUAGES


# --- bylines --------------------------------------------------------------------

HEAD_LINES = 8  # a byline sits above the story
_CUES = r"(?:last\s+)?(?:updated|modified|published|posted)\b"
# fields of a byline: "Jane Doe | Sept. 14, 2025", "March 3, 2025 / 4:05 PM", "Mar. 3, 2025 Updated Mar. 4, 2025"
_FIELD_SEPARATORS = re.compile(rf"\s+[|·•—–/]\s+|\s{{3,}}|\s+-\s+|\s+(?={_CUES})", re.I)
_UPDATED = re.compile(r"^(?:last\s+)?(?:updated|modified|edited)\b(?:\s+on)?[:\s]*", re.I)
_PUBLISHED = re.compile(r"^(?:published|posted|first\s+published|date|dated|released)\b(?:\s+on)?[:\s]*", re.I)
# "By Jane Doe", "Written by", "Reporting by", and the word in other languages at a byline's start
_BY = re.compile(r"^(?:(?:written|story|reporting|words|text)\s+by|by|von|par|por|door|av|от|di)\s+(.+)$", re.I)
_AUTHOR_LABEL = re.compile(r"^(?:author|autor|auteur|autore|автор|συντάκτης|作者|记者|記者)\s*[:：]\s*(.+)$", re.I)
_LABEL = re.compile(r"^[^\d:：]{1,40}[:：]\s*(.+)$")  # "Опубликовано: 2025-03-05", "发布日期：2025-03-04"
_DATE_AFTER = re.compile(r",\s*|\s+on\s+|\s+le\s+|\s+am\s+")  # "By Jane Doe, March 3, 2025", "... on 3 March 2025"
_BY_INSIDE = re.compile(r"\s+by\s+", re.I)  # "Posted on March 3rd, 2025 by Jane Doe"
_DOMAIN = re.compile(r"^(?:www\.)?((?:[a-z0-9-]+\.)+(?:com|org|net|news|co\.uk|[a-z]{2}))$", re.I)  # "· cnn.com"
_PIECES = re.compile(r",\s+|\s+")  # "Jane Doe, Reuters, 2025-06-07", "2025年3月3日 新华社": a date among other words


def byline(cleaned: CleanText, order: DateOrder | None = None) -> ArticleMeta:
    """Published and updated dates and the author from the article's first lines.

    A line qualifies when it is short (a byline, not a story sentence) and
    each of its fields, split at "|", "·", "—", " / ", " - " or before
    "Updated"/"Published", is read alone: a field after "Updated" is the
    updated date, after "Published"/"Posted" or any "Label:" the published
    date, after "By" (or "Written by", "Von", "Par", "Автор:", ...) the
    author and a date glued to it ("By Jane Doe, March 3, 2025"), and a
    field that is a date, or holds one among a few names ("Jane Doe,
    Reuters, 2025-06-07"), the published date. "By" inside a field is read
    only after a date ("Posted March 3, 2025 by Jane Doe"), never in a
    sentence ("The stadium was designed by Foster and Partners.").
    """
    found = ArticleMeta()
    for line in cleaned.lines()[:HEAD_LINES]:
        if len(line) > 160 or len(line.split()) > 20:
            continue
        for field in _FIELD_SEPARATORS.split(line.strip()):
            _read_field(field.strip(), found, order)
        if found.published and found.author:
            break
    return found


def _read_field(field: str, found: ArticleMeta, order: DateOrder | None) -> None:
    if (m := _DOMAIN.match(field)) and found.published and not found.outlet:
        found.outlet = m.group(1).lower()  # "Published 2022-06-12 · cnn.com": the site beside the date
        return
    if m := _UPDATED.match(field):
        found.updated = found.updated or _date_in(field[m.end():], order)
        return
    if m := _BY.match(field) or _AUTHOR_LABEL.match(field):
        _read_author(m.group(1), found, order)
        return
    if m := _PUBLISHED.match(field):
        field = field[m.end():]
    elif m := _LABEL.match(field):
        field = m.group(1)
    if (by := _BY_INSIDE.search(field)) and parse_date(field[: by.start()], order):
        _read_author(field[by.end():], found, order)  # "... 2025 by Jane Doe": the author part
        field = field[: by.start()]
    if not found.published:
        found.published = _date_in(field, order)


def _read_author(name: str, found: ArticleMeta, order: DateOrder | None) -> None:
    """An author's name, and a date glued after it."""
    for cut in _DATE_AFTER.finditer(name):
        if when := parse_date(name[cut.end():], order):
            found.published = found.published or when
            name = name[: cut.start()]
            break
    pieces = name.split(",")
    while len(pieces) > 1 and not pieces[-1].strip()[:1].isupper():  # "Jean Dupont, publié": a name is capitalised
        pieces.pop()
    name = ",".join(pieces).strip(" ,;.")
    if name and len(name) <= 80 and not any(ch.isdigit() for ch in name):
        found.author = found.author or name


def _date_in(field: str, order: DateOrder | None) -> date | None:
    """The field as a date; else a date among its comma- or space-separated pieces, longest run first."""
    if when := parse_date(field, order):
        return when
    pieces = _PIECES.split(field)
    if len(pieces) > 8:  # a phrase, not a byline's few names and a date
        return None
    for size in range(len(pieces) - 1, 0, -1):
        for start in range(len(pieces) - size + 1):
            if when := parse_date(" ".join(pieces[start:start + size]), order):
                return when
    return None


TITLE_CHARS = 200  # a longer "line" is not a headline (a data URI, a 2 MB word): it is cut, never used whole


def guess_title(cleaned: CleanText, fallback: str) -> str:
    """A headline-like line near the top: short and not ending like a sentence; else the first line, cut."""
    lines = [" ".join(line.split()) for line in cleaned.lines()[:3]]
    for line in lines:
        if len(line) <= TITLE_CHARS and len(line.split()) <= 16 and not line.endswith((".", "?", "!", ":", ",")):
            return line
    if lines:
        first = lines[0]
        if len(first) <= 90:
            return first
        cut = first[:90].rsplit(" ", 1)[0]
        return cut.rstrip(",;:") + "…"
    return fallback


# --- front matter ---------------------------------------------------------------

_FRONT = re.compile(r"\A\ufeff?(---|\+\+\+)[ \t]*\r?\n(.*?)\r?\n\1[ \t]*(?:\r?\n|\Z)", re.S)
_KEYS = {
    "title": ("title", "headline"),
    "published": ("published", "date", "pubdate", "publishdate", "publish_date", "published_at", "datepublished"),
    "updated": ("updated", "lastmod", "modified", "last_modified", "updated_at", "datemodified"),
    "author": ("author", "authors", "byline", "creator"),
    "outlet": ("outlet", "publisher", "source", "site", "site_name", "sitename", "publication"),
    "url": ("url", "canonical", "canonical_url", "link", "permalink"),
}


def front_matter(text: str, order: DateOrder | None = None) -> tuple[ArticleMeta, int]:
    """Metadata from a YAML (``---``) or TOML (``+++``) block that opens the text, and where the text begins.

    Returns (facts, offset of the first character after the block), or
    (empty, 0) when there is none. A block counts only when it parses to a
    mapping with at least one key front matter uses (title, date, author,
    ...): an article that opens with a "---" rule and a line of prose keeps
    its text.
    """
    m = _FRONT.match(text)
    if not m:
        return ArticleMeta(), 0
    try:
        if m.group(1) == "+++":
            data = tomllib.loads(m.group(2))
        else:
            import yaml

            data = yaml.safe_load(m.group(2))
    except Exception:  # not front matter after all: text
        return ArticleMeta(), 0
    known = {k for keys in _KEYS.values() for k in keys}
    if not isinstance(data, dict) or not known & {_key(k) for k in data}:
        return ArticleMeta(), 0
    return meta_from_mapping(data, order), m.end()


def row_value(data: dict[str, Any], name: str) -> Any:
    """The value ``data`` (front matter, a sidecar row) gives for fact ``name`` under any of its key names."""
    lowered = {_key(k): v for k, v in data.items()}
    return next((lowered[k] for k in _KEYS[name] if lowered.get(k) not in (None, "")), None)


def unread_fields(data: dict[str, Any], meta: ArticleMeta) -> list[str]:
    """Facts ``data`` gives a value for that ``meta`` could not read (left unknown)."""
    return [name for name in _KEYS if row_value(data, name) is not None and getattr(meta, name) is None]


def _key(name: object) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def meta_from_mapping(data: dict[str, Any], order: DateOrder | None = None) -> ArticleMeta:
    """Facts from loosely named keys (front matter, a sidecar row); odd or malformed values become None."""
    def first(name: str) -> Any:
        return row_value(data, name)

    return ArticleMeta(
        title=short_text(first("title")),
        published=parse_date(first("published"), order),
        updated=parse_date(first("updated"), order),
        author=short_text(first("author")),
        outlet=short_text(first("outlet")),
        url=web_url(first("url")),
    )


def short_text(value: Any) -> str | None:
    """A short one-line string from a metadata value (a list of authors is joined); anything else is None."""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v).strip() for v in value if isinstance(v, (str, int, float)) and str(v).strip())
    if isinstance(value, dict) and isinstance(value.get("name"), str):  # {"name": "Jane Doe", ...}
        value = value["name"]
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value[:200] if value and value.isprintable() else None


def web_url(value: Any) -> str | None:
    """An absolute http(s) URL, or None (a relative link, another scheme such as javascript:, a broken host)."""
    if not isinstance(value, str) or re.search(r"\s", value.strip()):
        return None
    try:
        parts = urlsplit(value.strip())
        return value.strip() if parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:  # e.g. a broken IPv6 host
        return None

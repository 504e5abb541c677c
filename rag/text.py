"""The matching layer: when two pieces of text hold the same words, and where sentences end.

Matching never rewrites stored text. Words are compared in a folded form
(``fold``): Unicode compatibility forms (NFKC: ligatures, full-width
letters, non-breaking spaces), case, accents on Latin and Greek letters,
curly quotes, soft hyphens and words hyphenated across a line end all fold
away, so a file saved on macOS (NFD) matches a typed question (NFC) and
"Lefèvre" matches "Lefevre". Offsets always index the original text.

Terms (``terms``) are what BM25 and the answerer compare: stop words out
(English, Russian, Greek, ... from the NLTK lists llama-index bundles, chosen
by each word's script) and Snowball stems (PyStemmer) for scripts that have
one. Chinese, Japanese and Korean have no spaces between words, so their text
becomes character unigrams and bigrams, the usual baseline of CJK search
engines (Lucene's CJKAnalyzer indexes bigrams).

Sentences (``sentence_spans``) are as a reader sees them: a blank line, a
heading, a bullet or a table row ends one; a single line break inside a
hard-wrapped paragraph (a ``.txt`` wrapped at 70 columns, a PDF's printed
lines) does not.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import regex
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

MATCHER_VERSION = "2"  # 2: Unicode folding, every script, CJK bigrams (1 was [A-Za-z0-9]+)

# Line breaks, terminal escape sequences (CSI, 8-bit CSI, OSC ended by BEL or ST, two-byte ESC forms, a lone
# ESC) and any other control character except tab. An unterminated OSC loses only its ESC, never the text after.
_BREAK = regex.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x00-\x1f\x7f-\x9f]{0,512}?(?:\x07|\x1b\\)"
    r"|\x1b[()][0-~]|\x1b[@-Z\\-_0-9=>]?"
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9a\x9c-\x9f\u2028\u2029]+|\x9b"
)

# --- folding ------------------------------------------------------------------

# one table for what folds character by character: soft hyphen, zero-width characters and the Arabic
# tatweel (typography, not spelling) go; curly quotes and dashes straighten; letters that carry their mark
# inside (no decomposition) lose it as people type them without it
_TABLE = str.maketrans({
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff\u0640"),
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "ʼ": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i", "ŀ": "l", "ŧ": "t", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d",
})
_ANY_MARK = regex.compile(r"\p{M}")
_HYPHEN_BREAK = regex.compile(r"(?<=\p{L})[-\u00ad\u2010][ \t]*\r?\n[ \t]*(?=\p{Ll})")
_MAYBE_HYPHEN_BREAK = re.compile(r"[-\u00ad\u2010][ \t]*\r?\n")  # the cheap test first (stdlib re is faster)
# accents that are optional in typing: every mark on Latin and Greek letters, vowel points in Hebrew and
# Arabic, the diaeresis of Cyrillic ё/ї; other scripts' marks (Devanagari vowel signs, й's breve) are spelling
_OPTIONAL_MARKS = regex.compile(
    r"(?<=[\p{Latin}\p{Greek}]\p{Mn}*)\p{Mn}+|(?<=\p{Hebrew}\p{Mn}*)[\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7]"
    r"|[\u064b-\u065f\u0670]|(?<=\p{Cyrillic})\u0308"
)


def fold(text: str) -> str:
    """The form words are compared in; see the module docstring. Not for display: lengths change.

    Idempotent; plain ASCII text only changes case (the fast path most English text takes).
    """
    if _MAYBE_HYPHEN_BREAK.search(text):
        text = _HYPHEN_BREAK.sub("", text)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if text.isascii():
        return text
    text = text.translate(_TABLE)
    if not unicodedata.is_normalized("NFD", text) or _ANY_MARK.search(text):  # a mark, perhaps one to fold
        text = unicodedata.normalize("NFC", _OPTIONAL_MARKS.sub("", unicodedata.normalize("NFD", text)))
    return text


# --- words and terms ----------------------------------------------------------

_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\u3005\u30fc"
_HAS_CJK = regex.compile(rf"[{_CJK}]")
_WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:'[\p{L}\p{M}]+)?")
_WORD_OR_CJK = regex.compile(  # a run of CJK characters is one token; other words end where CJK starts
    rf"(?V1)[{_CJK}]+|[[\p{{L}}\p{{N}}]--[{_CJK}]][[\p{{L}}\p{{N}}\p{{M}}]--[{_CJK}]]*(?:'[[\p{{L}}\p{{M}}]--[{_CJK}]]+)?"
)
# particles that glue CJK words together: a bigram holding one spans a word boundary
_CJK_GLUE = frozenset("的了是在和与及或也都就将把被着吗呢吧啊之其而这那该")
_STEMMERS = {"latin": "english", "cyrillic": "russian", "greek": "greek", "arabic": "arabic"}
_NLTK_STOPWORDS = {"cyrillic": "russian", "greek": "greek", "arabic": "arabic", "hebrew": "hebrew", "cjk": "chinese"}
_EXTRA_STOPWORDS = {"s", "did", "does", "do", "said", "say", "says"}


def _tokens(folded: str) -> list[str]:
    return (_WORD_OR_CJK if _HAS_CJK.search(folded) else _WORD).findall(folded)


def words(text: str) -> list[str]:
    """Folded word tokens, stop words kept; a run of CJK characters is one token."""
    return _tokens(fold(text))


def word_count(text: str) -> int:
    """Words as a reader counts them; CJK, written without spaces, about one word per two characters."""
    return sum((len(w) + 1) // 2 if _HAS_CJK.match(w) else 1 for w in words(text))


def terms(text: str) -> list[str]:
    """Stemmed content words in text order: what lexical matching compares.

    Shapes: one string in, a list of terms out (repeats kept, for BM25's term
    frequencies). CJK runs give their non-stop characters and the bigrams
    not glued by a particle.
    """
    folded = fold(text)
    tokens = _tokens(folded)
    if folded.isascii():  # English and numbers: one stop list, one stemmer call
        stop = _stopwords("latin")
        return _stemmer("english").stemWords([w for w in tokens if w not in stop])
    out: list[str] = []
    pending: dict[str, list[int]] = {}  # script -> positions in ``out`` waiting for that script's stemmer
    for token in tokens:
        if _HAS_CJK.match(token):
            stop = _stopwords("cjk")
            out += [c for c in token if c not in stop]
            out += [a + b for a, b in zip(token, token[1:])
                    if a not in _CJK_GLUE and b not in _CJK_GLUE and a + b not in stop]
            continue
        script = _script(token)
        if token in _stopwords(script):
            continue
        if script in _STEMMERS:
            pending.setdefault(script, []).append(len(out))
        out.append(token)
    for script, positions in pending.items():
        for at, stem in zip(positions, _stemmer(_STEMMERS[script]).stemWords([out[i] for i in positions])):
            out[at] = stem
    return out


def _script(word: str) -> str:
    """The script of a word's first letter (digits count as Latin): it picks stop words and stemmer."""
    for ch in word:
        code = ord(ch)
        if code < 0x250 or 0x1E00 <= code < 0x1F00:
            if ch.isalpha():
                return "latin"
            continue
        if 0x370 <= code < 0x400 or 0x1F00 <= code < 0x2000:
            return "greek"
        if 0x400 <= code < 0x530:
            return "cyrillic"
        if 0x590 <= code < 0x600:
            return "hebrew"
        if 0x600 <= code < 0x700:
            return "arabic"
        return "other"
    return "latin"


@lru_cache(maxsize=None)
def _stopwords(script: str) -> frozenset[str]:
    if script == "latin":
        return frozenset(STOPWORDS_EN) | _EXTRA_STOPWORDS
    name = _NLTK_STOPWORDS.get(script)
    if name is None:
        return frozenset()
    path = os.path.join(_nltk_data(), "corpora", "stopwords", name)
    try:
        with open(path, encoding="utf-8") as fh:
            return frozenset(fold(w) for w in fh.read().split())
    except OSError:  # a llama-index without the list: match without stop words
        return frozenset()


@lru_cache(maxsize=None)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


# --- lines, blocks, sentences ---------------------------------------------------


@lru_cache(maxsize=1)
def _nltk_data() -> str:
    """llama-index's bundled NLTK data (Punkt, stop words), found without importing llama-index (0.9 s)."""
    import importlib.util

    package = importlib.util.find_spec("llama_index.core").submodule_search_locations[0]
    return os.path.join(package, "_static", "nltk_cache")


@lru_cache(maxsize=1)
def _punkt():
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    if _nltk_data() not in nltk.data.path:
        nltk.data.path.insert(0, _nltk_data())
    return PunktTokenizer("english")


def line_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Non-blank lines of ``text[start:end]`` as (start, end), whitespace trimmed.

    Control characters and terminal escape sequences end a line too, so they
    never reach a chunk, a title or a terminal.
    """
    end = len(text) if end is None else end
    bounds = [(m.start(), m.end()) for m in _BREAK.finditer(text, start, end)]
    return trimmed(text, zip([start] + [b for _, b in bounds], [a for a, _ in bounds] + [end]))


def trimmed(text: str, ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (start, end) ranges of ``text`` with surrounding whitespace cut off; blank ones left out."""
    spans = []
    for s, e in ranges:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


_STRUCTURE = regex.compile(r"^(?:#{1,6}\s|[-*+•▪●◦–]\s|\d{1,3}[.)]\s|\||>)")  # heading, bullet, list item, row, quote
_OWN_LINE = regex.compile(r"^(?:#{1,6}\s|\|)")  # a heading or a table row never wraps onto the next line
_BYLINE = regex.compile(r"^(?:by|published|updated|posted|last updated|date|photo|image|source)\b", regex.I)
_ENDS = regex.compile(r"[.!?:;。！？؟।…]['\"’”»)\]]*$")
_LAST_WORD = regex.compile(r"(\S+)\.$")
_HYPHENATED = regex.compile(r"\p{L}[-\u00ad\u2010]$")
MIN_WRAP_WIDTH = 30  # lines this short are not a wrapping width: titles and bylines
WRAP_SLACK = 0.8  # real wrapping is not greedy to the character: justified PDFs, hand-wrapped text, "1 July" kept together


def soft_breaks(text: str, lines: list[tuple[int, int]]) -> list[bool]:
    """For each pair of neighbouring lines, whether the break between them only wrapped a paragraph.

    A break is soft when nothing but one line break separates the lines; the
    first is not the text's first line (a title), a heading or a table row;
    the second does not start a bullet, list item, row, quote or byline; and
    either a word is hyphenated across the break ("recon-" / "struction"), or the
    first did not end its sentence (or ends in an abbreviation
    Punkt knows, "U.S."); and the first is full: the next line's first word
    would (nearly: ``WRAP_SLACK``) not have fitted on it at the text's
    wrapping width (the longest line of its runs of three or more lines),
    which is where a wrapper breaks. Shapes: ``lines`` as from ``line_spans``;
    ``len(result) == max(0, len(lines) - 1)``.
    """
    if len(lines) < 2:
        return []
    adjacent = [_one_break(text, a[1], b[0]) for a, b in zip(lines, lines[1:])]
    width = _wrap_width(lines, adjacent)
    out = []
    for k, ((s1, e1), (s2, e2), joined) in enumerate(zip(lines, lines[1:], adjacent)):
        first, second = text[s1:e1], text[s2:e2]
        if not joined or k == 0 or _OWN_LINE.match(first) or _STRUCTURE.match(second) or _BYLINE.match(second):
            out.append(False)
        elif _HYPHENATED.search(first) and second[:1].islower():  # "recon-" / "struction": one word
            out.append(True)
        else:
            full = width is not None and (e1 - s1) + 1 + len(second.split(None, 1)[0]) > WRAP_SLACK * width
            out.append(full and (not _ENDS.search(first) or _abbreviation(first)))
    return out


def _one_break(text: str, end: int, start: int) -> bool:
    """True when only spaces and a single line break lie between two lines."""
    gap = text[end:start]
    return gap.count("\n") + gap.count("\r") - gap.count("\r\n") == 1 and not gap.strip(" \t\r\n")


def _wrap_width(lines: list[tuple[int, int]], adjacent: list[bool]) -> int | None:
    """The longest line of the runs of three or more lines; None when that is too short to be a wrap width."""
    width, run = 0, [lines[0]]
    for line, joined in zip([*lines[1:], None], [*adjacent, False]):
        if joined:
            run.append(line)
            continue
        if len(run) >= 3:
            width = max(width, *(e - s for s, e in run))
        run = [line]
    return width if width >= MIN_WRAP_WIDTH else None


def _abbreviation(line: str) -> bool:
    """The line ends in an abbreviation Punkt knows ("U.S.", "Dr."), not a sentence."""
    m = _LAST_WORD.search(line)
    return bool(m) and m.group(1).lower().lstrip("(\"'“‘") in _punkt()._params.abbrev_types


def blocks(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Paragraphs as a reader sees them: lines joined across soft breaks (see ``soft_breaks``)."""
    lines = line_spans(text, start, end)
    soft = soft_breaks(text, lines)
    out: list[tuple[int, int]] = []
    for k, (s, e) in enumerate(lines):
        if k and soft[k - 1]:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


_EXTRA_ENDS = regex.compile(
    r"[。！？]+['\"’”」』)）]*|[؟।॥։።။]+|(?<=\p{Greek}\S*)[;;](?=\s+\p{Greek})"
)


def block_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of one block (every line break inside it soft) as absolute (start, end).

    Punkt for sentence ends followed by a space; CJK full stops and other
    scripts' sentence marks end a sentence with or without one.
    """
    spans = []
    for s, e in _punkt().span_tokenize(text[start:end]):
        s, e = start + s, start + e
        cut = s
        for m in _EXTRA_ENDS.finditer(text, s, e):
            if m.end() < e:
                spans += trimmed(text, [(cut, m.end())])
                cut = m.end()
        spans += trimmed(text, [(cut, e)])
    return spans


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as absolute (start, end); blocks (paragraphs) always end one."""
    return [span for s, e in blocks(text, start, end) for span in block_sentences(text, s, e)]


_SOFT_BREAK = regex.compile(r"(?<=(\p{L}))[-\u00ad\u2010][ \t]*\r?\n[ \t]*(?=\p{Ll})|(?<=(.))[ \t]*\r?\n[ \t]*(?=(.))", regex.S)
_CELL = regex.compile(r"\s+\|\s+")
_LIGATURES = {c: unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}


def reflow(text: str) -> str:
    """A quoted passage as a reader wants it on one line: wrapped lines joined (a word hyphenated across
    the break made whole; CJK lines joined without a space), typesetting ligatures ("ﬁ") as letters, a table
    row's cells as "first: second; third".

    For display only: citations keep the verbatim source text.
    """
    def join(m: regex.Match) -> str:
        if m.group(1):
            return ""
        return "" if _HAS_CJK.match(m.group(2)) and _HAS_CJK.match(m.group(3)) else " "

    text = _SOFT_BREAK.sub(join, text).translate(_LIGATURES)
    cells = _CELL.split(text)
    if len(cells) > 1:
        return f"{cells[0]}: " + "; ".join(cells[1:])
    return text

"""The matching layer: when two pieces of text hold the same words.

Matching never rewrites stored text. Words are compared in a folded form
(``fold``): Unicode compatibility forms (NFKC: ligatures, full-width
letters, non-breaking spaces), case, accents on Latin and Greek letters,
curly quotes and soft hyphens fold away, and a word broken across a line end
("recon-" / "struction") matches both whole and as its two parts (a line
may also break inside a compound: "state-" / "owned"), so a file saved on macOS (NFD) matches a typed question (NFC) and
"Lefèvre" matches "Lefevre". Offsets always index the original text.

Terms (``terms``) are what BM25 and the answerer compare: stop words out
(English, Russian, Greek, ... from the NLTK lists llama-index bundles, chosen
by each word's script) and Snowball stems (PyStemmer) for scripts that have
one. Chinese, Japanese and Korean have no spaces between words, so their text
becomes character unigrams and bigrams, the usual baseline of CJK search
engines (Lucene's CJKAnalyzer indexes bigrams).

Where paragraphs and sentences end is ``rag.sentences``'s business.
"""

from __future__ import annotations

import os
import re
import unicodedata
from functools import lru_cache

import regex
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

MATCHER_VERSION = "2"  # 2: Unicode folding, every script, CJK bigrams (1 was [A-Za-z0-9]+)

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
LINE_END_HYPHEN = "-\u00ad\u2010\u2011"  # a hyphen, a soft hyphen or a Unicode hyphen before a line break
_DASHES = LINE_END_HYPHEN + "\u2012\u2013\u2014\u2015\u2212"  # every character the table turns into "-"
_BROKEN_WORD = regex.compile(rf"(\p{{L}}[\p{{L}}\p{{M}}]*)([{_DASHES}])[ \t]*(?:\r\n|\r|\n)[ \t]*(\p{{L}}[\p{{L}}\p{{M}}]*)")
_MAYBE_BROKEN_WORD = re.compile(rf"[{_DASHES}][ \t]*[\r\n]")  # the cheap test first (stdlib re is faster)
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
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if _MAYBE_BROKEN_WORD.search(text):
        text = _BROKEN_WORD.sub(_join_broken_word, text)
    if text.isascii():
        return text
    text = _FOLDED_CHARS.sub(_fold_char, text)  # faster than str.translate: most texts hold few such characters
    if text.isascii():  # English with curly quotes and dashes
        return text
    if not unicodedata.is_normalized("NFD", text) or _ANY_MARK.search(text):  # a mark, perhaps one to fold
        text = unicodedata.normalize("NFC", _OPTIONAL_MARKS.sub("", unicodedata.normalize("NFD", text)))
    return text


_FOLDED_CHARS = re.compile("[" + re.escape("".join(map(chr, _TABLE))) + "]")


def _fold_char(m: re.Match) -> str:
    return _TABLE[ord(m.group())] or ""


def _join_broken_word(m: regex.Match) -> str:
    """A soft hyphen only ever breaks a word; a hyphen may also join a compound: keep both readings."""
    head, hyphen, tail = m.groups()
    return head + tail if hyphen == "\u00ad" else f"{head}-{tail} {head}{tail}"


# --- words and terms ----------------------------------------------------------

_CJK = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\u3005\u30fc"
HAS_CJK = regex.compile(rf"[{_CJK}]")
_WORD = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:'[\p{L}\p{M}]+)?")
_ASCII_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")  # _WORD on folded ASCII text, with the faster stdlib re
_WORD_OR_CJK = regex.compile(  # a run of CJK characters is one token; other words end where CJK starts
    rf"(?V1)[{_CJK}]+|[[\p{{L}}\p{{N}}]--[{_CJK}]][[\p{{L}}\p{{N}}\p{{M}}]--[{_CJK}]]*(?:'[[\p{{L}}\p{{M}}]--[{_CJK}]]+)?"
)
# particles that glue CJK words together: a bigram holding one spans a word boundary
_CJK_GLUE = frozenset("的了是在和与及或也都就将把被着吗呢吧啊之其而这那该")
_HIRAGANA = regex.compile(r"^\p{Hiragana}+$")  # Japanese written in hiragana alone is grammar: particles, endings
_HANGUL_PARTICLES = frozenset("은는이가을를의에도로와과만")  # a Korean syllable alone that is a particle
_STEMMERS = {"latin": "english", "cyrillic": "russian", "greek": "greek", "arabic": "arabic"}
_NLTK_STOPWORDS = {"cyrillic": "russian", "greek": "greek", "arabic": "arabic", "hebrew": "hebrew", "cjk": "chinese"}
_EXTRA_STOPWORDS = {"s", "did", "does", "do", "said", "say", "says"}


def _tokens(folded: str) -> list[str]:
    if folded.isascii():
        return _ASCII_WORD.findall(folded)
    return (_WORD_OR_CJK if HAS_CJK.search(folded) else _WORD).findall(folded)


def words(text: str) -> list[str]:
    """Folded word tokens, stop words kept; a run of CJK characters is one token."""
    return _tokens(fold(text))


def word_count(text: str) -> int:
    """Words as a reader counts them; CJK, written without spaces, about one word per two characters."""
    return sum((len(w) + 1) // 2 if HAS_CJK.match(w) else 1 for w in words(text))


def terms(text: str) -> list[str]:
    """Stemmed content words in text order: what lexical matching compares.

    Shapes: one string in, a list of terms out (repeats kept, for BM25's term
    frequencies). CJK runs give their non-stop characters and the bigrams
    not glued by a particle (hiragana alone, and Korean particle syllables,
    are grammar: left out).
    """
    folded = fold(text)
    tokens = _tokens(folded)
    if folded.isascii():  # English and numbers: one stop list, one stemmer call
        stop = _stopwords("latin")
        return _stemmer("english").stemWords([w for w in tokens if w not in stop])
    out: list[str] = []
    pending: dict[str, list[int]] = {}  # script -> positions in ``out`` waiting for that script's stemmer
    latin_stop = _stopwords("latin")
    for token in tokens:
        if token.isascii():  # most words of most texts: no script test
            if token not in latin_stop:
                pending.setdefault("latin", []).append(len(out))
                out.append(token)
            continue
        if HAS_CJK.match(token):
            stop = _stopwords("cjk")
            out += [c for c in token if c not in stop and c not in _HANGUL_PARTICLES and not _HIRAGANA.match(c)]
            out += [a + b for a, b in zip(token, token[1:])
                    if a not in _CJK_GLUE and b not in _CJK_GLUE and a + b not in stop and not _HIRAGANA.match(a + b)]
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


def matched_words(question: str, text: str, limit: int = 6) -> list[str]:
    """The words of ``text`` that lexical matching ties to ``question`` (the same term after folding,
    stop words and stemming, as BM25 compares them), each once, as written, in text order; at most
    ``limit``. Words that tell a reader nothing ("what", "about", "who": NLTK's English stop words, which
    BM25's short list keeps) are left out. Shapes: two strings in, a list of substrings of ``text`` out;
    empty when nothing worth showing is shared (a passage found by meaning alone)."""
    wanted = set(terms(question))
    filler = _reader_stopwords()
    out: list[str] = []
    seen: set[str] = set()
    for match in _WORD.finditer(text):
        word = match.group(0)
        key = word.casefold()
        if key in seen:
            continue
        seen.add(key)
        if key not in filler and wanted.intersection(terms(word)):
            out.append(word)
            if len(out) == limit:
                break
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
@lru_cache(maxsize=1)
def _reader_stopwords() -> frozenset[str]:
    """English function words a reader does not count as shared with a question (NLTK's list, with BM25's)."""
    path = os.path.join(nltk_data(), "corpora", "stopwords", "english")
    try:
        with open(path, encoding="utf-8") as fh:
            return frozenset(fold(w) for w in fh.read().split()) | _stopwords("latin")
    except OSError:
        return _stopwords("latin")


def _stopwords(script: str) -> frozenset[str]:
    if script == "latin":
        return frozenset(STOPWORDS_EN) | _EXTRA_STOPWORDS
    name = _NLTK_STOPWORDS.get(script)
    if name is None:
        return frozenset()
    path = os.path.join(nltk_data(), "corpora", "stopwords", name)
    try:
        with open(path, encoding="utf-8") as fh:
            return frozenset(fold(w) for w in fh.read().split())
    except OSError:  # a llama-index without the list: match without stop words
        return frozenset()


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """English function words (NLTK's 198-word list, with the quantity words "much" and "many"), as stemmed
    terms: words that say where to look in a sentence no better than any other ("from", "will", "how").
    Matching keeps most of them as terms (BM25 weighs them down by itself); anchoring a short answer must not."""
    path = os.path.join(nltk_data(), "corpora", "stopwords", "english")
    try:
        with open(path, encoding="utf-8") as fh:
            listed = fh.read().split()
    except OSError:
        listed = []
    listed += ["much", "many"]
    return frozenset(_stemmer("english").stemWords([fold(w) for w in listed])) | _stopwords("latin")


@lru_cache(maxsize=None)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@lru_cache(maxsize=1)
def nltk_data() -> str:
    """llama-index's bundled NLTK data (Punkt, stop words), found without importing llama-index (0.9 s)."""
    import importlib.util

    package = importlib.util.find_spec("llama_index.core").submodule_search_locations[0]
    return os.path.join(package, "_static", "nltk_cache")


def matcher_fingerprint() -> str:
    """What made the terms: ``MATCHER_VERSION``, and whether the bundled stop-word lists were found (a
    llama-index without them gives other terms, so a side index built with them must be rebuilt)."""
    found = os.path.isdir(os.path.join(nltk_data(), "corpora", "stopwords"))
    return MATCHER_VERSION if found else f"{MATCHER_VERSION}-nostopwords"

"""Small text utilities shared by chunking, retrieval and answering.

Sentence spans come from NLTK's Punkt model (bundled with llama-index, so no
download); words are lower-cased, stop-word filtered and Snowball-stemmed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
# Line breaks, terminal escape sequences (CSI, 8-bit CSI, OSC ended by BEL or ST, two-byte ESC forms, a lone
# ESC) and any other control character except tab. An unterminated OSC loses only its ESC, never the text after.
_BREAK = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x00-\x1f\x7f-\x9f]{0,512}?(?:\x07|\x1b\\)"
    r"|\x1b[()][0-~]|\x1b[@-Z\\-_0-9=>]?"
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9a\x9c-\x9f\u2028\u2029]+|\x9b"
)
_STOPWORDS = frozenset(STOPWORDS_EN) | {"s", "did", "does", "do", "said", "say", "says"}


@lru_cache(maxsize=1)
def _punkt():
    import importlib.util

    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    # find llama-index's bundled copy without importing llama-index (about 0.9 s at every CLI start)
    package = importlib.util.find_spec("llama_index.core").submodule_search_locations[0]
    bundled = os.path.join(package, "_static", "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.insert(0, bundled)
    return PunktTokenizer("english")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


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


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of ``text[start:end]`` as absolute (start, end); a line break always ends one."""
    spans = []
    for ls, le in line_spans(text, start, end):
        for s, e in _punkt().span_tokenize(text[ls:le]):
            spans.append((ls + s, ls + e))
    return spans


def words(text: str) -> list[str]:
    """Lower-cased word tokens, stop words kept."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def terms(text: str) -> list[str]:
    """Stemmed content words: what lexical matching compares."""
    kept = [w for w in words(text) if w not in _STOPWORDS]
    return _stemmer().stemWords(kept)


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)

"""Typo correction of questions against the index's own vocabulary.

"wat did zelenksy sya abuot china" should find what "what did zelensky say
about china" finds. A ``Speller`` knows the surface words of the indexed
text (lowercased as a reader sees them, not stemmed), with how many chunks
hold each, plus a fixed list of English function and question words, and
replaces a question's unknown words with the nearest known one.

Rules (each one keeps a question the speller cannot improve as it was):

* Only unknown words change. A word is known if its lowercase form, its
  folded form (``rag.text.fold``: no accents, so "Montreal" knows
  "Montréal") or its stem (what BM25 compares: "elections" knows
  "election") is in the vocabulary, or if it is a common English word
  (Zipf frequency of at least ``COMMON_ZIPF`` in ``wordfreq``'s English
  list, which bundles its data: no download): a small index lacks
  "paying", which must not become "having". Zipf 2.5 is once per 3 million
  words: "condiment" (2.7) and "postage" (3.5) are words, "abuot" (0) and
  "zelenksy" (0) are not; "wat" (3.4) and "teh" (3.0) are frequent too,
  but as typos: a word one edit from a function or question word is
  corrected unless it is very common itself (Zipf ``TYPO_ZIPF``, once per
  100,000 words: "many" is not "any", "day" is not "say").
* Left alone: words of 1-2 letters, words holding a digit, words with a
  capital after the first letter (acronyms, "iPhone", "McDonald") and words
  outside the Latin script (Chinese, Russian, ...: inflection and word
  boundaries there are beyond an edit-distance speller). Candidates are
  Latin words only, so no word is "corrected" into another script.
* Distance is optimal string alignment (Damerau-Levenshtein without
  repeated edits of a substring: a transposition, "abuot", is one edit),
  compared on folded forms, at most 2 edits (1 for words of up to 4 letters).
* Best candidate: the smallest distance, then a question word (what, who,
  did, say, about, ...: a question is likelier to hold "what" than "was"),
  then the most chunks, then the closest length, then alphabetical order.
  No candidate within the distance: the word stays.
* A capitalised word inside the question that ``wordfreq`` knows is a name
  the articles may lack ("Olaf Scholz" is not "Olaf Schools"); one it has
  never seen ("Zelenksy") is a typo.
* Only the misspelled word's characters change: casing follows the
  original ("Zelenksy?" -> "Zelensky?"), punctuation and spaces stay.

The edit distances are rapidfuzz's (C++, bit-parallel). The vocabulary is
kept sorted by length with each word's letter set as a bit mask, so a
lookup measures only the few words that can be within reach: building
costs little beyond counting the words, and a lookup takes a fraction of a
millisecond over the ~20,000 words of 2,000 news chunks.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache

import numpy as np
from wordfreq import zipf_frequency
import regex
from pydantic import BaseModel, ConfigDict
from rapidfuzz import process
from rapidfuzz.distance import OSA

from .text import _stemmer, fold, nltk_data

# words as a reader sees them: letters, digits and marks; apostrophes and hyphens split ("zelensky's")
COMMON_ZIPF = 2.5  # see the module docstring
TYPO_ZIPF = 4.0  # a word this common is no typo even one edit from a function word ("many", "day")
_TOKEN = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}\p{M}]*")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")  # _TOKEN on lowercase ASCII text, with the faster stdlib re
_HAS_DIGIT = re.compile(r"\d")

# What questions are made of, likeliest first: of the known words as near to a typo, one of these wins over
# more frequent ones ("wat" is "what", not "was"), and the earlier one wins a tie. Kept to words that start or
# shape a question: a longer list takes typos of names ("Bden" became "been", not "Biden").
QUESTION_WORDS: tuple[str, ...] = (
    "what", "who", "when", "where", "why", "how", "which", "whom", "whose", "did", "does", "say", "about",
)
# contractions typed without the apostrophe, so "dont" is not taken for a typo of "done"
_CONTRACTIONS = (
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "hasnt", "havent", "hadnt", "wont",
    "wouldnt", "cant", "couldnt", "shouldnt", "im", "ive", "id", "youre", "theyre", "whats", "whos",
    "wheres", "hows", "thats", "theres", "hes", "shes", "lets",
)


class Correction(BaseModel):
    """A question after spelling correction: ``text`` is the question itself when nothing changed."""

    model_config = ConfigDict(frozen=True)

    text: str
    changes: list[tuple[str, str]] = []  # (word as typed, its replacement), in question order

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def vocabulary(texts: Iterable[str]) -> dict[str, int]:
    """Surface words -> how many of ``texts`` hold each (document frequency).

    Words are lowercase (NFC, case-folded) but keep their accents; words
    holding a digit are left out (never corrected, never candidates).
    """
    counts: Counter[str] = Counter()
    for text in texts:
        text = text.casefold()
        if text.isascii():
            found = set(_ASCII_TOKEN.findall(text))
        else:
            if not unicodedata.is_normalized("NFC", text):
                text = unicodedata.normalize("NFC", text)
            found = set(_TOKEN.findall(text))
        counts.update(found)
    return {w: n for w, n in counts.items() if not _HAS_DIGIT.search(w)}


class Speller:
    """Corrects questions against one vocabulary; immutable once built, so threads may share it."""

    def __init__(self, vocab: Mapping[str, int]) -> None:
        """``vocab``: surface word -> document frequency, as ``vocabulary`` counts it."""
        freq: dict[str, int] = {}  # folded Latin word -> its most frequent surface form's count
        surface: dict[str, str] = {}  # folded Latin word -> that surface form
        for word, n in vocab.items():
            key = fold(word)
            if not key.isascii() or not key.isalpha():
                continue  # another script, or a compound that folds to two words: never a candidate
            if n > freq.get(key, -1) or (n == freq[key] and word < surface[key]):
                freq[key], surface[key] = n, word
        if vocab:  # nothing indexed, nothing to correct towards: an empty vocabulary stays empty
            for word in (*function_words(), *_CONTRACTIONS):
                if word not in freq:
                    freq[word], surface[word] = 0, word
        self._freq = freq
        self._surface = surface
        self._priority = {w: len(QUESTION_WORDS) - i for i, w in enumerate(QUESTION_WORDS)}
        self._known = frozenset(freq) | frozenset(fold(w) for w in vocab)
        self._stems = frozenset(_stemmer("english").stemWords(list(freq)))
        # candidates by length (a lookup takes a slice); none of 1-2 letters: "wek" is not "we", nor "aso" "as"
        self._words = sorted((w for w in freq if len(w) > 2), key=lambda w: (len(w), w))
        self._lengths = np.array([len(w) for w in self._words], dtype=np.int32)
        self._masks = np.array([_letters(w) for w in self._words], dtype=np.uint32)

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Speller:
        """A speller knowing the words of ``texts`` (chunk texts, say)."""
        return cls(vocabulary(texts))

    def __len__(self) -> int:
        """How many words (folded Latin forms, function words included) it knows."""
        return len(self._freq)

    def correct(self, question: str) -> Correction:
        """``question`` with its unknown words replaced by their nearest known words; see the module docstring."""
        tokens = list(_TOKEN.finditer(question))
        found = [(m, key) for m in tokens if (key := self._unknown(m.group())) is not None
                 and not _a_real_name(m, key, tokens[0])]
        if not found:
            return Correction(text=question)
        nearest = self._nearest(list(dict.fromkeys(key for _, key in found)))
        pieces: list[str] = []
        changes: list[tuple[str, str]] = []
        end = 0
        for m, key in found:
            if nearest.get(key) is None:
                continue
            word = m.group()
            replacement = _cased_like(unicodedata.normalize("NFC", word), self._surface[nearest[key]])
            if replacement == word:
                continue
            pieces += [question[end : m.start()], replacement]
            changes.append((word, replacement))
            end = m.end()
        if not changes:
            return Correction(text=question)
        pieces.append(question[end:])
        return Correction(text="".join(pieces), changes=changes)

    def suggest(self, word: str) -> str | None:
        """The replacement for one word, in its casing; None to keep it (known, left alone, or nothing near)."""
        key = self._unknown(word)
        best = self._nearest([key]).get(key) if key is not None else None
        return None if best is None else _cased_like(unicodedata.normalize("NFC", word), self._surface[best])

    def known(self, word: str) -> bool:
        """Whether ``word`` is in the vocabulary: as typed (any case), without accents, or by its stem."""
        key = fold(word)
        return key in self._known or _stemmer("english").stemWord(key) in self._stems

    def _unknown(self, word: str) -> str | None:
        """The folded form of a word to correct; None for a word to keep as it is (see the module docstring)."""
        if len(word) <= 2:
            return None
        nfc = unicodedata.normalize("NFC", word)
        if len(nfc) <= 2 or not nfc.isalpha() or any(c.isupper() for c in nfc[1:]):
            return None  # short, a digit or a mark left over, an acronym or a capital inside
        key = fold(nfc)
        if len(key) <= 2 or not key.isascii() or not key.isalpha():
            return None  # another script (or letters that fold to something else)
        if key in self._known or _stemmer("english").stemWord(key) in self._stems:
            return None
        zipf = zipf_frequency(key, "en")
        if zipf >= COMMON_ZIPF and (zipf >= TYPO_ZIPF or not _near_function_word(key)):
            return None  # a common English word the articles lack ("paying", "postage") is not a typo
        return key

    def _nearest(self, keys: list[str]) -> dict[str, str | None]:
        """Each unknown folded word's best known word (None: none within reach).

        A cheap numpy pass first keeps the words of a near length whose letter
        sets differ by at most ``reach`` letters each way (an edit adds at most
        one letter to the set and removes at most one; a transposition
        neither), then rapidfuzz measures those few: handing it the whole
        vocabulary costs about a millisecond a word in converting the strings.
        """
        out: dict[str, str | None] = {}
        for key in keys:
            reach = _reach(key)
            lo = int(np.searchsorted(self._lengths, len(key) - reach))
            hi = int(np.searchsorted(self._lengths, len(key) + reach, side="right"))
            mask = np.uint32(_letters(key))
            masks = self._masks[lo:hi]
            near = np.flatnonzero((_popcount(masks & ~mask) <= reach) & (_popcount(mask & ~masks) <= reach))
            choices = [self._words[lo + i] for i in near.tolist()]
            found = [(int(distance), -self._priority.get(w, 0), -self._freq[w], abs(len(w) - len(key)), w)
                     for w, distance, _ in process.extract(key, choices, scorer=OSA.distance, score_cutoff=reach,
                                                           limit=None)]
            out[key] = min(found)[-1] if found else None
        return out


def _a_real_name(m: regex.Match, key: str, first: regex.Match) -> bool:
    """A capitalised word inside the question that the web has seen ("Scholz", "Olaf") names someone the
    articles may simply not hold: "correcting" it to an indexed name would answer about someone else.
    One the web has never seen ("Zelenksy", "Witkof") is a typo."""
    return m.group()[0].isupper() and m.start() != first.start() and zipf_frequency(key, "en") > 0


@lru_cache(maxsize=4096)
def _near_function_word(key: str) -> bool:
    """One edit from a function or question word: "wat" and "teh" are common on the web, as typos of
    "what" and "the"."""
    return key not in function_words() and process.extractOne(
        key, function_words(), scorer=OSA.distance, score_cutoff=1) is not None


def _letters(word: str) -> int:
    """The set of a lowercase ASCII word's letters as 26 bits."""
    bits = 0
    for ch in set(word):
        bits |= 1 << (ord(ch) - 97)
    return bits


_POP8 = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)


def _popcount(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint32 (numpy's bitwise_count, from numpy 2, or a byte table before it)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    return _POP8[values.view(np.uint8)].reshape(-1, 4).sum(axis=1)


def _reach(key: str) -> int:
    """How many edits a word may be from its correction: 1 up to 4 letters, 2 beyond."""
    return 1 if len(key) <= 4 else 2


def _cased_like(word: str, replacement: str) -> str:
    """``replacement`` capitalized as ``word`` is (only lowercase and capitalized words are corrected)."""
    return replacement[:1].upper() + replacement[1:] if word[:1].isupper() else replacement


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """English function and question words: NLTK's stop-word list (bundled with llama-index) and ours."""
    words = set(QUESTION_WORDS)
    try:
        with open(os.path.join(nltk_data(), "corpora", "stopwords", "english"), encoding="utf-8") as fh:
            words.update(w.replace("'", "") for w in fh.read().split())
    except OSError:  # a llama-index without the list: the question words alone
        pass
    return frozenset(w for w in words if w.isascii() and w.isalpha())

"""Check an LLM answer against the passages it cites. Pure: text in, verified answer out.

Each answer sentence is compared with the passages its ``[n]`` markers name:
- markers naming no passage are dropped and recorded;
- a cited passage that does not state the sentence loses its marker when
  another cited passage does; when none does, the sentence keeps its markers
  and is recorded as unsupported (the page marks it);
- an uncited sentence that one passage clearly states gets that citation,
  flagged ``added``; otherwise it is recorded as unsupported;
- every kept citation is mapped to the passage sentence that best supports the
  claim, with its offsets in the source file.
The sentinel, or an answer with no supported sentence, is an abstention.

Lines that state nothing (a "**Answer:**" heading, a "Sources: [1], [2]" line,
a "References:" block of "[1] Title" lines) are dropped first: they are
neither claims to flag nor places to re-attach markers.

Support is lexical coverage (the share of the sentence's stemmed content words
found in the passage); when that falls short and an ``embed`` function is
given, the best sentence cosine may raise it (a paraphrase), averaged with it.
Words cannot match across languages: a claim that is surely in another
language than a cited passage (script, or stop words) is supported when that
passage holds every number of the claim and every name it shares with the
passages; a claim with neither is kept and listed with the reason
"unchecked (other language)" (not an abstention: nothing says it is false).
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

import regex

from ..sentences import sentence_spans
from ..text import HAS_CJK, fold, nltk_data, terms, words
from ..types import Citation, DroppedCitation, Passage, UnsupportedSentence
from .citations import cite, parse_markers, passage_sentences, strip_markers

SENTINEL = "NOT_IN_ARTICLES"
SUPPORT_MIN = 0.55  # a cited passage supports a sentence at or above this
ADD_MIN = 0.70  # an uncited sentence gets a citation only at or above this
_LEADING_MARKERS = re.compile(r"^\s*((?:\[[\d\s,\-–]+\]\s*)+)")

Embed = Callable[[list[str]], list[list[float]]]


@dataclass
class Verified:
    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[UnsupportedSentence] = field(default_factory=list)
    dropped: list[DroppedCitation] = field(default_factory=list)
    abstained: bool = False
    supported_share: float = 0.0
    raw: str = ""


def is_sentinel(text: str) -> bool:
    return SENTINEL in text.upper().replace(" ", "_")


def split_answer(text: str) -> list[str]:
    """Answer sentences, each with the markers that follow it (Punkt puts them at the next one's start)."""
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    sentences: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and sentences:
            sentences[-1] = f"{sentences[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end():]
        if piece.strip():
            sentences.append(piece.strip())
    return sentences


# --- lines that are not claims ------------------------------------------------------

_SOURCE_WORDS = (r"sources?|references?|citations?|cited sources|works cited|bibliography|refs|quellen|quellenangaben"
                 r"|belege|références|fuentes|referencias|fonti|riferimenti|fontes|referências|bronnen|источники"
                 r"|来源|出典|参考资料|参考文献")
_SOURCE_LABEL = re.compile(rf"^(?:{_SOURCE_WORDS})(?:\s+(?:used|cited))?\s*(?:[:：]|$)", re.I)
_DECORATION = re.compile(r"^[\s>#*_•·\-–—]+|[\s*_]+$")  # quote marks, heading hashes, bullets, bold/italic
_REFERENCE_ENTRY = re.compile(r"^\s*(?:[-*•]\s+|\[\d+\]|\(\d+\)|\d+[.)]\s)")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s|(\*\*|__)[^*_]+\1\s*[:：]?\s*$)")
_LEAD_LABEL = re.compile(  # "**Answer:** It ...", "Answer: It ...": the label goes, the sentence stays
    r"^\s*(?:(?:\*\*|__)[^*_\n]{1,40}?(?:[:：]\s*(?:\*\*|__)|(?:\*\*|__)\s*[:：])"
    r"|(?:short |final )?(?:answer|antwort|réponse|respuesta|risposta|resposta|antwoord)\s*[:：])\s*", re.I)


def non_claim(line: str, in_sources: bool = False) -> str | None:
    """What kind of non-claim ``line`` is ("heading", "label", "sources", "reference", "rule"), or None for a claim.

    ``in_sources``: the line follows a source-list label, so "[1] Some title" is an entry of that list.
    A sentence that merely starts with such a word ("Sources said the deal was close [1].") is a claim.
    """
    if not line.strip():
        return None
    if not re.search(r"\w", line):
        return "rule"  # "---", "***": a separator
    core = _DECORATION.sub("", strip_markers(line))
    if _SOURCE_LABEL.match(core):
        return "sources"
    if in_sources and _REFERENCE_ENTRY.match(line):
        return "reference"
    if _HEADING.match(line) and not (parse_markers(line) or re.search(r"[.!?。]\W*$", line)):
        return "heading"  # "## Answer", "**Key facts**"; a bold sentence with its [n] is still a claim
    if core.endswith((":", "：")) and len(core.split()) <= 6:
        return "label"  # "Answer:", "Here is what the articles say:"
    return None


def claim_text(raw: str) -> str:
    """``raw`` without the lines that state nothing (see ``non_claim``), and without a leading "Answer:" label."""
    kept: list[str] = []
    in_sources = False
    for line in raw.splitlines():
        kind = non_claim(line, in_sources)
        in_sources = kind in ("sources", "reference") or (in_sources and not line.strip())
        if kind is None:
            kept.append(_LEAD_LABEL.sub("", line, count=1))
    return re.sub(r"\n\s*\n\s*\n", "\n\n", "\n".join(kept)).strip()  # a dropped block leaves one paragraph break


@dataclass
class _Support:
    score: float
    start: int  # best sentence, as offsets in the passage text
    end: int


def _coverage(claim_terms: set[str], text: str) -> float:
    return len(claim_terms & set(terms(text))) / len(claim_terms) if claim_terms else 0.0


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


def support(claim: str, passage: Passage, embed: Embed | None = None, enough: float = SUPPORT_MIN) -> _Support:
    """How well ``passage`` states ``claim``, and which of its sentences states it best.

    Lexical coverage first; the embedding model is only consulted when that
    falls short of ``enough``, and can only raise the score (paraphrase).
    """
    claim_terms = set(terms(claim))
    spans = passage_sentences(passage) or [(0, len(passage.text))]
    sentences = [passage.text[s:e] for s, e in spans]
    local = [_coverage(claim_terms, s) for s in sentences]
    score = _coverage(claim_terms, passage.text)
    if embed is not None and score < enough:
        claim_vector, *vectors = embed([claim, *sentences])
        cosines = [_dot(claim_vector, v) for v in vectors]
        local = [max(lx, 0.5 * lx + 0.5 * c) for lx, c in zip(local, cosines)]
        score = max(score, 0.5 * score + 0.5 * max(cosines))
    best = max(range(len(sentences)), key=lambda i: local[i])
    return _Support(score, spans[best][0], spans[best][1])


# --- claims in another language than their passage ---------------------------------

# Latin-script languages told apart by their stop words (NLTK's lists, bundled with llama-index)
_LATIN_LANGUAGES = ("english", "german", "french", "spanish", "italian", "portuguese", "dutch", "danish",
                    "swedish", "norwegian", "finnish", "romanian", "hungarian", "turkish", "indonesian", "catalan")
_NAME = regex.compile(r"\b\p{Lu}[\p{L}\p{M}]+")
UNCHECKED = "unchecked (other language)"


@lru_cache(maxsize=None)
def _stop_words(language: str) -> frozenset[str]:
    try:
        with open(os.path.join(nltk_data(), "corpora", "stopwords", language), encoding="utf-8") as fh:
            return frozenset(fold(w) for w in fh.read().split())
    except OSError:  # no lists: every text reads as "unknown", so nothing takes this path
        return frozenset()


@lru_cache(maxsize=256)  # a passage is compared with every claim that cites it
def languages(text: str) -> frozenset[str]:
    """The languages ``text`` may be in: its script when not Latin, else the stop-word lists it hits most.

    Empty when unsure (no stop word at all): such a text is never called "another language".
    """
    tokens = [t for w in words(text) for t in w.split("'") if t[:1].isalpha()]
    scripts = Counter("CJK" if HAS_CJK.match(t) else unicodedata.name(t[0], "?").split()[0] for t in tokens)
    if not scripts:
        return frozenset()
    script = scripts.most_common(1)[0][0]
    if script != "LATIN":
        return frozenset({script})
    hits = {lang: sum(t in _stop_words(lang) for t in tokens) for lang in _LATIN_LANGUAGES}
    best = max(hits.values())
    return frozenset(lang for lang, n in hits.items() if n == best) if best else frozenset()


def other_language(claim: str, passage: str) -> bool:
    """True when ``claim`` is surely in another language than ``passage``, so their words cannot be compared."""
    mine, theirs = languages(claim), languages(passage)
    return bool(mine and theirs and not mine & theirs)


def anchors(claim: str, names: set[str]) -> set[str]:
    """What a claim in any language can be checked by: its numbers, and its capitalised words in ``names``.

    ``names`` are the folded capitalised words of the retrieved passages; a capitalised word outside
    them ("Stadt", a German noun) or a stop word ("Die", "La" opening a sentence) says nothing either way.
    """
    found = {fold(w) for w in _NAME.findall(claim)} & names
    return {w for w in words(claim) if w.isdigit()} | {w for w in found if not _any_stop_word(w)}


def _any_stop_word(word: str) -> bool:
    return any(word in _stop_words(lang) for lang in _LATIN_LANGUAGES)


def neutral_support(claim_anchors: set[str], passage: Passage) -> _Support | None:
    """Support that needs no shared language: every anchor of the claim is in ``passage``.

    None without anchors or when one is missing; else the passage sentence holding the most of them.
    """
    if not claim_anchors or not claim_anchors <= set(words(passage.text)):
        return None
    spans = passage_sentences(passage) or [(0, len(passage.text))]
    held = [len(claim_anchors & set(words(passage.text[s:e]))) for s, e in spans]
    best = max(range(len(spans)), key=lambda i: held[i])
    return _Support(SUPPORT_MIN, spans[best][0], spans[best][1])


def verify(raw: str, passages: Sequence[Passage], embed: Embed | None = None,
           abstain_text: str = "") -> Verified:
    """Resolve, check and repair the citations of ``raw``; see the module docstring."""
    if is_sentinel(raw) or not raw.strip():
        return Verified(text=abstain_text, abstained=True)
    if embed is not None:
        embed = _memo(embed)  # passage sentences recur across claims
    out_sentences: list[str] = []
    citations: list[Citation] = []
    unsupported: list[UnsupportedSentence] = []
    dropped: list[DroppedCitation] = []
    supported_count = unchecked_count = 0
    sentences = [s for s in split_answer(claim_text(raw)) if non_claim(s) is None]
    names = {fold(w) for p in passages for w in _NAME.findall(p.text)}
    claims = [strip_markers(s) for s in sentences]
    cache: dict[tuple[int, int, float], _Support] = {}

    def support_of(i: int, n: int, enough: float = SUPPORT_MIN) -> _Support:
        if (i, n, enough) not in cache:
            cache[(i, n, enough)] = support(claims[i], passages[n - 1], embed, enough)
        return cache[(i, n, enough)]

    for i, (sentence, claim) in enumerate(zip(sentences, claims)):
        if not claim:
            continue
        numbers = parse_markers(sentence)
        valid = [n for n in numbers if 1 <= n <= len(passages)]
        dropped += [DroppedCitation(n=n, sentence=claim, reason="no such passage") for n in numbers if n not in valid]
        if valid:
            # across languages words cannot match (nor can the English embedding model read them); numbers and
            # names can, so they alone decide there
            foreign = [n for n in valid if other_language(claim, passages[n - 1].text)]
            claim_anchors = anchors(claim, names) if foreign else set()
            backing: list[int] = []
            for n in valid:
                if n not in foreign:
                    if support_of(i, n).score >= SUPPORT_MIN:
                        backing.append(n)
                elif (neutral := neutral_support(claim_anchors, passages[n - 1])) is not None:
                    cache[(i, n, SUPPORT_MIN)] = neutral
                    backing.append(n)
            if not backing and foreign and not claim_anchors:  # nothing to compare: kept and marked, not called false
                unchecked_count += 1
                unsupported.append(UnsupportedSentence(sentence=claim, cited=valid, reason=(
                    f"{UNCHECKED}: no number or name to compare with passage(s) {foreign}")))
                out_sentences.append(_with_markers(claim, valid))
                continue
            if backing:
                dropped += [DroppedCitation(n=n, sentence=claim, reason="the passage does not state it")
                            for n in valid if n not in backing]
                keep, added = backing, False
            else:
                unsupported.append(UnsupportedSentence(
                    sentence=claim, cited=valid, reason=f"cited passage(s) {valid} do not state it"))
                out_sentences.append(_with_markers(claim, valid))
                continue
        else:
            numbers = range(1, len(passages) + 1)
            scores = {n: support(claim, passages[n - 1]).score for n in numbers}  # lexical: cheap
            if embed is not None and max(scores.values(), default=1.0) < ADD_MIN:
                scores = {n: support_of(i, n, ADD_MIN).score for n in numbers}
            best = max(scores, key=lambda n: (scores[n], -n)) if scores else None
            if best is None or scores[best] < ADD_MIN:
                unsupported.append(UnsupportedSentence(sentence=claim, cited=[], reason="no citation"))
                out_sentences.append(claim)
                continue
            keep, added = [best], True
        supported_count += 1
        for n in keep:
            s = support_of(i, n, ADD_MIN if added else SUPPORT_MIN)
            citation = cite(n, passages[n - 1], s.start, s.end)
            citations.append(citation.model_copy(update={"added": added}))
        out_sentences.append(_with_markers(claim, keep))
    total = sum(1 for c in claims if c)
    if supported_count == 0 and unchecked_count == 0:
        return Verified(text=abstain_text, unsupported=unsupported, dropped=dropped, abstained=True)
    return Verified(text=" ".join(out_sentences), citations=citations, unsupported=unsupported,
                    dropped=dropped, supported_share=supported_count / total)


def _memo(embed: Embed) -> Embed:
    seen: dict[str, list[float]] = {}

    def cached(texts: list[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in seen))
        if missing:
            seen.update(zip(missing, embed(missing)))
        return [seen[t] for t in texts]

    return cached


def _with_markers(claim: str, numbers: Sequence[int]) -> str:
    return claim + " " + "".join(f"[{n}]" for n in dict.fromkeys(numbers))

"""Extractive answers: quote the passage sentences that best answer the question.

No word is written that is not in a passage (beyond the ``[n]`` markers and
the fixed abstention message; a quoted sentence's own "[9]" is written "(9)"
so it cannot pass for a citation). Each candidate sentence is scored by
  0.45 * cosine(question, sentence)                     (meaning)
+ 0.45 * idf-weighted share of question terms it holds  (the asked-about facts)
+ 0.10 * answer-type cue (a number for "how many", a date for "when", ...)
where the cosine's weight passes to the term share as far as the embedding
model cannot read the question's language (``Embedder.familiarity``: an
English model on Chinese or Russian gives noise), and the answer abstains when the best score is below a threshold calibrated
on gold questions (see ``eval/calibrate.py`` and the README).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace

from ..embeddings import Embedder
from ..questions import parts
from ..sentences import ends_like_a_sentence, is_question, reflow, table_cells
from ..text import jaccard, terms, word_count, words
from ..types import Citation, Passage
from .citations import cite, passage_sentences, with_marker

ABSTAIN_TEXT = "The articles do not contain enough evidence to answer this question."

W_DENSE, W_LEXICAL, W_TYPE = 0.45, 0.45, 0.10
FOLLOW_RATIO = 0.85  # extra sentences must score this close to the best one
NEXT_RATIO = 0.7  # ...or this close when they directly follow it
LEANING_RATIO = 0.5  # ...or this close when they also open by pointing back ("Among them", "This")
_LEANS_BACK = re.compile(
    r"^(among (them|these|those)|th(is|ese|ose|at)|it|its|he|she|they|their|his|her|such|both|"
    r"each|in (addition|particular)|the (latter|former))\b",
    re.I,
)
MIN_WORDS = 4
HEADING_WORDS = 12
CONTEXT_WEIGHT = 0.8  # a sentence may lean on the one before it ("The meeting lasted...")

_NUMBER_Q = re.compile(
    r"\bhow (many|much|long|far|old|big|large|often|high)\b|\bwhat (number|percentage|share|amount|figure)\b"
    # "how many/much" in other languages: zh, ja, ko, ru, el, de, fr, es/it/pt, pl, nl, ar
    r"|多少|几|多长|多久|多大|多高|多远|いくら|いくつ|何人|何年|何日|何時間|何キロ|얼마|몇|сколько|каков[аоы]? (?:длин|стоимост|цен)"
    r"|πόσ[οαεηι]|wie (?:viele?|lange|hoch|weit)|combien|cu[aá]nt[oa]s?|quant[oaie]s?|\bile\b|hoeveel|كم",
    re.I,
)
_WHEN_Q = re.compile(r"\bwhen\b|\b(what|which) (date|day|year|month|week|time)\b", re.I)
_WHO_Q = re.compile(r"\bwho\b|\bwhose\b|\bwhich (official|leader|minister|person|president|envoy|country|countries)\b", re.I)
_WHERE_Q = re.compile(r"\bwhere\b|\b(what|which) (city|country|place|venue|location)\b", re.I)
_NUMBERISH = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|half|dozen|several)\b|[一二三四五六七八九十百千万亿億兆]",
    re.I,
)
_DATEISH = re.compile(
    r"\b(1[89]\d\d|20\d\d|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|"
    r"march|april|may|june|july|august|september|october|november|december|yesterday|today|"
    r"last (week|month|year)|next (week|month|year)|century|decade)\b",
    re.I,
)
_PLACEISH = re.compile(r"\b(in|at|to|from|near)\s+(the\s+)?[A-Z][a-z]+")
_NAMEISH = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+")


@dataclass(eq=False)
class Candidate:
    n: int  # passage number, 1-based
    start: int  # in passage text
    end: int
    text: str  # verbatim, as cited
    shown: str  # as the answer shows it and the model reads it: one line, a table row with its column names
    terms: set[str]
    doc_id: str
    source_start: int
    source_end: int
    previous: "Candidate | None" = None  # the sentence just before it in the article
    dense: float = 0.0
    lexical: float = 0.0  # its share of the question's terms, or (discounted) with the sentence before it
    own_lexical: float = 0.0  # its own share alone
    type_cue: float = 0.0
    dense_weight: float = W_DENSE  # less when the model cannot read the question's language; lexical takes the rest

    @property
    def score(self) -> float:
        return self._score(self.lexical)

    @property
    def own_score(self) -> float:
        """The score without the terms it borrows from the sentence before it: what it adds after that one."""
        return self._score(self.own_lexical)

    def _score(self, lexical: float) -> float:
        lexical_weight = W_LEXICAL + W_DENSE - self.dense_weight
        return self.dense_weight * self.dense + lexical_weight * lexical + W_TYPE * self.type_cue


@dataclass
class ExtractiveResult:
    text: str
    citations: list[Citation]
    abstained: bool
    confidence: float


class ExtractiveAnswerer:
    def __init__(self, embedder: Embedder, threshold: float, max_sentences: int = 3) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.max_sentences = max_sentences

    def answer(self, question: str, passages: list[Passage]) -> ExtractiveResult:
        asked = parts(question)
        rankings = self.rank_parts(asked, passages)
        if len(asked) > 1:
            return self._answer_parts(rankings, passages)
        ranked = rankings[0]
        if not ranked or ranked[0].score < self.threshold:
            best = ranked[0].score if ranked else 0.0
            return ExtractiveResult(ABSTAIN_TEXT, [], True, best)
        chosen = [ranked[0]]
        follower = _next_in_line(ranked, ranked[0])
        if follower is not None and _completes(follower, ranked[0]):
            chosen.append(follower)
        for cand in ranked[1:]:
            if len(chosen) >= self.max_sentences or cand.score < FOLLOW_RATIO * ranked[0].score:
                break
            if cand not in chosen and all(jaccard(cand.terms, c.terms) < 0.5 for c in chosen):
                chosen.append(cand)
        return _result(chosen, passages, ranked[0].score)

    def _answer_parts(self, rankings: list[list[Candidate]], passages: list[Passage]) -> ExtractiveResult:
        """A compound question: each part's best sentence, in the parts' order, for every part the evidence
        answers; an abstention only when it answers none."""
        chosen: list[Candidate] = []
        for ranked in rankings:
            taken = {(c.n, c.start) for c in chosen}  # one sentence may answer two parts: quoted once
            best = ranked[0] if ranked and ranked[0].score >= self.threshold else None
            if best is not None and (best.n, best.start) not in taken and len(chosen) < self.max_sentences:
                chosen.append(best)
        confidence = max((r[0].score for r in rankings if r), default=0.0)
        if not chosen:
            return ExtractiveResult(ABSTAIN_TEXT, [], True, confidence)
        return _result(chosen, passages, confidence)

    def rank(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """Every usable sentence of the passages, best first."""
        return self.rank_parts([question], passages)[0]

    def rank_parts(self, questions: list[str], passages: list[Passage]) -> list[list[Candidate]]:
        """Every usable sentence of the passages, best first, for each question (sentences embedded once)."""
        cands = _candidates(passages)
        if not cands:
            return [[] for _ in questions]
        vectors = self.embedder.embed_texts([c.shown for c in cands] + questions)
        rankings = []
        for q_vec, question in zip(vectors[len(cands):], questions):
            scored = [replace(c) for c in cands] if len(questions) > 1 else cands
            _score_lexical(scored, set(terms(question)))
            dense_weight = W_DENSE * self.embedder.familiarity(question)
            asked = unicodedata.normalize("NFKC", question)
            for cand, vec in zip(scored, vectors):
                cand.dense = max(0.0, sum(a * b for a, b in zip(q_vec, vec)))
                cand.dense_weight = dense_weight
                cand.type_cue = _type_cue(asked, unicodedata.normalize("NFKC", cand.shown))  # "ＥＩＧＨＴ" is a number
            rankings.append(sorted(scored, key=lambda c: (-c.score, c.n, c.start)))
        return rankings


def _result(chosen: list[Candidate], passages: list[Passage], confidence: float) -> ExtractiveResult:
    text = " ".join(with_marker(c.shown, c.n) for c in chosen)
    citations = [cite(c.n, passages[c.n - 1], c.start, c.end) for c in chosen]
    return ExtractiveResult(text, citations, False, confidence)


def _completes(follower: Candidate, best: Candidate) -> bool:
    """The sentence after the best one completes it: close enough in score, or pointing back at it.

    Where the model cannot read the language only the term share speaks for
    the follower, and its share together with the sentence before it is
    the best's own terms: then it must earn its place with its own words.
    """
    if _LEANS_BACK.match(follower.text):
        return follower.score >= LEANING_RATIO * best.score
    score = follower.own_score if follower.dense_weight < W_DENSE else follower.score
    return score >= NEXT_RATIO * best.score


def _next_in_line(ranked: list[Candidate], best: Candidate) -> Candidate | None:
    """The candidate that directly follows ``best`` in its article, if any was retrieved."""
    return next((c for c in ranked if c.previous is best), None)


def _candidates(passages: list[Passage]) -> list[Candidate]:
    seen: set[str] = set()
    out = []
    for n, p in enumerate(passages, start=1):
        header: list[str] | None = None  # the column names of the table being read, if any
        for s, e in passage_sentences(p):
            text = p.text[s:e]
            cells = table_cells(text)
            if cells and _is_header(cells) and (header is None or len(header) != len(cells)):
                header = cells  # names the columns; states nothing
                continue
            header = header if cells and header and len(header) == len(cells) else None
            key = " ".join(words(text))
            n_words = word_count(text)
            if n_words < MIN_WORDS or is_question(text) or key in seen:
                continue  # fragments, questions (FAQ blocks) and overlap repeats answer nothing
            if not cells and n_words < HEADING_WORDS and not ends_like_a_sentence(text):
                continue  # a headline or section heading, not a statement
            seen.add(key)
            shown = _row(cells, header) if cells and header and len(cells) > 2 else reflow(text)
            read = f"{text} {' '.join(header)}" if header else text
            source_start, source_end = p.to_source(s, e)
            out.append(Candidate(n, s, e, text, shown, set(terms(read)), p.doc_id, source_start, source_end))
    _link_neighbours(out)
    return out


def _is_header(cells: list[str]) -> bool:
    """Column names: a few words each, no figures ("Region | Observers | Ships", "Key Points | Details")."""
    return all(len(c.split()) <= 4 and not any(ch.isdigit() for ch in c) for c in cells)


def _row(cells: list[str], header: list[str]) -> str:
    """A row of three columns or more with its column names: "Coastal Strip: Observers 85; Ships 9"."""
    return f"{reflow(cells[0])}: " + "; ".join(f"{name} {reflow(cell)}" for name, cell in zip(header[1:], cells[1:]))


def _link_neighbours(cands: list[Candidate]) -> None:
    """Point each sentence at the one just before it in the same article, across passages."""
    by_end = {(c.doc_id, c.source_end): c for c in cands}
    for c in cands:
        for gap in (1, 2, 3):
            before = by_end.get((c.doc_id, c.source_start - gap))
            if before is not None:
                c.previous = before
                break


def _score_lexical(cands: list[Candidate], q_terms: set[str]) -> None:
    """Share of the question's terms a sentence holds, rarer terms weighing more."""
    if not q_terms:
        return
    n = len(cands)
    weight = {}
    for t in q_terms:
        df = sum(1 for c in cands if t in c.terms)
        weight[t] = math.log(1 + n / (df if df else 0.5))
    total = sum(weight.values())
    for c in cands:
        own = sum(w for t, w in weight.items() if t in c.terms) / total
        context = c.previous.terms if c.previous else set()
        both = sum(w for t, w in weight.items() if t in c.terms or t in context) / total
        c.own_lexical = own
        c.lexical = max(own, CONTEXT_WEIGHT * both)


def _type_cue(question: str, sentence: str) -> float:
    if _NUMBER_Q.search(question):
        return 1.0 if _NUMBERISH.search(sentence) else 0.0
    if _WHEN_Q.search(question):
        return 1.0 if _DATEISH.search(sentence) else 0.0
    if _WHERE_Q.search(question):
        return 1.0 if _PLACEISH.search(sentence) else 0.0
    if _WHO_Q.search(question):
        asked = set(words(question))
        names = {m.group(0).lower() for m in _NAMEISH.finditer(sentence)}
        return 1.0 if names - asked else 0.0
    return 0.5

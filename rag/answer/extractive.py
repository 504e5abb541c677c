"""Extractive answers: quote the passage sentences that best answer the question.

No word is written that is not in a passage (beyond the ``[n]`` markers and
the fixed abstention message; a quoted sentence's own "[9]" is written "(9)"
so it cannot pass for a citation). Each candidate sentence is scored by
  0.45 * cosine(question, sentence)                     (meaning)
+ 0.45 * idf-weighted share of question terms it holds  (the asked-about facts)
+ 0.10 * answer-type cue (a number for "how many", a date for "when", ...)
where the cosine's weight passes to the term share as far as the embedding
model cannot read the question's language (``Embedder.familiarity``: an
English model on Chinese or Russian gives noise), and the answer abstains when a small logistic model over the best
sentence's evidence (``abstention``, fitted by ``eval/fit_abstention.py`` on five gold sets) says it is unlikely to answer.

Two rules come before the score (``spans``, ``constraints``): a question that
asks for a type of span (who, when, where, how long, how many, how much,
which X) is answered only by a sentence holding a new span of that type, and
only by a sentence whose article meets the question's years, quarters,
ordinals and names. A follow-up is answered in its standalone form, but the
words it carried over from the conversation weigh less than the user's own
("Which route will they serve first?": "route" and "first" are what is asked).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from typing import Iterator, Sequence

import numpy as np

from ..embeddings import Embedder
from ..questions import parts
from ..sentence_vectors import SentenceVectors
from ..sentences import ends_like_a_sentence, is_question, reflow, table_cells
from ..text import jaccard, terms, word_count, words
from ..time import human_date, in_period
from ..types import Passage
from .abstention import answer_probability
from .base import ABSTAIN_TEXT, Asked, Draft
from .citations import cite, passage_sentences, with_marker
from .condense import condense, last_answer, without_context
from .constraints import Constraints
from .spans import AnswerType, expected_type, short_answer, typed_spans


W_DENSE, W_LEXICAL, W_TYPE = 0.45, 0.45, 0.10
_VALUE_TYPES = ("number", "amount", "date", "duration")  # values two reports can disagree on
SAME_SUBJECT = 0.3  # term overlap (numbers aside) at which two sentences' values are of the same thing
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
CARRIED_WEIGHT = 0.35  # a follow-up's words taken from the conversation, against the user's own
BROAD_SENTENCES = 4  # a summary or comparison quotes up to this many sentences...
BROAD_RATIO = 0.6  # ...each scoring at least this share of the best
# "Summarise the talks", "How do X and Y compare?", "What happened with X?", "Give me an overview of ..."
_BROAD = re.compile(r"\b(?:summari[sz]e|summary|sum up|overview|rundown|recap|compare|comparison|contrast|"
                    r"differ(?:ence)?s?|what happened|what(?:'s| is| has) (?:been )?happening|main points|"
                    r"key points|(?:latest|main|key) developments)\b", re.I)
# "Sum up what the articles say about X", "Give me a quick summary of X": the request, not words a sentence
# about X holds; scored, they pull every sentence's term share and the answer's probability down
_REQUEST = re.compile(r"^\s*(?:please\s+|can you\s+|could you\s+)?(?:(?:sum\s+up|summari[sz]e|recap|outline|"
                      r"give\s+(?:me\s+|us\s+)?(?:an?\s+)?(?:quick\s+|short\s+|brief\s+)?(?:summary|overview|"
                      r"rundown|recap)\s+of)\s+(?:what\s+(?:the\s+)?(?:articles?|stories|news|reports?)\s+"
                      r"(?:says?|reports?|tells?)\s+(?:about|on)\s+)?|what\s+do(?:es)?\s+(?:the\s+)?"
                      r"(?:articles?|stories|news|reports?)\s+(?:say|report)\s+(?:about|on)\s+)", re.I)
NAME_MISS_WEIGHT = 0.85  # a sentence whose passage names none of the question's names
REPEAT_WEIGHT = 0.75  # a follow-up asks for more than the sentence the last answer already quoted

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
    repeats: bool = False  # a follow-up's candidate the last answer already quoted
    query_dense: float = 0.0  # cosine with the standalone question alone
    context: str = ""  # the passage's title and text: where the question's constraints are looked for
    spans: list[tuple[int, int]] | None = None  # spans of the asked-for type in ``text``; None: no type asked
    meets: bool = True  # the question's years, quarters and ordinals are in its passage or title
    names_met: bool = True  # ...and one of its names

    @property
    def eligible(self) -> bool:
        """May answer: holds the asked-for type of span (if any) and meets the question's constraints."""
        return self.meets and (self.spans is None or bool(self.spans))

    @property
    def score(self) -> float:
        """What ranks the sentences: for a follow-up, its meaning is weighed against the user's own
        words as much as the standalone question, and a sentence already quoted weighs less."""
        return (self._score(self.lexical) * (REPEAT_WEIGHT if self.repeats else 1.0)
                * (1.0 if self.names_met else NAME_MISS_WEIGHT))

    @property
    def evidence(self) -> float:
        """What the abstention rule compares with the threshold: how well it answers the question as asked
        (for a follow-up, the standalone form)."""
        return max(self.score, self._score(self.lexical, self.query_dense)
                   * (1.0 if self.names_met else NAME_MISS_WEIGHT))

    @property
    def own_score(self) -> float:
        """The score without the terms it borrows from the sentence before it: what it adds after that one."""
        return self._score(self.own_lexical)

    def _score(self, lexical: float, dense: float | None = None) -> float:
        lexical_weight = W_LEXICAL + W_DENSE - self.dense_weight
        dense = self.dense if dense is None else dense
        return self.dense_weight * dense + lexical_weight * lexical + W_TYPE * self.type_cue


@dataclass(frozen=True)
class FollowUp:
    """What a follow-up's standalone form does not say: the user's own words, and the sentences the
    conversation's last answer already quoted (the user asks for something beyond them)."""

    own_words: str
    known: str = ""


class ExtractiveAnswerer:
    """The offline answerer: quotes sentences, never writes a word of its own (``base.Answerer``)."""

    mode = "extractive"

    def __init__(self, embedder: Embedder, threshold: float, max_sentences: int = 3,
                 sentences: SentenceVectors | None = None) -> None:
        self.embedder = embedder
        self.sentences = sentences  # vectors encoded at ingest; without it, encoded per question
        self.threshold = threshold
        self.max_sentences = max_sentences

    def condense(self, question: str, history: Sequence[dict]) -> str:
        return condense(question, history)

    def stream(self, asked: Asked, passages: Sequence[Passage]) -> Iterator[str | Draft]:
        """The whole text in one delta, then the draft."""
        follow_up = FollowUp(asked.question, last_answer(asked.history)) if asked.is_follow_up else None
        draft = self.answer(asked.query, list(passages), follow_up, asked.period, asked.recent, asked.as_of)
        yield draft.text
        yield draft

    def answer(self, question: str, passages: list[Passage], follow_up: FollowUp | None = None,
               period: tuple[date | None, date | None] | None = None, recent: bool = False,
               as_of: date | None = None) -> Draft:
        """Quote the sentences that answer ``question`` (for a follow-up, its standalone form), or abstain.

        ``period``/``recent``: the question asks about a period ("this week") or the current state ("latest"):
        among the sentences close to the best, one from that period, or the newest, leads (``_timely``)."""
        asked = parts(without_context(question))  # the type and parts of what the user asked...
        if len(asked) == 1:
            asked = [_topic_of(question)]  # ...scored with the conversation's words beside it
        rankings = self.rank_parts(asked, passages, follow_up)
        if len(asked) > 1:
            return self._answer_parts(rankings, passages, asked)
        ranked = rankings[0]
        eligible = [c for c in ranked if c.eligible]
        best = eligible[0] if eligible else None
        confidence = answer_probability(evidence_features(best, eligible)) if best else 0.0
        if best is None or confidence < self.threshold:
            return Draft(ABSTAIN_TEXT, [], True, confidence)
        best = _timely(eligible, best, passages, period, recent, as_of)
        kind = expected_type(without_context(question))
        if kind is None and _BROAD.search(question):
            chosen = _overview(eligible, best, passages, Constraints(question), BROAD_SENTENCES)
            return _result(chosen, passages, confidence)
        chosen = [best]
        wanted = set(terms(follow_up.own_words if follow_up else question))
        follower = _next_in_line(ranked, best)
        if follower is not None and _completes(follower, best, wanted):
            chosen.append(follower)
        for cand in eligible[1:]:
            if len(chosen) >= self.max_sentences or cand.score < FOLLOW_RATIO * best.score:
                break
            covered = set().union(*(c.terms for c in chosen))
            # an extra sentence must bring something asked for: a word of the question, or another answer of the
            # asked-for type (two sources giving two dates are both worth showing)
            adds = (cand.terms & wanted) - covered or (kind and _new_answer(cand, chosen, kind, question))
            if cand not in chosen and adds and cand.names_met and all(jaccard(cand.terms, c.terms) < 0.5 for c in chosen):
                chosen.append(cand)
        draft = _result(chosen, passages, confidence, kind, question)
        draft.notices = _differing_reports(chosen, passages, kind, question) if kind else []
        return draft

    def _answer_parts(self, rankings: list[list[Candidate]], passages: list[Passage],
                      asked: list[str]) -> Draft:
        """A compound question: each part's best sentence, in the parts' order, for every part the evidence
        answers; an abstention only when it answers none."""
        chosen: list[Candidate] = []
        confidence = 0.0
        for ranked in rankings:
            taken = {(c.n, c.start) for c in chosen}  # one sentence may answer two parts: quoted once
            ranked = [c for c in ranked if c.eligible]
            p = answer_probability(evidence_features(ranked[0], ranked)) if ranked else 0.0
            confidence = max(confidence, p)
            best = ranked[0] if ranked and p >= self.threshold else None
            if best is not None and (best.n, best.start) not in taken and len(chosen) < self.max_sentences:
                chosen.append(best)
        if not chosen:
            return Draft(ABSTAIN_TEXT, [], True, confidence)
        return _result(chosen, passages, confidence, expected_type(asked[0]), asked[0])

    def rank_parts(self, questions: list[str], passages: list[Passage],
                   follow_up: FollowUp | None = None) -> list[list[Candidate]]:
        """Every usable sentence of the passages, best first, for each question (sentences embedded once)."""
        cands = candidates(passages)
        if not cands:
            return [[] for _ in questions]
        own_words = [follow_up.own_words] if follow_up else []
        shown = [c.shown for c in cands]
        sentence_vecs = (self.sentences.embed(shown) if self.sentences is not None
                         else np.asarray(self.embedder.embed_texts(shown), dtype=np.float32))
        asked_vecs = np.asarray([self.embedder.embed_query(q) for q in questions + own_words], dtype=np.float32)
        similarity = np.clip(asked_vecs @ sentence_vecs.T, 0.0, None).tolist()  # cosine: both sides unit length
        own = set(terms(own_words[0])) if own_words else None
        own_dense = similarity[-1] if own_words else None
        known = " ".join(words(follow_up.known)) if follow_up else ""
        rankings = []
        for dense, question in zip(similarity, questions):
            scored = [replace(c) for c in cands] if len(questions) > 1 else cands
            _score_lexical(scored, set(terms(question)), own)
            dense_weight = W_DENSE * self.embedder.familiarity(question)
            asked = unicodedata.normalize("NFKC", question)
            kind = expected_type(without_context(asked))
            constraints = Constraints(asked)
            for i, cand in enumerate(scored):
                cand.dense = cand.query_dense = dense[i]
                if own_dense is not None:  # a follow-up: what the user asked, as much as the topic it is about
                    cand.dense = (cand.dense + own_dense[i]) / 2
                    cand.repeats = bool(known) and " ".join(words(cand.text)) in known
                cand.dense_weight = dense_weight
                _check(cand, asked, kind, constraints)
            rankings.append(sorted(scored, key=lambda c: (-c.score, c.n, c.start)))
        return rankings


def _check(cand: Candidate, question: str, kind: AnswerType | None, constraints: Constraints) -> None:
    """The candidate's answer-type spans, type cue and constraints, for ``question``."""
    shown = unicodedata.normalize("NFKC", cand.shown)  # "ＥＩＧＨＴ" is a number
    if kind is None:
        cand.spans = None
        cand.type_cue = _type_cue(question, shown)
    else:
        cand.spans = typed_spans(cand.text, kind, question, cand.context)
        cand.type_cue = 1.0 if cand.spans else 0.0
    where = f"{cand.context}\n{cand.text}"
    cand.meets = not constraints or constraints.met_by(where)
    cand.names_met = not constraints or constraints.names_met_by(where)


def _result(chosen: list[Candidate], passages: list[Passage], confidence: float,
            kind: AnswerType | None = None, question: str = "") -> Draft:
    text = " ".join(with_marker(c.shown, c.n) for c in chosen)
    citations = [cite(c.n, passages[c.n - 1], c.start, c.end) for c in chosen]
    short = None
    span = short_answer(chosen[0].text, kind, question, chosen[0].context) if kind else None
    if span is not None:
        citations[0] = citations[0].model_copy(update={"answer_span": span})
        short = " ".join(chosen[0].text[span[0]:span[1]].split())
    return Draft(text, citations, False, confidence, short)


def _overview(eligible: list[Candidate], best: Candidate, passages: list[Passage], constraints: Constraints,
              limit: int) -> list[Candidate]:
    """A summary or comparison: the best sentence about each thing compared, then the best sentences that say
    something else (not paraphrases: term overlap under a third), new articles first, ordered by date.

    Maximal marginal relevance (Carbonell and Goldstein, SIGIR 1998) with the article as the unit of novelty.
    """
    pool = [c for c in eligible if c.score >= BROAD_RATIO * best.score]
    chosen = [best]
    for name in constraints.names:  # "How do Lavrov's and Peskov's views compare?": one sentence each
        about = next((c for c in pool if name <= c.terms and c not in chosen), None)
        if about is not None and len(chosen) < limit and not any(name <= c.terms for c in chosen):
            chosen.append(about)
    while len(chosen) < limit:
        seen_docs = {c.doc_id for c in chosen}
        fresh = [c for c in pool if c not in chosen and all(jaccard(c.terms, o.terms) < 0.34 for o in chosen)]
        if not fresh:
            break
        chosen.append(max(fresh, key=lambda c: (c.doc_id not in seen_docs, c.score)))
    order = {id(c): i for i, c in enumerate(chosen)}

    def when(c: Candidate) -> tuple:
        day = passages[c.n - 1].published
        return (day is None, day.toordinal() if day else 0, c.doc_id, c.source_start, order[id(c)])
    return sorted(chosen, key=when)


def _timely(eligible: list[Candidate], best: Candidate, passages: list[Passage],
            period: tuple[date | None, date | None] | None, recent: bool, as_of: date | None = None) -> Candidate:
    """The sentence to lead with when the question asks about a period or the current state: of those scoring
    within FOLLOW_RATIO of the best (close enough to be quoted beside it), one from an article of that period,
    then the newest when ``recent``; the best itself when none is. Undated articles are never preferred.

    A period that ends within a week of ``as_of`` ("this week", "in the past few days") is reported by the
    articles published in it, so there a sentence from it leads when it scores BROAD_RATIO of the best (as
    a summary's sentences must); a named month or year is often reported after it ends ("9,800 passengers in
    September", published 6 October), so there only a near-tie does."""
    if period is None and not recent:
        return best
    current = period is not None and period[1] is not None and as_of is not None and (as_of - period[1]).days <= 7
    near = [c for c in eligible if c.score >= (BROAD_RATIO if current else FOLLOW_RATIO) * best.score]

    def day(c: Candidate) -> date | None:
        return passages[c.n - 1].published

    def inside(c: Candidate) -> bool:
        return in_period(day(c), period)
    if not inside(best) and (within := [c for c in near if inside(c)]):
        best = max(within, key=lambda c: c.score)
    if recent and (newer := [c for c in near if inside(c) and day(c) and (day(best) is None or day(c) > day(best))]):
        best = max(newer, key=lambda c: (day(c), c.score))
    return best


def _differing_reports(chosen: list[Candidate], passages: list[Passage], kind: AnswerType,
                       question: str) -> list[str]:
    """"Reports differ: 18 million dollars on 9 June 2025 [1] is the latest report; 15 million dollars on
    14 April 2025 [2]." when quoted sentences from articles of different dates give different values (a number,
    an amount, a date or a duration) for what is asked; one report per article, its first quoted value. Names
    are left out: a sentence naming someone ("Whitfield resigned as mayor") is not a report that they are."""
    if kind not in _VALUE_TYPES:
        return []
    reports: dict[str, tuple[date, str, int]] = {}
    lead = _subject(chosen[0].terms)
    for c in chosen:
        day = passages[c.n - 1].published
        span = short_answer(c.text, kind, question, c.context)
        if day is None or span is None or c.doc_id in reports:
            continue
        if c is not chosen[0] and jaccard(_subject(c.terms), lead) < SAME_SUBJECT:
            continue  # a value of something else ("voted 7 to 2" beside a cost): not a differing report
        reports[c.doc_id] = (day, " ".join(c.text[span[0]:span[1]].split()), c.n)
    dated = sorted(reports.values(), key=lambda r: r[0], reverse=True)
    if len({_value_key(value) for _, value, _ in dated}) < 2 or len({day for day, _, _ in dated}) < 2:
        return []
    (day, value, n), *earlier = dated
    said = [f"{value} on {human_date(day)} [{n}] is the latest report"]
    said += [f"{v} on {human_date(d)} [{m}]" for d, v, m in earlier]
    return ["Reports differ: " + "; ".join(said) + "."]


def _subject(words: set[str]) -> set[str]:
    """A sentence's terms without its numbers: what its value is a value of."""
    return {w for w in words if not any(ch.isdigit() for ch in w)}


def _value_key(value: str) -> tuple[str, ...]:
    """A value as compared between reports: its numbers (commas dropped) and magnitude words, so "$18 million"
    and "18 million dollars" agree; the words themselves when it has no number."""
    numbers = [n.replace(",", "").rstrip(".") for n in re.findall(r"\d[\d,.]*", value)]
    if not numbers:
        return tuple(w.lower() for w in words(value))
    return (*numbers, *re.findall(r"\b(?:thousand|million|billion|trillion|percent|%)", value.lower()))


def evidence_features(best: Candidate, eligible: list[Candidate]) -> dict[str, float]:
    """What the abstention model weighs (see ``abstention``): the best eligible sentence and its rivals."""
    rival = next((c for c in eligible if c is not best), None)
    others = [c for c in eligible[:6] if c is not best][:5]
    return {
        "evidence": best.evidence,
        "dense": best.query_dense,
        "lexical": best.lexical,
        "typed": float(best.spans is not None),
        "margin": best.evidence - (rival.evidence if rival else 0.0),
        "first": float(best.n == 1),
        "support": sum(c.doc_id == best.doc_id for c in others) / len(others) if others else 0.0,
    }


def _new_answer(cand: Candidate, chosen: list[Candidate], kind: AnswerType, question: str) -> bool:
    span = short_answer(cand.text, kind, question, cand.context)
    if span is None:
        return False
    said = set(terms(" ".join(c.text for c in chosen)))
    return not set(terms(cand.text[span[0]:span[1]])) <= said


def _completes(follower: Candidate, best: Candidate, wanted: set[str]) -> bool:
    """The sentence after the best one completes it: close enough in score, or pointing back at it.

    Where the model cannot read the language only the term share speaks for
    the follower, and its share together with the sentence before it is
    the best's own terms: then it must earn its place with its own words.
    """
    if _LEANS_BACK.match(follower.text):
        return follower.score >= LEANING_RATIO * best.score
    if not (follower.terms & wanted) - best.terms:
        return False  # it adds nothing that was asked for
    score = follower.own_score if follower.dense_weight < W_DENSE else follower.score
    return score >= NEXT_RATIO * best.score


def _next_in_line(ranked: list[Candidate], best: Candidate) -> Candidate | None:
    """The candidate that directly follows ``best`` in its article, if any was retrieved."""
    return next((c for c in ranked if c.previous is best), None)


def _topic_of(question: str) -> str:
    """A summary request's topic ("Sum up what the articles say about the war's toll" -> "the war's toll");
    any other question as it is."""
    topic = _REQUEST.sub("", question, count=1)
    return topic if topic.strip(" ?.!") else question


def sentence_texts(passages: Sequence[Passage]) -> list[str]:
    """The texts the answerer encodes for these passages' sentences: what ingest stores vectors for."""
    return [c.shown for c in candidates(list(passages))]


def candidates(passages: list[Passage]) -> list[Candidate]:
    """The sentences of ``passages`` that can be quoted, in passage then source order: no headlines, bylines,
    fragments, questions, repeats or stray figure rows."""
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
            if n_words < MIN_WORDS or is_question(text) or key in seen or _mostly_figures(text):
                continue  # fragments, questions (FAQ blocks), overlap repeats and stray figure rows answer nothing
            if not cells and n_words < HEADING_WORDS and not ends_like_a_sentence(text):
                continue  # a headline or section heading, not a statement
            seen.add(key)
            shown = _row(cells, header) if cells and header and len(cells) > 2 else reflow(text)
            read = f"{text} {' '.join(header)}" if header else text
            source_start, source_end = p.to_source(s, e)
            out.append(Candidate(n, s, e, text, shown, set(terms(read)), p.doc_id, source_start, source_end,
                                 context=f"{p.title}\n{p.text}"))
    _link_neighbours(out)
    return out


def _mostly_figures(text: str) -> bool:
    """A run of figures without the words to say what they are ("1,313.86 422.88 Q1 Q2 2016 2017")."""
    tokens = text.split()
    return len(tokens) >= 6 and sum(any(ch.isalpha() for ch in t) and not any(ch.isdigit() for ch in t)
                                    for t in tokens) < 0.4 * len(tokens)


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


def _score_lexical(cands: list[Candidate], q_terms: set[str], own: set[str] | None = None) -> None:
    """Share of the question's terms a sentence holds, rarer terms weighing more, and terms carried
    from the conversation (not in ``own``, the user's words) less."""
    if not q_terms:
        return
    n = len(cands)
    weight = {}
    for t in q_terms:
        df = sum(1 for c in cands if t in c.terms)
        weight[t] = math.log(1 + n / (df if df else 0.5)) * (CARRIED_WEIGHT if own and t not in own else 1.0)
    total = sum(weight.values())
    carried = q_terms - own if own else set()
    in_passage: dict[str, set[str]] = {}  # a follow-up's carried words count where the sentence's passage holds them
    for c in cands:
        held = c.terms
        if carried:
            if c.context not in in_passage:
                in_passage[c.context] = set(terms(c.context)) & carried
            held = c.terms | in_passage[c.context]
        alone = sum(w for t, w in weight.items() if t in held) / total
        before = c.previous.terms if c.previous else set()
        both = sum(w for t, w in weight.items() if t in held or t in before) / total
        c.own_lexical = alone
        c.lexical = max(alone, CONTEXT_WEIGHT * both)


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

"""Answer types: what a question asks for, and the spans of that type a sentence holds.

"How long did the meeting last?" wants a duration; a sentence that restates
the meeting without one is not its answer, however many words it shares with
the question. A span already in the question is not an answer to it ("Which
show was green lit?" is not answered by "the show is green lit"). Patterns are
English, written from the answer types of TREC QA (Li and Roth, 2002:
human, location, numeric: count, date, period, money, percent); other
languages' questions get no type (``expected_type`` returns None) and are
answered as before.
"""

from __future__ import annotations

import re
from typing import Literal

from ..text import function_words, terms

AnswerType = Literal["person", "place", "date", "duration", "number", "amount", "name"]

_NUM = (r"(?:(?<![\d.,])\d++(?:[.,]\d++)*+(?:\s?(?:million|billion|trillion|thousand|hundred))?|(?:one|two|three|four|five|six|"
        r"seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|hundred|a few|several|"
        r"a couple of|dozens of|hundreds of|thousands of|millions of|half an?|a dozen)"
        r"(?:[\s-](?:hundred|thousand|million|billion))?)")
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
          r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
_YEAR = r"(?:1\d{3}|20\d\d)"
_ORDINAL_WORD = (r"(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
                 r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth|"
                 r"twenty-first)")
_CENTURY = (rf"(?:(?:early|mid|late)[\s-]+)?(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINAL_WORD})(?:\s+(?:and|or|to)\s+"
            rf"(?:\d{{1,2}}(?:st|nd|rd|th)|{_ORDINAL_WORD}))?[\s-]+centur(?:y|ies)")
_UNIT_TIME = r"(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century|nights?)"

_SPANS: dict[str, re.Pattern] = {
    "duration": re.compile(rf"\b(?:(?:more|less|fewer) than |about |nearly |almost |over |under |around )?"
                           rf"{_NUM}[\s-]{_UNIT_TIME}\b|\b(?:an?|one) (?:hour|day|week|month|year|minute)\b|"
                           rf"\b(?:until|into|through|till)\s+(?:the\s+)?{_CENTURY}|\b(?:seconds|minutes|hours|days|"
                           rf"weeks|months|years|decades|centuries)\b", re.I),
    "date": re.compile(rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+"
                       rf"(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{4}}|(?:in|since|by|until|from|of|around|"
                       rf"circa|before|after|between)\s+\d{{3,4}}s?|(?:early|mid|late)[\s-]+(?:{_MONTH}|\d{{4}}s?)|"
                       rf"(?:on\s+)?{_DAY}|{_YEAR}s?|\d{{1,4}}\s?(?:BC|BCE|AD|CE)|{_CENTURY}|"
                       rf"(?:next|last|this)\s+(?:week|month|year|{_DAY})|yesterday|today|"
                       rf"tomorrow|tonight|(?:in|within)\s+{_NUM}\s+{_UNIT_TIME}|{_NUM}\s+{_UNIT_TIME}\s+"
                       rf"(?:ago|later|earlier|from now)|{_MONTH}(?=\s|,|\.))\b", re.I),
    "amount": re.compile(rf"(?:[$€£¥]\s?{_NUM}|\b{_NUM}\s?(?:%|percent|per cent|dollars|euros|pounds|yen|"
                         rf"yuan|rubles|cents)|(?<![\d.,])\d++(?:[.,]\d++)*+\s?(?:%|bn|m)\b)", re.I),
    "number": re.compile(rf"(?:[$€£¥]\s?)?\b{_NUM}\b(?!\s+of\s+(?:the|its|his|her|their|our|my|these|those)\b)"
                         rf"(?:\s?%)?", re.I),  # "one of its closest allies" counts nothing
}
# a run of capitalised words ("Steve Witkoff", "Côte-des-Neiges", "Bank of England"), or a quoted title
_NAME = re.compile(r"[“\"‘]([^”\"’]{2,60})[”\"’]|\b(?:[A-Z][\w'’.&-]*)(?:\s+(?:of|de|the|and|for|la|al|bin|van|"
                   r"von|der)?\s*[A-Z][\w'’.&-]*)*", re.U)
_LOCATIVE = re.compile(r"\b(?:at|in|on|near|to|from|outside|inside|into|across)\s+((?:the|a|an)\s+[\w-]+(?:\s+[\w-]+){0,3})",
                       re.I)  # "at the north quay"
_GROUP = re.compile(r"\b(?:the\s+)?(?:[a-z-]+\s+){0,2}(?:parties|party|government|governments|officials|police|court|"
                    r"courts|army|troops|soldiers|leaders|members|voters|citizens|people|residents|workers|"
                    r"scientists|researchers|doctors|experts|critics|authorities|ministry|council|committee|"
                    r"parliament|congress|senate|monarch|king|queen|emperor|pope|church|company|companies|firm|"
                    r"bank|investors|students|teachers|officers|rebels|settlers|colonists|missionaries|merchants|"
                    r"farmers|nobles|priests|bishops|community|consortium|partnership|manufacturers)\b")
_AGENT = re.compile(r"\bby\s+((?:an?|the|its|their)\s+[\w-]+(?:\s+[\w-]+){0,4})", re.I)  # "financed by a ... programme"
_ENTITY_HEAD = (r"(?:country|countries|nation|city|cities|state|states|company|companies|firm|team|club|show|series|"
                r"film|movie|book|song|album|group|organi[sz]ation|party|agency|network|brand|app|airline|bank|"
                r"storm|hurricane|virus|variant|character|university|school|newspaper|outlet|language|sport|"
                r"game|product|item|person|people|official|leader|minister|president|player|singer|actor|actress|"
                r"director|artist|author|ceo|senator|governor|judge|politician|candidate|envoy|spokesman|"
                r"spokesperson|diplomat|general|commander|negotiator|mayor|chancellor|ambassador|secretary)")
_PERSON_HEAD = (r"(?:person|people|official|leader|minister|president|player|singer|actor|actress|director|artist|"
                r"author|ceo|senator|governor|judge|politician|candidate|envoy|spokesman|spokesperson|diplomat|"
                r"general|commander|officer|negotiator|mayor|chancellor|premier|king|queen|ambassador|"
                r"secretary|adviser|advisor|coach|founder|owner|winner|writer|journalist|reporter|scientist)")
_PLACE_HEAD = r"(?:country|countries|nation|city|cities|state|states|place|venue|location|region|area|island)"

_QUESTION_TYPES: list[tuple[re.Pattern, AnswerType]] = [
    (re.compile(r"\bhow long\b|\bfor how many (?:hours|days|weeks|months|years|minutes)\b", re.I), "duration"),
    (re.compile(r"\bhow much\b|\bwhat (?:percentage|share|price|amount|sum)\b|\bat what (?:price|cost)\b|"
                r"\bwhat (?:is|was|were|are) (?:the |\w+'s |\w+’s )?(?:\w+ )?(?:revenue|revenues|price|cost|budget|"
                r"salary|value|worth|profit|loss|sales|income|valuation|fine|rate)\b", re.I), "amount"),
    (re.compile(r"\bhow (?:many|old|far|big|large|high|tall|often)\b|\bwhat (?:number|figure)\b", re.I), "number"),
    (re.compile(r"\bwhen\b|\b(?:what|which) (?:date|day|year|month|week|time)\b|\bwhat year\b|"
                r"\bwhat (?:is|was|will be) the (?:\w+ ){0,2}date\b", re.I), "date"),
    (re.compile(rf"\bwhere\b|\b(?:what|which|in which|in what) {_PLACE_HEAD}\b", re.I), "place"),
    (re.compile(rf"^\W*(?:who|whom|whose)\b|\b(?:and|,|then|but|so)\s+who\b|\bwhich {_PERSON_HEAD}\b|"
                rf"\bwhat(?: is| was)? (?:the )?(?:name of the )?{_PERSON_HEAD}\b", re.I), "person"),
    (re.compile(rf"\b(?:which|what) (?:(?!(?:did|does|do|is|are|was|were|will|has|have|had)\b)\w+ ){{0,2}}"
                rf"{_ENTITY_HEAD}\b|\bwhat (?:is|was|are) (?:it|they|this|that) "
                rf"called\b|\bwhat (?:is|was) the name\b|\bwhat (?:is|was) (?:its|their|his|her) name\b", re.I),
     "name"),
]


def expected_type(question: str) -> AnswerType | None:
    """The type of span ``question`` asks for, or None (what/why/how questions, other languages).

    The last clause decides when a long question holds several ("Despite ... over the past year, how much
    have gas prices increased?"): the asking part of a news-quiz question comes last.
    """
    best: tuple[int, AnswerType] | None = None
    for pattern, kind in _QUESTION_TYPES:
        for m in pattern.finditer(question):
            if best is None or m.start() > best[0]:
                best = (m.start(), kind)
    return best[1] if best else None


def typed_spans(sentence: str, kind: AnswerType, question: str, context: str = "") -> list[tuple[int, int]]:
    """Spans of ``sentence`` (start, end offsets) of type ``kind`` that are not already in ``question``.

    A capitalised word opening the sentence is a name only if ``context`` (its passage) also writes it
    capitalised inside a sentence: "Fishing boats keep their berths" names nothing.
    """
    asked = set(terms(question))
    stems = {t[:5] for t in asked if len(t) >= 5}  # "Alaska" is in "which Alaskan city"
    found: list[tuple[int, int]] = []
    if kind in ("person", "place", "name"):
        for m in _NAME.finditer(sentence):
            s, e = m.span(1) if m.group(1) else m.span()
            found.append((s, e))
        if kind == "person":
            found += [m.span(1) for m in _AGENT.finditer(sentence)] + [m.span() for m in _GROUP.finditer(sentence)]
        if kind == "place":
            found += [m.span(1) for m in _LOCATIVE.finditer(sentence)]
    else:
        patterns = [_SPANS[kind]] + ([_SPANS["number"]] if kind == "amount" else [])
        for pattern in patterns:
            found += [m.span() for m in pattern.finditer(sentence)]
    spans = []
    for s, e in sorted(set(found)):
        if kind in ("person", "place", "name"):
            s, e = _trim_asked(sentence, s, e, asked)
            if s >= e:
                continue
        span_terms = set(terms(sentence[s:e]))
        if not span_terms or all(t in asked or (len(t) >= 5 and t[:5] in stems) for t in span_terms):
            continue  # nothing new: the question's own words
        if kind in ("person", "place", "name") and _CALENDAR.fullmatch(sentence[s:e].strip(" .")):
            continue  # "Friday", "March": dates, not names
        if kind in ("person", "place", "name") and s == 0 and " " not in sentence[s:e].strip():
            word = sentence[s:e]
            if word.lower() in _SENTENCE_OPENERS or not re.search(rf"[\w,;] {re.escape(word)}\b", context):
                continue
        spans.append((s, e))
    return _outermost(spans)


_ROLE = re.compile(rf"\b{_PERSON_HEAD}s?\W{{1,3}}$", re.I)
_SAID = re.compile(r"\W{0,3}(?:said|says|told|added|stated|announced|wrote)\b", re.I)
_CALENDAR = re.compile(rf"(?:on )?(?:{_DAY}|{_MONTH})(?:\s+\d{{1,2}})?", re.I)
_SENTENCE_OPENERS = {"the", "a", "an", "it", "in", "on", "at", "but", "and", "this", "that", "these", "those",
                     "he", "she", "they", "we", "i", "his", "her", "their", "its", "after", "before", "when",
                     "while", "as", "if", "for", "with", "by", "from", "to", "of", "some", "many", "most", "more",
                     "over", "under", "there", "here", "what", "who", "one", "all", "no", "not", "according",
                     "however", "meanwhile", "since", "despite", "although", "still", "now", "then", "last",
                     "next", "earlier", "later", "also", "so", "yet", "both", "each", "every"}


def _trim_asked(sentence: str, s: int, e: int, asked: set[str]) -> tuple[int, int]:
    """A name span without the question's words in front ("NATO Secretary General Mark Rutte" -> "Mark Rutte"
    for "Who is the NATO Secretary General?"); empty when its last word is the question's (the "Steve
    Witkoff" of "Who accompanied Witkoff?" is the one asked about, not the answer)."""
    for m in re.finditer(r"\S+", sentence[s:e]):
        word_terms = set(terms(m.group(0)))
        if word_terms and word_terms <= asked:
            continue
        s = s + m.start()
        break
    else:
        return s, s
    last = sentence[s:e].split()[-1] if sentence[s:e].split() else ""
    if set(terms(last)) and set(terms(last)) <= asked:
        return s, s
    return s, e


def _outermost(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans not inside another one, in order."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans, key=lambda x: (x[0], -x[1])):
        if out and s >= out[-1][0] and e <= out[-1][1]:
            continue
        out.append((s, e))
    return out


def short_answer(sentence: str, kind: AnswerType, question: str, context: str = "") -> tuple[int, int] | None:
    """The span that answers: of the typed spans, the one nearest the question's words in the sentence."""
    spans = typed_spans(sentence, kind, question, context)
    if not spans:
        return None
    asked = set(terms(question)) - function_words()  # "from" in "cost from July" anchors on "up from 3.80"
    anchors = [m.start() for m in re.finditer(r"\w+", sentence) if set(terms(m.group(0))) & asked]
    if kind == "person":  # a name after a role or before "said" is a person's: "spokesman Dmitry Peskov said"
        people = [sp for sp in spans if _ROLE.search(sentence[:sp[0]]) or _SAID.match(sentence[sp[1]:])]
        spans = people or spans
    if not anchors:
        return spans[0]
    return min(spans, key=lambda sp: (min(abs(sp[0] - a) for a in anchors), sp[0]))

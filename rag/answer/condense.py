"""A follow-up made standalone without an LLM: "Which route will they serve first?" after
"How many electric buses will Montréal buy?" is answered as "Which route will Montréal's
electric buses serve first?".

Extractive answers score sentences against the question, so a bare "they"
matches nothing. The rewrite carries the conversation's topic the way a reader
resolves it: a personal pronoun (he, she, his, her) names the person the
previous turn was about (the answer's new name after a "who" question, else the
question's name); "they", "them", "it" name the previous question's topic (the
thing counted after "how many", else its names); an ellipsis ("and what about
NATO?", "who else?") keeps the previous question's topic beside the new words.
English only; a question that needs nothing from the conversation is kept as
it is.
"""

from __future__ import annotations

import re
from typing import Sequence

from ..text import terms
from .citations import strip_markers


def without_context(query: str) -> str:
    """A standalone question without the conversation's words ``condense`` put beside it in brackets:
    what the user asked, for the answer type and the parts of the question."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", query) if query.endswith(")") else query

_PERSONAL = {"he": "subject", "him": "object", "she": "subject", "his": "possessive", "hers": "possessive"}
_THING = {"they": "subject", "them": "object", "it": "subject", "their": "possessive", "its": "possessive"}
_PRONOUN = re.compile(r"\b(he|him|his|she|her|hers|they|them|their|it|its)\b", re.I)
_ELLIPSIS = re.compile(r"^\s*(and|also|so|but|then|what about|how about|and what about|and how about|what else|"
                       r"who else)\b", re.I)
# "that"/"this" standing for the last answer's subject: "How does Ukraine see that?", "How many posts was that?"
_THAT = re.compile(r"\b(?:that|this)\s*[?.!]*\s*$|\b(?:was|is|did|does|about|with|after|before|to|of) (?:that|this)\b"
                   r"(?!\s+[a-z]+(?:ing|ed|s)?\s)|\bboth sides\b|\bthe two\b", re.I)
MAX_CONTEXTLESS_WORDS = 1  # "Why?", "How long?": a question this bare, naming nothing, leans on the conversation
_DEMONSTRATIVE = re.compile(r"\b(this|that|these|those) (meeting|talks?|call|deal|plan|visit|summit|article|"
                            r"proposal|agreement|statement|decision|event|story|report)\b", re.I)
_WH_FIRST = re.compile(r"^(what|which|who|whom|whose|when|where|why|how|did|does|do|is|are|was|were|will|"
                       r"would|can|could|has|have|had|should)\b", re.I)
# a run of capitalised words, with the small words names hold ("Côte-des-Neiges", "Bank of England")
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+(?:of|de|la|van|von|der|al|bin)?\s*[A-Z][\w'’.-]*)*", re.U)
# a person's name follows a role: "Kremlin spokesman Dmitry Peskov", "envoy, Steve Witkoff,"
_ROLE_BEFORE = re.compile(r"\b(?:spokes(?:man|woman|person)|president|minister|envoy|secretary|mayor|governor|"
                          r"senator|chancellor|leader|chief|director|ceo|adviser|advisor|general|official|"
                          r"ambassador|judge|king|queen|pope)\W{1,3}$", re.I)
_ROLE_PREFIX = re.compile(r"^.*\b(?:Spokes(?:man|woman|person)|President|Minister|Envoy|Secretary|Mayor|Governor|"
                          r"Senator|Chancellor|Leader|Chief|Director|CEO|Adviser|Advisor|General|Ambassador|"
                          r"Judge|King|Queen|Pope)\s+(?=[A-Z])")
# "the talks in Moscow", "the meeting with Putin": what "they"/"it" stand for when nothing was counted
_THING_OF = re.compile(r"\bthe\s+((?:[a-z-]+\s+){0,2}[a-z-]+)\s+(?:in|with|between|of|on|at|about)\s+"
                       r"([A-Z][\w'’.-]*(?:\s+(?:and\s+)?[A-Z][\w'’.-]*)*)")
_COUNTED = re.compile(r"\bhow (?:many|much)\s+((?:[a-z-]+\s+){0,2}[a-z-]+?)\s+(?:will|would|did|does|do|is|are|was|"
                      r"were|has|have|had|can|could|should)\b", re.I)
_ROLES = (r"(?:spokes(?:man|woman|person)|president|minister|envoy|secretary(?:\s+general)?|mayor|governor|"
          r"senator|chancellor|leader|chief|director|ceo|adviser|advisor|general|ambassador|judge|king|queen|pope|"
          r"reporter|author|founder|chair(?:man|woman)?|head|commander|coach|captain|owner)")
_ASKED_ROLE = re.compile(rf"^\s*who(?:['’]s|\s+is|\s+was)\s+(the\s+(?:[\w'’.-]+\s+){{0,3}}?{_ROLES}"
                         r"(?:\s+(?:negotiator|of|for|in)(?:\s+(?:the\s+)?[\w'’.-]+){0,3}?)?)(?=\s+(?:quoted|who|that|"
                         r"said|mentioned|in\s+the\s+article)\b|\s*[?.!]*\s*$)", re.I)
_PLACE_BEFORE = re.compile(r"\b(?:in|at|near|outside|inside|across|into)\s+(?:the\s+)?$", re.I)  # not "from Trump"
_NOT_NAMES = {"I", "The", "A", "An", "In", "On", "At", "And", "But", "What", "Which", "Who", "When", "Where",
              "Why", "How", "Did", "Does", "Do", "Is", "Are", "Was", "Were", "Will", "It", "They", "He", "She",
              "This", "That", "These", "Those", "Mr", "Mrs", "Ms", "Dr", "President", "Mayor", "Minister"}


def condense(question: str, history: Sequence[dict] | None) -> str:
    """The standalone form of ``question`` given the conversation so far.

    ``history`` is OpenAI-style turns ({"role": "user"|"assistant", "content": str}), oldest first.
    Returns ``question`` itself when it is not a follow-up or the conversation names nothing to carry.
    """
    previous_q, previous_a = _last_turn(history or [])
    if not previous_q or not _is_follow_up(question):
        return question
    swapped = _swap_name(question, previous_q)
    if swapped:
        return swapped
    person = _person(previous_q, previous_a)
    topic = _topic(previous_q)

    unresolved: list[str] = []

    def resolve(m: re.Match) -> str:
        if _names(question[:m.start()]):  # "Did Zelensky say he would attend?": "he" is Zelensky
            return m.group(0)
        found = _referent(m, person, topic)
        if found == m.group(0):
            unresolved.append(found)
        return found
    resolved = _PRONOUN.sub(resolve, question)
    if not unresolved and not _ELLIPSIS.match(question) and not _THAT.search(question):
        if resolved != question or _PRONOUN.search(question):
            return resolved  # every pronoun resolved, or named in the question itself ("Did Zelensky say he...")
    context = _gist(previous_q)  # "that", "it", an ellipsis: what the last question was about, in its words
    context = context.replace("(", "").replace(")", "")  # one bracketed aside, which without_context removes
    return f"{resolved.rstrip()} ({context})" if context else resolved


def _swap_name(question: str, previous: str) -> str:
    """ "And what about Springfield?" after "How many buses will Montréal buy?": the same question of
    the new name ("How many buses will Springfield buy?")."""
    m = re.match(r"^\s*(?:and\s+)?(?:what|how) about\s+(.+?)\s*\??\s*$", question, re.I)
    new = _names(m.group(1)) if m else []
    old = _names(previous)
    if len(new) != 1 or new[0] != m.group(1).strip(" ?") or len(old) != 1 or new[0] in old:
        return ""  # only a bare name for the last question's only name; "What about the US?" is not sure
    return previous.replace(old[0], new[0], 1)


def _gist(question: str) -> str:
    """The previous question's own words without its opening question words: "Witkoff meet Putin"."""
    rest = question.strip().rstrip("?").split()
    while rest and (_WH_FIRST.match(rest[0]) or rest[0].lower() in ("many", "much", "long", "far", "old", "often")):
        rest = rest[1:]
    return " ".join(rest)


def _last_turn(history: Sequence[dict]) -> tuple[str, str]:
    question = answer = ""
    for turn in history:
        content = str(turn.get("content") or "").strip()
        if turn.get("role") == "user" and content:
            question, answer = content, ""
        elif turn.get("role") == "assistant" and content:
            answer = strip_markers(content)
    return question, answer


def last_answer(history: Sequence[dict] | None) -> str:
    """The conversation's last answer, without its markers ("" when there is none)."""
    return _last_turn(history or [])[1]


def _is_follow_up(question: str) -> bool:
    return bool(_PRONOUN.search(question) or _ELLIPSIS.match(question) or _DEMONSTRATIVE.search(question)
                or _THAT.search(question)
                or (len(terms(question)) <= MAX_CONTEXTLESS_WORDS and not _names(question)))


def _names(text: str) -> list[str]:
    found = []
    for m in _NAME.finditer(text):
        name = re.sub(r"['’]s\b", "", m.group(0)).strip(" .")  # "Witkoff's" -> "Witkoff", "Who's" -> "Who"
        name = _ROLE_PREFIX.sub("", name) or name  # "U.S. Defense Secretary Pete Hegseth" -> "Pete Hegseth"
        while name.split() and name.split()[0].strip("'’") in _NOT_NAMES:  # "Did Witkoff" -> "Witkoff"
            name = name.split(" ", 1)[1] if " " in name else ""
        if name and name not in found:
            found.append(name)
    return found


def _shares_word(name: str, others: list[str]) -> bool:
    return any(set(name.lower().split()) & set(o.lower().split()) for o in others)


def _person(question: str, answer: str) -> str:
    """Who "he"/"she" most likely is: the answer's new name after a "who" question, else the question's
    full name, else a name of the question the answer shows as a person's ("Lavrov" in "Sergey Lavrov"),
    else the answer's first full name."""
    asked = _names(question)
    told = [re.split(r" (?:of|de|van|von|al|bin) ", n)[0] for n in _names(answer)]  # "Zoé Lefèvre of Montréal"
    if re.match(r"^\s*who\b", question, re.I):
        new = [n for n in told if not _shares_word(n, asked)  # "Steve Witkoff" is not new after "Witkoff's"
               and not _PLACE_BEFORE.search(answer.split(n)[0])]  # "in St. Petersburg" is where, not who
        people = [n for n in new if _ROLE_BEFORE.search(answer.split(n)[0]) or re.search(
            rf"{re.escape(n)}\W+(?:said|says|told|added|stated|announced)\b", answer)]
        role = _ASKED_ROLE.match(question)  # "Who's the Kremlin spokesman ...?": he is that spokesman
        full = [n for n in new if " " in n]
        if not people and not full and role:  # ...when the answer names no one who could be him
            return role.group(1)
        new = people or full or new
        if new:
            return new[0]
    full = [n for n in asked if " " in n]
    shown = [n for n in asked if any(t.endswith(" " + n) for t in told)]
    candidates = full or shown or [n for n in told if " " in n] or asked
    return candidates[0] if candidates else ""


def _topic(question: str) -> str:
    """What "they"/"it" most likely is: the thing counted ("electric buses"), owned by the question's
    name when it has one ("Montréal's electric buses"); else the question's names."""
    names = _names(question)
    counted = _COUNTED.search(question)
    if counted:
        thing = counted.group(1)
        return f"{names[0]}'s {thing}" if names else f"the {thing}"
    thing_of = _THING_OF.search(question)
    if thing_of:
        return thing_of.group(0)
    return " and ".join(names[:2])


def _referent(m: re.Match, person: str, topic: str) -> str:
    word = m.group(0)
    low = word.lower()
    if low == "her":  # object or possessive: both read well as the name with or without "'s"
        return person or word
    if low in _PERSONAL and person:
        return (f"{person}'" if person.endswith("s") else f"{person}'s") if _PERSONAL[low] == "possessive" else person
    if low in ("it", "its") and " and " in topic:
        return word  # "it" is not "Witkoff and Putin": the event between them; context is added instead
    if low in _THING and topic:
        if _THING[low] == "possessive":
            return f"{topic}'" if topic.endswith("s") else f"{topic}'s"  # "the buses'", "Montréal's"
        return topic
    return word

"""A question's constraints, which a cited sentence must meet in its article.

"What was Tesla's revenue in Q1 2021?" is not answered by a passage about Q1
2023, however close its words: the year, the quarter, an ordinal ("the 93rd
Academy Awards") and the named people and places the question is about must
appear in the sentence, the passage it sits in, or the article's title. This
is RGB's negative rejection (Chen et al., AAAI 2024): on-topic noise about
another year or event is a reason to abstain, not to quote.
"""

from __future__ import annotations

import re

from ..text import terms

_YEAR = re.compile(r"\b(1\d{3}|20\d\d)\b")  # as answer spans count years (spans._YEAR)
_QUARTER = re.compile(r"\b(?:q([1-4])|(first|second|third|fourth) quarter)\b", re.I)
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.I)
_QUARTERS = {"first": "1", "second": "2", "third": "3", "fourth": "4"}
# capitalised words after the first word of the question: the names it is about
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*", re.U)
_NOT_NAMES = {"I", "US", "U.S.", "UK", "The", "A", "An", "In", "On", "What", "Which", "Who", "When", "Where", "How",
              "Why", "Did", "Does", "Is", "Are", "Was", "Were", "Will", "Monday", "Tuesday", "Wednesday",
              "Thursday", "Friday", "Saturday", "Sunday"}


class Constraints:
    """What a question pins down: years, quarters, ordinals, names (as folded terms)."""

    def __init__(self, question: str) -> None:
        self.years = set(_YEAR.findall(question))
        self.quarters = {q or _QUARTERS[w.lower()] for q, w in _QUARTER.findall(question)}
        self.ordinals = set(_ORDINAL.findall(question)) - self.years
        names = [m.group(0) for m in _NAME.finditer(question) if m.group(0) not in _NOT_NAMES]
        self.names = [set(terms(n)) for n in names if terms(n)]

    def __bool__(self) -> bool:
        return bool(self.years or self.quarters or self.ordinals or self.names)

    def met_by(self, text: str) -> bool:
        """Whether ``text`` (a sentence with its passage and title) holds every year, quarter and ordinal
        of the question: figures are said one way, so a miss means another year or event."""
        if self.years and not self.years <= set(_YEAR.findall(text)):
            return False
        if self.quarters:
            found = {q or _QUARTERS[w.lower()] for q, w in _QUARTER.findall(text)}
            if not self.quarters <= found:
                return False
        if self.ordinals and not self.ordinals <= set(_ORDINAL.findall(text)):
            return False
        return True

    def names_met_by(self, text: str) -> bool:
        """Whether ``text`` names at least one of the question's names, at least half of its words ("World
        Cup Final" is met by "World Cup 2014 winner"). Names are a softer constraint than figures: an
        article may say "the city" for Montréal or leave its own subject unnamed in a passage, and a
        news-quiz question's preamble names more than its answer's article needs to."""
        if not self.names:
            return True
        held = set(terms(text))
        return any(2 * len(name & held) >= len(name) for name in self.names)

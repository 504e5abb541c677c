"""Lines, paragraphs and sentences as a reader sees them, with exact offsets; and quotes shown on one line.

A blank line, a heading, a bullet, a table row or a byline ends a paragraph;
a single line break inside a hard-wrapped paragraph (a ``.txt`` wrapped at 70
columns, a PDF's printed lines) does not (``soft_breaks``). Sentences are
NLTK Punkt's (bundled with llama-index) within a paragraph, plus the marks
other scripts end sentences with (``。``, ``？``, ``؟``, ``।``, Greek ``;``).
Every span indexes the original text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import regex

from .text import HAS_CJK, LINE_END_HYPHEN, nltk_data

# Line breaks, terminal escape sequences (CSI, 8-bit CSI, OSC ended by BEL or ST, two-byte ESC forms, a lone
# ESC) and any other control character except tab. An unterminated OSC loses only its ESC, never the text after.
_BREAK = regex.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x00-\x1f\x7f-\x9f]{0,512}?(?:\x07|\x1b\\)"
    r"|\x1b[()][0-~]|\x1b[@-Z\\-_0-9=>]?"
    r"|[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9a\x9c-\x9f\u2028\u2029]+|\x9b"
)
_NEWLINE = r"(?:\r\n|\r|\n)"


@lru_cache(maxsize=1)
def _punkt():
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    if nltk_data() not in nltk.data.path:
        nltk.data.path.insert(0, nltk_data())
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


# --- paragraphs --------------------------------------------------------------------

_STRUCTURE = regex.compile(r"^(?:#{1,6}\s|[-*+•▪●◦]\s|\d{1,3}[.)]\s|\||>)")  # heading, bullet, list item, row, quote
_OWN_LINE = regex.compile(r"^(?:#{1,6}\s|\|)")  # a heading or a table row never wraps onto the next line
_BYLINE = regex.compile(r"^(?:By\s+\p{Lu}|(?:Published|Updated|Posted|Last updated|Date|Photo|Image|Source)\b)")
_ENDS = regex.compile(r"[.!?:。！？؟।…]['\"’”»)\]]*$")  # not ";": it never ends a sentence
_MID_PHRASE = regex.compile(r"(?:,|\b(?:a|an|the|of|to|in|on|at|by|for|from|with|and|or|but|as|than|that|into|its|his|her|their))$",
                            regex.I)  # a line ending so goes on: no headline ends "... with the"
_LAST_WORD = regex.compile(r"(\S+)\.$")
_HYPHENATED = regex.compile(rf"\p{{L}}[{LINE_END_HYPHEN}]$")
_CONTINUES = regex.compile(r"^[\p{Ll}\p{N}(\"'“‘]")  # a line that goes on a sentence: lower case, a number
MIN_WRAP_WIDTH = 30  # lines this short are not a wrapping width: titles and bylines
WRAP_SLACK = 0.8  # real wrapping is not greedy to the character: justified PDFs, hand-wrapped text, "1 July" kept together
WRAPPED_SHARE = 0.5  # a run is wrapped when at least this share of its lines (but the last) is full


def soft_breaks(text: str, lines: list[tuple[int, int]]) -> list[bool]:
    """For each pair of neighbouring lines, whether the break between them only wrapped a paragraph.

    Hard, whatever else: more than one line break between the lines, the
    first a heading or table row, the second a bullet, list item, row, quote
    or byline ("By Jane Doe", "Published: ..."). Soft: a word hyphenated
    across the break ("recon-" / "struction"). Otherwise soft only when the
    lines belong to a wrapped run (most of its lines are full: the next word
    would (nearly: ``WRAP_SLACK``) not have fitted at the run's longest line),
    the first line is full and did not end its sentence (an abbreviation such
    as "St." or "U.S." ends none, nor does anything before a line that goes
    on in lower case), and either the text goes on (the next line starts in lower case,
    with a number or an opening quote; the first ends in a comma or a word
    such as "the" or "with"), the two lines are a paragraph of their own (a
    headline wrapped in two), or the text has wrapped before: until its
    first wrap, a full line above a capital is the headline ("Council
    approves budget after a long debate" above "The council voted ..."), not
    the start of a sentence.

    Shapes: ``lines`` as from ``line_spans``; ``len(result) == max(0, len(lines) - 1)``.
    """
    if len(lines) < 2:
        return []
    adjacent = [_one_break(text, a[1], b[0]) for a, b in zip(lines, lines[1:])]
    widths = _wrap_widths(text, lines, adjacent)
    out: list[bool] = []
    for k, ((s1, e1), (s2, e2), joined) in enumerate(zip(lines, lines[1:], adjacent)):
        first, second = text[s1:e1], text[s2:e2]
        if not joined or _OWN_LINE.match(first) or _STRUCTURE.match(second) or _BYLINE.match(second):
            out.append(False)
        elif _HYPHENATED.search(first) and second[:1].islower():
            out.append(True)
        else:
            goes_on = bool(_CONTINUES.match(second))
            ended = bool(_ENDS.search(first)) and not goes_on and not _abbreviation(first)
            two_line_paragraph = k + 2 == len(lines) or not adjacent[k + 1]  # a headline wrapped in two
            out.append(widths[k] is not None and _full(first, second, widths[k]) and not ended
                       and (goes_on or bool(_MID_PHRASE.search(first)) or any(out) or two_line_paragraph))
    return out


def _one_break(text: str, end: int, start: int) -> bool:
    """True when only spaces and a single line break lie between two lines."""
    gap = text[end:start]
    return gap.count("\n") + gap.count("\r") - gap.count("\r\n") == 1 and not gap.strip(" \t\r\n")


def _full(first: str, second: str, width: int) -> bool:
    return len(first) + 1 + len(second.split(None, 1)[0]) > WRAP_SLACK * width


def _wrap_widths(text: str, lines: list[tuple[int, int]], adjacent: list[bool]) -> list[int | None]:
    """For each line, the wrapping width of its run (lines one break apart), None if the run is not wrapped.

    A run of three lines or more is wrapped when its width (the longest of
    its prose lines, bar the longest tenth: a table row or a URL is not a
    width) is ``MIN_WRAP_WIDTH`` or more and most lines but its last are full
    at that width; one paragraph a line (the sample corpus) is not: its lines are as
    long as their paragraphs, and only the longest looks full. A two-line run
    (a short paragraph) is wrapped at the text's width, when some longer run
    showed one and the first line is full at it.
    """
    runs: list[list[int]] = [[0]]
    for k in range(1, len(lines)):
        if adjacent[k - 1]:
            runs[-1].append(k)
        else:
            runs.append([k])
    length = [e - s for s, e in lines]
    own: list[int | None] = []
    for run in runs:
        prose = sorted(length[i] for i in run if not _STRUCTURE.match(text[slice(*lines[i])]))
        width = prose[int(0.9 * (len(prose) - 1))] if prose else 0  # a long table row or URL is no width
        full = sum(_full(text[slice(*lines[i])], text[slice(*lines[i + 1])], width) for i in run[:-1])
        wrapped = len(run) >= 3 and width >= MIN_WRAP_WIDTH and full >= WRAPPED_SHARE * (len(run) - 1)
        own.append(width if wrapped else None)
    text_width = max((w for w in own if w is not None), default=None)
    widths: list[int | None] = []
    for run, width in zip(runs, own):
        if width is None and text_width is not None and len(run) == 2:
            width = text_width if _full(text[slice(*lines[run[0]])], text[slice(*lines[run[1]])], text_width) else None
        widths += [width] * len(run)
    return widths


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


# --- sentences ----------------------------------------------------------------------

_EXTRA_ENDS = regex.compile(
    r"[。！？]+['\"’”」』)）]*|[؟।॥։።။]+|(?<=\p{Greek}\S*)[;;](?=\s+\p{Greek})"
)
_SENTENCE_END = regex.compile(r"[.!;\"”’')|。！？؟।」』]\s*$")
_GREEK = regex.compile(r"\p{Greek}")


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


def ends_like_a_sentence(text: str) -> bool:
    """Ends in a sentence mark (or a closing quote or bracket after one), as a statement does and a heading not."""
    return bool(_SENTENCE_END.search(text))


def is_question(sentence: str) -> bool:
    """Ends in a question mark: "?", the full-width and Arabic ones, or Greek's ";" (U+037E folds to it)."""
    end = sentence.rstrip()[-1:]
    return end in "?？؟" or (end in ";\u037e" and bool(_GREEK.search(sentence)))


# --- display ------------------------------------------------------------------------

_SOFT_BREAK = regex.compile(rf"(?<=(.))[ \t]*{_NEWLINE}[ \t]*(?=(.))", regex.S)
_CELL = regex.compile(r"\s+\|\s+")
LIGATURES = {c: unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}  # "ﬁ" -> "fi" (str.translate)


def reflow(text: str) -> str:
    """A quoted passage as a reader wants it on one line: wrapped lines joined (CJK lines without a space;
    a word a soft hyphen broke made whole; a hyphen kept, since "state-" / "owned" is a compound), typesetting
    ligatures ("ﬁ") as letters, a table row's cells as "first: second; third".

    For display only: citations keep the verbatim source text.
    """
    def join(m: regex.Match) -> str:
        before, after = m.group(1), m.group(2)
        if before == "\u00ad" or before in LINE_END_HYPHEN or (HAS_CJK.match(before) and HAS_CJK.match(after)):
            return ""
        return " "

    text = _SOFT_BREAK.sub(join, text).replace("\u00ad", "").translate(LIGATURES)
    cells = table_cells(text)
    return f"{cells[0]}: " + "; ".join(cells[1:]) if cells else text


def table_cells(text: str) -> list[str] | None:
    """A table row's cells (cleaning left its outer pipes out: "Coastal Strip | 85 | 9"), or None for prose."""
    cells = _CELL.split(text)
    return cells if len(cells) > 1 else None

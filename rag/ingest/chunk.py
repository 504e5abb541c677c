"""Sentence-aligned chunks that fit the embedding model's window, with exact offsets.

Why not llama-index's SentenceSplitter: it returns bare strings, so offsets
must be re-found by search, and its overlap can start mid-sentence. Here
whole sentences (Punkt) are packed greedily by word-piece count, measured
with the embedding model's own tokenizer, and each chunk records which
source characters it copies.
"""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass
from typing import Protocol

from ..sentences import block_sentences, trimmed
from ..types import Chunk, Span
from .clean import CleanText


class TokenCounter(Protocol):
    def count_tokens(self, text: str) -> int: ...
    def count_tokens_many(self, texts: list[str]) -> list[int]: ...
    def token_offsets(self, text: str) -> list[tuple[int, int]]: ...


@dataclass
class _Unit:
    start: int
    end: int
    tokens: int
    segment: int


def chunk(
    cleaned: CleanText,
    doc_id: str,
    counter: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """Pack sentences into chunks of at most ``max_tokens`` word pieces (and ``MAX_CHARS_PER_TOKEN`` times as many characters)."""
    units = _units(cleaned, counter, max_tokens)
    source = cleaned.source
    max_chars = max_tokens * MAX_CHARS_PER_TOKEN
    chunks: list[Chunk] = []
    i = fresh = 0  # fresh: this chunk's first unit that the previous chunk did not hold
    while i < len(units):
        j, total, chars = i, 0, 0
        while j < len(units) and (j == i or (total + units[j].tokens <= max_tokens
                                             and chars + units[j].end - units[j].start < max_chars)):
            total += units[j].tokens
            chars += units[j].end - units[j].start + 1
            j += 1
        text, spans = _assemble(source, units[i:j])
        n_tokens = counter.count_tokens(text)
        while j - i > 1 and (n_tokens > max_tokens or len(text) > max_chars):  # joins can add pieces and spaces
            j -= 1
            text, spans = _assemble(source, units[i:j])
            n_tokens = counter.count_tokens(text)
        if j <= fresh:  # the overlap left no room for anything new: this chunk goes without overlap
            i = fresh
            continue
        ordinal = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}:{ordinal:04d}:{hashlib.sha1(text.encode()).hexdigest()[:8]}",
                doc_id=doc_id,
                ordinal=ordinal,
                text=text,
                start=units[i].start,
                end=units[j - 1].end,
                spans=spans,
                n_tokens=n_tokens,
            )
        )
        if j >= len(units):
            break
        i, fresh = _overlap_start(units, max(i + 1, fresh), j, overlap_tokens), j
    return chunks


MAX_CHARS_PER_TOKEN = 12  # a unit longer than this many characters per window piece is cut by characters


def _units(cleaned: CleanText, counter: TokenCounter, max_tokens: int) -> list[_Unit]:
    """Sentences of every kept segment, each cut until it fits the window in word pieces and in characters."""
    units: list[_Unit] = []
    source = cleaned.source
    sentences = [(seg_no, start, end) for seg_no, (seg_start, seg_end) in enumerate(cleaned.segments)
                 for start, end in block_sentences(source, seg_start, seg_end)]
    counts = counter.count_tokens_many([source[start:end] for _, start, end in sentences])
    for (seg_no, start, end), n in zip(sentences, counts):  # one tokenizer call per document, not per sentence
        for s, e, k in _fit(source, start, end, n, counter, max_tokens, max_tokens * MAX_CHARS_PER_TOKEN):
            units.append(_Unit(s, e, k, seg_no))
    return units


def _fit(source: str, start: int, end: int, n: int, counter: TokenCounter, max_tokens: int,
         max_chars: int) -> list[tuple[int, int, int]]:
    """``source[start:end]`` (``n`` word pieces) as contiguous pieces of at most ``max_tokens`` and ``max_chars``.

    Too many word pieces: cut between pieces. Too many characters (a 2 MB
    "word" is a single unknown piece): cut at a space, else anywhere. The
    pieces cover every character, even ones the tokenizer ignores.
    """
    if n > max_tokens:
        starts = [start + a for a, _ in counter.token_offsets(source[start:end])]
        cuts, k = [start], 0  # k: first word piece after the last cut
        while len(starts) - k > max_tokens:
            k += max_tokens
            at = starts[k]
            space = source.rfind(" ", cuts[-1] + 1, at)  # not inside a word ("w8" | "9"), when one can help it
            if not source[at - 1].isspace() and space > cuts[-1]:
                at, k = space, bisect.bisect_left(starts, space)
            cuts.append(at)
        cuts.append(end)
    elif end - start > max_chars:
        cuts = [start]
        while end - cuts[-1] > max_chars:
            at = source.rfind(" ", cuts[-1] + max_chars // 2, cuts[-1] + max_chars)
            cuts.append(at if at > cuts[-1] else cuts[-1] + max_chars)
        cuts.append(end)
    else:
        return [(start, end, n)]
    spans = trimmed(source, zip(cuts, cuts[1:]))
    counts = counter.count_tokens_many([source[s:e] for s, e in spans])
    return [piece for (s, e), k in zip(spans, counts) for piece in _fit(source, s, e, k, counter, max_tokens, max_chars)]


def _assemble(source: str, units: list[_Unit]) -> tuple[str, list[Span]]:
    """Chunk text: source slices per segment, joined by newlines, and the span map."""
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    k = 0
    while k < len(units):
        m = k
        while m + 1 < len(units) and units[m + 1].segment == units[k].segment:
            m += 1
        s, e = units[k].start, units[m].end
        if parts:
            parts.append("\n")
            pos += 1
        spans.append(Span(chunk_start=pos, source_start=s, length=e - s))
        parts.append(source[s:e])
        pos += e - s
        k = m + 1
    return "".join(parts), spans


def _overlap_start(units: list[_Unit], floor: int, j: int, overlap_tokens: int) -> int:
    """First unit of the next chunk: trailing whole sentences worth at most ``overlap_tokens``.

    Never before ``floor``: the next chunk must start later than this one, and
    may repeat only what this chunk added, so no sentence is in three chunks.
    """
    k, total = j, 0
    while k - 1 >= floor and total + units[k - 1].tokens <= overlap_tokens:
        k -= 1
        total += units[k].tokens
    return k


def embedding_text(title: str, text: str, counter: TokenCounter, window: int, text_tokens: int | None = None) -> str:
    """Title line plus chunk text, the title trimmed so the whole fits the window.

    ``text_tokens`` is the text's word-piece count if known (``Chunk.n_tokens``).
    """
    text_tokens = counter.count_tokens(text) if text_tokens is None else text_tokens
    room = window - 2 - text_tokens  # [CLS] and [SEP]
    if room <= 1 or not title:
        return text
    offsets = counter.token_offsets(title)
    if len(offsets) >= room:
        title = title[: offsets[room - 2][1]] if room >= 2 else ""
    return f"{title}\n{text}" if title else text

"""Property-based tests (hypothesis) of cleaning and chunking on generated, often hostile, text.

For any text: every kept segment and every chunk copies its source characters
exactly; no chunk exceeds the window; every character cleaning kept reaches
a chunk; neighbouring chunks share at most the declared overlap and
non-neighbours nothing.
"""

from __future__ import annotations

import re
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.chunk import MAX_CHARS_PER_TOKEN, chunk, embedding_text
from rag.ingest.clean import _BULLET, _whole_line, clean
from rag.sentences import line_spans

WORDS = ["Kyiv", "talks", "the", "minister", "said", "U.S.", "Dr.", "e.g.", "3.5", "1,200", "co-operation",
         "don't", "Zürich", "naïve", "東京", "😀", "الرياض", "Ω", "https://example.com/a?b=c", "www.x.org",
         "Post a Comment", "Share this", "#", ">", "-", "*", "|", "\u200b", "\u00ad", "\ufeff", "e\u0301",
         "\u202e", "a" * 150, "pneumonoultramicroscopicsilicovolcanoconiosis" * 3, "x" * 3000,
         "\u200b".join(["word"] * 80)]
SEPARATORS = [" ", " ", " ", "  ", ". ", "? ", "! ", ", ", "; ", "\n", "\n\n", "\r\n", "\t", " \u00a0",
              "\x00", "\x1b[31m", "\x1b]0;t\x07", "\x0c", "\u2028", ".\n", "...", " — ", " \u200b ", " \u0301 ",
              "\ufffd", "    "]

fragment = st.one_of(
    st.sampled_from(WORDS),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=12),
    st.text(min_size=1, max_size=6),  # any code points, control characters included (surrogates excluded)
)

def _joined(parts: list[tuple[str, str]]) -> str:
    return "".join(a + b for a, b in parts)


# Anything at all, and article-shaped text: paragraphs of sentences, some far longer than the window.
soup = st.lists(st.tuples(fragment, st.sampled_from(SEPARATORS)), max_size=400).map(_joined)
sentence = st.tuples(
    st.integers(1, 300).flatmap(lambda n: st.lists(  # lengths drawn evenly, so sentences over the window are common
        st.tuples(fragment, st.sampled_from([" ", " ", " ", ", ", "  ", "\t", " \u200b "])), min_size=n, max_size=n)
    ).map(_joined),
    st.sampled_from([".", "?", "!", "", "...", '."']),
).map("".join)
paragraphs = st.lists(st.tuples(st.lists(sentence, min_size=1, max_size=6).map(" ".join),
                                st.sampled_from(["\n", "\n\n", "\r\n", "\x1b[0m\n", " "])),
                      min_size=1, max_size=6).map(_joined)
texts = st.one_of(soup, paragraphs)

FAST = settings(max_examples=120, deadline=None)
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(texts, st.booleans())
def test_cleaning_keeps_exact_slices_and_accounts_for_every_line(text, markdown):
    cleaned = clean(text, markdown=markdown)
    previous_end, lines_kept = 0, 0
    for start, end in cleaned.segments:
        assert previous_end <= start < end <= len(text)  # in order, inside the text, never overlapping
        kept = text[start:end]
        assert kept == kept.strip() and any(ch.isalnum() for ch in kept)
        assert not any(ch in kept for ch in "\x00\x1b\x0c\u2028")
        breaks = re.findall(r"[ \t]*(?:\r\n|\r|\n)[ \t]*", kept)  # only soft wraps inside a paragraph:
        assert all(b.count("\n") + b.count("\r") - b.count("\r\n") == 1 for b in breaks)  # never a blank line
        lines_kept += len(line_spans(text, start, end))
        previous_end = end
    assert lines_kept + cleaned.dropped == len(line_spans(text))  # each line kept or counted dropped
    whole = [text[s:e] for s, e in cleaned.segments if _whole_line(text, s, e)]  # fragments may repeat: they are text
    keys = [" ".join(line.casefold().split()) for line in whole]
    assert len(keys) == len(set(keys))  # a repeated paragraph is kept once


@FAST
@given(texts)
def test_cleaning_what_cleaning_kept_keeps_all_of_it(text):
    kept = "\n\n".join(clean(text).lines())  # each kept paragraph on its own
    again = clean(kept).lines()

    def distinct_lines(paragraphs: list[str]) -> set[str]:
        # a plain-text list mark is not content: a line that opened with "- " inside a wrapped paragraph keeps
        # it, and loses it (by design, rag.ingest.clean._BULLET) once it stands as a paragraph of its own
        return {" ".join(_BULLET.sub("", line.strip()).casefold().split())
                for p in paragraphs for line in p.splitlines() if line.strip()}

    # nothing it kept is dropped the second time (a repeat may be: as whole lines, repeated fragments are
    # repeated paragraphs), and nothing new appears
    assert distinct_lines(again) == distinct_lines(kept.split("\n\n"))


@SLOW
@given(texts, st.sampled_from([32, 64, 200, 254]), st.integers(0, 64), st.booleans())
def test_chunks_copy_the_source_fit_the_window_and_lose_nothing(embedder, text, max_tokens, overlap, markdown):
    cleaned = clean(text, markdown=markdown)
    chunks = chunk(cleaned, "doc", embedder, max_tokens, overlap)
    assert bool(chunks) == bool(cleaned.segments)
    covered: list[set[int]] = []
    for c in chunks:
        pieces = []
        for span in c.spans:  # each span is an exact copy of source characters
            piece = c.text[span.chunk_start : span.chunk_start + span.length]
            assert piece == text[span.source_start : span.source_start + span.length]
            pieces.append(piece)
        assert c.text == "\n".join(pieces)
        assert c.n_tokens == embedder.count_tokens(c.text) <= max_tokens
        assert len(c.text) <= max_tokens * MAX_CHARS_PER_TOKEN  # a 2 MB "word" is one unknown piece, not one chunk
        title_and_text = embedding_text("A headline that is rather long " * 8, c.text, embedder, embedder.max_tokens)
        assert embedder.count_tokens(title_and_text) + 2 <= embedder.max_tokens  # with [CLS] and [SEP]
        covered.append({i for s in c.spans for i in range(s.source_start, s.source_start + s.length)})

    kept = {i for start, end in cleaned.segments for i in range(start, end) if not text[i].isspace()}
    assert kept <= set().union(*covered), "text that cleaning kept never reached a chunk"
    for k in range(len(chunks) - 1):
        assert chunks[k].start < chunks[k + 1].start and chunks[k].end < chunks[k + 1].end  # each adds new text
        shared = sorted(covered[k] & covered[k + 1])
        assert _tokens(embedder, text, shared) <= overlap
        if k + 2 < len(chunks):
            assert not covered[k] & covered[k + 2], "a passage repeated beyond the neighbouring chunk"


def _tokens(embedder, text: str, positions: list[int]) -> int:
    """Word pieces in the characters at ``positions``, counted run by run."""
    runs, total = [], 0
    for i in positions:
        if runs and runs[-1][1] == i:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1])
    for start, end in runs:
        total += embedder.count_tokens(text[start:end])
    return total


# --- any script, any Unicode form, wrapped: offsets stay exact -------------------------------------------

SCRIPT_WORDS = ["Lefèvre", "Zürich", "naïve", "ﬁnal", "ﬂood", "Ｔｏｋｙｏ", "２０２５", "Straße", "Łódź", "東京駅",
                "该项目总投资约为120亿元", "станций", "Казани", "εισιτήριο", "Νάξο", "الرياض", "नई", "मेट्रो",
                "서울에서", "Ἀθῆναι", "co-operation", "U.S.", "45\u00a0000", "recon\u00adstruction", "e\u0301te\u0301",
                "«quoted»", "“curly”", "it’s", "😀", "—", "|", "Dr.", "3.5"]
ENDS = [".", "!", "?", "。", "？", "؟", ";", ""]


@st.composite
def script_paragraphs(draw) -> str:
    """Paragraphs of sentences in many scripts, some words decomposed (NFD), some paragraphs hard-wrapped
    at a random width (sometimes hyphenating a word across the break), separated by blank or single lines."""
    import textwrap
    import unicodedata

    paragraphs = []
    for _ in range(draw(st.integers(1, 5))):
        sentences = []
        for _ in range(draw(st.integers(1, 6))):
            words = draw(st.lists(st.one_of(st.sampled_from(SCRIPT_WORDS), st.text(min_size=1, max_size=8)),
                                  min_size=1, max_size=25))
            if draw(st.booleans()):
                words = [unicodedata.normalize("NFD", w) for w in words]
            sentences.append(" ".join(words) + draw(st.sampled_from(ENDS)))
        paragraph = " ".join(sentences)
        width = draw(st.sampled_from([0, 20, 45, 72]))
        if width:
            lines = textwrap.wrap(paragraph, width, break_long_words=False)
            if len(lines) > 1 and draw(st.booleans()):  # hyphenate the first line's last word across the break
                last = lines[0].rsplit(" ", 1)[-1]
                if len(last) > 3 and last.isalpha():
                    lines[0] = lines[0][: -len(last)] + last[:2] + "-"
                    lines[1] = last[2:] + " " + lines[1]
            paragraph = "\n".join(lines)
        paragraphs.append(paragraph)
    return "".join(p + draw(st.sampled_from(["\n\n", "\n", "\r\n", "\n\n\n"])) for p in paragraphs)


@SLOW
@given(script_paragraphs(), st.booleans())
def test_chunks_and_quotes_slice_any_unicode_text_exactly(embedder, text, markdown):
    from rag.answer.citations import cite, passage_sentences
    from rag.types import Passage

    cleaned = clean(text, markdown=markdown)
    for c in chunk(cleaned, "doc", embedder, 64, 16):
        passage = Passage(chunk_id=c.chunk_id, doc_id="doc", text=c.text, title="t", source="s", file_name="f",
                          start=c.start, end=c.end, spans=c.spans, score=0.0)
        sentences = passage_sentences(passage)
        assert sentences or not c.text.strip()
        for s, e in sentences:
            citation = cite(1, passage, s, e)
            assert text[citation.start:citation.end] == citation.quote == c.text[s:e]

from pathlib import Path

import pytest

from rag.ingest.clean import clean
from rag.ingest.metadata import byline, guess_title

from .conftest import ARTICLES


def _kept(text: str) -> str:
    return "\n".join(clean(text).lines())


@pytest.mark.parametrize(
    "line",
    ["Post a Comment", "Leave a Comment", "0 Comments", "Header Ads Widget", "https://newsttoday.com/",
     "www.example.com/a/b", "Advertisement", "| --- | --- |", "   "],
)
def test_boilerplate_lines_are_dropped(line):
    text = f"Headline here\n{line}\nA real sentence about talks in Moscow on Friday."
    assert line.strip() not in _kept(text).splitlines()
    assert "A real sentence about talks in Moscow on Friday." in _kept(text)


def test_article_text_mentioning_comments_is_kept():
    text = "He declined to comment on the talks.\nOfficials said 3 comments were sent."
    assert _kept(text) == text


def test_url_glued_to_the_last_sentence_is_cut_off():
    src = (ARTICLES / "000_8b6024e873124198.txt").read_text()
    kept = _kept(src)
    assert "newsttoday" not in kept
    assert kept.rstrip().endswith("still far from reach.")
    assert "Leave a Comment" not in kept


def test_repeated_paragraphs_of_article_004_are_dropped_once_kept_once():
    src = (ARTICLES / "004_f5b7d64b8615fc46.txt").read_text()
    cleaned = clean(src)
    lines = cleaned.lines()
    assert len(lines) == len(set(lines))
    repeated = "In recent developments, the Kremlin has downplayed the possibility"
    assert sum(repeated in line for line in lines) == 1
    assert src.count(repeated) == 2
    assert cleaned.dropped >= 9  # 8 repeated body paragraphs + the repeated headline


@pytest.mark.parametrize("path", sorted(ARTICLES.glob("*.txt")), ids=lambda p: p.name)
def test_segments_point_at_the_exact_source_characters(path: Path):
    src = path.read_text()
    cleaned = clean(src)
    assert cleaned.segments == sorted(cleaned.segments)
    for start, end in cleaned.segments:
        piece = src[start:end]
        assert piece == piece.strip() and piece


def test_title_and_date_guesses():
    assert guess_title(clean((ARTICLES / "001_6455e6dab78b474c.txt").read_text()), "x") == (
        "Trump Pulls Back from Direct Role in Russia-Ukraine Peace Talks")
    assert guess_title(clean((ARTICLES / "004_f5b7d64b8615fc46.txt").read_text()), "x") == (
        "Kremlin Downplays Talks with Zelensky as Trump Urges Dialogue with Putin")
    long_first = guess_title(clean((ARTICLES / "002_336aeb1108c76b5e.txt").read_text()), "x")
    assert long_first.endswith("…") and len(long_first) <= 91
    assert guess_title(clean(""), "fallback") == "fallback"
    assert str(byline(clean("Title\nPublished August 22, 2025\nBody text.")).published) == "2025-08-22"
    assert str(byline(clean("Title\ndate: 2024-02-29\nBody.")).published) == "2024-02-29"
    assert byline(clean("On Thursday, August 21, Trump posted.")).published is None

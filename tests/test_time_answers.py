"""Answers as of a date, over a dated corpus of our own (eval/datasets/temporal: a town's ferry story, March to
November 2025): later articles are not evidence, recency ranks, old evidence and differing reports are said."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import RAG, Settings
from rag.answer.timeline import DIGEST_LIMIT, news_digest
from rag.cli import app as cli
from rag.time import resolve

from .conftest import ROOT

DATED = ROOT / "eval" / "datasets" / "temporal"
D = date.fromisoformat


@pytest.fixture(scope="module")
def dated_dir(embedder, model_cache, tmp_path_factory):
    folder = tmp_path_factory.mktemp("dated_index")
    shutil.copytree(model_cache, folder / "models")  # the CLI's own model load finds the export made once
    RAG(Settings(data_dir=folder), embedder=embedder).ingest([DATED], progress=False)
    return folder


@pytest.fixture
def dated(dated_dir, embedder):
    def make(**overrides) -> RAG:
        return RAG(Settings(data_dir=dated_dir, **overrides), embedder=embedder)
    return make


def test_articles_published_after_as_of_are_not_evidence(dated):
    rag = dated()
    passages = rag.retrieve("How many passengers did the Lakeport ferry carry?", as_of="2025-06-01", top_k=10)
    assert passages and all(p.published and p.published <= D("2025-06-01") for p in passages)
    answer = rag.ask("Who won the Lakeport special election?", as_of="2025-05-01")  # held on 19 July
    assert answer.abstained and answer.as_of == D("2025-05-01")
    assert not rag.ask("Who won the Lakeport special election?", as_of="2025-08-01").abstained


def test_recency_ranks_the_newest_matches_first_and_can_be_turned_off(dated):
    question = "What is the latest news about the Lakeport ferry?"
    timed = dated().retrieve(question, as_of="2025-12-01")
    plain = dated(time_weight=0).retrieve(question, as_of="2025-12-01")
    assert timed[0].published == D("2025-11-24")  # the fares article, the newest
    assert plain[0].published != D("2025-11-24")


def test_recency_does_not_drop_a_strong_older_match(dated):
    question = "What is the Lakeport ferry's newest cost estimate?"
    passages = dated().retrieve(question, as_of="2025-12-01")
    assert passages[0].published == D("2025-06-09")  # the 18 million article, not the newer fares one
    answer = dated().ask(question, as_of="2025-12-01")
    assert "18 million dollars" in answer.text and answer.citations[0].published == D("2025-06-09")


def test_a_period_question_prefers_articles_of_that_period(dated):
    question = "Lakeport ferry news in April"
    assert dated().retrieve(question, as_of="2025-12-01")[0].published == D("2025-04-14")
    assert dated(time_weight=0).retrieve(question, as_of="2025-12-01")[0].published != D("2025-04-14")


def test_the_answer_records_what_was_resolved(dated):
    answer = dated().ask("What closed Lakeport harbour this week?", as_of="2025-06-14")
    assert [s.describe() for s in answer.time_scopes] == ['"this week" -> 2025-06-07..2025-06-14']
    assert "storm" in answer.text.lower() and answer.citations[0].published == D("2025-06-12")
    assert answer.citations[0].outlet == "lakeportherald.com"


def test_differing_reports_are_shown_with_their_dates_latest_first(dated):
    answer = dated().ask("How much will the Lakeport ferry cost, according to the latest estimate?",
                         as_of="2025-06-13")
    assert answer.short_answer == "18 million dollars"
    assert answer.notices[0].startswith("Reports differ: 18 million dollars on 9 June 2025 [")
    assert "is the latest report; 15 million dollars on 14 April 2025 [" in answer.notices[0]
    earlier = dated().ask("What is the latest cost estimate for the Lakeport ferry?", as_of="2025-04-20")
    assert "15 million" in earlier.text and "18 million" not in earlier.text + " ".join(earlier.notices)


def test_a_period_with_no_quoted_article_in_it_is_said(dated, corpus_rag):
    answer = dated().ask("How many passengers did the Lakeport ferry carry in September?", as_of="2025-09-10")
    assert any(n.startswith("No quoted article is from 1 September 2025 to 10 September 2025; they are from")
               for n in answer.notices)
    undated = corpus_rag.ask("What did Lavrov say this week?")
    assert any("have no published date, so whether they are from" in n for n in undated.notices)


def test_old_evidence_is_said_and_recent_evidence_is_not(dated):
    old = dated().ask("What closed Lakeport harbour?", as_of="2026-01-15")
    assert "The newest article quoted is from 12 June 2025." in old.notices
    fresh = dated().ask("What closed Lakeport harbour?", as_of="2025-06-20")
    assert not any(n.startswith("The newest article") for n in fresh.notices)


def test_ask_batch_takes_one_date_per_question(dated):
    rag = dated()
    questions = ["Who won the Lakeport special election?"] * 2
    early, late = rag.ask_batch(questions, as_of=["2025-05-01", "2025-08-01"], progress=False)
    assert early.abstained and not late.abstained and "Oyelaran" in late.text
    with pytest.raises(ValueError, match="one per question"):
        rag.ask_batch(questions, as_of=["2025-05-01"], progress=False)
    assert rag.ask_batch(["x"], as_of=["not a date"], progress=False)[0].error.startswith("ValueError")


def test_cli_as_of_shows_the_date_the_resolved_words_and_the_notes(dated_dir, monkeypatch):
    monkeypatch.setenv("RAG_DATA_DIR", str(dated_dir))
    runner = CliRunner()
    out = runner.invoke(cli, ["ask", "How much will the Lakeport ferry cost, according to the latest estimate?",
                              "--as-of", "2025-06-13"])
    assert out.exit_code == 0, out.output
    assert 'As of 13 June 2025: "latest" -> newest first' in out.output
    assert "Note: Reports differ: 18 million dollars on 9 June 2025" in out.output
    assert "coastalwire.net, 2025-06-09" in out.output  # every source shows its outlet and date
    bad = runner.invoke(cli, ["ask", "Who is the mayor?", "--as-of", "June"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_batch_file_lines_may_carry_their_own_as_of(dated_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_DATA_DIR", str(dated_dir))
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": "Who won the Lakeport special election?",
                                     "as_of": "2025-05-01"}) + "\n" +
                         json.dumps({"id": "b", "question": "Who won the Lakeport special election?"}) + "\n")
    out = tmp_path / "answers.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(questions), "-o", str(out), "--as-of", "2025-08-01"])
    assert result.exit_code == 0, result.output
    rows = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["a"]["abstained"] and rows["a"]["as_of"] == "2025-05-01"
    assert not rows["b"]["abstained"] and rows["b"]["as_of"] == "2025-08-01"
    questions.write_text(json.dumps({"question": "x", "as_of": "soon"}) + "\n")
    bad = CliRunner().invoke(cli, ["batch", str(questions), "-o", str(tmp_path / "o2.jsonl")])
    assert bad.exit_code != 0 and "q.jsonl:1" in bad.output


def test_undated_articles_stay_evidence_whatever_the_date(corpus_rag):
    """The sample corpus has no dates: as_of and time words neither drop nor boost its articles."""
    question = "How long did Trump's phone call with Putin last?"
    assert corpus_rag.ask(question, as_of="2020-01-01").text == corpus_rag.ask(question).text
    latest = corpus_rag.ask("What is the latest on Trump's phone call with Putin?", as_of="2020-01-01")
    assert not latest.abstained and latest.notices == []


@pytest.fixture(scope="module")
def syndicated(embedder, tmp_path_factory):
    """The dated corpus plus a wire copy of the storm story, a day later on another site, lightly edited."""
    folder = tmp_path_factory.mktemp("syndicated")
    shutil.copytree(DATED, folder, dirs_exist_ok=True)
    (folder / "2025-06-13_wire_storm.txt").write_text(
        "Lakeport harbour shut by storm\nPublished 2025-06-13 · regionalwire.com\n\n"
        "A storm with winds up to 110 kilometres per hour has closed Lakeport harbour, officials said Thursday. "
        "Fishing boats were moved to Greyhaven overnight. The regional weather office expects calmer days.\n",
        encoding="utf-8")
    rag = RAG(Settings(data_dir=tmp_path_factory.mktemp("syndicated_index")), embedder=embedder)
    rag.ingest([folder], progress=False)
    return rag


def test_timeline_is_dated_cited_ordered_and_merges_the_same_event(syndicated):
    found = syndicated.timeline("the storm at Lakeport harbour and the ferry", as_of="2025-12-01")
    days = [e.day for e in found.events]
    assert days == sorted(days) and len(days) >= 3
    storm = [e for e in found.events if "storm" in e.text.lower()]
    assert len(storm) == 1 and storm[0].day == D("2025-06-12")  # the earliest report leads...
    assert [found.passages[c.n - 1].outlet for c in storm[0].also] == ["regionalwire.com"]  # ...the copy joins it
    for event in found.events:
        c = event.citation
        assert found.passages[c.n - 1].published == event.day
        assert (DATED / found.passages[c.n - 1].file_name).read_text(encoding="utf-8")[c.start:c.end] == c.quote


def test_timeline_bounds_and_the_what_happened_question(dated):
    rag = dated()
    bounded = rag.timeline("the Lakeport ferry", since="2025-05-01", until="2025-06-30")
    assert bounded.events and all(D("2025-05-01") <= e.day <= D("2025-06-30") for e in bounded.events)
    answer = rag.ask("What happened with the Lakeport ferry?", as_of="2025-07-01")
    lines = answer.text.splitlines()
    assert len(lines) >= 4 and lines[0].startswith("- 3 March 2025: ") and lines[0].endswith("]")
    assert len(answer.citations) == len(lines) and not answer.abstained
    week = rag.ask("What happened in Lakeport this week?", as_of="2025-06-14")
    assert week.text.splitlines()[-1].startswith("- 12 June 2025: A storm")
    assert all("2025-06-07" <= c.published.isoformat() <= "2025-06-14" for c in week.citations)
    with pytest.raises(ValueError, match="put the earlier date first"):
        rag.timeline("ferry", since="2025-09-01", until="2025-01-01")


@pytest.mark.parametrize("question, digest", [
    ("What happened this week?", True), ("What's new?", True), ("Any news from yesterday?", True),
    ("What happened over the weekend?", True), ("Headlines on Monday", True), ("What happened in August?", True),
    ("What happened last week in the world?", True), ("What has happened since June?", True),
    ("What happened with the ferry this week?", False), ("What happened in Lakeport this week?", False),
    ("What happened to the mayor?", False), ("What is the news about the ferry?", False),
    ("How much will the ferry cost this week?", False), ("newsletter today", False),
])
def test_a_question_for_the_news_of_a_period_is_told_from_one_about_a_topic(question, digest):
    assert news_digest(question, resolve(question, D("2025-06-13"))) is digest


def test_what_happened_this_week_lists_the_weeks_articles_each_cited_to_its_lead(dated):
    answer = dated().ask("What happened this week?", as_of="2025-06-13")
    lines = answer.text.splitlines()
    assert not answer.abstained and answer.mode == "extractive"
    assert [line[:len("- 12 June 2025")] for line in lines] == ["- 9 June 2025:", "- 11 June 2025", "- 12 June 2025"]
    assert "18 million dollars" in lines[0] and "Millbrook public library reopened" in lines[1]
    assert "storm" in lines[2] and "Published" not in answer.text  # the lead, not the byline or headline
    assert [c.published for c in answer.citations] == [D("2025-06-09"), D("2025-06-11"), D("2025-06-12")]
    for citation in answer.citations:  # each quote is its article's own text, at its offsets in the file
        assert Path(citation.source).read_text()[citation.start:citation.end] == citation.quote
    empty = dated().ask("What happened over the weekend?", as_of="2025-06-10")  # 7-8 June: nothing published
    assert empty.abstained and empty.notices == ["No article in the index is from 7 June 2025 to 8 June 2025."]
    later = dated().ask("What happened this week?", as_of="2025-06-10")  # the 11th and 12th are not yet out
    assert [c.published for c in later.citations] == [D("2025-06-09")]


def test_a_period_with_more_articles_than_are_listed_says_so(make_rag, tmp_path):
    folder = tmp_path / "busy_week"
    folder.mkdir()
    for i in range(DIGEST_LIMIT + 3):
        day = date(2025, 3, 1 + i % 7)
        (folder / f"story{i:02d}.txt").write_text(
            f"Story number {i}\nPublished {day.isoformat()} · example.org\n\n"
            f"The council of town {i} voted on its budget for the coming year on that day.\n")
    rag = make_rag()
    rag.ingest([folder], progress=False)
    answer = rag.ask("What happened this week?", as_of="2025-03-07")
    assert len(answer.citations) == DIGEST_LIMIT
    assert answer.notices == [f"The {DIGEST_LIMIT} newest of the {DIGEST_LIMIT + 3} articles from 28 February 2025 "
                              "to 7 March 2025 are listed; name a topic to narrow them."]
    days = [c.published for c in answer.citations]
    assert days == sorted(days) and days[0] > date(2025, 3, 1)  # the oldest day's stories are the ones left out


def test_a_story_the_articles_do_not_tell_gets_no_timeline(dated):
    rag = dated()
    for topic in ("the Mars rover", "volcano eruption in Iceland", "the stock market crash"):
        assert rag.timeline(topic, as_of="2025-12-01").events == [], topic
    assert rag.ask("What happened with the Mars rover?", as_of="2025-12-01").abstained


def test_timeline_over_undated_articles_says_why_it_is_empty(corpus_rag):
    found = corpus_rag.timeline("Ukraine peace talks")
    assert found.events == [] and found.undated >= 1


def test_cli_timeline(dated_dir, monkeypatch):
    monkeypatch.setenv("RAG_DATA_DIR", str(dated_dir))
    out = CliRunner().invoke(cli, ["timeline", "the Lakeport ferry", "--until", "2025-06-30"])
    assert out.exit_code == 0, out.output
    lines = [line for line in out.output.splitlines() if not line.startswith(" ")]
    assert lines[0] == "Dates are when each article was published."
    assert lines[1].startswith("3 March 2025  The Lakeport city council voted") and len(lines) >= 5
    assert not re.search(r"\[\d+\]", out.output)  # no passage numbers without a list to look them up in
    empty = CliRunner().invoke(cli, ["timeline", "the Lakeport ferry", "--as-of", "2025-01-01"])
    assert "No dated article tells this story" in empty.output and "published after 1 January 2025" in empty.output
    bad = CliRunner().invoke(cli, ["timeline", "ferry", "--since", "2025-6-1"])
    assert bad.exit_code != 0 and "--since '2025-6-1' is not a date" in bad.output
    assert "(lakeportherald.com, 2025-03-03" in out.output


def test_an_empty_retrieval_says_when_dates_are_the_reason(corpus_rag, dated):
    from ui import render

    undated = corpus_rag.ask("How long was the call?", filters={"date_from": "2025-01-01"})
    assert undated.abstained and undated.passages == []
    assert len(undated.notices) == 1 and undated.notices[0].startswith("No article published from 1 January 2025 to ")
    assert undated.notices[0].endswith("matched; 5 of the 5 articles have no published date, so a date filter "
                                       "leaves them out.")
    html = render.answer_html(undated, 1)
    assert "Filtered&#58; published 2025&#45;01&#45;01 to now" in html and "no published date" in html
    assert "closest passages are under Sources" not in html  # there are none
    early = dated().ask("How much will the Lakeport ferry cost?", as_of="2025-01-01")
    assert early.abstained and early.notices == [
        "11 of the 11 articles were published after 1 January 2025, so they are not evidence as of that date."]
    assert "_As of 1 January 2025_" in render.answer_markdown(early)

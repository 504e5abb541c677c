"""Questions about the article itself (author, date, outlet) are answered from its metadata, cited to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.base import ABSTAIN_TEXT
from rag.answer.metadata import _prints, asked_field

BYLINES = Path(__file__).parent / "fixtures" / "cases" / "bylines"


@pytest.mark.parametrize("question, field", [
    ("Who wrote the article about the cycle lanes?", "author"),
    ("Who is the author?", "author"),
    ("Who's the author?", "author"),
    ("Who wrote this?", "author"),
    ("Who is the article's author?", "author"),
    ("What is the byline of the story on the council vote?", "author"),
    ("When was the article about cycle lanes published?", "published"),
    ("When was it published?", "published"),
    ("What date is the article from?", "published"),
    ("What is the date of the article?", "published"),
    ("On what date was the article about Trump pulling back from the talks published?", "published"),
    ("What is the publication date of the story on the bridge?", "published"),
    ("Which newspaper published the story about the cycle lanes?", "outlet"),
    ("Which outlet is this from?", "outlet"),
    ("What's the headline of the article about Trump stepping away from the talks?", "title"),
    ("What headline ran on the piece about the Kremlin?", "title"),
    ("When was the wolves story published?", "published"),
    ("What publication ran the wolves story?", "outlet"),
    # questions about the story, not the article
    ("Who wrote the letter to Putin?", None),
    ("When was it released?", None),
    ("When was the report published?", None),
    ("How old is Biden?", None),
    ("Who reported the attack first?", None),
    ("Where was the summit held?", None),
    ("What is the title of the book Biden wrote?", None),
    ("What was the film called?", None),
    ("What date did the article say construction would start?", None),
    ("Which website published the leaked documents?", None),
    ("What paper published the study?", None),
    ("When was the piece of legislation published?", None),
    ("Who penned the piece of music?", None),
    ("When did the story's hero first appear?", None),
    ("What is the publication date of the report?", None),
    ("What was headline inflation in May?", None),
])
def test_asked_field(question, field):
    assert asked_field(question) == field


@pytest.mark.parametrize("line, dated", [
    ("By a staff reporter | Sept. 14, 2025", True), ("By a staff reporter | 14.09.2025", True),
    ("Published 2025-09-14", True),
    ("The council will vote again on Oct. 2, 2025.", False),  # the same year, another date: a story sentence
    ("By a staff reporter | Sept. 4, 2025", False),
])
def test_the_dateline_quoted_prints_that_very_date(line, dated):
    from datetime import date
    assert _prints(line, date(2025, 9, 14)) is dated


@pytest.fixture(scope="module")
def bylines_rag(embedder, tmp_path_factory):
    from rag import RAG, Settings

    rag = RAG(Settings(data_dir=tmp_path_factory.mktemp("bylines")), embedder=embedder)
    rag.ingest([BYLINES], progress=False)
    return rag


def test_who_wrote_it_quotes_the_byline(bylines_rag):
    a = bylines_rag.ask("Who wrote the article about the cycle lanes?")
    assert not a.abstained and a.short_answer == "a staff reporter"
    assert "written by a staff reporter [1]" in a.text
    cited = a.citations[0]
    assert cited.quote.startswith("By a staff reporter")  # the printed byline, not a story sentence
    s, e = cited.answer_span
    assert cited.quote[s:e] == "a staff reporter"
    source = Path(cited.source).read_text()
    assert source[cited.start:cited.end] == cited.quote


def test_when_was_it_published_after_a_question_about_the_story(bylines_rag):
    history = [{"role": "user", "content": "How many kilometres of cycle lanes did the council approve?"},
               {"role": "assistant", "content": "The city council approved 12 kilometres of protected cycle lanes "
                                                "on the eastern ring road, in a vote of 31 to 14. [1]"}]
    filters = {"sources": ["ap_sept.txt"]}  # one of nine near-copies, each with its own byline date
    a = bylines_rag.ask("When was it published?", history=history, filters=filters)
    published = a.passages[0].published
    assert published is not None and published.isoformat() == "2025-09-14"
    assert a.short_answer == "14 September 2025"  # as the answer writes it, so the page can mark it there
    assert a.citations[0].quote == "By a staff reporter | Sept. 14, 2025"  # the dateline, not a story sentence
    assert f"was published on {a.short_answer} [1]" in a.text
    assert a.citations[0].published == published


@pytest.mark.parametrize("question", ["Who wrote the article about the Mars rover landing?",
                                      "Who wrote the article about Mars?",  # not the byline's "Mar 3"
                                      "Who wrote the article about the March parade?"])
def test_no_article_about_the_topic_names_none(bylines_rag, question):
    a = bylines_rag.ask(question)
    assert a.abstained and not a.citations and a.text == ABSTAIN_TEXT  # no article named, none quoted


def test_the_article_of_the_last_question_or_a_question_back(corpus_rag):
    history = [{"role": "user", "content": "What did Lavrov say about the peace talks?"},
               {"role": "assistant", "content": "Lavrov said that “there is still a long road ahead,” [1]"}]
    a = corpus_rag.ask("Who wrote the article?", history=history)
    assert a.abstained and a.text == ("The article \u201cLavrov: Ukraine Peace Still Far Despite Trump Pressure\u201d "
                                      "does not name its author.")
    history += [{"role": "user", "content": "Who wrote the article?"}, {"role": "assistant", "content": a.text}]
    a = corpus_rag.ask("What's the headline?", history=history)  # still that article, two questions on
    assert a.short_answer == "Lavrov: Ukraine Peace Still Far Despite Trump Pressure"
    a = corpus_rag.ask("Who wrote this article?")  # no conversation: which article is meant is unknown
    assert a.abstained and not a.citations and a.text.startswith("Which article?")
    a = corpus_rag.ask("What's the headline?", filters={"sources": ["001_6455e6dab78b474c.txt"]})
    assert a.short_answer == "Trump Pulls Back from Direct Role in Russia-Ukraine Peace Talks"  # chosen on the page
    two = {"sources": ["000_8b6024e873124198.txt", "001_6455e6dab78b474c.txt"]}
    a = corpus_rag.ask("Who wrote this article?", filters=two, top_k=1)  # two chosen, one retrieved: still unnamed
    assert a.abstained and a.text.startswith("Which article?")


def test_an_article_without_the_field_is_not_given_one(bylines_rag):
    a = bylines_rag.ask("Which newspaper published the story about the cycle lanes?")
    assert a.abstained and not a.citations  # no outlet is recorded: nothing is made up, no story sentence quoted
    assert a.text == f"The article \u201c{a.passages[0].title}\u201d does not name the outlet that published it."


def test_the_sample_corpus_records_no_authors_but_prints_its_headlines(corpus_rag):
    a = corpus_rag.ask("Who wrote the article about Lavrov saying peace is still far off?")
    assert a.abstained and "does not name its author" in a.text
    a = corpus_rag.ask("What's the headline of the article about Trump stepping away from the peace talks?")
    title = "Trump Pulls Back from Direct Role in Russia-Ukraine Peace Talks"
    assert a.short_answer == title and a.citations[0].quote == title  # the headline line, quoted from the file
    assert a.citations[0].answer_span == (0, len(title))


def test_llm_mode_answers_it_the_same_way_without_a_model_call(llm_rag, fake_llm):
    rag = llm_rag()
    a = rag.ask("What's the headline of the article about Trump stepping away from the peace talks?")
    assert a.mode == "llm" and a.short_answer == "Trump Pulls Back from Direct Role in Russia-Ukraine Peace Talks"
    assert fake_llm.requests == []  # the headline is the article's, not the model's to write
    fake_llm.queue("Lavrov said there is still a long road ahead [1].")
    rag.ask("What did Lavrov say about the peace talks?")
    assert len(fake_llm.requests) == 1  # a question about the story still goes to the model


def test_a_title_ingest_made_up_is_not_called_a_headline(make_rag, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "harbour.txt").write_text(
        "The harbour authority confirmed on Monday that the northern breakwater will be rebuilt over the next two "
        "winters, at a cost the council has not yet published. Ferries will keep their timetable during the works.\n")
    rag = make_rag()
    rag.ingest([folder], progress=False)
    a = rag.ask("What's the headline of the article about the harbour breakwater?")
    assert a.abstained and "prints no headline of its own" in a.text  # its title is the first line, cut with "…"

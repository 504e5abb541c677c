"""Bylines and dates: every article's published date (and updated date, author, outlet, URL) where it says one.

Case byline-date-formats (inputs copied under tests/fixtures/cases/bylines),
then more of the kind: front matter, a metadata sidecar, PDF metadata that
is malformed or beaten by a printed date.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from rag import Filters
from rag.ingest.clean import clean
from rag.ingest.metadata import byline, front_matter, parse_date

from .fixtures.mkpdf import write_pdf

CASE = Path(__file__).parent / "fixtures" / "cases" / "bylines"
CASE_DATES = {
    "abbr_nodot.txt": date(2025, 3, 3), "ap_jan.txt": date(2025, 1, 5), "ap_sept.txt": date(2025, 9, 14),
    "dots_eu.txt": date(2025, 9, 14), "full.txt": date(2025, 3, 3), "ordinal.txt": date(2025, 3, 3),
    "slashes_us.txt": None,  # 03/04/2025: March 4 or 3 April; undated unless RAG_DATE_ORDER says
    "upper.txt": date(2025, 3, 3), "weekday.txt": date(2025, 3, 3),
}


def test_byline_case_dates_every_unambiguous_format(make_rag):
    rag = make_rag()
    rag.ingest([CASE], progress=False)
    assert {a.file_name: a.published for a in rag.documents()} == CASE_DATES
    assert {a.author for a in rag.documents()} == {"a staff reporter"}
    dated = rag.retrieve("How many kilometres of cycle lanes did the council approve?", top_k=20,
                         filters=Filters(date_from=date(2025, 1, 1)))
    assert dated and all(p.file_name != "slashes_us.txt" and p.published for p in dated)


def test_date_order_setting_reads_all_numeric_dates(make_rag):
    rag = make_rag(date_order="MDY")
    rag.ingest([CASE / "slashes_us.txt", CASE / "dots_eu.txt"], progress=False)
    assert {a.file_name: a.published for a in rag.documents()} == {
        "slashes_us.txt": date(2025, 3, 4), "dots_eu.txt": date(2025, 9, 14)}  # 14 cannot be a month


@pytest.mark.parametrize(("head", "published", "updated", "author"), [
    ("By Jane Doe | Sept. 14, 2025", date(2025, 9, 14), None, "Jane Doe"),
    ("By Jane Doe and John Roe, March 3, 2025", date(2025, 3, 3), None, "Jane Doe and John Roe"),
    ("Published: 14.09.2025 · Updated: 16.09.2025", date(2025, 9, 14), date(2025, 9, 16), None),
    ("Posted on March 3rd, 2025 by Jane Doe", date(2025, 3, 3), None, "Jane Doe"),
    ("Updated 9:14 AM EST, Tue March 4, 2025", None, date(2025, 3, 4), None),
    ("Jan. 5, 2025", date(2025, 1, 5), None, None),
    ("5 January 2025", date(2025, 1, 5), None, None),
    ("Опубликовано: 5 марта 2025", date(2025, 3, 5), None, None),
    ("发布日期：2025-03-04", date(2025, 3, 4), None, None),
    ("Δημοσιεύθηκε: 2025-03-06", date(2025, 3, 6), None, None),
    ("March 3, 2025 / 4:05 PM / Updated 2 hours ago", date(2025, 3, 3), None, None),
    ("Mar. 3, 2025 Updated Mar. 4, 2025", date(2025, 3, 3), date(2025, 3, 4), None),
    ("Written by Jane Doe on 03 March 2025", date(2025, 3, 3), None, "Jane Doe"),
    ("Jane Doe, Reuters, 2025-06-07", date(2025, 6, 7), None, None),
    ("2025年3月3日 新华社", date(2025, 3, 3), None, None),
    ("Par Jean Dupont, publié le 7 juin 2025", date(2025, 6, 7), None, "Jean Dupont"),
    ("Автор: Иван Петров, 12 марта 2025", date(2025, 3, 12), None, "Иван Петров"),
    ("Publicado el 5 de marzo de 2025", date(2025, 3, 5), None, None),
    ("Tue 03/04/2025 10:30", None, None, None),  # ambiguous wherever it stands
    ("03/04/2025", None, None, None),
    ("04/04/2025", date(2025, 4, 4), None, None),  # day and month cannot swap
])
def test_bylines_in_common_formats(head, published, updated, author):
    meta = byline(clean(f"Council approves new cycle lanes\n\n{head}\n\nThe council approved 12 kilometres of lanes."))
    assert (meta.published, meta.updated, meta.author) == (published, updated, author)


@pytest.mark.parametrize("text", [
    "Trump held a 40-minute call with Putin\n\nOn Thursday, August 21, Trump posted.\nThe call lasted 40 minutes.",
    "Title\n\nThe council approved 12 kilometres of lanes in a vote of 31 to 14 on 3 March 2025, officials said "
    "after the meeting ended late in the evening with a long debate about parking spaces.",
    "Title\n\nYesterday\n\nBody text here.",
    "Title\n\n3 days ago, 2025\n\nBody text here.",  # relative, whatever year it names
])
def test_story_sentences_and_relative_dates_are_not_bylines(text):
    assert byline(clean(text)).published is None


@pytest.mark.parametrize("sentence", [
    "The 60,000-seat stadium was designed by Foster and Partners.",
    "Officials said 1 new crane would be installed by the end of the year.",
])
def test_a_story_sentence_gives_no_author(sentence):
    assert byline(clean(f"New stadium\n\n{sentence}\nIt opens next year.")).author is None


def test_parse_date_refuses_what_is_not_a_whole_date():
    assert parse_date("2025-02-30") is None and parse_date("not a date") is None and parse_date("") is None
    assert parse_date(12345) is None and parse_date(None) is None
    assert parse_date("March 2025") is None  # no day
    assert parse_date("2025-03-04T10:00:00Z") == date(2025, 3, 4)


def test_front_matter_is_metadata_not_text(make_rag, tmp_path):
    (tmp_path / "yaml.md").write_text(
        "---\ntitle: Ferry fares to rise\ndate: 2025-02-03\nauthor: [Ann Lee, Bo Chen]\npublisher: Harbour News\n"
        "url: https://news.example/ferry\n---\n\n# Ferry fares\n\nFares on the island ferry will rise by 8% in May.\n",
        encoding="utf-8")
    (tmp_path / "toml.md").write_text(
        "+++\ntitle = \"Bus lanes\"\ndate = 2025-04-05\n+++\n\nThe city will paint four new bus lanes.\n",
        encoding="utf-8")
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\n\nText of the broken one stays text.\n",
                                        encoding="utf-8")
    rag = make_rag()
    rag.ingest([tmp_path], progress=False)
    docs = {a.file_name: a for a in rag.documents()}
    assert (docs["yaml.md"].title, docs["yaml.md"].published, docs["yaml.md"].author, docs["yaml.md"].outlet,
            docs["yaml.md"].url) == ("Ferry fares to rise", date(2025, 2, 3), "Ann Lee, Bo Chen", "Harbour News",
                                     "https://news.example/ferry")
    assert (docs["toml.md"].title, docs["toml.md"].published) == ("Bus lanes", date(2025, 4, 5))
    assert docs["broken.md"].published is None  # indexed, the field unknown
    assert "title: [unclosed" in " ".join(p.text for p in rag.passages())  # not front matter: it stays text
    texts = " ".join(p.text for p in rag.passages())
    assert "publisher:" not in texts and "+++" not in texts and "Fares on the island ferry" in texts
    answer = rag.ask("By how much will ferry fares rise?")
    citation = answer.citations[0]
    assert (citation.author, citation.outlet, citation.url, citation.published) == (
        "Ann Lee, Bo Chen", "Harbour News", "https://news.example/ferry", date(2025, 2, 3))


def test_front_matter_parser_reports_where_the_text_begins():
    meta, body = front_matter("---\ndate: 2025-01-02\n---\nBody")
    assert meta.published == date(2025, 1, 2) and body == len("---\ndate: 2025-01-02\n---\n")
    assert front_matter("No front matter\n---\n") == (front_matter("")[0], 0)
    # a rule around prose is not front matter: the headline stays text
    assert front_matter("---\nBreaking news: the bridge is closed\n---\nThe bridge closed today.")[1] == 0
    assert front_matter("---\nsummary: a short one\n---\nBody")[1] == 0  # no key front matter uses


def test_a_sidecar_beside_a_scraped_corpus(make_rag, tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "2025").mkdir(parents=True)
    (corpus / "2025" / "a.txt").write_text("Dam repairs begin\n\nWork on the dam starts next week.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Library opens late\n\nPublished: 2025-01-01\n\nThe library now opens until 10 pm.\n",
                                  encoding="utf-8")
    (corpus / "c.txt").write_text("School year\n\nThe school year starts on 1 September.\n", encoding="utf-8")
    (corpus / "metadata.csv").write_text(
        "file,published,author,outlet,url\n"
        "2025/a.txt,2025-06-01,Ann Lee,Valley Gazette,https://gazette.example/dam\n"
        "b.txt,2025-02-02,,,\n"
        "c.txt,not a date,,,javascript:alert(1)\n"
        "gone.txt,2025-01-01,,,\n", encoding="utf-8")
    rag = make_rag()
    report = rag.ingest([corpus], progress=False)
    assert report.added == 3 and not report.skipped  # the sidecar itself is not reported as a skipped file
    docs = {a.file_name: a for a in rag.documents()}
    assert (docs["a.txt"].published, docs["a.txt"].author, docs["a.txt"].outlet, docs["a.txt"].url) == (
        date(2025, 6, 1), "Ann Lee", "Valley Gazette", "https://gazette.example/dam")
    assert docs["b.txt"].published == date(2025, 2, 2)  # the sidecar beats the printed byline
    assert docs["c.txt"].published is None and docs["c.txt"].url is None  # bad values: unknown, still indexed
    assert any("c.txt: published 'not a date' could not be read" in w for w in report.warnings)
    assert any("c.txt: url 'javascript:alert(1)' could not be read" in w for w in report.warnings)
    assert any("'gone.txt', which is not a file there" in w for w in report.warnings)

    (corpus / "metadata.csv").write_text("file,published\n2025/a.txt,2025-07-01\n", encoding="utf-8")
    report = rag.ingest([corpus], progress=False)  # an edited (or removed) row re-indexes its file
    assert report.updated == 3 and report.unchanged == 0 and {a.file_name: a.published for a in rag.documents()}["a.txt"] == date(2025, 7, 1)


def test_a_jsonl_sidecar_and_its_bad_lines(make_rag, tmp_path):
    (tmp_path / "a.txt").write_text("Dam repairs begin\n\nWork on the dam starts next week.\n", encoding="utf-8")
    (tmp_path / "metadata.jsonl").write_text(
        json.dumps({"file": "a.txt", "published": "Sept. 14, 2025", "author": {"name": "Ann Lee"}}) + "\n"
        "{not json\n" + json.dumps({"published": "2025-01-01"}) + "\n", encoding="utf-8")
    rag = make_rag()
    report = rag.ingest([tmp_path], progress=False)
    doc = rag.documents()[0]
    assert (doc.published, doc.author) == (date(2025, 9, 14), "Ann Lee")
    assert len(report.warnings) == 2 and "metadata.jsonl:2" in report.warnings[0]


def test_pdf_metadata_malformed_or_beaten_by_a_printed_date(make_rag, tmp_path):
    tmp_path = tmp_path / "pdfs"
    tmp_path.mkdir()
    body = ["Bridge closed for repairs", "By Ann Lee | March 3, 2025", "The old bridge will close for two weeks."]
    write_pdf(tmp_path / "printed.pdf", body, info={"/CreationDate": "D:20240101000000Z", "/Author": "Scanner"})
    write_pdf(tmp_path / "bad-date.pdf", ["Road works", "The ring road gets new lanes next year."],
              info={"/CreationDate": "yesterday afternoon", "/Title": ""})
    write_pdf(tmp_path / "created.pdf", ["Park reopens", "The city park reopened after storm damage."],
              info={"/CreationDate": "D:20250822120000Z", "/Title": "Park reopens"})
    rag = make_rag()
    report = rag.ingest([tmp_path], progress=False)
    assert report.added == 3 and not report.skipped
    docs = {a.file_name: a for a in rag.documents()}
    assert docs["printed.pdf"].published == date(2025, 3, 3)  # printed in the article: beats CreationDate
    assert docs["printed.pdf"].author == "Ann Lee"  # the printed byline beats the PDF's Author (an account name)
    assert docs["bad-date.pdf"].published is None and docs["bad-date.pdf"].title == "Road works"
    assert docs["created.pdf"].published == date(2025, 8, 22)  # nothing printed: when the file was made


def test_a_spreadsheet_sidecar_with_capitalised_columns_and_semicolons(make_rag, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Dam repairs begin\n\nWork on the dam starts next week.\n", encoding="utf-8")
    (corpus / "metadata.csv").write_text("File;Published;Author\na.txt;2025-06-01;Ann Lee\n", encoding="utf-8")
    rag = make_rag()
    report = rag.ingest([corpus], progress=False)
    doc = rag.documents()[0]
    assert (doc.published, doc.author, report.warnings) == (date(2025, 6, 1), "Ann Lee", [])


def test_a_pdf_creation_date_without_a_day_is_no_date(tmp_path):
    from rag.ingest.readers import parse

    write_pdf(tmp_path / "year.pdf", ["Budget passes", "The council passed the budget."],
              info={"/CreationDate": "D:2025"})
    raw = parse(tmp_path / "year.pdf", (tmp_path / "year.pdf").read_bytes())
    assert raw.file_meta.published is None  # pypdf would say 2025-01-01: a day nobody wrote

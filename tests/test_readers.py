from datetime import date

import pytest

from rag.ingest.readers import SkipFile, discover, parse, read_bytes

from .fixtures.files import ARTICLE_HTML, pdf_bytes, write_bad_files


def test_html_main_text_title_and_date(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(ARTICLE_HTML)
    raw = parse(path, path.read_bytes())
    assert raw.kind == "html"
    assert raw.meta.title == "Ceasefire talks resume in Geneva"
    assert raw.meta.published == date(2025, 9, 3)
    assert "exchange 120 prisoners" in raw.text
    assert "alert" not in raw.text and "Home" not in raw.text


def test_pdf_text_and_metadata(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes(["Envoys met in Riyadh on Monday.", "They agreed on a 30-day truce."],
                               title="Riyadh talks"))
    raw = parse(path, path.read_bytes())
    assert "30-day truce" in raw.text
    assert raw.file_meta.title == "Riyadh talks"
    assert raw.meta.published is None and raw.file_meta.published == date(2025, 8, 22)  # when made, not printed


def test_text_offsets_are_characters_of_the_file_as_is(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("Title\r\n\r\nCafé talks — day two.\r\n".encode())
    raw = parse(path, path.read_bytes())
    assert raw.text == "Title\r\n\r\nCafé talks — day two.\r\n"


def test_bad_files_are_refused_with_reasons(tmp_path):
    limit = 10_000
    expected = write_bad_files(tmp_path, limit)
    files, skipped = discover([tmp_path])
    reasons = dict(skipped)
    for path in files:
        try:
            parse(path, read_bytes(path, limit))
        except SkipFile as exc:
            reasons[str(path)] = str(exc)
    by_name = {p.rsplit("/", 1)[-1]: r for p, r in reasons.items()}
    for name, word in expected.items():
        if name == "only-boilerplate.txt":
            continue  # parses fine; cleaning refuses it (see test_ingest)
        assert word.lower() in by_name[name].lower(), (name, by_name.get(name))


def test_discover_walks_folders_skips_hidden_and_reports_missing(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.md").write_text("# T\nBody text here.")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "y.txt").write_text("hidden")
    (tmp_path / ".hidden.txt").write_text("hidden")
    files, skipped = discover([tmp_path, tmp_path / "a" / "b" / "x.md", tmp_path / "nope"])
    assert [f.name for f in files] == ["x.md"]
    assert skipped == [(str(tmp_path / "nope"), "no such file or folder")]
    with pytest.raises(SkipFile, match="empty"):
        empty = tmp_path / "e.txt"
        empty.write_text("")
        read_bytes(empty, 100)

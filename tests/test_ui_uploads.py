"""Uploads: only supported types, under the size limit, and never outside the upload folder."""

from __future__ import annotations

import pytest

from rag.uploads import safe_name, save_uploads, taken_names


@pytest.mark.parametrize("given, expected", [
    ("article.txt", "article.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\windows\\evil.md", "evil.md"),
    ("/abs/path/Story.HTML", "Story.html"),
    ("..", "upload"),
    (".hidden.txt", "hidden.txt"),
    ("my story (final).pdf", "my_story__final_.pdf"),
    ('<img src=x onerror="a()">.txt', "_img_src_x_onerror__a____.txt"),
    ("nul\x00byte.txt", "nul_byte.txt"),
    ("Zürich news.md", "Zürich_news.md"),
    ("a" * 300 + ".txt", "a" * 116 + ".txt"),
    ("字" * 200 + ".txt", "字" * 38 + ".txt"),  # 114 bytes + ".txt": names are limited in bytes
])
def test_safe_name(given, expected):
    assert safe_name(given) == expected


def test_save_uploads_keeps_good_files_and_gives_reasons_for_the_rest(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    good = src / "good.txt"
    good.write_text("A fine article.")
    big = src / "big.md"
    big.write_bytes(b"x" * 2001)
    exe = src / "tool.exe"
    exe.write_bytes(b"MZ")
    upload_dir = tmp_path / "uploads"
    saved = save_uploads([good, big, exe, src / "vanished.txt"], None, upload_dir, max_bytes=2000)
    assert saved.paths == [upload_dir.resolve() / "good.txt"]
    assert (upload_dir / "good.txt").read_text() == "A fine article."
    reasons = dict(saved.rejected)
    assert "over the" in reasons["big.md"] and "RAG_MAX_FILE_MB" in reasons["big.md"]
    assert "unsupported file type '.exe'" in reasons["tool.exe"]
    assert "could not be read" in reasons["vanished.txt"]


def test_hostile_names_land_inside_the_upload_folder(tmp_path):
    src = tmp_path / "x.txt"
    src.write_text("text")
    upload_dir = tmp_path / "deep" / "uploads"
    names = ["../../escaped.txt", "/etc/cron.d/job.txt", "..%2F..%2Fe.txt"]
    saved = save_uploads([src, src, src], names, upload_dir, max_bytes=100)
    assert len(saved.paths) == 3 and not saved.rejected
    assert all(p.parent == upload_dir.resolve() for p in saved.paths)
    assert sorted(p.name for p in upload_dir.iterdir()) == ["_2F.._2Fe.txt", "escaped.txt", "job.txt"]
    assert not (tmp_path / "escaped.txt").exists()


def test_two_files_saved_under_one_name_in_a_batch_are_refused(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("first")
    b.write_text("second")
    saved = save_uploads([a, b], ["my story.txt", "my_story.txt"], tmp_path / "up", max_bytes=100)
    assert [p.name for p in saved.paths] == ["my_story.txt"]
    assert (tmp_path / "up" / "my_story.txt").read_text() == "first"
    assert "also saved as my_story.txt" in dict(saved.rejected)["my_story.txt"]


def test_an_upload_may_not_take_a_corpus_articles_name_but_may_replace_an_upload(tmp_path):
    from rag import ArticleInfo

    articles = [ArticleInfo(doc_id="1", title="Trump Pulls Back", source="/corpus/001_a.txt", file_name="001_a.txt",
                            chunks=3),
                ArticleInfo(doc_id="2", title="Mine", source="/up/mine.txt", file_name="mine.txt", chunks=1,
                            origin="upload", uploaded_by="bob")]
    taken = taken_names(articles)
    assert taken == {"001_a.txt": "Trump Pulls Back"}
    src = tmp_path / "x.txt"
    src.write_text("A false figure.")
    upload_dir = tmp_path / "uploads"
    saved = save_uploads([src, src, src], ["001_a.txt", "001_A.TXT", "mine.txt"], upload_dir, 100, taken)
    assert [p.name for p in saved.paths] == ["mine.txt"]
    reasons = dict(saved.rejected)
    assert set(reasons) == {"001_a.txt", "001_A.TXT"}
    assert "already called 001_a.txt (“Trump Pulls Back”)" in reasons["001_a.txt"] and "Rename the file" in reasons["001_a.txt"]
    assert sorted(p.name for p in upload_dir.iterdir()) == ["mine.txt"]

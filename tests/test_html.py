"""The HTML reader: a broken install stops the run once, with the fix.

Case html-ingest-lxml-clean (its input copied under tests/fixtures/html_case/).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag import ReaderUnavailableError
from rag.ingest import readers

from .fixtures.procs import child_env

CASES = Path(__file__).parent / "fixtures" / "html_case"
COOKIE_CASE_DIR = CASES / "cookie_banner"
LXML_CLEAN_CASE_PAGE = CASES / "lxml_clean" / "page.html"


@pytest.fixture
def cookie_case(tmp_path) -> Path:
    target = tmp_path / "case"
    shutil.copytree(COOKIE_CASE_DIR, target)
    return target


def test_lxml_clean_case_page_is_indexed_with_its_title(make_rag, tmp_path):
    page = tmp_path / "page.html"
    shutil.copy(LXML_CLEAN_CASE_PAGE, page)
    rag = make_rag()
    report = rag.ingest([page], progress=False)
    assert report.added == 1, report.skipped
    assert [d.title for d in rag.documents()] == ["Ferry timetable changes"]


@pytest.fixture
def fresh_reader_check():
    """require_reader remembers success; forget it around a test that takes a module away."""
    readers.require_reader.cache_clear()
    yield
    readers.require_reader.cache_clear()


def test_missing_html_dependency_fails_the_ingest_once_and_keeps_the_index(
        make_rag, cookie_case, monkeypatch, fresh_reader_check):
    rag = make_rag()
    assert rag.ingest([cookie_case], progress=False).added == 4
    stored = {a.doc_id: a.chunks for a in rag.documents()}
    (cookie_case / "common" / "storm.txt").write_text("Storm update\n\nThe storm has passed and power is back.\n")
    shutil.copy(LXML_CLEAN_CASE_PAGE, cookie_case / "ferry.html")
    # as after an install by pip 23.2: None in sys.modules makes `import lxml_html_clean` fail
    monkeypatch.setitem(sys.modules, "lxml_html_clean", None)
    readers.require_reader.cache_clear()

    for rebuild in (False, True):
        with pytest.raises(ReaderUnavailableError) as caught:
            rag.ingest([cookie_case], rebuild=rebuild, progress=False)
        message = str(caught.value)
        assert "lxml_html_clean" in message and "pip install lxml_html_clean" in message
        assert {a.doc_id: a.chunks for a in rag.documents()} == stored  # nothing written, nothing wiped
    assert "power is back" not in " ".join(p.text for p in rag.passages())

    # without the check up front, the first HTML file stops the run: once, and nothing stored is deleted
    monkeypatch.setattr("rag.api.check_readers", lambda files: None)
    with pytest.raises(ReaderUnavailableError):
        rag.ingest([cookie_case], progress=False)
    after = {a.doc_id: a.chunks for a in rag.documents()}
    assert after.keys() == stored.keys() and all(after.values())


def test_missing_html_dependency_is_one_line_from_the_command(make_rag, model_cache, tmp_path):
    """A real `rag ingest` whose Python cannot import lxml_html_clean: one error line, exit 1, index kept."""
    page = tmp_path / "articles" / "page.html"
    page.parent.mkdir()
    shutil.copy(LXML_CLEAN_CASE_PAGE, page)
    (page.parent / "note.txt").write_text("Harbour note\n\nThe harbour reopens on Monday after dredging.\n")
    rag = make_rag()
    rag.ingest([page.parent / "note.txt"], progress=False)
    data_dir = Path(rag.settings.data_dir)
    shutil.copytree(model_cache, data_dir / "models")
    script = ("import sys; sys.modules['lxml_html_clean'] = None; sys.argv[0] = 'rag'\n"
              "from rag.cli import app; app()")
    proc = subprocess.run([sys.executable, "-c", script, "ingest", "--rebuild", str(page.parent)],
                          cwd=tmp_path, env=child_env(data_dir), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: HTML files need lxml_html_clean"), proc.stderr
    assert "pip install lxml_html_clean" in lines[0] and "skipped" not in proc.stdout + proc.stderr
    assert [d.file_name for d in make_rag().documents()] == ["note.txt"]
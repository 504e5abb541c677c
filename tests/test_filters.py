"""Keys that match nothing (case filter-keys-match-nothing): source filters, `--source` and `remove`.

A key is a doc id, a file name or a path resolved as `rag ingest` resolves it; one that names no
indexed article is an error naming it and its nearest file names, never a silent empty result.
The two articles are tests/fixtures/filter_case (copied from the case), indexed from a folder
``articles`` under the current directory, as the case's run.sh does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import Filters, UnknownSourceError
from rag import cli
from rag.cli import app
from tests.fixtures.procs import child_env

CASE = Path(__file__).parent / "fixtures" / "filter_case"
Q = "How many homes had their electricity cut by the storm?"
STORM_ANSWER = "cutting electricity to about 45,000 homes"
runner = CliRunner()


@pytest.fixture
def case_dir(tmp_path, monkeypatch) -> Path:
    """The case's folder as the current directory: ./articles/{storm,harbour}.txt."""
    root = tmp_path / "case"
    shutil.copytree(CASE, root / "articles")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def case_rag(make_rag, case_dir):
    rag = make_rag()
    report = rag.ingest(["articles"], progress=False)  # relative, as `rag ingest articles`
    assert report.added == 2
    return rag


@pytest.fixture
def rag_cli(case_rag, monkeypatch):
    """`rag ...` in-process against the case index, sharing the loaded model."""
    monkeypatch.setattr(cli, "_rag", lambda data_dir: case_rag)

    def invoke(*args: str):
        return runner.invoke(app, list(args))
    return invoke


def names(rag) -> list[str]:
    return sorted(d.file_name for d in rag.documents())


def doc_id(rag, file_name: str) -> str:
    return next(d.doc_id for d in rag.documents() if d.file_name == file_name)


# --- the case, as run.sh runs it ------------------------------------------------

def test_control_answers_from_storm(rag_cli):
    result = rag_cli("ask", Q, "--source", "storm.txt")
    assert result.exit_code == 0, result.output
    assert STORM_ANSWER in result.output and "storm.txt, chars" in result.output


def test_typo_is_a_one_line_error_naming_the_key_and_suggesting_the_file(rag_cli):
    result = rag_cli("ask", Q, "--source", "strom.txt")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No indexed article matches 'strom.txt'")
    assert "did you mean 'storm.txt'?" in lines[0] and "harbour" not in lines[0]
    assert "not contain enough evidence" not in result.output


def test_relative_path_is_resolved_from_the_current_folder(rag_cli):
    result = rag_cli("ask", Q, "--source", "articles/storm.txt")
    assert result.exit_code == 0, result.output
    assert STORM_ANSWER in result.output and "storm.txt, chars" in result.output


def test_reversed_date_range_is_refused_in_the_cli(rag_cli):
    result = rag_cli("ask", Q, "--since", "2025-12-31", "--until", "2025-01-01")
    assert result.exit_code == 1
    assert result.output.strip() == ("error: The date range is empty: 2025-12-31 is after 2025-01-01; "
                                     "put the earlier date first.")


def test_remove_by_relative_path_removes_storm(case_rag):
    report = case_rag.remove(["articles/storm.txt"])
    assert (report.removed, report.documents_total) == (1, 1)
    assert names(case_rag) == ["harbour.txt"]
    assert (Path("articles") / "storm.txt").exists()  # the file itself is left alone


def test_remove_with_an_unknown_key_raises_and_removes_nothing(case_rag):
    chunks = case_rag.stats()["chunks"]
    with pytest.raises(UnknownSourceError, match=r"'strom\.txt' \(did you mean 'storm\.txt'\?\)"):
        case_rag.remove(["strom.txt"])
    assert names(case_rag) == ["harbour.txt", "storm.txt"] and case_rag.stats()["chunks"] == chunks
    assert STORM_ANSWER in case_rag.ask(Q).text


def test_the_typo_through_a_real_rag_process(case_dir, tmp_path, model_cache):
    """The command a user types, in its own process: error on stderr, exit 1, no traceback."""
    data = tmp_path / "proc-index"
    shutil.copytree(model_cache, data / "models")
    env = child_env(data)
    rag = [sys.executable, "-m", "rag.cli"]
    assert subprocess.run([*rag, "ingest", "articles"], env=env, capture_output=True).returncode == 0
    typo = subprocess.run([*rag, "ask", Q, "--source", "strom.txt"], env=env, capture_output=True, text=True)
    assert typo.returncode == 1 and typo.stdout == "" and "Traceback" not in typo.stderr
    assert typo.stderr.startswith("error: No indexed article matches 'strom.txt' (did you mean 'storm.txt'?)")


# --- more of the kind --------------------------------------------------------------

def test_every_kind_of_key_names_the_same_article(case_rag, case_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(case_dir.parent))
    storm = doc_id(case_rag, "storm.txt")
    absolute = str(case_dir / "articles" / "storm.txt")
    for key in ("storm.txt", "articles/storm.txt", "./articles/../articles/storm.txt", absolute,
                "~/case/articles/storm.txt", storm):
        passages = case_rag.retrieve(Q, filters=Filters(sources=[key]))
        assert passages and {p.doc_id for p in passages} == {storm}, key
    monkeypatch.chdir(case_dir / "articles")
    assert {p.doc_id for p in case_rag.retrieve(Q, filters={"sources": ["./storm.txt"]})} == {storm}


def test_a_folder_names_every_article_under_it(case_rag):
    passages = case_rag.retrieve(Q, top_k=5, filters=Filters(sources=["articles"]))
    assert {p.file_name for p in passages} == {"storm.txt", "harbour.txt"}
    with pytest.raises(UnknownSourceError, match="'artcles'"):
        case_rag.retrieve(Q, filters=Filters(sources=["artcles"]))


def test_python_api_filters_raise_for_unknown_keys(case_rag):
    for filters in (Filters(sources=["strom.txt"]), {"sources": ["strom.txt"]}):
        with pytest.raises(UnknownSourceError) as caught:
            case_rag.ask(Q, filters=filters)
        assert caught.value.keys == {"strom.txt": ["storm.txt"]}
        assert isinstance(caught.value, ValueError)
    answers = case_rag.ask_batch([Q], filters={"sources": ["strom.txt"]}, progress=False)
    assert answers[0].error.startswith("UnknownSourceError: No indexed article matches 'strom.txt'")


def test_mixed_keys_name_only_the_bad_one(case_rag):
    with pytest.raises(UnknownSourceError) as caught:
        case_rag.retrieve(Q, filters=Filters(sources=["storm.txt", "harbor.txt"]))
    assert caught.value.keys == {"harbor.txt": ["harbour.txt"]}
    assert str(caught.value).startswith("No indexed article matches 'harbor.txt' (did you mean 'harbour.txt'?): use")
    with pytest.raises(UnknownSourceError) as caught:
        case_rag.remove(["articles/storm.txt", doc_id(case_rag, "harbour.txt"), "nothing-like-it.pdf"])
    assert list(caught.value.keys) == ["nothing-like-it.pdf"] and caught.value.keys["nothing-like-it.pdf"] == []
    assert "No indexed article matches 'nothing-like-it.pdf': use" in str(caught.value)
    assert names(case_rag) == ["harbour.txt", "storm.txt"]  # all or nothing


def test_remove_by_doc_id_absolute_and_home_paths(case_rag, case_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(case_dir.parent))
    assert case_rag.remove([doc_id(case_rag, "harbour.txt")]).removed == 1
    assert case_rag.remove("~/case/articles/storm.txt").removed == 1  # one key, not its characters
    assert names(case_rag) == []
    case_rag.ingest(["articles"], progress=False)
    assert case_rag.remove([case_dir / "articles" / "storm.txt"]).removed == 1
    assert names(case_rag) == ["harbour.txt"]


def test_a_file_name_shared_by_two_folders_names_both_a_path_picks_one(case_rag, case_dir):
    other = case_dir / "later"
    other.mkdir()
    (other / "storm.txt").write_text("Storm returns\n\nPublished: 2025-03-02\n\n"
                                     "A second storm cut electricity to 12,000 homes in the valley.\n")
    case_rag.ingest(["later"], progress=False)
    both = case_rag.retrieve(Q, top_k=5, filters=Filters(sources=["storm.txt"]))
    assert {p.source for p in both} == {str(case_dir / "articles" / "storm.txt"), str(other / "storm.txt")}
    one = case_rag.retrieve(Q, top_k=5, filters=Filters(sources=["later/storm.txt"]))
    assert {p.source for p in one} == {str(other / "storm.txt")}
    assert case_rag.remove(["later/storm.txt"]).removed == 1
    assert names(case_rag) == ["harbour.txt", "storm.txt"]


def test_blank_keys_match_nothing_rather_than_everything(case_rag):
    for key in ("", "  "):
        with pytest.raises(UnknownSourceError):
            case_rag.retrieve(Q, filters=Filters(sources=[key]))
        with pytest.raises(UnknownSourceError):
            case_rag.remove([key])
    assert len(names(case_rag)) == 2


def test_a_symlinked_folder_resolves_as_ingest_resolves_it(case_rag, case_dir):
    (case_dir / "link").symlink_to(case_dir / "articles")
    storm = doc_id(case_rag, "storm.txt")
    assert {p.doc_id for p in case_rag.retrieve(Q, filters=Filters(sources=["link/storm.txt"]))} == {storm}


def test_reversed_range_is_refused_everywhere_with_one_message(case_rag):
    message = "The date range is empty: 2025-12-31 is after 2025-01-01; put the earlier date first."
    with pytest.raises(ValueError, match=message):
        Filters(date_from=date(2025, 12, 31), date_to=date(2025, 1, 1))
    with pytest.raises(ValueError) as caught:
        Filters.checked(date_from="2025-12-31", date_to="2025-01-01")
    assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        case_rag.ask(Q, filters={"date_from": "2025-12-31", "date_to": "2025-01-01"})
    assert str(caught.value) == message
    same_day = Filters(date_from=date(2025, 1, 22), date_to=date(2025, 1, 22))
    assert {p.file_name for p in case_rag.retrieve(Q, filters=same_day)} == {"storm.txt"}


def test_other_bad_filter_values_are_one_readable_line():
    with pytest.raises(ValueError) as caught:
        Filters.checked(sources="storm.txt", date_to="soon")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("sources: Input should be a valid list; date_to: ")


def test_a_name_typed_composed_finds_a_file_saved_decomposed(make_rag, tmp_path):
    """macOS saves "Besançon" decomposed (NFD); a typed --source is composed (NFC)."""
    import unicodedata

    folder = tmp_path / "nfd"
    folder.mkdir()
    name = unicodedata.normalize("NFD", "Besançon_maire.txt")
    (folder / name).write_text("Besançon elects a mayor\n\nThe new mayor won 61 percent of the vote.\n",
                               encoding="utf-8")
    rag = make_rag()
    rag.ingest([folder], progress=False)
    typed = unicodedata.normalize("NFC", "Besançon_maire.txt")
    answer = rag.ask("What share of the vote did the new mayor win?", filters={"sources": [typed]})
    assert not answer.abstained and answer.passages[0].file_name == name

"""Over 200 hostile files ingested with the sample corpus, in a real process of their own.

The run must finish; every bad file must be reported with its reason (and
nothing else reported); the harmless odd files must be indexed; every
question of the news set must get exactly the answer it gets from the sample
corpus alone; and peak memory must stay near a clean run's. Figures go to
``test-artifacts/hostile-files.json`` for the README.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eval.datasets import load_jsonl
from rag import RAG, Settings
from rag.ingest.readers import shown

from .conftest import ARTICLES, CALL_FILE, ROOT
from .fixtures.hostile import HUGE_MB, INJECTION_FILE, write_hostile_corpus
from .fixtures.procs import child_env

ARTIFACT = ROOT / "test-artifacts" / "hostile-files.json"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
MEMORY_HEADROOM_MB = 300  # over a clean run's peak; the 50 MB file alone would be 50 MB of bytes plus its text


def _run(out: Path, data_dir: Path, model_cache: Path, folders: list[Path], vanish: list[Path] = ()) -> dict:
    """The ingest in a fresh process (model export copied in, so no re-export is timed)."""
    shutil.copytree(model_cache, data_dir / "models")
    env = child_env(data_dir, RAG_TEST_VANISH=os.pathsep.join(map(str, vanish)))
    proc = subprocess.run([sys.executable, "-m", "tests.fixtures.hostile_run", str(out), *map(str, folders)],
                          env=env, capture_output=True, text=True, timeout=600, cwd=data_dir.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {**json.loads(out.read_text()), "stderr": proc.stderr}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, model_cache):
    """The hostile run (sample corpus + hostile folder), then, with the bad files deleted, the clean run.

    Both runs index the same good files under the same paths, so their indexes
    must be identical: whatever differs was left behind by a bad file.
    """
    root = tmp_path_factory.mktemp("hostile").resolve()
    files = root / "files"
    expect = write_hostile_corpus(files, ARTICLES / CALL_FILE)
    vanish = [files / name for name, e in expect.items() if e.vanish]
    dirty = _run(root / "dirty.json", root / "dirty-index", model_cache, [ARTICLES, files], vanish)
    dirty["cli"] = _cli_ingest(root / "dirty-index", [ARTICLES, files])  # again, as a user would, through the CLI
    for name, e in expect.items():
        path = files / name
        if e.outcome == "skip" and (path.is_symlink() or path.exists()):
            path.unlink()
    clean = _run(root / "clean.json", root / "clean-index", model_cache, [ARTICLES, files])
    return root, expect, clean, dirty


def test_every_bad_file_is_reported_with_its_reason_and_the_rest_indexed(hostile):
    root, expect, clean, dirty = hostile
    reported = {s["path"]: s["reason"] for s in dirty["report"]["skipped"]}
    sources = set(dirty["sources"])
    bad = {name: e for name, e in expect.items() if e.outcome == "skip"}
    assert len(bad) >= 200
    for name, e in bad.items():
        path = shown(root / "files" / name)
        assert path in reported, f"{name!r} was not reported"
        assert re.search(e.reason, reported[path], re.IGNORECASE), (name, reported[path])
        assert path not in sources
    assert len(reported) == len(bad), set(reported) - {shown(root / "files" / n) for n in bad}
    for name, e in expect.items():
        if e.outcome == "index":
            assert str(root / "files" / name) in sources, f"{name!r} was not indexed"
    assert sources == set(clean["sources"]) | {str(root / "files" / n) for n, e in expect.items() if e.outcome == "index"}
    assert len(dirty["deleted"]) == sum(e.vanish for e in expect.values())
    assert "Traceback" not in dirty["stderr"] and "EOF marker" not in dirty["stderr"]


def test_nothing_stored_carries_control_characters_or_page_scripts(hostile, embedder):
    root, _, _, _ = hostile
    rag = RAG(Settings(data_dir=root / "dirty-index"), embedder=embedder)
    assert rag.check() == []
    hits = rag._open_store().hits()
    assert hits and not [h.chunk_id for h in hits if CONTROL.search(h.text) or CONTROL.search(h.meta["title"])]
    titles = {Path(h.meta["source"]).name: h.meta["title"] for h in hits}
    # no control character is left in them (checked above); what remains of the escapes is inert text,
    # since trafilatura drops an HTML title's ESC and BEL and pypdf reads a PDF title's ESC as "˙"
    assert titles["escape-title.pdf"].startswith("Library") and titles["escape-title.html"].startswith("Vellmark")
    page = [h.text for h in hits if h.meta["source"].endswith("article-among-scripts.html")]
    assert page and "Vellmark ferry" in page[0]
    assert not any(word in page[0] for word in ("var s", "evil.example", "document.write"))


def _key(answer):
    return (answer.text, answer.abstained, [(c.n, c.chunk_id, c.start, c.end, c.quote) for c in answer.citations])


def _correct(case, answer) -> bool:
    """Answered with a gold answer cited to a gold article, or (unanswerable) abstained."""
    if not case.answerable:
        return answer.abstained
    said = answer.text.casefold()
    cited = {Path(c.source).name for c in answer.citations}
    return any(a.casefold() in said for a in case.answers) and bool(cited & set(case.sources))


def test_bad_files_leave_no_trace_in_any_answer(hostile, embedder):
    """Every news question answers identically with and without the bad files beside the same good ones."""
    root, _, _, _ = hostile
    questions = [case.question for case in load_jsonl()]
    with_bad = RAG(Settings(data_dir=root / "dirty-index"), embedder=embedder).ask_batch(questions, progress=False)
    without = RAG(Settings(data_dir=root / "clean-index"), embedder=embedder).ask_batch(questions, progress=False)
    assert len(questions) >= 40
    assert [q for q, a, b in zip(questions, with_bad, without) if _key(a) != _key(b)] == []


def test_the_sample_articles_stay_answerable(hostile, corpus_rag, embedder):
    """Against the sample corpus alone: no question answered right before is answered wrong now.

    Exact equality is not expected here: 30 more documents change BM25's word
    statistics, so passages can swap places and citation numbers move.
    """
    root, _, _, _ = hostile
    cases = load_jsonl()
    questions = [case.question for case in cases]
    before = corpus_rag.ask_batch(questions, progress=False)
    after = RAG(Settings(data_dir=root / "dirty-index"), embedder=embedder).ask_batch(questions, progress=False)
    lost = [c.question for c, b, a in zip(cases, before, after) if _correct(c, b) and not _correct(c, a)]
    assert lost == []
    assert sum(map(_correct, cases, after)) >= sum(map(_correct, cases, before))
    assert not any(INJECTION_FILE in c.source for a in after for c in a.citations)
    _record(news_questions={"asked": len(cases), "correct_sample_only": sum(map(_correct, cases, before)),
                            "correct_with_hostile_files": sum(map(_correct, cases, after))})


def _record(**figures) -> None:
    """Merge figures into the artifact the README quotes."""
    known = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps({**known, **figures}, indent=2) + "\n")


def test_memory_stays_bounded_and_figures_are_recorded(hostile):
    root, expect, clean, dirty = hostile
    bad = [e for e in expect.values() if e.outcome == "skip"]
    figures = dict(
        files_tried=len(expect),
        bad_files=len(bad),
        bad_files_reported=len(dirty["report"]["skipped"]),
        odd_files_indexed=sum(e.outcome == "index" for e in expect.values()),
        largest_file_mb=HUGE_MB,
        peak_rss_mb={"good_files_only": round(clean["peak_rss_mb"]), "with_bad_files": round(dirty["peak_rss_mb"])},
        seconds={"good_files_only": round(clean["report"]["seconds"], 1),
                 "with_bad_files": round(dirty["report"]["seconds"], 1)},
        reasons=_reason_counts(dirty["report"]["skipped"]),
    )
    _record(**figures)
    assert dirty["peak_rss_mb"] < clean["peak_rss_mb"] + MEMORY_HEADROOM_MB, figures["peak_rss_mb"]


def _reason_counts(skipped: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in skipped:
        kind = re.split(r"[:(;]", item["reason"])[0].strip()
        kind = re.sub(r"\d[\d.]* MB", "N MB", kind)
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _cli_ingest(data_dir: Path, folders: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", "ingest", *map(str, folders)],
                          env=child_env(data_dir), capture_output=True, timeout=600, cwd=data_dir.parent)


def test_the_cli_prints_every_odd_name_safely_and_a_second_run_changes_nothing(hostile):
    _, _, _, dirty = hostile
    proc = dirty["cli"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert "added 0, updated 0" in out and "removed 0" in out
    assert not CONTROL.search(out + err.replace("\n", "")), "a control character reached the terminal"
    assert "\u202e" not in out + err and "\\u202e" in err  # a bidi override in a name is shown, not obeyed
    assert "\\x1b]0;pwned" in err and "\\xe9" in err  # escapes and undecodable bytes shown as text
    skipped = [line for line in err.splitlines() if line.startswith("skipped ")]
    assert len(skipped) == len(dirty["report"]["skipped"]) - len(dirty["deleted"])

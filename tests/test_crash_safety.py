"""A real `rag ingest` killed with SIGKILL at many moments; the next run must finish the same index.

Each run starts from an empty index and is killed the moment it reaches one
stage of an ingest: right after start, once the store exists, once the side
index is marked stale but before any write, after the first chunks, with a
third, two thirds and all chunks written (then the BM25 rebuild is under
way). Stages are watched from outside (the files and Chroma's row count), not
timed, with the ingest stopped at each look, so a busy machine moves the
moments but never lets a run pass a stage unseen. Then a plain
`rag ingest` completes the index. The result must be exactly an uninterrupted
run's: same documents and chunk ids and texts, and `rag stats --check`
finding Chroma and the BM25 side index in agreement.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from eval.datasets import SQUAD_A, squad_articles
from rag import RAG, EmptyIndexError, Settings

from .conftest import ARTICLES
from .fixtures.procs import child_env

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The sample articles plus three long SQuAD articles, so an ingest has several write batches."""
    folder = tmp_path_factory.mktemp("crash") / "articles"
    shutil.copytree(ARTICLES, folder)
    squad = tmp_path_factory.mktemp("squad")
    squad_articles(SQUAD_A, squad)
    for name in ("Normans.txt", "Huguenot.txt", "Yuan_dynasty.txt"):
        shutil.copy(squad / name, folder / name)
    return folder


def _ingest(corpus: Path, data_dir: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(corpus)]
    done = subprocess.run(cmd, cwd=data_dir.parent, env=child_env(data_dir), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return done


Stage = Callable[[Path, int], bool]  # (index folder, chunks of a whole run) -> reached?


def _rows(data_dir: Path) -> int:
    """Chunks Chroma has committed, read from its SQLite file (a cheap poll; 0 before it exists)."""
    path = data_dir / "chroma" / "chroma.sqlite3"
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05) as db:
            return db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:  # locked by the writer this instant, or not created yet
        return 0


STAGES: list[tuple[str, Stage]] = [
    ("at start (imports)", lambda d, n: True),
    ("once the store exists (model loaded)", lambda d, n: (d / "chroma" / "chroma.sqlite3").exists()),
    ("marked stale, before any write", lambda d, n: (d / "bm25.dirty").exists()),
    ("after the first chunks", lambda d, n: _rows(d) >= 1),
    ("a third written", lambda d, n: _rows(d) >= n / 3),
    ("two thirds written", lambda d, n: _rows(d) >= 2 * n / 3),
    ("all written, side index rebuilding", lambda d, n: _rows(d) >= n),
]


def _kill_at(stage: Stage, corpus: Path, data_dir: Path, total: int, cmd: list[str] | None = None,
             env: dict[str, str] | None = None) -> float:
    """Start an ingest (or ``cmd``) and SIGKILL it at ``stage``; seconds it ran. Fails if it ended first.

    The ingest runs in short steps: stopped (SIGSTOP) while the stage is
    checked, continued for 10 ms otherwise, so it cannot run through a stage
    between two looks however busy the machine is (every stage lasts far
    longer than one step).
    """
    proc = subprocess.Popen(cmd or [sys.executable, "-m", "rag.cli", "ingest", str(corpus)], cwd=data_dir.parent,
                            env=env or child_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.perf_counter()
    try:
        while True:
            proc.send_signal(signal.SIGSTOP)
            if stage(data_dir, total):
                break
            if proc.poll() is not None:
                pytest.fail(f"the ingest ended (exit {proc.returncode}) before the stage was seen")
            proc.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return time.perf_counter() - started


def _state(data_dir: Path, embedder) -> dict[str, tuple[str, str]]:
    """Chunk id -> (doc id, text) as Chroma holds them; empty if the kill came before the collection existed."""
    rag = RAG(Settings(_env_file=None, data_dir=data_dir), embedder=embedder)
    try:
        return {p.chunk_id: (p.doc_id, p.text) for p in rag.passages()}
    except EmptyIndexError:
        return {}


def _seed_models(src: Path, data_dir: Path) -> None:
    """Each fresh index reuses the ONNX export, so the kills fall on ingest work, not on exporting."""
    data_dir.mkdir(parents=True)
    shutil.copytree(src / "models", data_dir / "models")


def test_sigkill_at_any_moment_then_ingest_gives_the_uninterrupted_index(corpus, tmp_path, embedder):
    reference = tmp_path / "reference" / "index"
    reference.parent.mkdir()
    started = time.perf_counter()
    _ingest(corpus, reference)  # also exports the ONNX model, which every later run reuses
    expected = _state(reference, embedder)
    assert len({doc for doc, _ in expected.values()}) == 8 and len(expected) > 100
    runs = []
    try:
        for n, (name, stage) in enumerate(STAGES):
            data_dir = tmp_path / f"run{n}" / "index"
            _seed_models(reference, data_dir)
            seconds = _kill_at(stage, corpus, data_dir, len(expected))
            runs.append({"stage": name, "killed_at_s": round(seconds, 2),
                         "chunks_before_recovery": len(_state(data_dir, embedder))})
            done = _ingest(corpus, data_dir)
            assert "skipped 0" in done.stdout
            assert _state(data_dir, embedder) == expected, f"killed {name}"
            problems = RAG(Settings(_env_file=None, data_dir=data_dir), embedder=embedder).check()
            runs[-1]["drift_after_recovery"] = problems
            assert problems == [], f"killed {name}: {problems}"
    finally:
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / "crash-safety.json").write_text(json.dumps(
            {"reference_ingest_s": round(time.perf_counter() - started, 2), "chunks": len(expected), "runs": runs},
            indent=1))
    # the kills fell at different stages: before any write, and with part or all of the chunks written
    partial = [r["chunks_before_recovery"] for r in runs]
    assert partial[:3] == [0, 0, 0] and 0 < partial[3] < len(expected) and partial[-1] == len(expected), partial
    check = subprocess.run([sys.executable, "-m", "rag.cli", "stats", "--check"], cwd=tmp_path,
                           env=child_env(data_dir),
                           capture_output=True, text=True)
    assert check.returncode == 0 and "check: ok" in check.stdout, check.stderr


def test_stats_check_reports_drift_and_exits_1(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    assert rag.check() == []
    store = rag._open_store()
    store._col.delete(ids=[next(iter(store.documents().values())).chunk_ids.pop()])  # behind rag's back
    problems = RAG(rag.settings, embedder=rag.embedder).check()
    assert any("of" in p and "chunks" in p for p in problems)  # an incomplete document
    assert any("disagree" in p for p in problems)  # BM25 still has the chunk
    from typer.testing import CliRunner

    from rag.cli import app

    result = CliRunner().invoke(app, ["stats", "--check", "--data-dir", str(rag.settings.data_dir)])
    assert result.exit_code == 1 and "drift:" in result.output
    rag.ingest([articles_copy], progress=False)
    assert RAG(rag.settings, embedder=rag.embedder).check() == []  # the next ingest repairs it


def test_an_ingest_with_nothing_to_change_still_repairs_a_side_index_killed_mid_save(make_rag, articles_copy):
    """Killed after the last Chroma write but while saving BM25: the next run changes no chunk, yet must repair."""
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    data_dir = rag.settings.data_dir
    shutil.rmtree(data_dir / "bm25")
    (data_dir / "bm25.dirty").write_text("killed mid-save\n")
    assert RAG(rag.settings, embedder=rag.embedder).check()  # drift is reported
    report = RAG(rag.settings, embedder=rag.embedder).ingest([articles_copy], progress=False)
    assert report.unchanged == 5 and report.added == report.updated == 0
    assert RAG(rag.settings, embedder=rag.embedder).check() == []

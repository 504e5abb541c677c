"""A real `rag ingest` killed with SIGKILL at many moments; the next run must finish the same index.

Each run starts from an empty index, is killed at a moment spread over a
full ingest's duration (process start, model load, embedding, Chroma writes,
the BM25 rebuild; most of them once writing has begun), then a plain
`rag ingest` completes it. The result must be
exactly an uninterrupted run's: same documents and chunk ids and texts, and
`rag stats --check` finding Chroma and the BM25 side index in agreement.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eval.datasets import SQUAD_A, squad_articles
from rag import RAG, EmptyIndexError, Settings

from .conftest import ARTICLES
from .fixtures.procs import child_env

KILLS = 10
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The sample articles plus three long SQuAD articles, so an ingest lasts long enough to be cut."""
    folder = tmp_path_factory.mktemp("crash") / "articles"
    shutil.copytree(ARTICLES, folder)
    squad = tmp_path_factory.mktemp("squad")
    squad_articles(SQUAD_A, squad)
    for name in ("Normans.txt", "Huguenot.txt", "Yuan_dynasty.txt"):
        shutil.copy(squad / name, folder / name)
    return folder


def _ingest(corpus: Path, data_dir: Path, kill_after: float | None = None) -> subprocess.CompletedProcess | None:
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(corpus)]
    proc = subprocess.Popen(cmd, cwd=data_dir.parent, env=child_env(data_dir),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if kill_after is None:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        return subprocess.CompletedProcess(cmd, 0, out, err)
    try:
        proc.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc.communicate()
    return None if proc.returncode == -signal.SIGKILL else subprocess.CompletedProcess(cmd, proc.returncode)


def _timed_ingest(corpus: Path, data_dir: Path, embedder) -> tuple[float, float]:
    """Seconds until the first chunk was in Chroma, and until the run ended (polled from outside)."""
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "ingest", str(corpus)], cwd=data_dir.parent,
                            env=child_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started, first = time.perf_counter(), None
    while proc.poll() is None:
        if first is None and _count(data_dir, embedder):
            first = time.perf_counter() - started
        time.sleep(0.1)
    full = time.perf_counter() - started
    assert proc.returncode == 0, proc.communicate()[1]
    return first or full, full


def _count(data_dir: Path, embedder) -> int:
    try:
        return RAG(Settings(_env_file=None, data_dir=data_dir), embedder=embedder)._open_store().count()
    except EmptyIndexError:  # no collection yet
        return 0


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
    _ingest(corpus, reference)  # also exports the ONNX model, which every later run reuses
    timed = tmp_path / "timed" / "index"
    _seed_models(reference, timed)
    first_write, full = _timed_ingest(corpus, timed, embedder)  # what a run with the export in place takes
    expected = _state(reference, embedder)
    assert _state(timed, embedder) == expected
    assert len({doc for doc, _ in expected.values()}) == 8 and len(expected) > 100

    # Spread over the whole run, most of them once chunks are being written: 4 kills in as many equal
    # slices of start-up (imports, model load, reading and chunking), 6 in slices of the writing phase.
    rng = random.Random(7)
    before, during = 4, KILLS - 4
    moments = ([(k + rng.random()) * first_write / before for k in range(before)]
               + [first_write + (k + rng.random()) * (full - first_write) / during for k in range(during)])
    runs = []
    try:
        for n, moment in enumerate(moments):
            for attempt in range(4):  # a run that finished before its moment tested no kill: try a little earlier
                data_dir = tmp_path / f"run{n}-{attempt}" / "index"
                _seed_models(reference, data_dir)
                if _ingest(corpus, data_dir, kill_after=moment) is None:
                    break
                moment *= 0.9
            else:
                pytest.fail(f"run {n} was never killed: every attempt finished first")
            runs.append({"killed_at_s": round(moment, 2), "chunks_before_recovery": len(_state(data_dir, embedder))})
            done = _ingest(corpus, data_dir)
            assert done is not None and "skipped 0" in done.stdout
            assert _state(data_dir, embedder) == expected, f"killed at {moment:.2f}s of {full:.2f}s"
            problems = RAG(Settings(_env_file=None, data_dir=data_dir), embedder=embedder).check()
            runs[-1]["drift_after_recovery"] = problems
            assert problems == [], f"killed at {moment:.2f}s: {problems}"
    finally:
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        (ROOT / "test-artifacts" / "crash-safety.json").write_text(
            json.dumps({"full_ingest_s": round(full, 2), "first_write_s": round(first_write, 2),
                        "chunks": len(expected), "runs": runs}, indent=1))
    # the kills fell at different stages: before any write, and with part or all of the chunks written
    partial = [r["chunks_before_recovery"] for r in runs]
    assert partial[0] == 0 and any(p > 0 for p in partial), partial
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

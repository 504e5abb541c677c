"""A real `rag sync` killed with SIGKILL at many moments; the next sync must finish the same index, once.

The feed lists seven articles on a loopback site. Each run starts from an
index that follows the feed and is killed the moment it reaches one stage:
right after start, after the first page is stored, with every page stored,
after the first chunks, and with every chunk written. Stages are
watched from outside (files and Chroma's row count) with the sync stopped at
each look, as in test_crash_safety. Then a plain `rag sync` completes it. The
result must be an uninterrupted sync's: the same articles by canonical URL and
the same chunk texts, one stored page per article, nothing twice, and
`rag stats --check` clean.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eval.datasets import SQUAD_A, squad_articles
from rag import RAG, EmptyIndexError, Settings

from .conftest import ARTICLES
from .fixtures.news_site import rss
from .fixtures.procs import child_env
from .test_crash_safety import _kill_at, _rows, _seed_models

WEB_ENV = dict(RAG_FETCH_ALLOW_NETWORKS="127.0.0.1", RAG_FETCH_HOST_INTERVAL_S="0", RAG_FETCH_BACKOFF_S="0")


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> dict[str, str]:
    """Seven articles' texts: the sample corpus and two long SQuAD articles (more than one write batch)."""
    squad = tmp_path_factory.mktemp("squad-web")
    squad_articles(SQUAD_A, squad)
    files = sorted(ARTICLES.glob("*.txt")) + [squad / n for n in ("Normans.txt", "Huguenot.txt")]
    return {f.stem.lower().replace("_", "-"): f.read_text(encoding="utf-8") for f in files}


def _publish(site, texts: dict[str, str]) -> str:
    for n, (slug, text) in enumerate(texts.items()):
        paragraphs = "".join(f"<p>{html.escape(p.strip())}</p>" for p in text.split("\n") if p.strip())
        page = (f"<!doctype html><html><head><title>Story {n}</title>"
                f'<meta property="article:published_time" content="2025-05-{n + 1:02d}T08:00:00Z"></head>'
                f"<body><article><h1>Story {n}</h1>{paragraphs}</article></body></html>")
        site.add(f"/a/{slug}", page, etag=True, last_modified=True)
    items = [(f"/a/{slug}?utm_source=feed", f"Story {n}", None, None) for n, slug in enumerate(texts)]
    site.add("/feed.xml", rss(site, items), "application/rss+xml", etag=True)
    return site.url("/feed.xml")


def _sync(data_dir: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "rag.cli", "sync"], cwd=data_dir.parent,
                          env=child_env(data_dir, **WEB_ENV), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done


def _follow(data_dir: Path, feed: str) -> None:
    RAG(Settings(_env_file=None, data_dir=data_dir)).add_feed(feed)


def _state(data_dir: Path, embedder) -> set[tuple[str, str]]:
    """(article URL, chunk text) as the index holds them: doc ids hash the page's path, which differs by run."""
    rag = RAG(Settings(_env_file=None, data_dir=data_dir), embedder=embedder)
    try:
        return {(p.url, p.text) for p in rag.passages()}
    except EmptyIndexError:
        return set()


def _pages(data_dir: Path) -> int:
    folder = data_dir / "web" / "pages"
    return len([p for p in folder.glob("*.html") if not p.name.startswith(".")]) if folder.is_dir() else 0


def test_sigkill_at_any_moment_then_sync_gives_the_uninterrupted_index(site, texts, tmp_path, embedder):
    feed = _publish(site, texts)
    reference = tmp_path / "reference" / "index"
    reference.mkdir(parents=True)
    _follow(reference, feed)
    _sync(reference)
    expected = _state(reference, embedder)
    urls = {url for url, _ in expected}
    assert len(urls) == len(texts) and len(expected) > 64  # more chunks than one write batch
    total = len(expected)
    stages = [
        ("at start (imports)", lambda d: True),
        ("first page stored", lambda d: _pages(d) >= 1),
        ("every page stored", lambda d: _pages(d) >= len(texts)),
        ("after the first chunks", lambda d: _rows(d) >= 1),
        ("every chunk written", lambda d: _rows(d) >= total),
    ]
    partial = []
    for n, (name, stage) in enumerate(stages):
        data_dir = tmp_path / f"run{n}" / "index"
        _seed_models(reference, data_dir)
        _follow(data_dir, feed)
        cmd = [sys.executable, "-m", "rag.cli", "sync"]
        _kill_at(lambda d, _total: stage(d), Path(), data_dir, total, cmd=cmd, env=child_env(data_dir, **WEB_ENV))
        partial.append((_pages(data_dir), _rows(data_dir)))
        done = _sync(data_dir)
        assert "failed 0" in done.stdout, done.stdout
        assert _state(data_dir, embedder) == expected, f"killed {name}"
        assert _pages(data_dir) == len(texts), f"killed {name}: a page stored twice"
        rag = RAG(Settings(_env_file=None, data_dir=data_dir), embedder=embedder)
        assert sorted(a.url for a in rag.documents()) == sorted(urls), f"killed {name}"
        assert rag.check() == [], f"killed {name}"
    again = _sync(data_dir)  # and the feed's validators are stored now: nothing is downloaded again
    assert "0 page(s) downloaded" in again.stdout, again.stdout
    # the kills fell at different moments: nothing stored, pages but no chunks, some chunks, all chunks
    assert partial[0] == (0, 0) and partial[1][0] >= 1 and partial[2][0] == len(texts), partial
    assert 0 < partial[3][1] and partial[4][1] >= total, partial

"""Gradio's upload cache: temporary copies deleted once used, old ones swept, the folder kept under a cap."""

from __future__ import annotations

import os

from ui.cache import CacheLimits, discard, sweep


def put(path, size: int, mtime: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (mtime, mtime))
    return path


def test_discard_deletes_copies_in_the_cache_only(tmp_path):
    cache, mine = tmp_path / "cache", tmp_path / "mine.txt"
    copy = put(cache / "abc123" / "story.txt", 10, 1000)
    mine.write_text("the user's own file")
    assert discard([str(copy), str(mine), str(cache / "gone.txt")], cache) == [copy.resolve()]
    assert not copy.exists() and not (cache / "abc123").exists() and cache.is_dir()
    assert mine.exists()


def test_sweep_deletes_old_copies_then_the_oldest_over_the_cap(tmp_path):
    cache, now = tmp_path / "cache", 100_000.0
    old = put(cache / "a" / "old.txt", 10, now - 7200)
    older_kept = put(cache / "b" / "mid.txt", 40, now - 60)
    new = put(cache / "c" / "new.txt", 40, now - 1)
    assert sweep(cache, max_age_s=3600, max_bytes=None, now=now) == [old.resolve()]
    assert not (cache / "a").exists() and older_kept.exists() and new.exists()
    assert sweep(cache, max_age_s=3600, max_bytes=50, now=now) == [older_kept.resolve()]  # oldest first
    assert [p.name for p in cache.rglob("*.txt")] == ["new.txt"]
    assert sweep(tmp_path / "missing", 1, 1) == []
    assert CacheLimits().gradio() == (600, 3600)

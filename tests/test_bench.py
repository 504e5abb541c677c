"""The benchmark suite's own parts: synthetic stores, target checks, the README table and chart.

The suite itself takes about 15 minutes and is run by hand (`make bench`); no test asserts a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bench.report import checks, table, write_chart
from bench.synthetic import fill, perturb
from rag.store import Store
from rag.text import jaccard, terms

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results.json"


def test_synthetic_store_has_the_asked_size_and_no_near_duplicates(corpus_rag, embedder, tmp_path):
    store = corpus_rag._open_store()
    base = store.hits()
    got = store._col.get(ids=[h.chunk_id for h in base], include=["embeddings"])
    vectors = np.asarray(got["embeddings"])
    big = Store(tmp_path / "big", "articles", embedder.name, embedder.dim, create=True)
    assert fill(big, base, vectors, 500) == 500
    assert big.count() == 500 and big.bm25().count == 500
    assert not (tmp_path / "big" / "bm25.dirty").exists()
    copies = big.hits()
    assert len({h.text for h in copies}) == 500
    # copies share vocabulary with their source but are not near-duplicates (retrieval would drop those)
    for hit in base[:10]:
        words = set(terms(hit.text))
        for n in (1, 2, 3):
            assert 0.2 < jaccard(words, set(terms(perturb(hit.text, base[-1].text, n)))) < 0.8


def test_checks_table_and_chart_from_the_published_results(tmp_path):
    results = json.loads(RESULTS.read_text())
    found = {c["name"]: c for c in checks(results)}
    assert len(found) == 6
    assert results["checks"] == checks(results)  # the published verdicts follow from the published figures
    rendered = table(results)
    for c in found.values():
        assert c["name"] in rendered
    assert results["machine"]["cpu"] in rendered
    readme = (RESULTS.parent.parent / "README.md").read_text()
    assert rendered in readme  # the README table was generated from results.json
    write_chart(results, tmp_path / "chart.png")
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missed_target_is_reported_as_missed():
    results = json.loads(RESULTS.read_text())
    results["cold"]["onnx"]["median_s"] = 4.5
    results["answer"]["p50_ms"] = 61.0
    results["peer"]["ours"]["hit@5"] = results["peer"]["peer"]["hit@5"]
    verdicts = {c["name"]: c["met"] for c in checks(results)}
    assert verdicts["cold `rag ask` in a fresh process, seconds (median)"] is False
    assert verdicts["warm extractive answer p50, ms (x retrieval alone)"] is False
    assert verdicts["squad2-a hit@5: ours vs naive LlamaIndex"] is False

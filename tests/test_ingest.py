import pytest

from rag import EmbeddingMismatchError, RAG, Settings, StoreCorruptedError

from .fixtures.files import ARTICLE_HTML, pdf_bytes, write_bad_files


def test_first_run_adds_second_run_skips_everything(make_rag, articles_copy):
    rag = make_rag()
    first = rag.ingest([articles_copy], progress=False)
    assert (first.added, first.updated, first.unchanged, first.skipped) == (5, 0, 0, [])
    assert first.chunks_added == first.chunks_total > 5
    second = rag.ingest([articles_copy], progress=False)
    assert (second.added, second.updated, second.unchanged, second.chunks_added) == (0, 0, 5, 0)
    assert second.chunks_total == first.chunks_total
    assert "unchanged 5" in second.summary()


def test_changed_file_is_replaced_and_old_text_is_gone(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    target = articles_copy / "001_6455e6dab78b474c.txt"
    target.write_text(target.read_text().replace("40-minute phone call", "95-minute phone call"))
    report = rag.ingest([articles_copy], progress=False)
    assert (report.updated, report.unchanged) == (1, 4)
    assert report.chunks_removed >= 1
    texts = " ".join(p.text for p in rag.retrieve("How long was Trump's phone call with Putin?", top_k=10))
    assert "95-minute" in texts and "40-minute" not in texts


def test_prune_removes_documents_whose_files_are_gone(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    (articles_copy / "002_336aeb1108c76b5e.txt").unlink()
    kept = rag.ingest([articles_copy], progress=False)
    assert kept.removed == 0 and kept.documents_total == 5  # no --prune: nothing lost
    pruned = rag.ingest([articles_copy], prune=True, progress=False)
    assert pruned.removed == 1 and pruned.documents_total == 4
    assert all(p.file_name != "002_336aeb1108c76b5e.txt"
               for p in rag.retrieve("Witkoff St. Petersburg meeting", top_k=10))


def test_rebuild_starts_over(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    report = rag.ingest([articles_copy / "000_8b6024e873124198.txt"], rebuild=True, progress=False)
    assert report.added == 1 and report.documents_total == 1


def test_bad_files_are_skipped_with_reasons_and_nothing_indexed_is_lost(make_rag, articles_copy, tmp_path):
    rag = make_rag(max_file_mb=0.02)  # 20 kB: the largest sample article is 14.6 kB
    before = rag.ingest([articles_copy], progress=False)
    bad = tmp_path / "bad"
    expected = write_bad_files(bad, max_bytes=20_000)
    # a file that was fine becomes garbage: it is skipped and its old chunks stay
    (articles_copy / "003_11921da3f1ecce55.txt").write_bytes(b"\x00\x01\x02" * 100)
    report = rag.ingest([articles_copy, bad, tmp_path / "missing-folder"], progress=False)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    for name, word in expected.items():
        assert word.lower() in reasons[name].lower(), (name, reasons.get(name))
    assert "binary" in reasons["003_11921da3f1ecce55.txt"]
    assert "no such file" in reasons["missing-folder"]
    assert report.documents_total == 5 and report.chunks_total == before.chunks_total
    assert report.added == 0 and report.unchanged == 4


def test_html_md_and_pdf_are_indexed_with_title_and_date(make_rag, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "geneva.html").write_text(ARTICLE_HTML)
    (folder / "riyadh.pdf").write_bytes(pdf_bytes(["Envoys met in Riyadh on Monday.",
                                                   "They agreed on a 30-day truce along the front."]))
    (folder / "notes.md").write_text("# Oslo briefing\n\nPublished 2025-07-01\n\n"
                                     "The foreign ministers met in Oslo to discuss grain exports.\n")
    rag = make_rag()
    report = rag.ingest([folder], progress=False)
    assert report.added == 3, report.skipped
    answer = rag.ask("How many prisoners will be exchanged?")
    assert "120 prisoners" in answer.text
    geneva = answer.passages[answer.citations[0].n - 1]
    assert geneva.title == "Ceasefire talks resume in Geneva" and str(geneva.published) == "2025-09-03"
    oslo = [p for p in rag.retrieve("Oslo grain exports", top_k=3) if p.file_name == "notes.md"][0]
    assert oslo.title == "Oslo briefing" and str(oslo.published) == "2025-07-01"
    assert "30-day truce" in rag.ask("How long is the truce agreed in Riyadh?").text


def test_interrupted_ingest_leaves_a_store_the_next_run_completes(make_rag, articles_copy, monkeypatch):
    rag = make_rag()
    rag.ingest([articles_copy / "000_8b6024e873124198.txt"], progress=False)
    from rag import indexer

    calls = {"n": 0}
    real_add = indexer.Store.add

    def dying_add(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the user pressed Ctrl-C mid-ingest
        return real_add(self, *args, **kwargs)

    monkeypatch.setattr(indexer.Store, "add", dying_add)
    with pytest.raises(KeyboardInterrupt):
        rag.ingest([articles_copy], progress=False)
    monkeypatch.setattr(indexer.Store, "add", real_add)
    store = rag._open_store()
    assert store.bm25().count == store.count()  # the side index was rebuilt on the way out
    report = rag.ingest([articles_copy], progress=False)
    assert report.unchanged == 3 and report.added == 2
    fresh = make_rag(data_dir=articles_copy.parent / "fresh")
    expected = fresh.ingest([articles_copy], progress=False)
    assert report.chunks_total == expected.chunks_total
    assert set(store.documents()) == set(fresh._open_store().documents())


def test_stale_bm25_after_a_hard_kill_is_rebuilt_before_answering(make_rag, articles_copy):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    store = rag._open_store()
    store.begin_write()  # as if the process died right after changing Chroma
    victim = sorted(store.documents()["%s" % next(iter(store.documents()))].chunk_ids)
    store.delete(victim)
    reopened = make_rag(data_dir=store.data_dir)
    ids = {p.chunk_id for p in reopened.retrieve("Lavrov peace talks", top_k=20)}
    assert not ids & set(victim)
    assert reopened._open_store().bm25().count == reopened._open_store().count()


def test_store_of_another_embedding_model_is_refused_with_the_fix(make_rag, articles_copy, embedder):
    rag = make_rag()
    rag.ingest([articles_copy / "000_8b6024e873124198.txt"], progress=False)
    collection = rag._open_store()._col
    collection.modify(metadata={"embed_model": "some-other-model", "embed_dim": 768})
    with pytest.raises(EmbeddingMismatchError, match="--rebuild"):
        make_rag(data_dir=rag.settings.data_dir).ask("What did Lavrov say?")
    report = make_rag(data_dir=rag.settings.data_dir).ingest(
        [articles_copy / "000_8b6024e873124198.txt"], rebuild=True, progress=False)
    assert report.added == 1


def test_corrupted_store_says_what_to_do(make_rag, articles_copy, embedder):
    rag = make_rag()
    rag.ingest([articles_copy / "000_8b6024e873124198.txt"], progress=False)
    data_dir = rag.settings.data_dir
    del rag
    (data_dir / "chroma" / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreCorruptedError, match="--rebuild"):
        RAG(Settings(data_dir=data_dir), embedder=embedder).ask("What did Lavrov say?")
    report = RAG(Settings(data_dir=data_dir), embedder=embedder).ingest(
        [articles_copy / "000_8b6024e873124198.txt"], rebuild=True, progress=False)
    assert report.added == 1

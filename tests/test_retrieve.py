import json
import shutil
from datetime import date

import pytest

from rag import EmptyIndexError, EmptyQuestionError, Filters, UnknownSourceError

from .conftest import CALL_FILE, ROOT


def test_passages_come_best_first_with_scores_and_metadata(corpus_rag):
    passages = corpus_rag.retrieve("How long did Trump's phone call with Putin last?", top_k=5)
    assert len(passages) == 5
    assert passages[0].file_name == CALL_FILE
    assert "40-minute phone call" in passages[0].text
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert passages[0].dense_score is not None and passages[0].bm25_score is not None
    assert len({p.chunk_id for p in passages}) == 5
    assert passages[0].title.startswith("Trump Pulls Back")


def test_filter_by_source_file(corpus_rag):
    only = "000_8b6024e873124198.txt"
    passages = corpus_rag.retrieve("phone call with Putin", top_k=5, filters=Filters(sources=[only]))
    assert passages and {p.file_name for p in passages} == {only}
    with pytest.raises(UnknownSourceError, match="No indexed article matches 'nope.txt'"):
        corpus_rag.retrieve("phone call", filters={"sources": ["nope.txt"]})  # a typo is not "no evidence"


def test_filter_by_date_range(make_rag, tmp_path):
    folder = tmp_path / "dated"
    folder.mkdir()
    for day, place in (("2025-01-10", "Ankara"), ("2025-06-10", "Vienna"), ("2025-12-10", "Doha")):
        (folder / f"{place}.md").write_text(
            f"# Talks in {place}\n\nPublished {day}\n\nDiplomats gathered in {place} for ceasefire talks.\n")
    (folder / "undated.md").write_text("# Undated\n\nDiplomats gathered in Rome for ceasefire talks.\n")
    rag = make_rag()
    rag.ingest([folder], progress=False)
    window = Filters(date_from=date(2025, 3, 1), date_to=date(2025, 9, 1))
    assert {p.file_name for p in rag.retrieve("ceasefire talks", top_k=5, filters=window)} == {"Vienna.md"}
    since = {p.file_name for p in rag.retrieve("ceasefire talks", top_k=5, filters=Filters(date_from=date(2025, 6, 1)))}
    assert since == {"Vienna.md", "Doha.md"}
    everything = {p.file_name for p in rag.retrieve("ceasefire talks", top_k=5)}
    assert "undated.md" in everything


def test_near_duplicate_passages_are_collapsed(make_rag, articles_copy):
    src = articles_copy / "001_6455e6dab78b474c.txt"
    shutil.copy(src, articles_copy / "syndicated_copy.txt")
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    passages = rag.retrieve("How long did Trump's phone call with Putin last?", top_k=5)
    with_call = [p for p in passages if "40-minute phone call" in p.text]
    assert len(with_call) == 1


def test_a_copy_leaves_both_candidate_lists_which_stay_full(make_rag, articles_copy):
    """A story's copy (``rag.stories``) takes no place in the dense or the BM25 candidates, the dense list is
    refilled past its chunks, and the BM25 mask is built once, not on every question."""
    shutil.copy(articles_copy / CALL_FILE, articles_copy / "syndicated_copy.txt")
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    retriever = rag._retriever()
    bm25 = retriever._index()
    copies = retriever.stories(bm25).copies
    assert {bm25.rows[i].file_name for i, r in enumerate(bm25.rows) if r.doc_id in copies} == {"syndicated_copy.txt"}
    question = "How long did Trump's phone call with Putin last?"
    dense = retriever._dense(rag.embedder.embed_query(question), 12, None, None, copies, bm25)
    assert len(dense) == 12 and not {bm25.doc_id(c) for c, _ in dense} & copies
    sparse = bm25.search(question, 12, hidden=copies)
    assert sparse and not {bm25.doc_id(c) for c, _ in sparse} & copies
    assert bm25._without(copies) is bm25._without(copies)
    assert "syndicated_copy.txt" not in {p.file_name for p in rag.retrieve(question, top_k=10)}


def test_empty_question_and_empty_index(make_rag, corpus_rag):
    for bad in ("", "   \n\t"):
        with pytest.raises(EmptyQuestionError, match="empty"):
            corpus_rag.retrieve(bad)
    with pytest.raises(EmptyIndexError, match="rag ingest"):
        make_rag().retrieve("anything")


def test_passages_lists_every_indexed_chunk_in_source_order(corpus_rag):
    every = corpus_rag.passages()
    assert len(every) == corpus_rag.stats()["chunks"] == len({p.chunk_id for p in every})
    assert [(p.source, p.start) for p in every] == sorted((p.source, p.start) for p in every)
    one = corpus_rag.passages(doc_id=every[0].doc_id)
    assert one and {p.doc_id for p in one} == {every[0].doc_id}
    assert [p.chunk_id for p in one] == [p.chunk_id for p in every if p.doc_id == every[0].doc_id]
    assert corpus_rag.passages(doc_id="no-such-doc") == []



def test_ranking_does_not_depend_on_where_the_corpus_lives(make_rag, tmp_path):
    """Chunk ids hash an article's absolute path; reciprocal-rank ties (dense 1st + BM25 2nd against dense
    2nd + BM25 1st) must be broken by the match, so a fresh clone elsewhere ranks (and evals) the same."""
    corpus = ROOT / "eval" / "datasets" / "temporal"  # eleven short dated articles on one story: ties are common
    here, there = make_rag(data_dir=tmp_path / "here"), make_rag(data_dir=tmp_path / "there")
    here.ingest([corpus], progress=False)
    elsewhere = tmp_path / "another" / "clone" / "temporal"
    shutil.copytree(corpus, elsewhere)
    there.ingest([elsewhere], progress=False)
    rows = [json.loads(line) for line in (ROOT / "eval" / "datasets" / "temporal.jsonl").read_text().splitlines()]
    cross_document_ties = 0
    for row in rows:
        ranked = here.retrieve(row["question"], top_k=8)
        assert [(p.file_name, p.start) for p in ranked] == [
            (p.file_name, p.start) for p in there.retrieve(row["question"], top_k=8)], row["question"]
        cross_document_ties += sum(a.score == b.score and a.file_name != b.file_name for a, b in zip(ranked, ranked[1:]))
    assert cross_document_ties > 0  # the questions do exercise the tie-break

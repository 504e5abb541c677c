import pytest

from rag.ingest.chunk import chunk, embedding_text
from rag.ingest.pipeline import build_document
from rag.types import Passage
from rag.ingest.clean import clean
from rag.ingest.readers import parse
from rag import Settings

from .conftest import ARTICLES

FILES = sorted(ARTICLES.glob("*.txt"))


def _chunks(path, embedder, **settings):
    raw = parse(path, path.read_bytes())
    return raw, build_document(raw, embedder, Settings(**settings))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_chunk_maps_back_to_the_source_and_fits_the_window(path, embedder):
    raw, (doc, chunks) = _chunks(path, embedder)
    assert chunks
    for c in chunks:
        for span in c.spans:
            assert (c.text[span.chunk_start : span.chunk_start + span.length]
                    == raw.text[span.source_start : span.source_start + span.length])
        assert raw.text[c.start : c.start + 20] == c.text[:20]
        assert c.n_tokens <= 200
        # what is really embedded: title line + text, with [CLS] and [SEP]
        full = embedding_text(doc.title, c.text, embedder, embedder.max_tokens)
        assert embedder.count_tokens(full) + 2 <= embedder.max_tokens == 256


def test_chunks_overlap_by_whole_sentences(embedder):
    _, (_, chunks) = _chunks(ARTICLES / "003_11921da3f1ecce55.txt", embedder)
    assert len(chunks) > 5
    overlapping = sum(1 for a, b in zip(chunks, chunks[1:]) if b.start < a.end)
    assert overlapping >= len(chunks) // 2
    for a, b in zip(chunks, chunks[1:]):
        assert b.start > a.start  # always progresses


def test_chunk_ids_are_stable_and_change_with_settings(embedder):
    path = ARTICLES / "000_8b6024e873124198.txt"
    ids1 = [c.chunk_id for c in _chunks(path, embedder)[1][1]]
    ids2 = [c.chunk_id for c in _chunks(path, embedder)[1][1]]
    ids3 = [c.chunk_id for c in _chunks(path, embedder, chunk_tokens=100)[1][1]]
    assert ids1 == ids2
    assert len(set(ids1)) == len(ids1)
    assert ids3 != ids1


def test_a_sentence_longer_than_the_window_is_cut_at_word_pieces(embedder):
    text = "Title line\n" + " ".join(f"word{i}" for i in range(400)) + ". Short end."
    cleaned = clean(text)
    chunks = chunk(cleaned, "doc", embedder, max_tokens=64, overlap_tokens=0)
    assert len(chunks) > 3
    for c in chunks:
        assert embedder.count_tokens(c.text) <= 64
        for span in c.spans:
            assert c.text[span.chunk_start:span.chunk_start + span.length] == text[
                span.source_start:span.source_start + span.length]


def test_to_source_maps_ranges_inside_spans(embedder):
    text = "Head\nDrop me\nKeep this sentence here. And this one too."
    cleaned = clean(text)
    cleaned.segments = [cleaned.segments[0], cleaned.segments[2]]
    (c,) = chunk(cleaned, "d", embedder, max_tokens=100, overlap_tokens=0)
    assert c.text == "Head\nKeep this sentence here. And this one too."
    passage = Passage(chunk_id=c.chunk_id, doc_id="d", text=c.text, title="t", source="s", file_name="f",
                      start=c.start, end=c.end, spans=c.spans, score=0.0)
    s = c.text.index("And this")
    start, end = passage.to_source(s, s + 8)
    assert text[start:end] == "And this"
    with pytest.raises(ValueError):
        passage.to_source(500, 510)

"""One benchmark phase per process, so each phase's peak memory is its own.

    python -m bench.phases NAME --work DIR --out FILE.json [--chunks N] [--questions N]

``bench.run`` calls these; each writes its figures as JSON. Every speed is
paired with a reference measured in the same process (raw model encode, raw
Chroma query), because only ratios survive a change of machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from eval.datasets import GoldCase, load_dataset
from eval.metrics import fold, occurs
from rag import RAG, Settings
from rag.answer.extractive import sentence_texts
from rag.embeddings import Embedder
from rag.ingest.pipeline import build_document
from rag.ingest.chunk import embedding_text
from rag.ingest.readers import discover, parse, read_bytes
from rag.store import Store
from rag import sentence_vectors
from rag.types import Passage

ROOT = Path(__file__).resolve().parent.parent
PHASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {}


def phase(fn):
    PHASES[fn.__name__.replace("_", "-")] = fn
    return fn


def settings(data_dir: Path, **overrides: Any) -> Settings:
    """Defaults only: a benchmark must not change with the shell's RAG_* variables or .env."""
    return Settings(_env_file=None, data_dir=data_dir, **overrides)


def squad(work: Path) -> tuple[Path, list[GoldCase]]:
    ds = load_dataset("squad2-a", work)
    return ds.corpus, ds.cases


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2), "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "n": len(seconds)}


def chunk_texts(corpus: Path, embedder: Embedder) -> tuple[list[str], list[str], int]:
    """Exactly the texts an ingest of ``corpus`` embeds: the chunks' texts, the sentences the answerer may
    quote (``Settings.sentence_vectors``, unique), and the chunk texts' total characters."""
    files, _ = discover([corpus])
    texts: list[str] = []
    sentences: list[str] = []
    for path in files:
        doc, chunks = build_document(parse(path, read_bytes(path, 50_000_000)), embedder, settings(Path(".")))
        texts += [embedding_text(doc.title, c.text, embedder, embedder.max_tokens, c.n_tokens) for c in chunks]
        sentences += [t for c in chunks for t in sentence_texts([Passage.of_chunk(doc, c)])]
    return texts, list(dict.fromkeys(sentences)), sum(len(t) for t in texts)


def hits_at(passage_texts: list[list[str]], cases: list[GoldCase], ks: tuple[int, ...]) -> dict[str, float]:
    """Share of answerable questions with a gold answer string in the first k passages (as rag-eval counts it)."""
    out = {}
    for k in ks:
        found = sum(any(any(occurs(a, fold(t)) for a in c.answers) for t in texts[:k])
                    for texts, c in zip(passage_texts, cases))
        out[f"hit@{k}"] = round(found / len(cases), 4)
    return out


def our_hits(rag: RAG, cases: list[GoldCase], ks: tuple[int, ...] = (2, 5)) -> dict[str, float]:
    retrieved = [[p.text for p in rag.retrieve(c.question, top_k=max(ks))] for c in cases]
    return hits_at(retrieved, cases, ks)


# --- phases ------------------------------------------------------------------

@phase
def ingest(args: argparse.Namespace) -> dict[str, Any]:
    """Our ingest of squad2-a against a raw encode of the same texts (its chunks, and the sentences the
    answerer may quote: ``Settings.sentence_vectors``), alternated rounds.

    Each round ingests into a fresh folder whose store is opened (and its
    Chroma folder created) before the clock starts: that fixed cost is
    reported as ``open_s``, not spread over 301 chunks.
    """
    corpus, _ = squad(args.work)
    started = time.perf_counter()
    embedder = RAG(settings(args.work / "index")).embedder
    load_s = time.perf_counter() - started
    texts, sentences, chars = chunk_texts(corpus, embedder)
    embedder.embed_texts(texts[:32])  # warm the session
    raw, ours, opened = [], [], []
    for round_no in range(args.rounds):
        mark = time.perf_counter()
        embedder.embed_texts(texts)
        embedder.embed_texts(sentences)
        raw.append(time.perf_counter() - mark)
        folder = args.work / ("index" if round_no == 0 else f"index-{round_no}")
        Store.wipe(folder, "articles")  # a rerun with --work starts from empty too (the model export stays)
        sentence_vectors.wipe(folder)
        rag = RAG(settings(folder), embedder=embedder)
        mark = time.perf_counter()
        rag._open_store(create=True)
        opened.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        report = rag.ingest([corpus], progress=False)
        ours.append(time.perf_counter() - mark)
        assert report.chunks_total == len(texts), (report.chunks_total, len(texts))
    raw_s, ours_s = statistics.median(raw), statistics.median(ours)
    return {
        "documents": report.documents_total, "chunks": len(texts), "sentences": len(sentences), "chars": chars,
        "model_load_s": round(load_s, 3), "open_s": [round(x, 3) for x in opened],
        "raw_encode_s": round(raw_s, 3), "ingest_s": round(ours_s, 3),
        "raw_chunks_per_s": round(len(texts) / raw_s, 1), "ingest_chunks_per_s": round(len(texts) / ours_s, 1),
        "ingest_chars_per_s": round(chars / ours_s), "raw_chars_per_s": round(chars / raw_s),
        "ratio_to_raw_encode": round(raw_s / ours_s, 3),
        "rounds": {"raw_s": [round(x, 3) for x in raw], "ingest_s": [round(x, 3) for x in ours]},
    }


@phase
def backends(args: argparse.Namespace) -> dict[str, Any]:
    """Encode speed of torch, ONNX fp32 and ONNX int8 on the same texts; int8's vectors and hit@k."""
    corpus, cases = squad(args.work)
    answerable = [c for c in cases if c.answerable]
    out: dict[str, Any] = {}
    vectors = {}
    models = args.work / "models"
    for backend in ("onnx", "onnx-int8", "torch"):
        mark = time.perf_counter()
        embedder = Embedder(backend=backend, cache_dir=models)
        load_s = time.perf_counter() - mark
        if backend == "onnx":
            texts, _, _ = chunk_texts(corpus, embedder)
        embedder.embed_texts(texts[:32])
        runs = []
        for _ in range(2):
            mark = time.perf_counter()
            vectors[backend] = np.asarray(embedder.embed_texts(texts))
            runs.append(time.perf_counter() - mark)
        out[backend] = {"load_s": round(load_s, 3), "encode_s": round(min(runs), 3),
                        "chunks_per_s": round(len(texts) / min(runs), 1)}
    for backend in ("onnx-int8", "torch"):
        cos = (vectors[backend] * vectors["onnx"]).sum(axis=1)
        out[backend]["cosine_to_onnx_mean"] = round(float(cos.mean()), 5)
        out[backend]["cosine_to_onnx_min"] = round(float(cos.min()), 5)
    for backend in ("onnx", "onnx-int8"):
        folder = args.work / f"index-{backend}"
        Store.wipe(folder, "articles")  # never score an index left by an older run
        rag = RAG(settings(folder, embed_backend=backend))
        rag.ingest([corpus], progress=False)
        out[backend].update(our_hits(rag, answerable, (1, 5)))
    out["texts"] = len(texts)
    out["answerable_questions"] = len(answerable)
    return out


@phase
def peer(args: argparse.Namespace) -> dict[str, Any]:
    """A naive LlamaIndex pipeline on the same data, beside ours (index made by the ingest phase)."""
    from bench.peer import naive_llamaindex

    corpus, cases = squad(args.work)
    answerable = [c for c in cases if c.answerable]
    theirs = naive_llamaindex(corpus, answerable, ks=(2, 5))
    rag = RAG(settings(args.work / "index"))
    mark = time.perf_counter()
    ours = our_hits(rag, answerable, (2, 5))
    ours["retrieve_s"] = round(time.perf_counter() - mark, 2)
    return {"questions": len(answerable), "peer": theirs, "ours": ours}


@phase
def answer(args: argparse.Namespace) -> dict[str, Any]:
    """Warm extractive answers on the squad2-a index: every k-th question, answerable or not."""
    _, cases = squad(args.work)
    step = max(1, len(cases) // args.questions)
    questions = [c.question for c in cases[::step]][: args.questions]
    rag = RAG(settings(args.work / "index"))
    alone = RAG(settings(args.work / "index"))  # its own model: neither finds the other's question vectors cached
    for q in questions[:5]:
        rag.ask(q)
        alone.retrieve(q)
    seconds, retrieval = [], []
    for q in questions:
        mark = time.perf_counter()
        alone.retrieve(q)
        retrieval.append(time.perf_counter() - mark)
        mark = time.perf_counter()
        rag.ask(q)
        seconds.append(time.perf_counter() - mark)
    out = percentiles(seconds)
    out["retrieve"] = percentiles(retrieval)
    out["ratio_p50_to_retrieve"] = round(out["p50_ms"] / out["retrieve"]["p50_ms"], 2)
    return out


@phase
def build_scale(args: argparse.Namespace) -> dict[str, Any]:
    """A store of ``--chunks`` synthetic chunks (see bench.synthetic), built from the squad2-a index."""
    from bench.synthetic import fill

    folder = args.work / f"scale-{args.chunks}"
    record = folder / "build.json"
    base_stamp = (args.work / "index" / "bm25" / "manifest.json").stat().st_mtime_ns
    if (record.exists() and not (folder / "bm25.dirty").exists()
            and json.loads(record.read_text()).get("base") == base_stamp):  # built from this same squad2-a index
        return {**json.loads(record.read_text()), "reused": True}
    base_rag = RAG(settings(args.work / "index"))
    base = base_rag._open_store()
    got = base._col.get(include=["embeddings"])
    hits = {h.chunk_id: h for h in base.hits()}
    embedder = base_rag.embedder
    Store.wipe(folder, "articles")
    store = Store(folder, "articles", embedder.name, embedder.dim, create=True)
    mark = time.perf_counter()
    added = fill(store, [hits[i] for i in got["ids"]], np.asarray(got["embeddings"]), args.chunks)
    result = {"chunks": added, "build_s": round(time.perf_counter() - mark, 1), "base": base_stamp}
    record.write_text(json.dumps(result))
    return result


@phase
def scale(args: argparse.Namespace) -> dict[str, Any]:
    """Retrieval latency on a built synthetic store vs (query embed + one raw Chroma query), interleaved."""
    _, cases = squad(args.work)
    step = max(1, len(cases) // args.questions)
    questions = [c.question for c in cases[::step]][: args.questions]
    mark = time.perf_counter()
    rag = RAG(settings(args.work / f"scale-{args.chunks}"))
    store = rag._open_store()
    rag.retrieve("warm up: load the side index")
    open_s = time.perf_counter() - mark
    collection = store._col

    def raw(q: str) -> None:
        collection.query(query_embeddings=[rag.embedder.embed_query(q)], n_results=5)

    for q in questions[:5]:
        rag.retrieve(q, top_k=5)
        raw(q)
    ours, reference = [], []

    def timed(fn, q: str, into: list[float]) -> None:
        mark = time.perf_counter()
        fn(q)
        into.append(time.perf_counter() - mark)

    pairs = [(lambda x: rag.retrieve(x, top_k=5), ours), (raw, reference)]
    for i, q in enumerate(questions):
        # alternate who goes first: the second reads Chroma pages the first just brought into cache
        for fn, into in pairs if i % 2 else pairs[::-1]:
            timed(fn, q, into)
    a, b = percentiles(ours), percentiles(reference)
    return {"chunks": store.count(), "open_s": round(open_s, 2), "retrieve": a, "raw_embed_plus_query": b,
            "ratio_p50": round(a["p50_ms"] / b["p50_ms"], 3), "ratio_p95": round(a["p95_ms"] / b["p95_ms"], 3)}


@phase
def llm_batch(args: argparse.Namespace) -> dict[str, Any]:
    from bench.llm_batch import measure

    return measure(questions=args.questions, delay=0.5, levels=(1, 4, 8, 16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=sorted(PHASES))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result = PHASES[args.name](args)
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()

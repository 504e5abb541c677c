"""The core pipeline's quality figures (issue 2), offline and deterministic.

    python -m eval.core_figures --dataset news       # answer containment, abstention
    python -m eval.core_figures --dataset squad2-a   # retrieval hit@5 (+ the same answer figures)

Prints one JSON object; ``--cases FILE`` also writes a line per question.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rag import RAG, Settings

from .datasets import NEWS, NEWS_ARTICLES, SQUAD_A, GoldCase, contains_any, load_jsonl, squad_to_articles


def retrieval_hits(rag: RAG, cases: list[GoldCase], top_k: int = 5) -> dict:
    """hit@k over answerable questions: a gold answer string inside a top-k passage."""
    answerable = [c for c in cases if c.answerable]
    hits = sum(
        contains_any(" ".join(p.text for p in rag.retrieve(c.question, top_k=top_k)), c.answers)
        for c in answerable
    )
    return {"retrieval_questions": len(answerable),
            f"retrieval_hit@{top_k}": round(hits / len(answerable), 4) if answerable else None}


def evaluate(rag: RAG, cases: list[GoldCase], top_k: int = 5) -> tuple[dict, list[dict]]:
    answers = rag.ask_batch([c.question for c in cases], concurrency=1, progress=False, top_k=top_k)
    rows = []
    for case, ans in zip(cases, answers):
        passages_text = " ".join(p.text for p in ans.passages)
        rows.append({
            "id": case.id, "type": case.type, "answerable": case.answerable,
            "abstained": ans.abstained, "confidence": ans.confidence, "error": ans.error,
            "contains": (not ans.abstained) and contains_any(ans.text, case.answers),
            "hit": contains_any(passages_text, case.answers) if case.answerable else None,
            "source_hit": any(p.file_name in case.sources for p in ans.passages) if case.answerable else None,
            "answer": ans.text,
        })
    ans_rows = [r for r in rows if r["answerable"]]
    una_rows = [r for r in rows if not r["answerable"]]
    share = lambda rs, key: round(sum(bool(r[key]) for r in rs) / len(rs), 4) if rs else None  # noqa: E731
    figures = {
        "questions": len(rows),
        "answerable": len(ans_rows),
        "unanswerable": len(una_rows),
        "errors": sum(r["error"] is not None for r in rows),
        f"answer_contains_gold": share(ans_rows, "contains"),
        "false_abstention": share(ans_rows, "abstained"),
        "abstention_on_unanswerable": share(una_rows, "abstained"),
        f"hit@{top_k}_answer_in_passage": share(ans_rows, "hit"),
        f"hit@{top_k}_gold_source": share(ans_rows, "source_hit"),
    }
    return figures, rows


def build(dataset: str, data_dir: Path, every: int = 1, **overrides) -> tuple[RAG, list[GoldCase]]:
    rag = RAG(Settings(data_dir=data_dir, **overrides))
    if dataset == "news":
        cases = load_jsonl(NEWS)
        rag.ingest([NEWS_ARTICLES], rebuild=True, progress=False)
    elif dataset == "squad2-a":
        articles = data_dir / "articles"
        cases = squad_to_articles(SQUAD_A, articles, every=every)
        rag.ingest([articles], rebuild=True, progress=False)
    else:
        raise SystemExit(f"unknown dataset {dataset!r}: use news or squad2-a")
    return rag, cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="news", choices=["news", "squad2-a"])
    parser.add_argument("--every", type=int, default=1, help="keep every k-th question (quick runs)")
    parser.add_argument("--answer-every", type=int, default=10,
                        help="squad2-a: also answer every k-th question (answering all 2,828 takes long)")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--cases", type=Path, help="write per-question rows (JSON lines) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rag, cases = build(args.dataset, Path(tmp), every=args.every)
        if args.dataset == "squad2-a":
            retrieval = retrieval_hits(rag, cases, top_k=args.top_k)
            figures, rows = evaluate(rag, cases[:: args.answer_every], top_k=args.top_k)
            figures = {**retrieval, **{f"sample_{k}": v for k, v in figures.items()}}
        else:
            figures, rows = evaluate(rag, cases, top_k=args.top_k)
    if args.cases:
        args.cases.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(json.dumps({"dataset": args.dataset, **figures}, indent=2))


if __name__ == "__main__":
    main()

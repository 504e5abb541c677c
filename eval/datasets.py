"""Gold question sets: the hand-written news set and SQuAD-format files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "eval" / "datasets" / "news.jsonl"
NEWS_ARTICLES = ROOT / "data" / "articles"
SQUAD_A = ROOT.parent / "shared" / "benchmarks" / "squad2" / "dev-a.json"


class GoldCase(BaseModel):
    id: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    type: str


def load_jsonl(path: Path = NEWS) -> list[GoldCase]:
    cases = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(GoldCase.model_validate_json(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{no}: {exc}") from exc
    return cases


def squad_to_articles(squad_json: Path, out_dir: Path, every: int = 1) -> list[GoldCase]:
    """Write one .txt per SQuAD article (title, then paragraphs) and return its questions.

    ``every=k`` keeps every k-th question, for a quick run.
    """
    data = json.loads(Path(squad_json).read_text(encoding="utf-8"))["data"]
    out_dir.mkdir(parents=True, exist_ok=True)
    cases: list[GoldCase] = []
    k = 0
    for article in data:
        name = re.sub(r"[^A-Za-z0-9_-]+", "_", article["title"]) + ".txt"
        title = article["title"].replace("_", " ")
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        (out_dir / name).write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                k += 1
                if (k - 1) % every:
                    continue
                impossible = qa.get("is_impossible", False)
                answers = list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                cases.append(GoldCase(
                    id=qa["id"], question=qa["question"], answers=[] if impossible else answers,
                    sources=[] if impossible else [name], answerable=not impossible,
                    type="unanswerable" if impossible else "squad",
                ))
    return cases


def normalize(text: str) -> str:
    """Case, quote and whitespace folding for containment checks."""
    text = text.casefold().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(text.split())


def contains_any(haystack: str, needles: list[str]) -> bool:
    hay = normalize(haystack)
    return any(normalize(n) in hay for n in needles if n.strip())

"""Gold question sets, by name or path: the hand-written news set and SQuAD-format files.

A ``Dataset`` is questions plus the articles they are about, so a run can
index exactly those articles. Its hash covers both: a baseline made on other
questions or other articles is not comparable.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
NEWS = ROOT / "eval" / "datasets" / "news.jsonl"
NEWS_ARTICLES = ROOT / "data" / "articles"
CHAT = ROOT / "eval" / "datasets" / "chat.jsonl"
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
SQUAD_A = BENCHMARKS / "squad2" / "dev-a.json"
BASELINES = ROOT / "eval" / "baselines"
TEMPORAL = ROOT / "eval" / "datasets" / "temporal.jsonl"
RTQA = BENCHMARKS / "realtimeqa"
NAMED = {"news": NEWS, "chat": CHAT, "temporal": TEMPORAL, "squad2-a": SQUAD_A,
         "rgb": BENCHMARKS / "rgb" / "questions.jsonl", "realtimeqa": RTQA / "questions.jsonl",
         "realtimeqa-asof": RTQA / "questions.jsonl"}
# sets that bring their own articles, beside their questions
CORPORA = {"rgb": BENCHMARKS / "rgb" / "corpus", "realtimeqa": RTQA / "corpus", "realtimeqa-asof": RTQA / "corpus",
           "temporal": ROOT / "eval" / "datasets" / "temporal"}
# sets answered as of each question's question_date (RealTime QA's "this week" is the week before it)
AS_OF = {"realtimeqa-asof": "question", "temporal": "question"}


class GoldCase(BaseModel):
    """One gold question; ``answers`` are alternatives, ``sources`` are file names."""

    id: str
    question: str
    answers: list[str]
    sources: list[str]
    answerable: bool
    type: str
    history: list[str] = []  # earlier user turns of the conversation, asked (and answered) first
    question_date: str | None = None  # the day it was asked (RealTime QA), for time-aware answering


class Dataset(BaseModel):
    name: str
    path: str
    cases: list[GoldCase]
    corpus: Path  # folder of articles to index
    every: int = 1
    hash: str = ""
    as_of: str | None = None  # "question": each case's question_date; an ISO date: one for all; None: today

    def as_of_for(self, case: GoldCase) -> str | None:
        """The reference date ``case`` is answered as of (None: today, as a user asking now)."""
        return case.question_date if self.as_of == "question" else self.as_of


class DatasetError(ValueError):
    """A dataset name, path or line that cannot be used; the message says which and why."""


def load_jsonl(path: Path = NEWS) -> list[GoldCase]:
    """Gold cases from a JSON-lines file; a bad line is reported with its number."""
    cases = []
    for no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                cases.append(GoldCase.model_validate_json(line))
            except ValueError as exc:
                raise DatasetError(f"{path}:{no}: not a gold case ({exc})") from exc
    ids = [c.id for c in cases]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise DatasetError(f"{path}: duplicate ids {dup[:5]}")
    return cases


def squad_articles(squad_json: Path, out_dir: Path, every: int = 1) -> list[GoldCase]:
    """Write one .txt per SQuAD article (title, then paragraphs) and return its questions.

    Answerable and unanswerable questions are both kept; ``every=k`` keeps
    every k-th question (in file order) for a quick run.
    """
    try:
        data = json.loads(Path(squad_json).read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(f"{squad_json}: not a SQuAD-format JSON file ({exc})") from exc
    try:
        return _squad_cases(data, out_dir, every)
    except (KeyError, TypeError, AttributeError) as exc:
        raise DatasetError(f"{squad_json}: not in SQuAD format (missing or malformed {exc})") from exc


def _squad_cases(data: list, out_dir: Path, every: int) -> list[GoldCase]:
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


def load_dataset(name_or_path: str, work_dir: Path, every: int = 1, corpus: Path | None = None,
                 as_of: str | None = None) -> Dataset:
    """``news``, ``squad2-a``, a SQuAD ``.json`` file, or a gold ``.jsonl`` (with ``corpus``).

    SQuAD articles are written under ``work_dir``; a ``.jsonl`` set is about
    ``corpus`` (default: the sample articles). ``as_of``: "question" (each row's
    ``question_date``), an ISO date, or "today"; default: the named set's (``AS_OF``), else today.
    """
    if every < 1:
        raise DatasetError(f"--every must be 1 or more, not {every}")
    as_of = _checked_as_of(as_of) if as_of is not None else AS_OF.get(name_or_path)
    path = NAMED.get(name_or_path, Path(name_or_path))
    name = name_or_path if name_or_path in NAMED else path.stem
    if not path.exists():
        known = ", ".join(NAMED)
        if name_or_path in CORPORA:
            raise DatasetError(f"dataset {name_or_path!r} needs {path}: put the benchmarks folder "
                               f"(shared/benchmarks) beside the project")
        raise DatasetError(f"dataset {name_or_path!r} not found: use one of {known} or a path to a file")
    if path.suffix == ".jsonl":
        cases = load_jsonl(path)[::every]
        folder = Path(corpus) if corpus else CORPORA.get(name_or_path, NEWS_ARTICLES)
    elif path.suffix == ".json":
        if corpus:
            raise DatasetError("--corpus applies to .jsonl datasets; a SQuAD file brings its own articles")
        folder = Path(work_dir) / "articles"
        cases = squad_articles(path, folder, every=every)
    else:
        raise DatasetError(f"{path}: expected a gold .jsonl file or a SQuAD .json file")
    if not folder.is_dir():
        raise DatasetError(f"corpus folder {folder} does not exist")
    if not cases:
        raise DatasetError(f"{path}: no questions")
    if as_of == "question" and (undated := [c.id for c in cases if not c.question_date]):
        raise DatasetError(f"{path}: answering as of each question's date, but {len(undated)} rows have no "
                           f"question_date ({', '.join(undated[:5])}); add it, or pass --as-of today or a date")
    dataset = Dataset(name=name, path=str(path), cases=cases, corpus=folder, every=every, as_of=as_of)
    dataset.hash = dataset_hash(dataset)
    return dataset


def _checked_as_of(value: str) -> str | None:
    """"question", an ISO date (kept as written), or "today"/"none" (None); DatasetError otherwise."""
    value = value.strip().lower()
    if value in ("today", "none", ""):
        return None
    if value == "question":
        return value
    try:
        return date.fromisoformat(value.replace("/", "-")).isoformat()
    except ValueError:
        raise DatasetError(f"--as-of {value!r}: use 'question' (each row's question_date), "
                           "a date such as 2022-06-16, or 'today'") from None


def dataset_hash(dataset: Dataset) -> str:
    """sha256 over the questions and every corpus file's name and bytes."""
    h = hashlib.sha256()
    if dataset.as_of:
        h.update(f"as_of={dataset.as_of}".encode())  # answered as of other dates: not comparable
    for case in dataset.cases:
        h.update(case.model_dump_json(exclude_defaults=True).encode())  # new optional fields keep old hashes
    for f in sorted(p for p in dataset.corpus.rglob("*") if p.is_file()):
        h.update(f.relative_to(dataset.corpus).as_posix().encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:16]

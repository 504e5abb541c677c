"""What a run leaves behind: per-case records and the flat ``metrics`` dict, as JSON.

``results.json`` and baselines share this shape; a baseline is a results
file whose per-case records are trimmed to what the gate needs (id, type,
answerable, pass/fail checks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from .metrics import abstention_scores, mean, percentile

FORMAT = 1


class RetrievedRef(BaseModel):
    rank: int
    chunk_id: str
    file_name: str
    score: float
    gold_source: bool
    has_answer: bool


class CitationRef(BaseModel):
    n: int
    chunk_id: str
    file_name: str
    quote: str
    start: int | None = None
    end: int | None = None


class CaseRecord(BaseModel):
    """One question's outcome: what was retrieved, said and cited, and how it scored."""

    id: str
    type: str
    question: str = ""
    answerable: bool
    gold_answers: list[str] = Field(default_factory=list)
    gold_sources: list[str] = Field(default_factory=list)
    query: str = ""
    answer: str = ""
    abstained: bool = False
    error: str | None = None
    confidence: float | None = None
    mode: str = ""
    retrieved: list[RetrievedRef] = Field(default_factory=list)
    citations: list[CitationRef] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    checks: dict[str, bool] = Field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.checks.values())

    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]


class RunResults(BaseModel):
    format: int = FORMAT
    created: str = ""
    dataset: dict[str, Any]
    settings: dict[str, Any]
    metrics: dict[str, float]
    by_type: dict[str, dict[str, float]] = Field(default_factory=dict)
    judge: dict[str, Any] | None = None
    cases: list[CaseRecord]

    def save(self, path: Path, slim: bool = False) -> None:
        """JSON with one case per line, so a diff of two baselines reads case by case.

        ``slim`` leaves out case fields that hold their default (for baselines).
        """
        data = self.model_dump(mode="json", exclude={"cases"})
        cases = [c.model_dump(mode="json", exclude_defaults=slim) for c in self.cases]
        head = json.dumps(data, indent=1, ensure_ascii=False)
        body = ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(f'{head[:-2]},\n "cases": [\n{body}\n ]\n}}\n', encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> "RunResults":
        try:
            return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read results file {path}: {exc.strerror}") from exc
        except ValueError as exc:
            raise ValueError(f"{path} is not a rag-eval results or baseline file: {exc}") from exc

    def as_baseline(self) -> "RunResults":
        """A copy small enough to commit: the aggregates, and per case only its pass/fail checks."""
        slim = [
            CaseRecord(id=c.id, type=c.type, answerable=c.answerable, checks=c.checks)
            for c in self.cases
        ]
        return self.model_copy(update={"cases": slim})


def aggregate(cases: list[CaseRecord]) -> dict[str, float]:
    """Flat aggregate figures. Errored cases stay in every mean (scored as failures)."""
    out: dict[str, float | None] = {
        "cases": len(cases),
        "cases.answerable": sum(c.answerable for c in cases),
        "cases.unanswerable": sum(not c.answerable for c in cases),
        "errors": sum(c.error is not None for c in cases),
        "empty_answers": sum(c.error is None and not c.abstained and not c.answer.strip() for c in cases),
        "pass_rate": mean(float(c.passed) for c in cases),
    }
    names = sorted({name for c in cases for name in c.metrics})
    for name in names:
        out[name] = mean(c.metrics.get(name) for c in cases)
    out.update(abstention_scores(
        [effective_abstained(c) for c in cases], [c.answerable for c in cases]
    ))
    ok = [c for c in cases if c.error is None]
    for stage in sorted({s for c in ok for s in c.timings}):
        values = [c.timings[stage] for c in ok if stage in c.timings]
        out[f"latency.{stage}.p50"] = percentile(values, 50)
        out[f"latency.{stage}.p95"] = percentile(values, 95)
    return {k: round(float(v), 6) for k, v in out.items() if v is not None}


def effective_abstained(case: CaseRecord) -> bool:
    """An errored case counts as the wrong call: abstained if answerable, answered if not."""
    if case.error is not None:
        return case.answerable
    return case.abstained


def by_type(cases: list[CaseRecord]) -> dict[str, dict[str, float]]:
    groups: dict[str, list[CaseRecord]] = {}
    for c in cases:
        groups.setdefault(c.type, []).append(c)
    return {t: aggregate(group) for t, group in sorted(groups.items())}

"""The regression gate: compare a run to a baseline, metric by metric and case by case.

Each metric has a direction. Higher-is-better metrics may fall by at most
``max_drop``; lower-is-better rates (false abstention) may rise by at most
``max_rise``; counts of errors and empty answers may not rise at all. Latency
is reported but only gated when ``latency_ratio`` is given, because wall
time depends on the machine and its load, not on the code alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from rag import Settings

from .results import RunResults

Direction = Literal["higher", "lower", "count", "latency", "info"]


def direction(name: str) -> Direction:
    if name.startswith("latency."):
        return "latency"
    if name == "errors":
        return "info"  # errored questions fail the run on their own (exit 3) unless --allow-errors
    if name == "empty_answers":
        return "count"
    if name == "abstention.false_rate":
        return "lower"
    if name.startswith("cases"):
        return "info"
    return "higher"


class MetricChange(BaseModel):
    name: str
    baseline: float | None
    current: float | None
    limit: str  # the tolerance that was broken, in words

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline


class CaseFlip(BaseModel):
    id: str
    type: str
    question: str = ""
    checks: list[str]  # checks that passed in the baseline and fail now (or the reverse, for fixes)
    answer: str = ""


class GateResult(BaseModel):
    incomparable: str | None = None
    regressions: list[MetricChange] = Field(default_factory=list)
    improvements: list[MetricChange] = Field(default_factory=list)
    flipped_to_fail: list[CaseFlip] = Field(default_factory=list)
    flipped_to_pass: list[CaseFlip] = Field(default_factory=list)
    worsened: list[CaseFlip] = Field(default_factory=list)  # failed before, and fail more checks now
    missing_cases: list[str] = Field(default_factory=list)
    new_cases: list[str] = Field(default_factory=list)
    setting_changes: dict[str, list] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.incomparable is None and not self.regressions

    def summary(self) -> str:
        if self.incomparable:
            return f"NOT COMPARABLE: {self.incomparable}"
        if self.ok:
            lines = [f"PASS: no metric regressed ({len(self.flipped_to_fail)} cases flipped to fail, "
                     f"{len(self.flipped_to_pass)} to pass)"]
        else:
            lines = [f"FAIL: {len(self.regressions)} metric(s) regressed"]
        for r in self.regressions:
            lines.append(f"  {r.name}: {_fmt(r.baseline)} -> {_fmt(r.current)} ({r.limit})")
        for title, flips in (("flipped from pass to fail", self.flipped_to_fail),
                             ("already failing and now failing more checks", self.worsened)):
            if flips:
                lines.append(f"{len(flips)} case(s) {title}:")
                lines += [f"  {f.id} [{f.type}] now fails {', '.join(f.checks)}: {f.question}" for f in flips]
        return "\n".join(lines)


def _fmt(v: float | None) -> str:
    return "missing" if v is None else f"{v:.4f}"


# change speed or where the store lives, not answers
SETTINGS_IGNORED = {"concurrency", "embed_batch_size", "chroma_url", "chroma_tenant", "chroma_database",
                    "chroma_auth_token", "chroma_auth_header"}


def compare(current: RunResults, baseline: RunResults, max_drop: float = 0.02, max_rise: float = 0.02,
            latency_ratio: float | None = None) -> GateResult:
    """Which metrics regressed beyond tolerance, and which cases flipped, from ``baseline`` to ``current``."""
    result = GateResult()
    if current.dataset.get("hash") != baseline.dataset.get("hash"):
        result.incomparable = (
            f"the baseline was made on dataset {baseline.dataset.get('name')} "
            f"(hash {baseline.dataset.get('hash')}, {baseline.dataset.get('cases')} cases) and this run on "
            f"{current.dataset.get('name')} (hash {current.dataset.get('hash')}, "
            f"{current.dataset.get('cases')} cases). Run with the baseline's --every/--corpus "
            f"(every {baseline.dataset.get('every', 1)}), or, if the questions or articles changed on purpose, "
            "refresh it with `rag-eval baseline --dataset NAME`"
        )
        return result
    for name in sorted(set(baseline.metrics) | set(current.metrics)):
        before, now = baseline.metrics.get(name), current.metrics.get(name)
        kind = direction(name)
        if kind == "info" or before is None or (kind == "latency" and latency_ratio is None):
            continue
        limit = _broken_limit(kind, before, now, max_drop, max_rise, latency_ratio)
        change = MetricChange(name=name, baseline=before, current=now, limit=limit or "")
        if limit:
            result.regressions.append(change)
        elif now is not None and _better(kind, before, now, max_drop, max_rise):
            result.improvements.append(change)
    _flips(current, baseline, result)
    for key in sorted(set(current.settings) | set(baseline.settings)):
        if key in SETTINGS_IGNORED or current.settings.get(key) == baseline.settings.get(key):
            continue
        if key not in baseline.settings and _is_default(key, current.settings.get(key)):
            continue  # a setting added since the baseline was made, left at its default: nothing changed
        result.setting_changes[key] = [baseline.settings.get(key), current.settings.get(key)]
    return result


def _is_default(key: str, value: object) -> bool:
    field = Settings.model_fields.get(key)
    return field is not None and field.default == value


def _broken_limit(kind: Direction, before: float, now: float | None, max_drop: float, max_rise: float,
                  latency_ratio: float | None) -> str | None:
    if now is None:
        return "missing from this run"
    if kind == "higher" and before - now > max_drop + 1e-9:
        return f"fell {before - now:.4f}, more than max-drop {max_drop}"
    if kind == "lower" and now - before > max_rise + 1e-9:
        return f"rose {now - before:.4f}, more than max-rise {max_rise}"
    if kind == "count" and now > before:
        return f"rose from {before:g} to {now:g}; no rise is allowed"
    if kind == "latency" and latency_ratio is not None and before > 0 and now > before * latency_ratio:
        return f"{now / before:.2f}x the baseline, more than the latency ratio {latency_ratio}"
    return None


def _better(kind: Direction, before: float, now: float, max_drop: float, max_rise: float) -> bool:
    if kind == "higher":
        return now - before > max_drop
    if kind in ("lower", "count"):
        return before - now > max_rise
    return False


def _flips(current: RunResults, baseline: RunResults, result: GateResult) -> None:
    old = {c.id: c for c in baseline.cases}
    new = {c.id: c for c in current.cases}
    result.missing_cases = sorted(set(old) - set(new))
    result.new_cases = sorted(set(new) - set(old))
    for cid in [c.id for c in current.cases if c.id in old]:
        before, now = old[cid], new[cid]
        # a check absent on one side does not apply there (no support check on an abstention)
        broke = [k for k, ok in before.checks.items() if ok and now.checks.get(k) is False]
        fixed = [k for k, ok in now.checks.items() if ok and before.checks.get(k) is False]
        if before.passed and not now.passed and not broke:
            broke = now.failed_checks()
        if broke:
            target = result.flipped_to_fail if before.passed else result.worsened
            target.append(CaseFlip(id=cid, type=now.type, question=now.question, checks=broke, answer=now.answer))
        elif fixed and now.passed:
            result.flipped_to_pass.append(
                CaseFlip(id=cid, type=now.type, question=now.question, checks=fixed, answer=now.answer))

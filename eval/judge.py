"""Optional LLM-judge metrics: answer correctness against gold, and faithfulness to citations.

Off by default (the deterministic metrics need no LLM). Each case is judged
``runs`` times; the report gives the mean over runs and their spread, since a
judge is itself noisy. Talks to any OpenAI-compatible server via ``openai``.
"""

from __future__ import annotations

import json
import re
import statistics
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel
from tqdm.auto import tqdm

from .results import CaseRecord

CORRECTNESS_PROMPT = """You grade answers to questions about news articles.
Question: {question}
Gold answer(s): {gold}
Candidate answer: {answer}
Does the candidate answer state the gold answer (same meaning; extra correct detail is fine)?
Reply with JSON only: {{"correct": true}} or {{"correct": false}}."""

FAITHFULNESS_PROMPT = """You check whether an answer is supported by its sources.
Sources:
{sources}
Answer: {answer}
What share of the answer's claims (0.0 to 1.0) is stated by the sources? Ignore the [n] markers.
Reply with JSON only, for example {{"faithful": 0.5}}."""


class JudgeConfig(BaseModel):
    model: str
    base_url: str | None = None
    api_key: str
    runs: int = 1
    temperature: float = 0.0
    timeout: float = 60.0
    concurrency: int = 4


class JudgeError(RuntimeError):
    """The judge's reply could not be read as the JSON it was asked for."""


def _client(config: JudgeConfig):
    from openai import OpenAI

    return OpenAI(api_key=config.api_key, base_url=config.base_url, timeout=config.timeout, max_retries=2)


def _ask(client, config: JudgeConfig, prompt: str, key: str) -> float:
    reply = client.chat.completions.create(
        model=config.model, temperature=config.temperature,
        messages=[{"role": "user", "content": prompt}],
    )
    text = reply.choices[0].message.content or ""
    match = re.search(r"\{.*\}", text, re.S)
    try:
        value = json.loads(match.group(0))[key] if match else None
    except (ValueError, KeyError, TypeError):
        value = None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return float(value)
    raise JudgeError(f"judge reply is not {{\"{key}\": ...}}: {text[:200]!r}")


def judgeable(case: CaseRecord) -> bool:
    return case.answerable and case.error is None and not case.abstained and bool(case.answer.strip())


def judge(all_cases: list[CaseRecord], config: JudgeConfig, passages: dict[str, dict[int, str]],
          progress: bool = True) -> dict:
    """Judge every answered answerable case ``config.runs`` times.

    ``passages`` maps case id to its numbered passage texts. Writes each
    case's mean judge scores into ``case.metrics`` and returns the summary
    stored as ``RunResults.judge``.
    """
    try:
        client = _client(config)
    except Exception as exc:
        raise JudgeError(f"cannot create the judge's OpenAI client: {exc}") from exc
    cases = [c for c in all_cases if judgeable(c)]
    jobs = [(run, c, kind) for run in range(config.runs) for c in cases for kind in ("correctness", "faithfulness")]

    def one(job):
        run, case, kind = job
        try:
            if kind == "correctness":
                prompt = CORRECTNESS_PROMPT.format(question=case.question, gold=" | ".join(case.gold_answers),
                                                   answer=case.answer)
                return job, _ask(client, config, prompt, "correct"), None
            cited = sorted({c.n for c in case.citations})
            sources = "\n".join(f"[{n}] {passages[case.id].get(n, '')}" for n in cited) or "(none cited)"
            return job, _ask(client, config, FAITHFULNESS_PROMPT.format(sources=sources, answer=case.answer),
                             "faithful"), None
        except Exception as exc:  # a judge failure is counted, never fatal
            return job, None, f"{type(exc).__name__}: {exc}"

    scores: dict[tuple[int, str, str], float] = {}
    errors: list[str] = []
    with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
        for (run, case, kind), value, error in tqdm(pool.map(one, jobs), total=len(jobs), desc="Judging",
                                                     disable=not progress):
            if error:
                errors.append(f"{case.id} {kind} run {run + 1}: {error}")
            else:
                scores[(run, case.id, kind)] = value
    # An answerable question with no answer (abstained, errored, empty) scores 0, like every
    # other answer metric; a failed judge call is counted in ``errors`` and left out.
    failed = [c for c in all_cases if c.answerable and not judgeable(c)]
    summary: dict[str, dict[str, float]] = {}
    for kind in ("correctness", "faithfulness"):
        per_run = []
        for run in range(config.runs):
            values = [scores[(run, c.id, kind)] for c in cases if (run, c.id, kind) in scores]
            values += [0.0] * len(failed)
            if values:
                per_run.append(sum(values) / len(values))
        for c in cases:
            values = [scores[(r, c.id, kind)] for r in range(config.runs) if (r, c.id, kind) in scores]
            c.metrics[f"judge.{kind}"] = round(sum(values) / len(values), 6) if values else None
        for c in failed:
            c.metrics[f"judge.{kind}"] = 0.0
        if per_run:
            summary[f"judge.{kind}"] = {
                "mean": statistics.fmean(per_run), "std": statistics.pstdev(per_run),
                "min": min(per_run), "max": max(per_run),
            }
    return {"model": config.model, "base_url": config.base_url, "runs": config.runs, "cases": len(cases),
            "errors": errors, "metrics": summary}

"""Run a dataset through ``rag``'s public API and score every case.

The corpus is indexed into its own folder (never the user's index), every
question is asked once through ``RAG.ask_batch``, and each ``Answer`` becomes
a ``CaseRecord`` with its metric values and pass/fail checks.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from rag import RAG, Answer, Settings

from .datasets import ROOT, Dataset, GoldCase
from .judge import JudgeConfig, judge
from .metrics import citation_scores, contains_any, exact_match, fold, strip_markers, support_rate, token_f1
from .results import CaseRecord, CitationRef, RetrievedRef, RunResults, aggregate, by_type
from .retrieval import answer_qrels, ks_for, passage_run, ranx_scores, source_run

MODES = {"extractive": "extractive", "llm": "openai"}  # --mode -> Settings.llm


class EvalError(RuntimeError):
    """The run cannot be made as asked (for example, a mode this build cannot answer in)."""


LLM_CONNECTION = ("openai_api_key", "openai_base_url", "llm_model", "llm_temperature", "llm_max_tokens",
                  "llm_timeout", "llm_retries")


class EvalSettings(Settings):
    """Settings from arguments only: a run must not change because of the shell's RAG_* variables."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings,)


def make_settings(index_dir: Path, mode: str, top_k: int | None, overrides: dict[str, Any]) -> Settings:
    """Defaults plus ``overrides``; in LLM mode the server settings come from the environment / .env."""
    if mode not in MODES:
        raise EvalError(f"unknown mode {mode!r}: use extractive or llm")
    values: dict[str, Any] = {}
    if mode == "llm":
        env = Settings()
        values = {k: getattr(env, k) for k in LLM_CONNECTION}
        if not env.openai_api_key and not env.openai_base_url:
            raise EvalError("--mode llm needs an LLM: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL "
                            "(a local OpenAI-compatible server)")
    values.update(overrides)
    values.update(data_dir=index_dir, llm=MODES[mode])
    if top_k is not None:
        values["top_k"] = top_k
    try:
        return EvalSettings(**values)
    except ValueError as exc:
        raise EvalError(f"bad setting: {exc}") from exc


def run(dataset: Dataset, settings: Settings, mode: str = "extractive", rag: RAG | None = None,
        progress: bool = True, judge_config: JudgeConfig | None = None) -> RunResults:
    """Index the dataset's corpus into ``settings.data_dir``, ask every question, score it.

    With ``judge_config`` an LLM also grades each answer (see ``eval.judge``).
    """
    rag = rag or RAG(settings)
    report = rag.ingest([dataset.corpus], prune=True, progress=progress)
    if report.documents_total == 0:
        raise EvalError(f"nothing could be indexed from {dataset.corpus}: {report.summary()}")
    corpus = {p.chunk_id: fold(p.text) for p in rag.passages()}
    answers = ask_cases(rag, dataset.cases, settings.top_k, progress, dataset.as_of_for)
    for answer in answers:
        if answer.error is None and answer.mode != mode:
            raise EvalError(f"asked for {mode} answers but got {answer.mode!r} ones: check the LLM settings")
    cases = [score_case(c, a) for c, a in zip(dataset.cases, answers)]
    add_retrieval_metrics(cases, corpus, settings.top_k)
    judged = None
    if judge_config is not None:
        texts = {c.id: {i + 1: p.text for i, p in enumerate(a.passages)} for c, a in zip(dataset.cases, answers)}
        judged = judge(cases, judge_config, texts, progress)
    return RunResults(
        judge=judged,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        dataset={"name": dataset.name, "path": _shown(dataset.path), "hash": dataset.hash,
                 "every": dataset.every, "cases": len(dataset.cases), "corpus": _shown(dataset.corpus),
                 "as_of": dataset.as_of,
                 "documents": report.documents_total, "chunks": report.chunks_total,
                 "skipped_files": [f"{s.path}: {s.reason}" for s in report.skipped]},
        settings={"mode": mode, **settings.model_dump(mode="json", exclude={"data_dir"})},
        metrics=aggregate(cases),
        by_type=by_type(cases),
        cases=cases,
    )


def ask_cases(rag: RAG, cases: list[GoldCase], top_k: int | None, progress: bool,
              as_of: Callable[[GoldCase], str | None] = lambda case: None) -> list[Answer]:
    """Every case's answer, in order, each as of ``as_of(case)`` (None: today); a case with ``history`` is
    asked as the last turn of its conversation, after its earlier turns were asked and answered as a user
    of the page would have done."""
    plain = [i for i, c in enumerate(cases) if not c.history]
    answers: list[Answer | None] = [None] * len(cases)
    batch = rag.ask_batch([cases[i].question for i in plain], progress=progress, top_k=top_k,
                          as_of=[as_of(cases[i]) for i in plain])
    for i, answer in zip(plain, batch):
        answers[i] = answer
    for i, case in enumerate(cases):
        if case.history:
            answers[i] = _ask_conversation(rag, case, top_k, as_of(case))
    return [a for a in answers if a is not None]


def _ask_conversation(rag: RAG, case: GoldCase, top_k: int | None, as_of: str | None) -> Answer:
    history: list[dict] = []
    try:
        for turn in case.history:
            earlier = rag.ask(turn, history=history, top_k=top_k, as_of=as_of)
            history += [{"role": "user", "content": earlier.query or turn},  # as the page keeps it: standalone
                        {"role": "assistant", "content": earlier.text}]
        return rag.ask(case.question, history=history, top_k=top_k, as_of=as_of)
    except Exception as exc:  # as ask_batch does: one bad case must not sink the run
        return Answer(question=case.question, error=f"{type(exc).__name__}: {exc}")


def _shown(path: str | Path) -> str:
    """Paths inside the repository are recorded relative to it, so committed baselines carry no machine paths."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def score_case(case: GoldCase, answer: Answer) -> CaseRecord:
    """Answer, citation, support and abstention values and checks for one question."""
    passages = [{"chunk_id": p.chunk_id, "file_name": p.file_name, "text": p.text} for p in answer.passages]
    by_n = {i + 1: p for i, p in enumerate(passages)}
    gold_sources = set(case.sources)
    record = CaseRecord(
        id=case.id, type=case.type, question=case.question, answerable=case.answerable,
        gold_answers=case.answers, gold_sources=case.sources, query=answer.query or "",
        answer=answer.text, abstained=answer.abstained, error=answer.error,
        confidence=answer.confidence, mode=answer.mode, timings=answer.timings,
        retrieved=[
            RetrievedRef(rank=i + 1, chunk_id=p.chunk_id, file_name=p.file_name, score=round(p.score, 6),
                         gold_source=p.file_name in gold_sources,
                         has_answer=case.answerable and contains_any(p.text, case.answers))
            for i, p in enumerate(answer.passages)
        ],
        citations=[
            CitationRef(n=c.n, chunk_id=c.chunk_id, file_name=by_n[c.n]["file_name"] if c.n in by_n else "",
                        quote=c.quote, start=c.start, end=c.end)
            for c in answer.citations
        ],
    )
    answered = answer.error is None and not answer.abstained and bool(answer.text.strip())
    m: dict[str, float | None] = {}
    if answer.error is not None:
        m["support.rate"] = 0.0
    elif not answer.abstained:
        m["support.rate"] = support_rate(answer.text, {n: p["text"] for n, p in by_n.items()})
    checks = {"no_error": answer.error is None}
    if case.answerable:
        plain = strip_markers(answer.text) if answered else ""
        m["answer.contains"] = float(answered and contains_any(plain, case.answers))
        m["answer.exact_match"] = exact_match(plain, case.answers) if answered else 0.0
        m["answer.f1"] = token_f1(plain, case.answers) if answered else 0.0
        # a citation to a passage that was not retrieved counts as a wrong one
        nowhere = {"file_name": "", "text": ""}
        cited = [by_n.get(c.n, {**nowhere, "chunk_id": f"missing-{c.n}"}) for c in answer.citations] if answered else []
        m.update(citation_scores(cited, case.sources, case.answers, passages))
        checks.update({
            "retrieval.source": any(r.gold_source for r in record.retrieved),
            "retrieval.answer": any(r.has_answer for r in record.retrieved),
            "answered": answered,
            "answer.contains": bool(m["answer.contains"]),
            "citation.source": any(p["file_name"] in gold_sources for p in cited),
        })
        if m.get("support.rate") is not None:
            checks["supported"] = m["support.rate"] == 1.0
    else:
        checks["abstained"] = answer.error is None and answer.abstained
    record.metrics = {k: (round(v, 6) if v is not None else None) for k, v in m.items()}
    record.checks = checks
    return record


def add_retrieval_metrics(cases: list[CaseRecord], corpus: dict[str, str], top_k: int) -> None:
    """ranx hit/MRR/recall/nDCG at 1, 3 and top-k, by gold source and by answer string."""
    answerable = [c for c in cases if c.answerable]
    ks = ks_for(top_k)
    retrieved = {c.id: [r.model_dump() for r in c.retrieved] for c in answerable}
    by_source = ranx_scores(
        {c.id: {s: 1 for s in c.gold_sources} for c in answerable},
        {c.id: source_run(retrieved[c.id]) for c in answerable}, ks,
    )
    by_answer = ranx_scores(
        {c.id: answer_qrels(c.gold_answers, corpus) for c in answerable},
        {c.id: passage_run(retrieved[c.id]) for c in answerable}, ks,
    )
    for c in answerable:
        for name, value in by_source[c.id].items():
            c.metrics[f"retrieval.source.{name}"] = round(value, 6)
        for name, value in by_answer[c.id].items():
            c.metrics[f"retrieval.answer.{name}"] = round(value, 6)

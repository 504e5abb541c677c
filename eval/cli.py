"""``rag-eval``: run gold questions, gate on a baseline, compare runs, refresh baselines.

Exit codes: 0 pass; 1 a metric regressed against the baseline; 2 bad input
(unknown dataset, unreadable file, a baseline made on other data); 3 some
questions errored (allowed with ``--allow-errors``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional

import typer

from rag import RagError

from .datasets import BASELINES, DatasetError, load_dataset
from .gate import GateResult, compare as compare_runs
from .judge import JudgeConfig
from .report import write as write_report
from .results import RunResults
from .runner import EvalError, make_settings, run as run_dataset

EXIT_REGRESSION, EXIT_BAD_INPUT, EXIT_ERRORS = 1, 2, 3

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)

AsOfOpt = typer.Option(None, "--as-of", help="Answer as of: 'question' (each row's question_date), a date "
                       "(2022-06-16) or 'today'. Default: realtimeqa-asof and temporal use 'question', others today.")
DatasetOpt = typer.Option(..., "--dataset", "-d", help="news, chat, temporal, squad2-a, rgb, realtimeqa, realtimeqa-asof, or a path to a gold .jsonl / SQuAD .json")
MaxDropOpt = typer.Option(0.02, help="Largest allowed fall of a higher-is-better metric.")
MaxRiseOpt = typer.Option(0.02, help="Largest allowed rise of a lower-is-better rate (false abstention).")
LatencyOpt = typer.Option(None, help="Also fail when a latency figure exceeds this multiple of the baseline's.")


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    typer.secho(f"rag-eval: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _judge_config(judge: bool, runs: int, model: Optional[str]) -> JudgeConfig | None:
    if not judge:
        return None
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        _fail("--judge needs an LLM: set OPENAI_API_KEY (and OPENAI_BASE_URL for a local server)")
    return JudgeConfig(
        model=model or os.environ.get("RAG_JUDGE_MODEL") or os.environ.get("RAG_LLM_MODEL") or "gpt-4o-mini",
        base_url=os.environ.get("OPENAI_BASE_URL") or None, api_key=key, runs=runs,
    )


def _overrides(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--set expects KEY=VALUE (a Settings field, e.g. abstain_threshold=0.5), not {pair!r}")
        out[key.strip().lower().removeprefix("rag_")] = value.strip()
    return out


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} is a file; give a folder for results.json, report.md and the plots")


def _execute(dataset: str, mode: str, top_k: Optional[int], every: int, corpus: Optional[Path],
             index_dir: Optional[Path], judge: JudgeConfig | None, quiet: bool,
             overrides: dict[str, str] | None = None, as_of: Optional[str] = None) -> RunResults:
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        try:
            ds = load_dataset(dataset, Path(tmp), every=every, corpus=corpus, as_of=as_of)
            settings = make_settings(index_dir or Path(tmp) / "index", mode, top_k, overrides or {})
            if not quiet:
                typer.echo(f"rag-eval: {ds.name}: {len(ds.cases)} questions over {ds.corpus} "
                           f"(mode {mode}, top_k {settings.top_k}, as of {_as_of_shown(ds.as_of)})", err=True)
            return run_dataset(ds, settings, mode=mode, progress=not quiet, judge_config=judge)
        except (DatasetError, EvalError, RagError, ValueError) as exc:
            _fail(str(exc))
        except OSError as exc:
            _fail(f"{exc.strerror or exc}: {exc.filename or ''}")
        raise AssertionError("unreachable")


def _as_of_shown(as_of: str | None) -> str:
    return {"question": "each question's date", None: "today"}.get(as_of, as_of or "today")


def _load(path: Path) -> RunResults:
    try:
        return RunResults.load(path)
    except ValueError as exc:
        _fail(str(exc))
        raise


def _verdict(results: RunResults, gate: GateResult | None, allow_errors: bool) -> int:
    """Print the verdict and return the exit code."""
    errors = int(results.metrics.get("errors", 0))
    judge_errors = len((results.judge or {}).get("errors", []))
    code = 0
    if gate is not None:
        typer.echo(gate.summary())
        if gate.incomparable:
            return EXIT_BAD_INPUT
        if not gate.ok:
            code = EXIT_REGRESSION
    if errors or judge_errors:
        failed = [c.id for c in results.cases if c.error][:10]
        typer.echo(f"{errors} question(s) errored {failed}; {judge_errors} judge call(s) failed"
                   + ("" if allow_errors else " (fails the run; --allow-errors to accept)"))
        if not allow_errors and code == 0:
            code = EXIT_ERRORS
    return code


@app.command()
def run(
    dataset: str = DatasetOpt,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for results.json, report.md and plots."),
    mode: str = typer.Option("extractive", help="extractive or llm"),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, max=50, help="Passages per question."),
    baseline: Optional[Path] = typer.Option(None, help="Compare to this baseline and fail on regression."),
    max_drop: float = MaxDropOpt,
    max_rise: float = MaxRiseOpt,
    latency_ratio: Optional[float] = LatencyOpt,
    allow_errors: bool = typer.Option(False, help="Do not fail when some questions error."),
    every: int = typer.Option(1, min=1, help="Keep every k-th question, for a quick run."),
    corpus: Optional[Path] = typer.Option(None, help="Articles a .jsonl dataset is about (default data/articles)."),
    index_dir: Optional[Path] = typer.Option(None, help="Keep the eval index here to reuse it (default: a temp dir)."),
    judge: bool = typer.Option(False, "--judge", help="Add LLM-judge metrics (needs OPENAI_API_KEY)."),
    judge_runs: int = typer.Option(1, min=1, max=20, help="Judge each answer this many times; the spread is reported."),
    judge_model: Optional[str] = typer.Option(None, help="Judge model (default RAG_JUDGE_MODEL, RAG_LLM_MODEL, gpt-4o-mini)."),
    set_: list[str] = typer.Option([], "--set", help="Override a setting for this run: KEY=VALUE (repeatable)."),
    as_of: Optional[str] = AsOfOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Answer every question of a dataset, write results.json, report.md and plots; gate on --baseline.

    Settings are the defaults plus --top-k/--set (RAG_* variables are ignored, so a run is
    reproducible); in --mode llm the server comes from OPENAI_API_KEY / OPENAI_BASE_URL / RAG_LLM_MODEL.
    """
    _check_out(out)
    base = _load(baseline) if baseline else None
    results = _execute(dataset, mode, top_k, every, corpus, index_dir,
                       _judge_config(judge, judge_runs, judge_model), quiet, _overrides(set_), as_of)
    gate = compare_runs(results, base, max_drop, max_rise, latency_ratio) if base else None
    try:
        results.save(out / "results.json")
        files = write_report(out, results, gate, base)
    except OSError as exc:
        _fail(f"cannot write to {out}: {exc.strerror or exc}")
    typer.echo(_headline(results))
    typer.echo(f"wrote {out / 'results.json'}, " + ", ".join(str(f) for f in files))
    raise typer.Exit(_verdict(results, gate, allow_errors))


@app.command()
def compare(
    a: Path = typer.Argument(..., help="The older results (or a baseline)."),
    b: Path = typer.Argument(..., help="The newer results."),
    max_drop: float = MaxDropOpt,
    max_rise: float = MaxRiseOpt,
    latency_ratio: Optional[float] = LatencyOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write report.md and plots for B against A."),
) -> None:
    """Gate results B against results A: regressed metrics and the cases that flipped."""
    if out:
        _check_out(out)
    old, new = _load(a), _load(b)
    gate = compare_runs(new, old, max_drop, max_rise, latency_ratio)
    if out:
        write_report(out, new, gate, old)
    typer.echo(gate.summary())
    if gate.flipped_to_pass:
        typer.echo(f"{len(gate.flipped_to_pass)} case(s) flipped from fail to pass: "
                   + ", ".join(f.id for f in gate.flipped_to_pass[:20]))
    raise typer.Exit(0 if gate.ok else EXIT_BAD_INPUT if gate.incomparable else EXIT_REGRESSION)


@app.command()
def baseline(
    dataset: str = DatasetOpt,
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Default eval/baselines/NAME.json."),
    every: int = typer.Option(1, min=1, help="Keep every k-th question."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, max=50),
    corpus: Optional[Path] = typer.Option(None),
    index_dir: Optional[Path] = typer.Option(None),
    as_of: Optional[str] = AsOfOpt,
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Write (or refresh, on purpose) the committed baseline for a dataset, default configuration."""
    results = _execute(dataset, "extractive", top_k, every, corpus, index_dir, None, quiet, as_of=as_of)
    if results.metrics.get("errors"):
        _fail("refusing to write a baseline from a run with errored questions", EXIT_ERRORS)
    target = out or BASELINES / f"{results.dataset['name']}.json"
    results.as_baseline().save(target, slim=True)
    typer.echo(_headline(results))
    typer.echo(f"wrote {target}")


def _headline(results: RunResults) -> str:
    m, k = results.metrics, results.settings.get("top_k", 5)
    parts = [f"{int(m.get('cases', 0))} cases", f"pass {m.get('pass_rate', 0):.3f}"]
    for name in ("answer.contains", "answer.f1", f"retrieval.answer.hit@{k}", "citation.precision.source",
                 "support.rate", "abstention.recall", "abstention.false_rate"):
        if name in m:
            parts.append(f"{name} {m[name]:.3f}")
    return "; ".join(parts)


def main() -> None:
    app()


if __name__ == "__main__":
    main()

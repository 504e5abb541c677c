"""``report.md`` and PNG plots for a run, with the gate's verdict when there is a baseline."""

from __future__ import annotations

from pathlib import Path

from .gate import GateResult, direction
from .results import CaseRecord, RunResults

# The figures a reader looks at first; the full list follows them in the report.
HEADLINE = [
    "pass_rate", "answer.contains", "answer.f1", "answer.exact_match",
    "citation.precision.source", "citation.recall.source", "citation.precision.answer",
    "citation.recall.answer", "support.rate", "abstention.precision", "abstention.recall",
    "abstention.f1", "abstention.false_rate",
]
BY_TYPE_COLUMNS = [
    "cases", "pass_rate", "answer.contains", "answer.f1", "citation.precision.source",
    "support.rate", "abstention.false_rate", "abstention.recall",
]


def headline(results: RunResults) -> list[str]:
    k = results.settings.get("top_k", 5)
    wanted = HEADLINE + [f"retrieval.source.hit@{k}", f"retrieval.answer.hit@{k}",
                         f"retrieval.answer.ndcg@{k}", f"retrieval.answer.mrr@{k}"]
    return [m for m in wanted if m in results.metrics]


def write(out_dir: Path, results: RunResults, gate: GateResult | None = None,
          baseline: RunResults | None = None) -> list[Path]:
    """Write report.md and the plots into ``out_dir``; return the files written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = [plot_by_type(results, out_dir / "by_type.png")]
    if baseline is not None:
        plots.append(plot_vs_baseline(results, baseline, out_dir / "vs_baseline.png"))
    report = out_dir / "report.md"
    report.write_text(markdown(results, gate, baseline, [p.name for p in plots]), encoding="utf-8")
    return [report, *plots]


def _cell(text: object, limit: int = 160) -> str:
    """Table-safe text: one line, pipes and markup escaped, trimmed."""
    s = " ".join(str(text).split())
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    for ch in "\\|<>*_`[]":
        s = s.replace(ch, "\\" + ch)
    return s


COUNTS = ("cases", "cases.answerable", "cases.unanswerable", "errors", "empty_answers")


def _num(v: float | None, name: str = "") -> str:
    if v is None:
        return "n/a"
    return f"{v:.0f}" if name in COUNTS else f"{v:.3f}"


def markdown(results: RunResults, gate: GateResult | None, baseline: RunResults | None,
             plots: list[str]) -> str:
    ds, st, m = results.dataset, results.settings, results.metrics
    lines = [
        f"# rag-eval report: {ds.get('name')}",
        "",
        f"- dataset: `{ds.get('path')}` (hash `{ds.get('hash')}`, {ds.get('cases')} questions"
        + (f", 1 in every {ds.get('every')}" if ds.get("every", 1) > 1 else "")
        + f"; corpus {ds.get('documents')} documents, {ds.get('chunks')} chunks)",
        f"- mode: {st.get('mode')}; top_k {st.get('top_k')}; embed model {st.get('embed_model')}; "
        f"abstain threshold {st.get('abstain_threshold')}",
        f"- run at {results.created}; errors: {_num(m.get('errors', 0), 'errors')}; "
        f"empty answers: {_num(m.get('empty_answers', 0), 'errors')}",
    ]
    if ds.get("skipped_files"):
        lines.append(f"- corpus files skipped: {len(ds['skipped_files'])} ({_cell('; '.join(ds['skipped_files']))})")
    if gate is not None:
        lines += ["", "## Verdict", "", "```", gate.summary(), "```"]
        lines += _gate_tables(gate)
    lines += ["", "## Headline metrics", "", _metric_table(results, baseline, headline(results))]
    lines += ["", "## By question type", "", _by_type_table(results)]
    for name in plots:
        lines += ["", f"![{name}]({name})"]
    failing = [c for c in results.cases if not c.passed]
    lines += ["", f"## Failing cases ({len(failing)} of {len(results.cases)})", ""]
    lines += _case_table(failing) if failing else ["None."]
    if results.judge:
        lines += ["", "## LLM judge", "", _judge_table(results.judge)]
    rest = [k for k in sorted(m) if k not in headline(results)]
    lines += ["", "## All metrics", "", _metric_table(results, baseline, rest)]
    lines += ["", _METRIC_NOTES]
    return "\n".join(lines) + "\n"


def _gate_tables(gate: GateResult) -> list[str]:
    out: list[str] = []
    if gate.regressions:
        out += ["", "### Regressed metrics", "", "| metric | baseline | now | limit broken |", "|---|---|---|---|"]
        out += [f"| {r.name} | {_num(r.baseline)} | {_num(r.current)} | {_cell(r.limit)} |" for r in gate.regressions]
    for title, flips in (("Cases that flipped from pass to fail", gate.flipped_to_fail),
                         ("Cases that already failed and now fail more checks", gate.worsened),
                         ("Cases that flipped from fail to pass", gate.flipped_to_pass)):
        if flips:
            out += ["", f"### {title} ({len(flips)})", "", "| id | type | checks | question | answer now |",
                    "|---|---|---|---|---|"]
            out += [f"| {f.id} | {f.type} | {', '.join(f.checks)} | {_cell(f.question)} | {_cell(f.answer)} |"
                    for f in flips]
    if gate.setting_changes:
        out += ["", "Settings that differ from the baseline: "
                + "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in gate.setting_changes.items())]
    if gate.missing_cases or gate.new_cases:
        out += ["", f"Cases only in the baseline: {len(gate.missing_cases)}; only in this run: {len(gate.new_cases)}"]
    return out


def _metric_table(results: RunResults, baseline: RunResults | None, names: list[str]) -> str:
    if baseline is None:
        rows = ["| metric | value | better |", "|---|---|---|"]
        rows += [f"| {n} | {_num(results.metrics[n], n)} | {_arrow(n)} |" for n in names]
        return "\n".join(rows)
    rows = ["| metric | value | baseline | change | better |", "|---|---|---|---|---|"]
    for n in names:
        now, before = results.metrics.get(n), baseline.metrics.get(n)
        delta = f"{now - before:+.3f}" if now is not None and before is not None else "n/a"
        rows.append(f"| {n} | {_num(now, n)} | {_num(before, n)} | {delta} | {_arrow(n)} |")
    return "\n".join(rows)


def _arrow(name: str) -> str:
    return {"higher": "higher", "lower": "lower", "count": "lower", "latency": "lower"}.get(direction(name), "")


def _by_type_table(results: RunResults) -> str:
    cols = [c for c in BY_TYPE_COLUMNS if any(c in v for v in results.by_type.values())]
    rows = ["| type | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for t, metrics in results.by_type.items():
        rows.append(f"| {t} | " + " | ".join(_num(metrics.get(c), c) for c in cols) + " |")
    return "\n".join(rows)


def _case_table(cases: list[CaseRecord], limit: int = 200) -> list[str]:
    rows = ["| id | type | failed checks | question | answer |", "|---|---|---|---|---|"]
    for c in cases[:limit]:
        answer = f"ERROR: {c.error}" if c.error else ("(abstained) " if c.abstained else "") + c.answer
        rows.append(f"| {c.id} | {c.type} | {', '.join(c.failed_checks())} | {_cell(c.question)} | {_cell(answer)} |")
    if len(cases) > limit:
        rows.append(f"\n{len(cases) - limit} more in results.json")
    return rows


def _judge_table(judge: dict) -> str:
    rows = [f"Model `{judge.get('model')}`, {judge.get('runs')} run(s) per case.", "",
            "| metric | mean | std over runs | min run | max run |", "|---|---|---|---|---|"]
    for name, s in judge.get("metrics", {}).items():
        rows.append(f"| {name} | {_num(s['mean'])} | {_num(s['std'])} | {_num(s['min'])} | {_num(s['max'])} |")
    return "\n".join(rows)


_METRIC_NOTES = """## How to read this

- A case **passes** when every check that applies holds. Answerable: no error, the gold
  source and a passage holding the answer were retrieved, the answer is given, contains a
  gold answer, cites a gold source and every claim is supported. Unanswerable: it abstains.
- `retrieval.source.*` judge relevance by gold source file (per document);
  `retrieval.answer.*` by a passage containing a gold answer string, against every
  indexed passage that contains one. Computed by ranx; `hit` is ranx's hit rate.
- `answer.*` are over answerable questions; an abstention or error scores 0.
  `exact_match` and `f1` use SQuAD's normalisation against the best gold answer (a
  full quoted sentence rarely matches exactly, so extractive EM is near 0 by design).
- `citation.precision.*`: share of cited passages from a gold source / holding a gold
  answer; `citation.recall.source`: share of gold sources cited;
  `citation.recall.answer`: share of the retrieved passages holding the answer that were cited.
- `support.rate`: share of answer claims (text up to its `[n]` markers) whose cited
  passages hold at least 70% of the claim's content words; over every question that got
  an answer (answered unanswerable ones included); abstentions say nothing and are left
  out, errors score 0.
- `abstention.*` treat abstaining as predicting "unanswerable"; `false_rate` is the share
  of answerable questions abstained on. An errored case counts as the wrong call.
- Latency (seconds, from `Answer.timings`) is reported but not gated unless `--latency-ratio` is given.
"""


def plot_by_type(results: RunResults, path: Path) -> Path:
    """Grouped bars: the main quality figures for each question type (and overall)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = results.settings.get("top_k", 5)
    names = ["pass_rate", "answer.contains", f"retrieval.source.hit@{k}", "citation.precision.source",
             "support.rate", "abstention.recall"]
    groups = {"all": results.metrics, **results.by_type}
    fig, ax = plt.subplots(figsize=(max(7, 1.3 * len(groups)), 4.8), dpi=110)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [g.get(name, float("nan")) for g in groups.values()]  # a gap: does not apply
        ax.bar([x + i * width for x in range(len(groups))], values, width, label=name)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(groups))],
                  [f"{t}\n(n={int(g.get('cases', 0))})" for t, g in groups.items()], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{results.dataset.get('name')}: metrics by question type (no bar: does not apply)")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_vs_baseline(results: RunResults, baseline: RunResults, path: Path) -> Path:
    """Horizontal bars: each headline metric now and in the baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in headline(results) if n in baseline.metrics]
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(names) + 1.2), dpi=110)
    ys = range(len(names))
    ax.barh([y + 0.2 for y in ys], [baseline.metrics[n] for n in names], 0.4, label="baseline", color="#999999")
    ax.barh([y - 0.2 for y in ys], [results.metrics[n] for n in names], 0.4, label="this run", color="#1f77b4")
    ax.set_yticks(list(ys), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_title("this run against the baseline")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path

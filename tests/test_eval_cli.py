"""``rag-eval`` end to end: the real model, a real index, the committed news baseline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cli import app
from eval.datasets import BASELINES, load_dataset
from eval.gate import compare, direction
from eval.results import RunResults
from eval.runner import make_settings, run
from rag import RAG, Settings

NEWS_BASELINE = BASELINES / "news.json"
cli = CliRunner()


def invoke(*args: str, env: dict | None = None):
    result = cli.invoke(app, [str(a) for a in args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def raised(baseline: RunResults, by: float = 0.25) -> RunResults:
    """The committed baseline with every higher-is-better metric raised by ``by``."""
    metrics = {k: (v + by if direction(k) == "higher" else v) for k, v in baseline.metrics.items()}
    return baseline.model_copy(update={"metrics": metrics})


def test_committed_baseline_matches_the_dataset_and_default_settings():
    base = RunResults.load(NEWS_BASELINE)
    assert base.dataset["name"] == "news" and base.dataset["cases"] == len(base.cases) >= 40
    assert base.settings["mode"] == "extractive" and base.metrics["errors"] == 0


def test_gate_fails_against_a_baseline_raised_by_a_quarter(tmp_path):
    """One real run: it fails against the raised baseline, naming metrics and the case that flipped,
    and its results pass against the committed baseline."""
    base = RunResults.load(NEWS_BASELINE)
    harder = raised(base)
    failing_now = next(c for c in base.cases if not c.passed and c.answerable)
    for c in harder.cases:
        if c.id == failing_now.id:  # pretend it passed before, so the gate must name it
            c.checks = {k: True for k in c.checks}
    harder_path = tmp_path / "harder.json"
    harder.save(harder_path)

    result = invoke("run", "--dataset", "news", "--baseline", harder_path, "--out", tmp_path / "out", "-q")
    assert result.exit_code == 1, result.output
    quality = sorted(k for k in base.metrics if direction(k) == "higher")
    assert len(quality) >= 30
    for name in quality:  # every raised metric is named with both values
        assert f"  {name}: {harder.metrics[name]:.4f} -> " in result.output
    assert f"{failing_now.id} [{failing_now.type}] now fails {', '.join(failing_now.failed_checks())}" in result.output
    report = (tmp_path / "out" / "report.md").read_text()
    assert "### Regressed metrics" in report and failing_now.id in report
    assert (tmp_path / "out" / "vs_baseline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    same = invoke("compare", NEWS_BASELINE, tmp_path / "out" / "results.json")
    assert same.exit_code == 0, same.output
    assert same.output.startswith("PASS")


def test_a_real_regression_names_the_questions_that_got_worse(embedder, tmp_path):
    """Abstaining more eagerly than calibrated must fail the gate, and name the cases it broke."""
    ds = load_dataset("news", tmp_path)
    settings = make_settings(tmp_path / "index", "extractive", None, {"abstain_threshold": 0.5})
    now = run(ds, settings, rag=RAG(settings, embedder=embedder), progress=False)
    gate = compare(now, RunResults.load(NEWS_BASELINE))
    names = {r.name for r in gate.regressions}
    assert {"abstention.false_rate", "answer.contains"} <= names
    fitted = Settings.model_fields["abstain_threshold"].default  # what the committed baseline ran with
    assert gate.setting_changes == {"abstain_threshold": [fitted, 0.5]}
    assert gate.flipped_to_fail
    records = {c.id: c for c in now.cases}
    for flip in gate.flipped_to_fail:  # each named case really is worse in this run's own records
        assert flip.checks and all(records[flip.id].checks[c] is False for c in flip.checks)
        # an abstention, or a compound question that lost a part's answer (it answers the parts that pass)
        assert records[flip.id].abstained or "answer.contains" in flip.checks
    assert any(records[f.id].abstained and "answered" in f.checks for f in gate.flipped_to_fail)


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory) -> Path:
    """Three questions about the sample corpus, one of them blank (it errors)."""
    path = tmp_path_factory.mktemp("ds") / "small.jsonl"
    rows = [
        {"id": "s1", "question": "How long did Trump's phone call with Putin last?", "answers": ["40-minute"],
         "sources": ["001_6455e6dab78b474c.txt"], "answerable": True, "type": "number"},
        {"id": "s2", "question": "   ", "answers": ["x"], "sources": ["001_6455e6dab78b474c.txt"],
         "answerable": True, "type": "what"},
        {"id": "s3", "question": "What is the boiling point of mercury?", "answers": [], "sources": [],
         "answerable": False, "type": "unanswerable"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_errored_questions_are_counted_and_fail_the_run(small_dataset, tmp_path):
    index = tmp_path / "index"
    result = invoke("run", "-d", small_dataset, "--out", tmp_path / "a", "--index-dir", index, "-q")
    assert result.exit_code == 3, result.output
    assert "1 question(s) errored ['s2']" in result.output and "--allow-errors" in result.output
    res = RunResults.load(tmp_path / "a" / "results.json")
    assert res.metrics["errors"] == 1 and res.metrics["cases"] == 3
    assert res.metrics["answer.contains"] == 0.5  # s1 right, errored s2 scored 0, not dropped
    assert "EmptyQuestionError" in next(c for c in res.cases if c.id == "s2").error

    allowed = invoke("run", "-d", small_dataset, "--out", tmp_path / "b", "--index-dir", index, "-q",
                     "--allow-errors")
    assert allowed.exit_code == 0, allowed.output


def test_llm_judge_against_a_loopback_openai_server(small_dataset, tmp_path):
    from tests.fixtures.openai_server import FakeOpenAI

    def grade(body):
        prompt = body["messages"][-1]["content"]
        return '{"correct": true}' if "You grade" in prompt else 'Sure: {"faithful": 0.5}'

    with FakeOpenAI(default=grade) as server:
        env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": server.url}
        result = invoke("run", "-d", small_dataset, "--out", tmp_path / "j", "-q", "--allow-errors",
                        "--judge", "--judge-runs", "2", "--judge-model", "judge-1", env=env)
        assert result.exit_code == 0, result.output
        assert len(server.requests) == 4  # one answered case x (correctness, faithfulness) x 2 runs
        assert {r["model"] for r in server.requests} == {"judge-1"}
    res = RunResults.load(tmp_path / "j" / "results.json")
    # s1 judged correct every run; the errored s2 scores 0 rather than leaving the mean
    assert res.judge["metrics"]["judge.correctness"] == {"mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5}
    assert res.metrics["judge.correctness"] == 0.5
    assert res.metrics["judge.faithfulness"] == 0.25
    assert "## LLM judge" in (tmp_path / "j" / "report.md").read_text()


@pytest.mark.parametrize("args, message", [
    (["run", "-d", "nosuch", "--out", "{tmp}/o"], "dataset 'nosuch' not found"),
    (["run", "-d", "news", "--out", "{tmp}/o", "--baseline", "{tmp}/missing.json"], "cannot read results file"),
    (["run", "-d", "news", "--out", "{tmp}/o", "--baseline", "{tmp}/garbage.json"], "is not a rag-eval results"),
    (["run", "-d", "news", "--out", "{tmp}/o", "--judge"], "--judge needs an LLM: set OPENAI_API_KEY"),
    (["compare", "{tmp}/garbage.json", "{tmp}/garbage.json"], "is not a rag-eval results"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message, tmp_path):
    (tmp_path / "garbage.json").write_bytes(b"\x00\xffnot json")
    result = invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args], env={"OPENAI_API_KEY": ""})
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "o" / "results.json").exists()


def test_compare_refuses_results_from_other_data(tmp_path):
    other = RunResults.load(NEWS_BASELINE)
    other.dataset["hash"] = "0000"
    other.save(tmp_path / "other.json")
    result = invoke("compare", NEWS_BASELINE, tmp_path / "other.json")
    assert result.exit_code == 2 and "NOT COMPARABLE" in result.output and "rag-eval baseline" in result.output


def test_llm_mode_run_against_a_loopback_server(small_dataset, tmp_path):
    from tests.fixtures.openai_server import FakeOpenAI, number_of

    def model(body):
        try:
            return f"Trump held a 40-minute phone call with Putin. [{number_of(body, '40-minute')}]"
        except StopIteration:
            return "NOT_IN_ARTICLES"

    with FakeOpenAI(default=model) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "", "RAG_LLM_RETRIES": "0"}
        result = invoke("run", "-d", small_dataset, "--mode", "llm", "--out", tmp_path / "llm", "-q",
                        "--allow-errors", env=env)
        assert result.exit_code == 0, result.output
    res = RunResults.load(tmp_path / "llm" / "results.json")
    assert res.settings["mode"] == "llm" and res.settings["llm"] == "openai"
    s1 = next(c for c in res.cases if c.id == "s1")
    assert s1.mode == "llm" and s1.passed and s1.metrics["answer.contains"] == 1.0

    no_server = invoke("run", "-d", small_dataset, "--mode", "llm", "--out", tmp_path / "x", "-q",
                       env={"OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""})
    assert no_server.exit_code == 2 and "--mode llm needs an LLM" in no_server.output

"""The regression gate on hand-made results: which metrics regress, which cases flip."""

import pytest

from eval.gate import compare, direction
from eval.results import CaseRecord, RunResults


def results(metrics: dict, cases: list[CaseRecord] | None = None, hash_: str = "h1", **settings) -> RunResults:
    return RunResults(dataset={"name": "t", "hash": hash_, "cases": 2}, settings={"top_k": 5, **settings},
                      metrics=metrics, cases=cases or [])


def case(cid: str, **checks: bool) -> CaseRecord:
    return CaseRecord(id=cid, type="who", question=f"question {cid}?", answerable=True, checks=checks)


@pytest.mark.parametrize("name, kind", [
    ("answer.contains", "higher"), ("retrieval.answer.ndcg@5", "higher"), ("abstention.false_rate", "lower"),
    ("errors", "info"), ("empty_answers", "count"), ("latency.total.p95", "latency"), ("cases.answerable", "info"),
])
def test_metric_directions(name, kind):
    assert direction(name) == kind


@pytest.mark.parametrize("before, now, regressed", [
    ({"answer.contains": 0.90}, {"answer.contains": 0.88}, []),                  # fell 0.02: allowed
    ({"answer.contains": 0.90}, {"answer.contains": 0.87}, ["answer.contains"]),  # fell 0.03
    ({"abstention.false_rate": 0.05}, {"abstention.false_rate": 0.08}, ["abstention.false_rate"]),
    ({"abstention.false_rate": 0.05}, {"abstention.false_rate": 0.00}, []),        # fell: better
    ({"empty_answers": 0}, {"empty_answers": 1}, ["empty_answers"]),              # no rise allowed
    ({"errors": 0}, {"errors": 1}, []),                     # errors fail the run by themselves (exit 3)
    ({"latency.total.p95": 0.1}, {"latency.total.p95": 9.9}, []),                  # not gated by default
    ({"latency.total.p95": 0.1}, {}, []),                                          # nor when missing
    ({"answer.f1": 0.5}, {}, ["answer.f1"]),                                       # vanished
    ({}, {"answer.f1": 0.1}, []),                                                  # new metric: nothing to compare
    ({"cases": 10}, {"cases": 3}, []),                                             # counts of questions: info
])
def test_metric_regressions(before, now, regressed):
    gate = compare(results(now), results(before))
    assert [r.name for r in gate.regressions] == regressed
    assert gate.ok is (not regressed)


def test_latency_is_gated_only_with_a_ratio():
    gate = compare(results({"latency.total.p95": 0.35}), results({"latency.total.p95": 0.1}), latency_ratio=3)
    assert [r.name for r in gate.regressions] == ["latency.total.p95"]
    assert "3.50x" in gate.regressions[0].limit


def test_cases_that_flip_are_named():
    before = [case("a", no_error=True, answered=True), case("b", no_error=True, answered=False),
              case("c", no_error=True, answered=False), case("gone", no_error=True)]
    now = [case("a", no_error=True, answered=False), case("b", no_error=False, answered=False),
           case("c", no_error=True, answered=True), case("new", no_error=True)]
    gate = compare(results({"pass_rate": 0.2}, now), results({"pass_rate": 0.5}, before))
    assert [(f.id, f.checks) for f in gate.flipped_to_fail] == [("a", ["answered"])]
    assert [(f.id, f.checks) for f in gate.worsened] == [("b", ["no_error"])]
    assert [(f.id, f.checks) for f in gate.flipped_to_pass] == [("c", ["answered"])]
    assert gate.missing_cases == ["gone"] and gate.new_cases == ["new"]
    text = gate.summary()
    assert "pass_rate: 0.5000 -> 0.2000" in text and "a [who] now fails answered: question a?" in text


def test_a_check_that_no_longer_applies_is_not_a_flip():
    gate = compare(results({}, [case("a", answered=False)]), results({}, [case("a", answered=True, supported=True)]))
    assert [(f.id, f.checks) for f in gate.flipped_to_fail] == [("a", ["answered"])]


def test_other_data_is_not_comparable():
    gate = compare(results({"answer.f1": 0.1}, hash_="h2"), results({"answer.f1": 0.9}))
    assert not gate.ok and "rag-eval baseline" in gate.incomparable and not gate.regressions


def test_setting_changes_are_listed_except_speed_knobs():
    gate = compare(results({}, top_k=3, concurrency=8), results({}, top_k=5, concurrency=4))
    assert gate.setting_changes == {"top_k": [5, 3]}


def test_a_setting_added_since_the_baseline_at_its_default_is_not_a_change():
    from rag import Settings

    default = Settings.model_fields["time_weight"].default
    assert compare(results({}, time_weight=default), results({})).setting_changes == {}
    assert compare(results({}, time_weight=0.0), results({})).setting_changes == {"time_weight": [None, 0.0]}

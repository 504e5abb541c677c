"""Table tests for the eval metrics; every expected value is worked out by hand in the comment."""

import math

import pytest

from eval.metrics import (
    abstention_scores,
    citation_scores,
    contains_any,
    exact_match,
    mean,
    percentile,
    split_claims,
    squad_normalize,
    strip_markers,
    support_rate,
    token_f1,
)
from eval.results import CaseRecord, aggregate
from eval.retrieval import ranx_scores, source_run
from eval.runner import score_case
from eval.datasets import GoldCase
from rag import Answer, Citation, Passage, parse_markers


@pytest.mark.parametrize("text, expected", [
    ("A [1]. B [2, 3] C[4-5].", "A. B C."),
    ("no markers", "no markers"),
    ("", ""),
])
def test_strip_markers(text, expected):
    assert strip_markers(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("The  Cat's, hat!", "cats hat"),       # lower, punctuation out, article out, spaces folded
    ("An apple a day", "apple day"),
    ("", ""),
])
def test_squad_normalize(text, expected):
    assert squad_normalize(text) == expected


@pytest.mark.parametrize("pred, golds, expected", [
    ("The Eiffel Tower!", ["eiffel tower"], 1.0),
    ("Eiffel", ["eiffel tower"], 0.0),
    ("Paris", ["London", "paris"], 1.0),   # best gold
    ("", [], 0.0),                         # empty
    ("dog", ["cat"], 0.0),                 # all wrong
])
def test_exact_match(pred, golds, expected):
    assert exact_match(pred, golds) == expected


@pytest.mark.parametrize("pred, golds, expected", [
    ("the cat sat", ["a cat sat down"], 0.8),   # p=2/2, r=2/3 -> 2*(2/3)/(5/3)
    ("x y y", ["y y z"], 2 / 3),                # common y,y: p=r=2/3
    ("Paris", ["paris", "London"], 1.0),
    ("dog", ["cat"], 0.0),                      # all wrong
    ("", ["cat"], 0.0),                         # empty prediction
    ("cat", [], 0.0),                           # no gold
])
def test_token_f1(pred, golds, expected):
    assert token_f1(pred, golds) == pytest.approx(expected)


def test_contains_any_folds_case_quotes_and_spaces():
    assert contains_any("Trump’s  40-MINUTE call", ["trump's 40-minute"])
    assert contains_any("It cost $12.", ["$12"]) and contains_any("(Odo)", ["Odo"])
    assert not contains_any("It has 13 rivers", ["3"])        # whole words only
    assert not contains_any("He often came", ["ten"])
    assert not contains_any("anything", ["", "  "])
    assert not contains_any("", ["x"])


P1 = {"chunk_id": "p1", "file_name": "a", "text": "Grushko said X"}
P2 = {"chunk_id": "p2", "file_name": "a", "text": "Nothing here"}
P3 = {"chunk_id": "p3", "file_name": "b", "text": "Grushko again"}
P4 = {"chunk_id": "p4", "file_name": "c", "text": "zzz"}
RETRIEVED = [P1, P2, P3, P4]


@pytest.mark.parametrize("cited, expected", [
    # unique cited p1,p2,p4: gold-source 2/3; sources cited {a} of {a,b}: 1/2;
    # with answer {p1}: 1/3; answer-bearing retrieved {p1,p3}, cited {p1}: 1/2
    ([P1, P2, P1, P4], (2 / 3, 0.5, 1 / 3, 0.5)),
    ([P1, P3], (1.0, 1.0, 1.0, 1.0)),           # all right
    ([P4], (0.0, 0.0, 0.0, 0.0)),               # all wrong
    ([], (0.0, 0.0, 0.0, 0.0)),                 # nothing cited
])
def test_citation_scores(cited, expected):
    got = citation_scores(cited, ["a", "b"], ["Grushko"], RETRIEVED)
    assert [got["citation.precision.source"], got["citation.recall.source"],
            got["citation.precision.answer"], got["citation.recall.answer"]] == pytest.approx(list(expected))


def test_citation_answer_recall_is_zero_when_nothing_retrieved_holds_the_answer():
    got = citation_scores([P2], ["a"], ["Grushko"], [P2, P4])
    assert got["citation.recall.answer"] == 0.0 and got["citation.recall.source"] == 1.0


@pytest.mark.parametrize("text, expected", [
    ("He met Putin in St. Petersburg. [1] It was long. [1][2] Tail", [
        "He met Putin in St. Petersburg. [1]", "It was long. [1][2]", "Tail"]),
    ("A [1], and B [2].", ["A [1],", "and B [2]."]),
    ("", []),
])
def test_split_claims(text, expected):
    assert split_claims(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("x [1, 3]", [1, 3]), ("x [2-4]", [2, 3, 4]), ("x [1][3]", [1, 3]), ("none", []),
])
def test_sentence_markers(text, expected):
    assert parse_markers(text) == expected


@pytest.mark.parametrize("text, passages, expected", [
    # claim 1: grushko, spoke, moscow all in [1]; claim 2: paris, big -> only "big" in [2] (1/2 < 0.7)
    ("Grushko spoke in Moscow. [1] Paris is big. [2]",
     {1: "Alexander Grushko spoke in Moscow on Friday.", 2: "Berlin is big."}, 0.5),
    ("Grushko spoke in Moscow.", {1: "Grushko spoke in Moscow."}, 0.0),     # no citation
    ("Grushko spoke in Moscow. [9]", {1: "Grushko spoke in Moscow."}, 0.0),  # cites nothing real
    ("Grushko spoke in Moscow. [1]", {1: "Grushko spoke in Moscow."}, 1.0),
    ("", {1: "x"}, 0.0),                                                     # empty answer
])
def test_support_rate(text, passages, expected):
    assert support_rate(text, passages) == pytest.approx(expected)


@pytest.mark.parametrize("abstained, answerable, expected", [
    # right = 1 (index 0); 3 abstentions; 2 unanswerable; 2 of 3 answerable abstained
    ([True, False, True, False, True], [False, False, True, True, True], (1 / 3, 1 / 2, 0.4, 2 / 3)),
    ([True, False], [False, True], (1.0, 1.0, 1.0, 0.0)),        # perfect
    ([False, True], [False, True], (0.0, 0.0, 0.0, 1.0)),        # all wrong
    ([False, False], [False, True], (0.0, 0.0, 0.0, 0.0)),       # never abstains
    ([], [], (None, None, None, None)),                          # empty
    ([True], [True], (None, None, None, 1.0)),                   # no unanswerable questions
])
def test_abstention_scores(abstained, answerable, expected):
    got = abstention_scores(abstained, answerable)
    keys = ["abstention.precision", "abstention.recall", "abstention.f1", "abstention.false_rate"]
    for key, want in zip(keys, expected):
        assert got[key] == (None if want is None else pytest.approx(want)), key


@pytest.mark.parametrize("values, q, expected", [
    ([1, 2, 3, 4], 50, 2.5), ([1, 2, 3, 4], 95, 3.85), ([5], 95, 5.0), ([], 50, None),
])
def test_percentile(values, q, expected):
    assert percentile(values, q) == (None if expected is None else pytest.approx(expected))


def test_mean_skips_only_not_applicable():
    assert mean([1.0, None, 0.0]) == 0.5 and mean([None]) is None and mean([]) is None


def test_ranx_scores_by_hand():
    ndcg_q1 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))  # relevant at ranks 1 and 3 of 2 relevant
    got = ranx_scores(
        {"q1": {"a": 1, "b": 1}, "q2": {"b": 1}, "q3": {}, "q4": {"a": 1}},
        {"q1": {"a": 3.0, "x": 2.0, "b": 1.0}, "q2": {"x": 2.0, "b": 1.0}, "q3": {"x": 1.0}, "q4": {}},
        ks=[1, 3],
    )
    assert got["q1"] == pytest.approx({"hit@1": 1, "mrr@1": 1, "recall@1": 0.5, "ndcg@1": 1,
                                       "hit@3": 1, "mrr@3": 1, "recall@3": 1, "ndcg@3": ndcg_q1})
    assert got["q2"] == pytest.approx({"hit@1": 0, "mrr@1": 0, "recall@1": 0, "ndcg@1": 0,
                                       "hit@3": 1, "mrr@3": 0.5, "recall@3": 1, "ndcg@3": 1 / math.log2(3)})
    assert set(got["q3"].values()) == {0.0}   # nothing relevant anywhere: 0, not dropped
    assert set(got["q4"].values()) == {0.0}   # nothing retrieved (an errored question): 0
    assert ranx_scores({}, {}, [1]) == {}


def test_source_run_ranks_documents_by_first_passage():
    run = source_run([{"file_name": f} for f in ["a", "a", "b", "c"]])
    assert sorted(run, key=run.get, reverse=True) == ["a", "b", "c"]


def _passage(n: int, file_name: str, text: str) -> Passage:
    return Passage(chunk_id=f"c{n}", doc_id=file_name, text=text, title="t", source=file_name,
                   file_name=file_name, start=0, end=len(text), spans=[], score=1.0 / n)


GOLD = GoldCase(id="g1", question="Who spoke?", answers=["Grushko"], sources=["a.txt"], answerable=True, type="who")


def test_score_case_answered_errored_and_abstained():
    passages = [_passage(1, "a.txt", "Grushko spoke in Moscow."), _passage(2, "b.txt", "Other text.")]
    good = Answer(question="Who spoke?", text="Grushko spoke in Moscow. [1]", passages=passages,
                  citations=[Citation(n=1, chunk_id="c1", doc_id="a.txt", title="t", source="a.txt",
                                      quote="Grushko spoke in Moscow.", start=0, end=24,
                                      passage_start=0, passage_end=24)])
    rec = score_case(GOLD, good)
    assert rec.passed and rec.metrics["answer.contains"] == 1.0 and rec.metrics["support.rate"] == 1.0
    assert rec.metrics["citation.precision.source"] == 1.0 and rec.retrieved[0].has_answer

    errored = score_case(GOLD, Answer(question="Who spoke?", error="TimeoutError: boom"))
    assert not errored.passed and errored.checks["no_error"] is False
    assert errored.metrics["answer.contains"] == 0.0 and errored.metrics["answer.f1"] == 0.0
    assert errored.metrics["support.rate"] == 0.0

    abstained = score_case(GOLD, Answer(question="Who spoke?", text="Not in the articles.", abstained=True,
                                        passages=passages))
    assert abstained.failed_checks() == ["answered", "answer.contains", "citation.source"]
    assert "support.rate" not in {k for k, v in abstained.metrics.items() if v is not None}

    unanswerable = GOLD.model_copy(update={"answerable": False, "answers": [], "sources": [], "type": "unanswerable"})
    assert score_case(unanswerable, Answer(question="q", text="x", abstained=True)).passed
    assert not score_case(unanswerable, Answer(question="q", text="Grushko. [1]", passages=passages)).passed


def test_aggregate_keeps_errored_cases_in_every_mean():
    ok = CaseRecord(id="1", type="who", answerable=True, answer="x", metrics={"answer.contains": 1.0},
                    checks={"no_error": True}, timings={"total": 1.0})
    bad = CaseRecord(id="2", type="who", answerable=True, error="boom", metrics={"answer.contains": 0.0},
                     checks={"no_error": False})
    una = CaseRecord(id="3", type="unanswerable", answerable=False, abstained=True, checks={"abstained": True},
                     timings={"total": 3.0})
    m = aggregate([ok, bad, una])
    assert m["answer.contains"] == 0.5 and m["errors"] == 1 and m["pass_rate"] == pytest.approx(2 / 3)
    assert m["abstention.false_rate"] == 0.5        # the errored answerable case counts as an abstention
    assert m["abstention.recall"] == 1.0
    assert m["latency.total.p50"] == 2.0            # errored cases have no timings to report
    assert aggregate([])["cases"] == 0

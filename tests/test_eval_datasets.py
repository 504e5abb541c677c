"""Dataset loading: named sets, SQuAD files, sampling, hashing, and bad files."""

import json
import shutil

import pytest

from eval.datasets import SQUAD_A, DatasetError, load_dataset, load_jsonl

SQUAD = {"data": [
    {"title": "Alpha_Beta", "paragraphs": [
        {"context": "Alpha is a city. It has 3 rivers.", "qas": [
            {"id": "q1", "question": "What is Alpha?", "answers": [{"text": "a city", "answer_start": 9},
                                                                  {"text": "a city", "answer_start": 9}],
             "is_impossible": False},
            {"id": "q2", "question": "Who founded Alpha?", "answers": [], "plausible_answers": [],
             "is_impossible": True},
        ]},
        {"context": "Beta is a river.", "qas": [
            {"id": "q3", "question": "What is Beta?", "answers": [{"text": "a river", "answer_start": 8}]},
        ]},
    ]},
    {"title": "Gamma", "paragraphs": [{"context": "Gamma is a star.", "qas": [
        {"id": "q4", "question": "What is Gamma?", "answers": [{"text": "a star", "answer_start": 9}]},
    ]}]},
]}


@pytest.fixture
def squad_file(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD))
    return path


def test_squad_file_becomes_one_document_per_article(squad_file, tmp_path):
    ds = load_dataset(str(squad_file), tmp_path / "work")
    assert ds.name == "tiny" and [c.id for c in ds.cases] == ["q1", "q2", "q3", "q4"]
    assert sorted(p.name for p in ds.corpus.iterdir()) == ["Alpha_Beta.txt", "Gamma.txt"]
    assert (ds.corpus / "Alpha_Beta.txt").read_text() == (
        "Alpha Beta\n\nAlpha is a city. It has 3 rivers.\n\nBeta is a river.\n")
    q1, q2 = ds.cases[0], ds.cases[1]
    assert q1.answers == ["a city"] and q1.sources == ["Alpha_Beta.txt"] and q1.answerable
    assert not q2.answerable and q2.answers == [] and q2.type == "unanswerable"


def test_every_k_keeps_every_kth_question(squad_file, tmp_path):
    assert [c.id for c in load_dataset(str(squad_file), tmp_path, every=2).cases] == ["q1", "q3"]
    with pytest.raises(DatasetError, match="--every"):
        load_dataset(str(squad_file), tmp_path, every=0)


def test_hash_covers_questions_and_corpus(tmp_path):
    corpus = tmp_path / "articles"
    shutil.copytree(load_dataset("news", tmp_path).corpus, corpus)
    first = load_dataset("news", tmp_path, corpus=corpus).hash
    assert load_dataset("news", tmp_path, corpus=corpus).hash == first
    assert load_dataset("news", tmp_path, corpus=corpus, every=2).hash != first
    next(corpus.iterdir()).write_text("changed")
    assert load_dataset("news", tmp_path, corpus=corpus).hash != first


@pytest.mark.parametrize("content, message", [
    ('{"id": "a", "question": "q"}\n', "bad.jsonl:1: not a gold case"),
    ('\n{"id": "a", "question": "q", "answers": [], "sources": [], "answerable": false, "type": "u"}\n{oops\n',
     "bad.jsonl:3: not a gold case"),
    ('{"id": "a", "question": "q", "answers": [], "sources": [], "answerable": false, "type": "u"}\n' * 2,
     "duplicate ids"),
])
def test_bad_jsonl_names_the_line(content, message, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_jsonl(bad)


@pytest.mark.parametrize("name, message", [
    ("nosuch", "not found: use one of news, chat, temporal, squad2-a, rgb, realtimeqa, realtimeqa-asof"),
    ("{tmp}/x.csv", "expected a gold .jsonl file or a SQuAD .json file"),
    ("{tmp}/empty.jsonl", "no questions"),
    ("{tmp}/broken.json", "not a SQuAD-format JSON file"),
])
def test_bad_dataset_names_and_files(name, message, tmp_path):
    (tmp_path / "x.csv").write_text("a,b")
    (tmp_path / "empty.jsonl").write_text("\n")
    (tmp_path / "broken.json").write_bytes(b"\x89PNG\x00")
    with pytest.raises(DatasetError, match=message):
        load_dataset(name.replace("{tmp}", str(tmp_path)), tmp_path)


@pytest.mark.skipif(not SQUAD_A.exists(), reason="needs ../shared/benchmarks/squad2/dev-a.json")
def test_named_squad2_a_keeps_answerable_and_unanswerable(tmp_path):
    ds = load_dataset("squad2-a", tmp_path)
    assert len(ds.cases) == 2828 and sum(c.answerable for c in ds.cases) == 1299
    assert len(list(ds.corpus.iterdir())) == 8


def test_readme_figures_match_the_committed_baselines():
    from eval.figures import README, rewrite

    text = README.read_text(encoding="utf-8")
    assert rewrite(text) == text, "README figures are stale: run `python -m eval.figures`"


def test_benchmark_sets_read_shared_and_say_where_it_goes_when_absent(monkeypatch, tmp_path):
    import eval.datasets as datasets

    if datasets.NAMED["rgb"].exists():  # CI has ../shared beside the clone: the set loads with its own corpus
        ds = load_dataset("rgb", tmp_path)
        assert ds.corpus == datasets.CORPORA["rgb"] and len(ds.cases) == 50
    monkeypatch.setitem(datasets.NAMED, "rgb", tmp_path / "nowhere" / "questions.jsonl")
    with pytest.raises(DatasetError, match="put the benchmarks folder"):
        load_dataset("rgb", tmp_path)


def test_a_conversation_row_carries_its_history(tmp_path):
    ds = load_dataset("chat", tmp_path)
    follow_ups = [c for c in ds.cases if c.history]
    assert len(follow_ups) >= 10 and all(c.type == "follow-up" for c in follow_ups)
    assert {c.type for c in ds.cases} >= {"follow-up", "compare", "summary", "typo", "answer-type", "unanswerable"}


def test_dated_sets_are_answered_as_of_each_question_date(tmp_path):
    ds = load_dataset("temporal", tmp_path)
    assert ds.as_of == "question" and len(ds.cases) >= 15
    assert all(c.question_date for c in ds.cases)
    assert ds.as_of_for(ds.cases[0]) == ds.cases[0].question_date
    assert sum(not c.answerable for c in ds.cases) >= 3  # the answer was published only after the question
    today = load_dataset("temporal", tmp_path, as_of="today")
    assert today.as_of is None and today.as_of_for(today.cases[0]) is None
    assert today.hash != ds.hash  # answered as of other dates: a baseline of one does not gate the other
    fixed = load_dataset("news", tmp_path, as_of="2025/09/01")
    assert fixed.as_of_for(fixed.cases[0]) == "2025-09-01"
    with pytest.raises(DatasetError, match="'question'"):
        load_dataset("news", tmp_path, as_of="yesterday")


def test_realtimeqa_asof_is_realtimeqa_answered_on_the_quiz_dates(tmp_path):
    import eval.datasets as datasets

    if not datasets.NAMED["realtimeqa"].exists():
        pytest.skip("needs ../shared/benchmarks/realtimeqa")
    plain, dated = load_dataset("realtimeqa", tmp_path), load_dataset("realtimeqa-asof", tmp_path)
    assert [c.id for c in plain.cases] == [c.id for c in dated.cases] and plain.corpus == dated.corpus
    assert plain.as_of is None and dated.as_of == "question"
    assert dated.as_of_for(dated.cases[0]) == dated.cases[0].question_date


def test_a_dated_run_refuses_rows_without_a_question_date(tmp_path):
    rows = tmp_path / "q.jsonl"
    rows.write_text('{"id": "a", "question": "Who?", "answers": ["x"], "sources": [], "answerable": true, '
                    '"type": "t"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="no question_date"):
        load_dataset(str(rows), tmp_path, corpus=tmp_path, as_of="question")
    assert load_dataset(str(rows), tmp_path, corpus=tmp_path).as_of is None

import re

import pytest

from rag import Answer, EmptyQuestionError, QuestionTooLongError
from rag.answer.extractive import ABSTAIN_TEXT

from .conftest import ARTICLES, CALL_FILE

CALL_Q = "How long did Trump's phone call with Putin last?"


def test_the_phone_call_question_cites_the_40_minute_sentence(corpus_rag):
    answer = corpus_rag.ask(CALL_Q)
    assert not answer.abstained and answer.error is None
    assert "40-minute phone call" in answer.text
    first = answer.citations[0]
    assert first.source.endswith(CALL_FILE) and "40-minute" in first.quote
    assert re.search(r"40-minute phone call with Putin\. \[%d\]" % first.n, answer.text)
    original = (ARTICLES / CALL_FILE).read_text()
    assert original[first.start : first.end] == first.quote  # offsets into the file itself
    passage = answer.passages[first.n - 1]
    assert passage.text[first.passage_start : first.passage_end] == first.quote
    assert answer.mode == "extractive" and set(answer.timings) == {"condense", "retrieve", "first_token", "answer", "total"}


@pytest.mark.parametrize("question", [
    CALL_Q,
    "What are Moscow's conditions for a settlement?",
    "Who is the NATO Secretary General?",
    "What did Zelenskyy say about China?",
])
def test_extractive_answers_only_quote_passages(corpus_rag, question):
    answer = corpus_rag.ask(question)
    assert answer.citations
    for c in answer.citations:
        assert c.quote in answer.passages[c.n - 1].text
        assert f"{c.quote} [{c.n}]" in answer.text
    sentences = re.split(r"\s*\[\d+\]\s*", answer.text)
    passages = " ".join(p.text for p in answer.passages)
    for s in filter(None, sentences):
        assert s in passages  # not one word of our own
    assert len(answer.citations) <= 3


@pytest.mark.parametrize("question", [
    "What is the tallest mountain in South America?",
    "How long should I bake sourdough bread?",
])
def test_abstains_without_citations_when_evidence_is_weak(corpus_rag, question):
    answer = corpus_rag.ask(question)
    assert answer.abstained and answer.text == ABSTAIN_TEXT and answer.citations == []
    assert answer.passages  # the closest passages are still offered to read
    assert answer.confidence < corpus_rag.settings.abstain_threshold


def test_bad_questions_raise_clear_errors(corpus_rag):
    with pytest.raises(EmptyQuestionError):
        corpus_rag.ask("  ")
    with pytest.raises(QuestionTooLongError, match="RAG_MAX_QUESTION_CHARS"):
        corpus_rag.ask("why " * 1000)
    for wordless in ("?!?! ### ;;;", "！？。", "…"):  # punctuation only: no question to look for
        with pytest.raises(EmptyQuestionError):
            corpus_rag.ask(wordless)
    absurd = corpus_rag.ask("zxqv blorft wumple?")
    assert absurd.abstained and absurd.error is None


def test_stream_yields_text_then_the_answer(corpus_rag):
    events = list(corpus_rag.stream(CALL_Q))
    assert isinstance(events[-1], Answer)
    assert "".join(e for e in events[:-1]) == events[-1].text


def test_ask_batch_keeps_order_and_isolates_failures(corpus_rag):
    questions = [CALL_Q, "", "Who is the NATO Secretary General?", "   ", CALL_Q]
    answers = corpus_rag.ask_batch(questions, concurrency=3, progress=False)
    assert [a.question.strip() for a in answers] == [q.strip() for q in questions]
    assert [a.error is not None for a in answers] == [False, True, False, True, False]
    assert "empty" in answers[1].error
    assert "Rutte" in answers[2].text
    assert answers[0].text == answers[4].text


def test_follow_up_carries_the_previous_question_without_an_llm(corpus_rag):
    history = [{"role": "user", "content": "What did Zelenskyy say about China?"},
               {"role": "assistant", "content": "..."}]
    answer = corpus_rag.ask("What did it supply to Russia?", history=history)
    assert answer.query == "What did it supply to Russia? (Zelenskyy say about China)"  # "it" is ambiguous: topic kept
    assert "drones" in answer.text


def test_answers_are_json_serialisable(corpus_rag):
    answer = corpus_rag.ask(CALL_Q)
    again = Answer.model_validate_json(answer.model_dump_json())
    assert again == answer

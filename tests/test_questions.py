"""Compound questions: each part is retrieved and answered, not only the whole."""

from __future__ import annotations

import pytest

from rag.questions import parts


@pytest.mark.parametrize(("question", "expected"), [
    ("What did Zelenskyy accuse China of supplying to Russia, and how many civilian casualties does the UN report?",
     ["What did Zelenskyy accuse China of supplying to Russia", "how many civilian casualties does the UN report?"]),
    ("Who chairs the council; when does it meet?", ["Who chairs the council", "when does it meet?"]),
    ("Did Lavrov and Peskov meet Witkoff?", None),  # a list of people, one question
    ("What did Trump tell Putin, who had called him?", None),  # a clause about Putin
    ("Which band is dropping a new single and will reunite for a tour?", None),
    ("Who met, and when?", None),  # a part too short to retrieve on its own
    ("What is the difference between what the UN said and what Russia claimed?", None),
    ("What did the minister say about the tariffs and how they affect farmers?", None),
    ("杭州新大桥的总投资是多少？", None),
])
def test_parts_of_a_question(question, expected):
    assert parts(question) == (expected or [question])


def test_each_part_of_a_compound_question_is_answered_from_its_own_article(corpus_rag):
    answer = corpus_rag.ask("What did Zelenskyy accuse China of supplying to Russia, and how many civilian "
                            "casualties does the UN report?")
    assert not answer.abstained
    files = {answer.passages[c.n - 1].file_name for c in answer.citations}
    assert {"001_6455e6dab78b474c.txt", "003_11921da3f1ecce55.txt"} <= files
    assert "over 14,000 civilian casualties" in answer.text
    order = [answer.passages[c.n - 1].file_name for c in answer.citations]
    assert order[0] == "001_6455e6dab78b474c.txt" and order[-1] == "003_11921da3f1ecce55.txt"  # as asked


def test_a_compound_question_whose_parts_the_articles_do_not_hold_abstains(corpus_rag):
    answer = corpus_rag.ask("Who won the 2019 Wimbledon women's singles title, and how many goals did Messi score "
                            "in 2012?")
    assert answer.abstained and not answer.citations

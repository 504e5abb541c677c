"""An indexed article that attacks the answerer: it orders the model about and plants fake passage markers.

Extractive mode must answer exactly as without it and never let the article's
own "[9]" read as a citation; LLM mode, against a loopback server whose
"model" obeys every injected order, must never end with a citation outside
the retrieved passages or a quote those passages do not contain.
"""

from __future__ import annotations

import pytest

from eval.datasets import load_jsonl
from rag import RAG, Settings, parse_markers
from rag.answer.citations import with_marker

from .conftest import ARTICLES
from .fixtures.hostile import INJECTION_ARTICLE, INJECTION_FILE, INJECTION_QUESTION
from .fixtures.openai_server import passages_in

ATTACK_QUESTIONS = [INJECTION_QUESTION, "Was the harbour bombed?", "How long will the repairs take?",
                    "What are the rules now?", "Has Kyiv surrendered?"]


@pytest.fixture(scope="module")
def attacked(tmp_path_factory, embedder):
    """The sample corpus plus the attacking article, and a control: the same article with the attack lines removed."""
    root = tmp_path_factory.mktemp("attack")
    benign = "\n".join(line for line in INJECTION_ARTICLE.splitlines()
                       if not any(w in line for w in ("IGNORE", "passage", "SYSTEM")))
    indexes = {}
    for name, article in (("attacked", INJECTION_ARTICLE), ("control", benign + "\n")):
        folder = root / name
        folder.mkdir()
        (folder / INJECTION_FILE).write_text(article)
        rag = RAG(Settings(data_dir=root / f"{name}-index"), embedder=embedder)
        rag.ingest([ARTICLES, folder], progress=False)
        indexes[name] = rag
    return indexes


def _valid(answer) -> None:
    """Every marker in the text is a retrieved passage's number: a citation quoting it verbatim, or the
    citation of a sentence flagged unsupported (LLM mode shows those, marked)."""
    numbers = set(parse_markers(answer.text))
    flagged = {n for u in answer.unsupported for n in u.cited}
    assert numbers == {c.n for c in answer.citations} | flagged, (answer.text, [c.n for c in answer.citations])
    assert all(1 <= n <= len(answer.passages) for n in numbers)
    for c in answer.citations:
        assert c.quote and c.quote in answer.passages[c.n - 1].text


def test_extractive_answers_to_the_news_questions_do_not_change(attacked):
    """Every news question answers as it does when the same article carries no attack.

    (Against the sample corpus alone one answer of 48 differs: any extra
    article shifts BM25's word statistics, attack or not.)
    """
    questions = [case.question for case in load_jsonl()]
    before = attacked["control"].ask_batch(questions, progress=False)
    after = attacked["attacked"].ask_batch(questions, progress=False)
    changed = [q for q, b, a in zip(questions, before, after)
               if (b.text, b.abstained, [c.chunk_id for c in b.citations])
               != (a.text, a.abstained, [c.chunk_id for c in a.citations])]
    assert changed == []


def test_quoted_markers_are_defused_but_the_quote_stays_verbatim(attacked):
    answer = attacked["attacked"].ask("Was the harbour bombed?")
    assert "(9)" in answer.text or "(42)" in answer.text  # the attack line was quoted, so this test bites
    assert any("[9]" in c.quote or "[42]" in c.quote for c in answer.citations)  # verbatim in the citation
    assert with_marker("Footnote [9] and [1-99] and [1 , 2].", 3) == "Footnote (9) and (1-99) and (1 , 2). [3]"
    assert parse_markers(with_marker("See [4][5].", 2)) == [2]


@pytest.mark.parametrize("question", ATTACK_QUESTIONS)
def test_extractive_quotes_the_attack_but_its_markers_cite_nothing(attacked, question):
    answer = attacked["attacked"].ask(question)
    _valid(answer)
    assert "[9]" not in answer.text and "[42]" not in answer.text and "[0]" not in answer.text
    assert "Kyiv has surrendered" not in answer.text.replace('"Kyiv has surrendered"', "")  # only ever quoted
    if not answer.abstained:
        assert answer.citations


def test_extractive_answer_to_the_article_question_is_the_control_answer(attacked):
    """The article's real content answers as it would with the attack lines removed."""
    got = attacked["attacked"].ask(INJECTION_QUESTION)
    want = attacked["control"].ask(INJECTION_QUESTION)
    assert got.text == want.text and "cracks in two support columns" in got.text


def _obedient(body: dict) -> str:
    """A model that does whatever the attacking passage says, in every marker format there is."""
    passages = passages_in(body)
    evil = next((n for n, text in passages.items() if "IGNORE ALL PREVIOUS" in text), 1)
    return (f"The harbour was bombed. [9] Kyiv has surrendered. [42][0] The pier is closed. [{evil}] "
            f"Everything is fine. [1-99] Trust me. [99999999999999999999] See also [-1] and 【2】 and [^3]. "
            f"Kyiv has surrendered. [{evil}, 7] Repairs will take six weeks. [{len(passages) + 1}]")


def test_llm_that_obeys_the_article_cannot_cite_outside_the_passages(attacked, fake_llm, embedder):
    rag = RAG(Settings(data_dir=attacked["attacked"].settings.data_dir, llm="openai", openai_base_url=fake_llm.url,
                       openai_api_key="test-key", llm_model="fake-model", llm_retries=0, llm_timeout=5.0),
              embedder=embedder)
    fake_llm.default = _obedient
    for question in ATTACK_QUESTIONS:
        answer = rag.ask(question)
        assert answer.error is None and answer.mode == "llm"
        _valid(answer)
        dropped = {d.n for d in answer.dropped_citations}
        assert {9, 42, 0} <= dropped or answer.abstained
        assert not any(c.n > len(answer.passages) for c in answer.citations)
        flagged = " ".join(u.sentence for u in answer.unsupported)
        for claim in ("Everything is fine", "Trust me"):  # stated by no passage: flagged wherever they appear
            assert claim not in answer.text or claim in flagged
        if "Kyiv has surrendered" in answer.text and "Kyiv has surrendered" not in flagged:
            # the attacking article itself says these words: cited, it can only point the reader at that article
            assert any("Kyiv has surrendered" in answer.passages[c.n - 1].text for c in answer.citations)


def test_a_reply_full_of_terminal_escapes_reaches_the_terminal_as_text(corpus_rag, fake_llm):
    """A hostile server's reply cannot clear the screen or retitle the window of someone running `rag ask`."""
    from typer.testing import CliRunner

    from rag.cli import app

    fake_llm.queue("Trump held a 40-minute phone call with Putin.\x1b[2J\x1b]0;pwned\x07 [1] Bye.\x1b[31m")
    env = {"RAG_DATA_DIR": str(corpus_rag.settings.data_dir), "RAG_LLM": "openai", "OPENAI_BASE_URL": fake_llm.url,
           "RAG_LLM_RETRIES": "0"}
    result = CliRunner().invoke(app, ["ask", "How long did Trump's phone call with Putin last?"], env=env)
    assert result.exit_code == 0, result.output
    assert "40-minute" in result.output and "\x1b" not in result.output and "\x07" not in result.output
    # the verified answer is rebuilt from sentences, which lose control characters; the words streamed live
    # to a terminal are not, so the CLI escapes them on the way out
    from rag.cli import _printable

    assert _printable("40-minute\x1b[2J call\n", keep="\n") == "40-minute\\x1b[2J call\n"

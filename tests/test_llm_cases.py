"""LLM-mode cases against the real openai client and a loopback OpenAI-compatible server.

Cases llm-non-claim-lines and llm-answer-in-question-language (inputs copied under tests/fixtures/cases/), each
asserting what its run.sh says should happen. The fake model streams its reply word by word, as the case's server does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import RAG, Settings
from rag.cli import app

CASES = Path(__file__).parent / "fixtures" / "cases"
BUSES_Q = "How many buses will Mayor Lefèvre's city buy?"
BUSES_A = "The city will buy 40 electric buses before the end of next year. [1]"


def _index(case: str, tmp_path_factory, embedder, model_cache) -> Path:
    """The case's articles indexed in extractive mode (as run.sh does); the model export copied in for the CLI."""
    data_dir = tmp_path_factory.mktemp(case)
    shutil.copytree(model_cache, data_dir / "models", dirs_exist_ok=True)
    rag = RAG(Settings(data_dir=data_dir, llm="extractive"), embedder=embedder)
    report = rag.ingest([CASES / case], progress=False)
    assert report.added == 2 and not report.skipped
    return data_dir


def _llm(data_dir: Path, fake_llm, embedder) -> RAG:
    return RAG(Settings(data_dir=data_dir, llm="openai", openai_base_url=fake_llm.url, openai_api_key="sk-loopback",
                        llm_model="fake-model", llm_retries=0, llm_timeout=5.0), embedder=embedder)


def _streamed(reply: str) -> dict:
    """The reply as the case's server streams it: one chunk per space-separated word."""
    return {"chunks": [w if i == 0 else " " + w for i, w in enumerate(reply.split(" "))]}


# --- llm-non-claim-lines ---------------------------------------------------------------------------------------

NON_CLAIM_REPLIES = [
    "The city will buy 40 electric buses before the end of next year [1].\n\nSources: [1], [2]",
    ("The city will buy 40 electric buses before the end of next year [1].\n\nReferences:\n"
     "[1] Montréal to buy electric buses\n[2] Springfield to buy hydrogen buses"),
    "**Answer:**\nThe city will buy 40 electric buses before the end of next year [1].",
]


@pytest.fixture(scope="module")
def non_claim_dir(tmp_path_factory, embedder, model_cache) -> Path:
    return _index("llm-non-claim-lines", tmp_path_factory, embedder, model_cache)


@pytest.mark.parametrize("reply", NON_CLAIM_REPLIES, ids=["sources-line", "references-block", "bold-heading"])
def test_non_claim_case_answer_is_the_one_supported_sentence(non_claim_dir, fake_llm, embedder, reply):
    """Before: "Sources:," "References:" (with [2] re-attached) and "**Answer:**" were kept and flagged (!)."""
    fake_llm.default = _streamed(reply)
    answer = _llm(non_claim_dir, fake_llm, embedder).ask(BUSES_Q)
    assert answer.text == BUSES_A and not answer.abstained
    assert answer.unsupported == [] and answer.dropped_citations == []
    (c,) = answer.citations
    assert c.n == 1 and not c.added and "40 electric buses" in c.quote
    assert answer.passages[0].file_name == "lefevre.txt"
    assert answer.raw_text == reply  # the model's own words stay readable


@pytest.mark.parametrize("reply", NON_CLAIM_REPLIES, ids=["sources-line", "references-block", "bold-heading"])
def test_non_claim_case_through_the_cli_prints_no_flag(non_claim_dir, fake_llm, reply):
    fake_llm.default = _streamed(reply)
    env = {"RAG_DATA_DIR": str(non_claim_dir), "RAG_LLM": "openai", "OPENAI_BASE_URL": fake_llm.url,
           "OPENAI_API_KEY": "sk-loopback", "RAG_LLM_MODEL": "fake-model", "RAG_LLM_RETRIES": "0"}
    result = CliRunner().invoke(app, ["ask", BUSES_Q], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == BUSES_A
    assert "(!)" not in result.output and "[2]" not in result.output


def test_the_prompt_asks_for_no_heading_and_no_source_list(non_claim_dir, fake_llm, embedder):
    """Verification drops such lines anyway; asked not to write them, a model spends no tokens on them."""
    fake_llm.default = "NOT_IN_ARTICLES"
    _llm(non_claim_dir, fake_llm, embedder).ask(BUSES_Q)
    assert "no heading, no list of sources" in fake_llm.requests[-1]["messages"][0]["content"]


# --- llm-answer-in-question-language ---------------------------------------------------------------------------


GERMAN_Q = "Wie viele Busse kauft die Stadt von Bürgermeisterin Lefèvre?"


@pytest.fixture(scope="module")
def language_dir(tmp_path_factory, embedder, model_cache) -> Path:
    return _index("llm-answer-in-question-language", tmp_path_factory, embedder, model_cache)


@pytest.mark.parametrize("question, reply, text", [
    (GERMAN_Q,
     "Die Stadt kauft bis Ende nächsten Jahres 40 Elektrobusse [1].",
     "Die Stadt kauft bis Ende nächsten Jahres 40 Elektrobusse. [1]"),
    ("Combien de bus la ville de la mairesse Lefèvre va-t-elle acheter ?",
     "La ville achètera 40 autobus électriques d'ici la fin de l'année prochaine [1].",
     "La ville achètera 40 autobus électriques d'ici la fin de l'année prochaine. [1]"),
    (BUSES_Q, "The city will buy 40 electric buses before the end of next year [1].", BUSES_A),  # the control
], ids=["german", "french", "english"])
def test_language_case_a_cited_answer_in_the_questions_language_is_kept(language_dir, fake_llm, embedder,
                                                                         question, reply, text):
    """Before: the German and French answers became the abstention text (abstained=true)."""
    fake_llm.default = _streamed(reply)
    answer = _llm(language_dir, fake_llm, embedder).ask(question)
    assert answer.text == text and not answer.abstained and answer.raw_text == reply
    assert answer.unsupported == [] and answer.dropped_citations == []
    (c,) = answer.citations
    assert c.n == 1 and answer.passages[0].file_name == "lefevre.txt" and "40 electric buses" in c.quote
    source = (CASES / "llm-answer-in-question-language" / "lefevre.txt").read_text(encoding="utf-8")
    assert source[c.start:c.end] == c.quote


def test_language_case_prompt_asks_for_the_passages_language(language_dir, fake_llm, embedder):
    """The robust half of the fix: answers written in the articles' words can be checked word by word."""
    fake_llm.default = "NOT_IN_ARTICLES"
    _llm(language_dir, fake_llm, embedder).ask(GERMAN_Q)
    system = fake_llm.requests[-1]["messages"][0]["content"]
    assert "in the language of the passages" in system and "language of the question" not in system


def test_language_case_an_answer_with_nothing_to_compare_is_kept_and_marked_unchecked(language_dir, fake_llm,
                                                                                      embedder):
    fake_llm.default = _streamed("Die Stadt kauft neue Elektrobusse [1].")
    answer = _llm(language_dir, fake_llm, embedder).ask(GERMAN_Q)
    assert not answer.abstained and answer.text == "Die Stadt kauft neue Elektrobusse. [1]" and answer.citations == []
    (u,) = answer.unsupported
    assert u.cited == [1] and u.reason.startswith("unchecked (other language)")

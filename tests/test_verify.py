"""Citation verification of LLM answers: a pure function, table-tested (lexical support only)."""

import pytest

from rag import Passage
from rag.answer.verify import split_answer, verify

P1 = "Alexander Grushko said Ukraine must not join NATO. He spoke in Moscow on Friday."
P2 = "The Coalition of the Willing is led by France and the United Kingdom."
PASSAGES = [
    Passage(chunk_id=f"c{i}", doc_id=f"d{i}", text=t, title=f"T{i}", source=f"/a/{i}.txt", file_name=f"{i}.txt",
            start=100 * i, end=100 * i + len(t), score=1.0)
    for i, t in enumerate([P1, P2], start=1)
]
GRUSHKO = "Grushko said Ukraine must not join NATO."
NOPE = "NOPE"


@pytest.mark.parametrize("raw, text, cited, added, dropped, unsupported", [
    # well cited
    (f"{GRUSHKO} [1]", f"{GRUSHKO} [1]", [1], [False], [], []),
    # markers before the full stop, and two sentences each with its own passage
    ("Grushko spoke in Moscow [1]. France and the United Kingdom lead the Coalition of the Willing [2].",
     "Grushko spoke in Moscow. [1] France and the United Kingdom lead the Coalition of the Willing. [2]",
     [1, 2], [False, False], [], []),
    # a passage that does not exist: dropped, then the sentence is re-cited to the one that states it
    (f"{GRUSHKO} [3]", f"{GRUSHKO} [1]", [1], [True], [(3, "no such passage")], []),
    # no citation at all: added
    (GRUSHKO, f"{GRUSHKO} [1]", [1], [True], [], []),
    # one right and one wrong passage: the wrong marker goes
    (f"{GRUSHKO} [1][2]", f"{GRUSHKO} [1]", [1], [False], [(2, "the passage does not state it")], []),
    (f"{GRUSHKO} [1-2]", f"{GRUSHKO} [1]", [1], [False], [(2, "the passage does not state it")], []),
    # a supported sentence and an unsupported one: the answer stands, the second is marked
    (f"{GRUSHKO} [1] The moon is made of cheese.", f"{GRUSHKO} [1] The moon is made of cheese.",
     [1], [False], [], [("The moon is made of cheese.", [])]),
    (f"{GRUSHKO} [1] Paris hosted the talks in May. [2]", f"{GRUSHKO} [1] Paris hosted the talks in May. [2]",
     [1], [False], [], [("Paris hosted the talks in May.", [2])]),
    # only the wrong passage: nothing is supported, so it abstains
    (f"{GRUSHKO} [2]", NOPE, [], [], [], [(GRUSHKO, [2])]),
    ("The moon is made of cheese. [1]", NOPE, [], [], [], [("The moon is made of cheese.", [1])]),
    # the sentinel, however it is written, and an empty reply
    ("NOT_IN_ARTICLES", NOPE, [], [], [], []),
    (" not in articles ", NOPE, [], [], [], []),
    ("", NOPE, [], [], [], []),
])
def test_verify(raw, text, cited, added, dropped, unsupported):
    v = verify(raw, PASSAGES, abstain_text=NOPE)
    assert v.text == text
    assert v.abstained is (text == NOPE)
    assert [c.n for c in v.citations] == cited
    assert [c.added for c in v.citations] == added
    assert [(d.n, d.reason) for d in v.dropped] == dropped
    assert [(u.sentence, u.cited) for u in v.unsupported] == unsupported


def test_citations_map_to_the_supporting_sentence_and_its_source_offsets():
    (c,) = verify("He spoke in Moscow on Friday. [1]", PASSAGES, abstain_text=NOPE).citations
    assert c.quote == "He spoke in Moscow on Friday."
    assert PASSAGES[0].text[c.passage_start:c.passage_end] == c.quote
    assert (c.start, c.end) == (100 + c.passage_start, 100 + c.passage_end)
    assert (c.chunk_id, c.doc_id, c.source) == ("c1", "d1", "/a/1.txt")


def test_split_answer_moves_markers_back_to_their_sentence():
    assert split_answer("He met Putin in St. Petersburg. [1] The U.S. envoy spoke. [2][3]") == [
        "He met Putin in St. Petersburg. [1]", "The U.S. envoy spoke. [2][3]"]


def test_embedding_similarity_can_only_add_support_for_paraphrase():
    """With an embed function, a paraphrase sharing few words can still be supported."""
    def embed(texts):  # a stand-in model: everything about Grushko/NATO points the same way
        return [[1.0, 0.0] if ("NATO" in t or "alliance" in t) else [0.0, 1.0] for t in texts]

    raw = "Moscow's envoy Grushko rejected Kyiv joining the alliance. [1]"
    assert verify(raw, PASSAGES, abstain_text=NOPE).abstained  # lexically too far
    v = verify(raw, PASSAGES, embed=embed, abstain_text=NOPE)
    assert not v.abstained and [c.n for c in v.citations] == [1]

"""Citation verification of LLM answers: a pure function, table-tested (lexical support only)."""

import pytest

from rag import Passage
from rag.answer.verify import (
    UNCHECKED,
    claim_text,
    languages,
    non_claim,
    other_language,
    split_answer,
    verify,
)

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


# --- lines that are not claims: headings, labels, source lists ----------------------------------------------


@pytest.mark.parametrize("line, in_sources, kind", [
    ("Sources: [1], [2]", False, "sources"),
    ("**Sources:**", False, "sources"),
    ("## References", False, "sources"),
    ("References:", False, "sources"),
    ("Citations: [1][2]", False, "sources"),
    ("Sources used: [1]", False, "sources"),
    ("Source: lefevre.txt", False, "sources"),
    ("Quellen:", False, "sources"),
    ("Références :", False, "sources"),
    ("Fuentes: [2]", False, "sources"),
    ("**Answer:**", False, "heading"),
    ("**Answer**:", False, "heading"),
    ("## Answer", False, "heading"),
    ("# Key facts", False, "heading"),
    ("__Summary__", False, "heading"),
    ("Answer:", False, "label"),
    ("Antwort:", False, "label"),
    ("Here is what the articles say:", False, "label"),
    ("---", False, "rule"),
    ("[1] Montréal to buy electric buses", True, "reference"),
    ("1. Montréal to buy electric buses", True, "reference"),
    ("- lefevre.txt (2025-03-10)", True, "reference"),
    # claims, whatever word they start with
    ("Sources said the deal was close [1].", False, None),
    ("Sources said the deal was close [1].", True, None),
    ("References to the treaty were removed from the draft [2].", False, None),
    ("Citations for speeding rose by 40% [1].", False, None),
    ("**The city will buy 40 buses [1].**", False, None),
    ("[1] Montréal to buy electric buses", False, None),  # a reference entry only after a source label
    ("The deal, sources said, was close: both sides signed it [1].", False, None),
    ("", False, None),
])
def test_non_claim_kinds(line, in_sources, kind):
    assert non_claim(line, in_sources) == kind


@pytest.mark.parametrize("raw", [
    f"{GRUSHKO} [1]\n\nSources: [1], [2]",
    f"{GRUSHKO} [1]\n\nReferences:\n[1] T1\n[2] T2",
    f"{GRUSHKO} [1]\n\n**Sources**\n\n1. T1 (1.txt)\n2. T2 (2.txt)",
    f"{GRUSHKO} [1]\n\n---\nCitations:\n- [1] T1\n- [2] T2",
    f"{GRUSHKO} [1] Sources: [1][2]",
    f"**Answer:**\n{GRUSHKO} [1]",
    f"## Answer\n\n{GRUSHKO} [1]",
    f"**Answer:** {GRUSHKO} [1]",
    f"Answer: {GRUSHKO} [1]\n\nQuellen: [1], [2]",
])
def test_non_claim_lines_are_neither_kept_nor_flagged_nor_cited(raw):
    v = verify(raw, PASSAGES, abstain_text=NOPE)
    assert v.text == f"{GRUSHKO} [1]"
    assert v.unsupported == [] and v.dropped == [] and [c.n for c in v.citations] == [1]
    assert v.supported_share == 1.0


def test_a_reply_of_non_claims_only_abstains_without_flags():
    v = verify("**Answer:**\n\nSources: [1], [2]", PASSAGES, abstain_text=NOPE)
    assert v.abstained and v.text == NOPE and v.unsupported == []


def test_a_sentence_starting_with_sources_is_still_a_claim():
    v = verify("Sources said Grushko spoke in Moscow on Friday. [1]", PASSAGES, abstain_text=NOPE)
    assert v.text == "Sources said Grushko spoke in Moscow on Friday. [1]"
    v = verify(f"{GRUSHKO} [1] Sources said the moon is made of cheese. [1]", PASSAGES, abstain_text=NOPE)
    assert [u.sentence for u in v.unsupported] == ["Sources said the moon is made of cheese."]


def test_claim_text_keeps_the_lines_of_a_claim():
    raw = "**Answer:** It rained [1].\nIt was\nwrapped [2].\n\nReferences:\n\n[1] T1\n[2] T2\n\nOne more thing [1]."
    assert claim_text(raw) == "It rained [1].\nIt was\nwrapped [2].\n\nOne more thing [1]."


# --- claims in another language than their passage ---------------------------------------------------------

LEFEVRE = ("Mayor Zoé Lefèvre of Montréal announced on Tuesday that the city will buy 40 electric buses before the "
           "end of next year. Lefèvre said the first vehicles would run on the route to the Côte-des-Neiges hospital "
           "district.")
ORTIZ = ("Mayor Daniel Ortiz of Springfield announced on Tuesday that the city will buy 25 hydrogen buses over "
         "three years.")
BUSES = [
    Passage(chunk_id=f"b{i}", doc_id=f"b{i}", text=t, title=f"B{i}", source=f"/b/{i}.txt", file_name=f"{i}.txt",
            start=0, end=len(t), score=1.0)
    for i, t in enumerate([LEFEVRE, ORTIZ], start=1)
]
FORTY = LEFEVRE.split(" Lefèvre said")[0]  # the sentence that states the 40 buses


@pytest.mark.parametrize("raw", [
    "Die Stadt kauft bis Ende nächsten Jahres 40 Elektrobusse [1].",
    "La ville achètera 40 autobus électriques d'ici la fin de l'année prochaine [1].",
    "Bürgermeisterin Lefèvre kündigte den Kauf von 40 Elektrobussen an [1].",
    "Город купит 40 электробусов до конца следующего года [1].",
    "Die Stadt kauft 40 Elektrobusse [1][2].",  # the passage that lacks the number loses its marker
])
def test_a_claim_in_another_language_is_checked_by_its_numbers_and_names(raw):
    v = verify(raw, BUSES, abstain_text=NOPE)
    assert not v.abstained and v.unsupported == []
    (c,) = v.citations
    assert c.n == 1 and c.quote == FORTY and not c.added
    assert v.text.endswith(". [1]")


def test_a_capitalised_stop_word_is_no_name_to_check():
    """"La" opens the French claim and a title in passage 3; it must not be required in passage 1."""
    press = "La Presse first reported the purchase."
    third = BUSES[0].model_copy(update={"chunk_id": "b3", "doc_id": "b3", "text": press, "end": len(press)})
    v = verify("La ville achètera 40 autobus électriques [1].", [*BUSES, third], abstain_text=NOPE)
    assert not v.abstained and [c.quote for c in v.citations] == [FORTY]


@pytest.mark.parametrize("raw, cited", [
    ("Die Stadt kauft bis Ende nächsten Jahres 40 Elektrobusse [2].", [2]),  # passage 2 says 25
    ("Die Stadt kauft 25 Elektrobusse [1].", [1]),  # a number the cited passage does not hold
    ("Bürgermeister Ortiz kündigte den Kauf von Elektrobussen an [1].", [1]),  # a name from the other passage
])
def test_a_claim_in_another_language_whose_numbers_or_names_disagree_is_unsupported(raw, cited):
    assert other_language(raw, BUSES[cited[0] - 1].text)  # so the test bites: the cross-language check decided
    v = verify(raw, BUSES, abstain_text=NOPE)
    assert v.abstained and [(u.cited, u.reason.startswith(UNCHECKED)) for u in v.unsupported] == [(cited, False)]


def test_a_claim_in_another_language_with_nothing_to_compare_is_kept_unchecked_not_abstained():
    v = verify("Die Stadt kauft neue Elektrobusse [1].", BUSES, abstain_text=NOPE)
    assert not v.abstained and v.text == "Die Stadt kauft neue Elektrobusse. [1]" and v.citations == []
    (u,) = v.unsupported
    assert u.cited == [1] and u.reason.startswith(UNCHECKED)


def test_a_same_language_claim_never_passes_on_numbers_and_names_alone():
    """Matching numbers and names is the fallback for other languages only: English is compared word by word."""
    raw = "Lefèvre will sell 40 old trams to a museum next year [1]."
    assert not other_language(raw, LEFEVRE)
    v = verify(raw, BUSES, abstain_text=NOPE)
    assert v.abstained and not v.unsupported[0].reason.startswith(UNCHECKED)


def test_an_uncited_claim_in_another_language_gets_no_citation():
    v = verify("Die Stadt kauft 40 Elektrobusse.", BUSES, abstain_text=NOPE)
    assert v.abstained and [u.reason for u in v.unsupported] == ["no citation"]


@pytest.mark.parametrize("text, expected", [
    ("The city will buy 40 electric buses before the end of next year.", "english"),
    ("Die Stadt kauft bis Ende nächsten Jahres 40 Elektrobusse.", "german"),
    ("La ville achètera 40 autobus électriques d'ici la fin de l'année prochaine.", "french"),
    ("Город купит 40 электробусов.", "CYRILLIC"),
    ("Lefèvre 40.", None),  # no stop word: unsure, so never "another language"
])
def test_languages(text, expected):
    assert (expected in languages(text)) if expected else languages(text) == frozenset()

"""The matching layer (rag/text.py): text a reader sees as the same matches, in every script.

Examples of each kind of difference first, then properties over generated
text: Unicode forms, accents and compatibility characters never change the
terms, and folding is stable.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.sentences import block_sentences, reflow, sentence_spans
from rag.text import MATCHER_VERSION, fold, terms, word_count, words

SAME = [
    ("Lefèvre", "Lefevre"),  # an accent typed or not
    (unicodedata.normalize("NFD", "Zürich café"), "Zürich café"),  # saved on macOS (NFD) vs typed (NFC)
    ("ﬁnal ﬂights", "final flights"),  # PDF ligatures
    ("ＴＯＫＹＯ ２０２５", "TOKYO 2025"),  # full-width forms
    ("Russia’s ‘deal’", "Russia's 'deal'"),  # curly vs straight quotes and apostrophes
    ("45\u00a0000 homes", "45 000 homes"),  # a non-breaking space
    ("recon\u00adstruction", "reconstruction"),  # a soft hyphen
    ("zero\u200bwidth", "zerowidth"),
    ("the recon\u00ad\nstruction work", "the reconstruction work"),  # ...with a soft hyphen (PDFs)
    ("Straße", "Strasse"),
    ("Łódź", "Lodz"),
    ("Ἀθῆναι ΕΛΛΆΔΑ", "Αθηναι Ελλαδα"),  # Greek breathings, tonos and case
    ("ёлка", "елка"),  # Russian ё is written е
    ("مُحَمَّد", "محمد"),  # Arabic vowel points
    ("the long—awaited deal", "the long-awaited deal"),
]


@pytest.mark.parametrize(("a", "b"), SAME, ids=[b for _, b in SAME])
def test_what_a_reader_sees_as_the_same_matches(a, b):
    assert terms(a) == terms(b) and terms(a)


def test_a_word_broken_across_a_line_end_matches_whole_and_as_a_compound():
    """ "recon-" / "struction" is one word; "state-" / "owned" a compound a wrapper broke at its hyphen."""
    assert set(terms("reconstruction")) <= set(terms("the recon-\nstruction work"))
    assert set(terms("state-owned")) <= set(terms("the state-\r\nowned firm"))
    assert set(terms("Berlin-Brandenburg")) <= set(terms("Berlin-\nBrandenburg"))
    assert fold(fold("Berlin-\nBrandenburg")) == fold("Berlin-\nBrandenburg")


@pytest.mark.parametrize("text, expected", [
    ("Сколько станций будет на новой линии метро?", {"станц", "нов", "лин", "метр"}),
    ("Πόσο θα κοστίζει το εισιτήριο;", {"κοστ", "εισιτηρι"}),
    ("الرياض عاصمة السعودية", {"رياض", "عاصم", "سعود"}),
    ("नई मेट्रो लाइन", {"नई", "मेट्रो", "लाइन"}),  # vowel signs are spelling: words stay whole
])
def test_other_scripts_are_words_like_latin_ones(text, expected):
    assert expected <= set(terms(text))


def test_cjk_text_becomes_characters_and_bigrams_without_particle_glue():
    got = terms("该项目总投资约为120亿元")
    assert {"总投", "投资", "亿元", "120", "投"} <= set(got)
    assert "的" not in terms("大桥的总投资") and "桥的" not in terms("大桥的总投资")  # a particle glues words
    assert set(terms("杭州新大桥的总投资是多少？")) & set(got) >= {"总投", "投资"}
    assert {"東京", "新し"} <= set(terms("東京の新しい駅"))  # Japanese kanji and kana runs too


def test_words_and_word_counts_in_every_script():
    assert words("Russia’s Lefèvre") == ["russia's", "lefevre"]
    assert word_count("The bridge reopened on Sunday.") == 5
    assert word_count("该项目总投资约为120亿元") == 6  # about two CJK characters a word, plus the number
    assert word_count("") == 0


def test_english_terms_are_what_they_were():
    """The old matcher's terms for plain English (stemmed, stop words out), so English answers do not move."""
    assert terms("How long did Trump's phone call with Putin last?") == ["how", "long", "trump", "phone", "call",
                                                                        "putin", "last"]
    assert terms("co-operation U.S. 1,200") == ["co", "oper", "u", "1", "200"]


def test_the_side_index_records_its_matcher():
    assert MATCHER_VERSION == "2"


# --- sentences --------------------------------------------------------------------


def test_a_wrapped_paragraph_is_one_run_of_sentences():
    text = ("Airport to close runway for repairs\nPublished: 2025-05-12\n"
            "The city airport will close its main runway for six weeks from\n"
            "1 July so that the surface can be rebuilt, the operator said on\n"
            "Monday. Flights will move to the shorter crosswind runway, which\n"
            "cannot be used by the largest jets.\n")
    got = [reflow(text[s:e]) for s, e in sentence_spans(text)]
    assert got == ["Airport to close runway for repairs", "Published: 2025-05-12",
                   "The city airport will close its main runway for six weeks from 1 July so that the surface "
                   "can be rebuilt, the operator said on Monday.",
                   "Flights will move to the shorter crosswind runway, which cannot be used by the largest jets."]


def test_blank_lines_headings_bullets_and_rows_end_sentences():
    text = ("Title of the piece\n\n## Section heading\nA sentence that runs on without a full stop here and\n"
            "continues here.\n- a bullet item\n- another bullet item\n| Key | Value |\nShort line\nNext one.")
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert "## Section heading" in got and "- a bullet item" in got and "| Key | Value |" in got
    assert "Short line" in got  # a short line was not wrapped: it ends where it ends


def test_one_sentence_per_line_text_keeps_its_lines():
    text = "First sentence here.\nSecond sentence follows, much longer than the first one is.\nThird."
    assert [text[s:e] for s, e in sentence_spans(text)] == text.split("\n")


def test_cjk_and_other_scripts_end_sentences_at_their_own_marks():
    text = "杭州将建大桥。该项目总投资约为120亿元！预计2028年建成？"
    assert [text[s:e] for s, e in block_sentences(text, 0, len(text))] == [
        "杭州将建大桥。", "该项目总投资约为120亿元！", "预计2028年建成？"]
    greek = "Πόσο κοστίζει; Το εισιτήριο κοστίζει 38 ευρώ."
    assert len(block_sentences(greek, 0, len(greek))) == 2


def test_reflow_joins_wrapped_lines_and_reads_table_rows():
    assert reflow("the recon\u00ad\nstruction of the\n  bridge") == "the reconstruction of the bridge"
    assert reflow("the state-\nowned firm") == "the state-owned firm"  # a hyphen may be a compound's: kept
    assert reflow("one\rtwo\r\nthree") == "one two three"
    assert reflow("杭州\n大桥") == "杭州大桥"
    assert reflow("Civilian Impact | The UN reports over 14,000 casualties.") == (
        "Civilian Impact: The UN reports over 14,000 casualties.")


# --- properties -------------------------------------------------------------------

LETTERS = ("abcdefghijklmnopqrstuvwxyzáàâäãåçéèêëíìîïñóòôöõúùûüýÿčšžřęąłśźćńőűğış"
           "ABCÉÈÇÑÖÜŁ" "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώϊϋΐΰΑΒΓΆΈΉ")
word = st.text(alphabet=LETTERS, min_size=1, max_size=12)
latin_greek_text = st.lists(word, min_size=1, max_size=12).map(" ".join)
anything = st.text(max_size=200)


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


@settings(max_examples=300, deadline=None)
@given(latin_greek_text)
def test_nfc_nfd_and_accent_folded_forms_match_alike(text):
    nfc, nfd = unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)
    assert terms(nfc) == terms(nfd) == terms(text)
    assert terms(_strip_marks(text)) == terms(text)  # accents typed or not
    assert terms(text.upper()) == terms(text.lower())


broken_words = st.tuples(word, st.sampled_from(["-", "\u00ad", "\u2010", "\u2011", "–", "－"]),
                         st.sampled_from(["\n", "\r\n", "\r", " \n  "]), word).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(anything, broken_words, st.lists(st.one_of(word, broken_words)).map(" ".join)))
def test_folding_is_stable_and_any_text_tokenises(text):
    once = fold(text)
    assert fold(once) == once
    assert terms(once) == terms(text)
    assert all(t and not t.isspace() for t in terms(text))
    assert terms(unicodedata.normalize("NFKC", text)) == terms(text)

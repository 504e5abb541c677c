"""Typo correction of questions against the index's own words (rag/spelling.py, Store.speller)."""

from __future__ import annotations

import unicodedata

import pytest

from rag.spelling import QUESTION_WORDS, Correction, Speller, function_words, vocabulary

NEWS = [
    "Zelensky said China could help end the war in Ukraine.",
    "President Zelensky met officials in Kyiv; China's envoy said talks would go on.",
    "The Montréal summit on climate finance ended without a deal.",
    "Lavrov spoke to Russian media about the peace negotiations.",
    "NATO allies discussed the iPhone ban and 2024 budgets.",
]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.from_texts(NEWS)


def test_the_misspelled_question_becomes_the_clean_one(speller):
    got = speller.correct("wat did zelenksy sya abuot china")
    assert got.text == "what did zelensky say about china"
    assert got.changes == [("wat", "what"), ("zelenksy", "zelensky"), ("sya", "say"), ("abuot", "about")]
    assert got.changed


def test_a_clean_question_comes_back_as_it_was(speller):
    question = "What did Zelensky say about China and the war in Ukraine?"
    got = speller.correct(question)
    assert got == Correction(text=question) and got.changes == [] and not got.changed
    assert got.text is question  # not rebuilt


def test_casing_punctuation_and_spaces_are_kept(speller):
    assert speller.correct("Zelenksy?").text == "Zelensky?"
    got = speller.correct("  Wat did  Zelenksy's envoy sya,\tabuot  \"chian\"?! ")
    assert got.text == "  What did  Zelensky's envoy say,\tabout  \"china\"?! "
    assert got.changes == [("Wat", "What"), ("Zelenksy", "Zelensky"), ("sya", "say"), ("abuot", "about"),
                           ("chian", "china")]
    assert speller.correct("What about Chian?").changes == []  # capitalised and known to the web: a name
    assert speller.correct("(zelenksy)").text == "(zelensky)"


def test_numbers_acronyms_and_inner_capitals_are_left_alone(speller):
    for question in ("What happened in 2024?", "budgets 2O24 and 1,200 allies", "covid19 figures",
                     "What did NATA say?", "What did NATO say?", "the iPhnoe ban", "McDonlad's menu", "ZELENKSY"):
        assert speller.correct(question).text == question, question


def test_accented_words_are_known_with_or_without_their_accents(speller):
    assert speller.correct("Montréal summit").text == "Montréal summit"
    assert speller.correct("Montreal summit").text == "Montreal summit"  # folds to a known word: kept
    nfd = unicodedata.normalize("NFD", "Montréal summit")
    assert speller.correct(nfd).text == nfd  # as typed on macOS: still known, still untouched
    assert speller.correct("Montrael summit").text == "Montréal summit"  # a typo gets the word as written


def test_inflections_of_known_words_are_known(speller):
    """BM25 compares stems: a form of an indexed word needs no correction (and gets none)."""
    assert speller.correct("negotiation summits ended").changes == []


def test_other_scripts_are_never_touched():
    chinese = ["泽连斯基说中国可以帮助结束战争。", "Зеленский сказал, что Китай может помочь.", "Ζελένσκι Κίνα"]
    speller = Speller.from_texts(NEWS + chinese)
    for question in ("泽连斯基对中国说了什么？", "泽连斯基對中國說了什麽", "Что сказал Зеленскй о Китае?",
                     "Что сказал Зеленский о Китае?", "Ζελένσκυ Κινα"):
        assert speller.correct(question).text == question, question
    # a Latin typo beside them is still corrected, and only it
    assert speller.correct("zelenksy 中国").text == "zelensky 中国"


def test_never_corrected_into_another_script():
    speller = Speller({"зеленский": 5, "china": 3})
    assert speller.correct("zelenskiy").text == "zelenskiy"
    assert speller.correct("chinа").text == "chinа"  # a Cyrillic а inside: mixed scripts stay


def test_an_empty_vocabulary_changes_nothing():
    empty = Speller.from_texts([])
    assert len(empty) == 0
    for question in ("wat did zelenksy sya abuot china", "teh", ""):
        assert empty.correct(question) == Correction(text=question)


def test_a_word_with_no_close_candidate_is_left_alone(speller):
    assert speller.correct("xqzvw zelenksy").changes == [("zelenksy", "zelensky")]
    assert speller.correct("zelenskiyyy").text == "zelenskiyyy"  # 3 edits from zelensky
    assert speller.suggest("xqzvw") is None


def test_edit_distance_limits():
    speller = Speller({"zelensky": 3, "china": 3, "kyiv": 2, "lavrov": 2})
    assert speller.suggest("zelnesky") == "zelensky"  # one transposition
    assert speller.suggest("zlenksy") == "zelensky"  # a deletion and a transposition: 2
    assert speller.suggest("kiiv") == "kyiv"  # 4 letters: 1 edit
    assert speller.suggest("kiv") == "kyiv"  # 3 letters, one insertion
    assert speller.suggest("kiev") is None and speller.suggest("kev") is None  # up to 4 letters, 2 edits: too far
    assert speller.suggest("lvrv") is None  # 4 letters, 2 edits from lavrov
    assert speller.correct("ky in Kyiv").text == "ky in Kyiv"  # 1-2 letter words are never touched


def test_nearer_then_question_word_then_more_frequent_wins():
    speller = Speller({"sea": 50, "was": 900, "chain": 10, "china": 40, "chin": 1, "zelensky": 1})
    assert speller.suggest("sya") == "say"  # a question word beats a more frequent corpus word
    assert speller.suggest("wat") == "what"  # ... and a more frequent function word
    assert speller.suggest("chian") == "china"  # both one edit: more chunks hold china
    assert Speller({"chain": 50, "china": 40}).suggest("chian") == "chain"
    assert Speller({"zelenska": 500, "zelensky": 1}).suggest("zelenskyy") == "zelensky"  # one edit before two


def test_function_words_come_with_every_non_empty_vocabulary():
    words = function_words()
    assert {"what", "who", "when", "where", "how", "did", "about", "the", "dont"} <= words
    assert set(QUESTION_WORDS) <= words
    speller = Speller({"zelensky": 1})
    assert speller.correct("whre did teh zelenksy go").text == "where did the zelensky go"


def test_vocabulary_counts_surface_words_per_text():
    vocab = vocabulary(["Zelensky met Zelensky's envoys.", "ZELENSKY in Montréal, 2024", "Гости"])
    assert vocab["zelensky"] == 2  # chunks holding it, not occurrences
    assert vocab["envoys"] == 1 and "envoy" not in vocab  # surface words, not stems
    assert vocab["montréal"] == 1 and vocab["гости"] == 1  # accents and scripts as written, lowercased
    assert "2024" not in vocab and "s" in vocab


def test_corrects_against_a_news_sized_vocabulary():
    """~2,000 chunks of 20,000 distinct words: the length/letter pre-filter still finds the right words.
    (Timing is the benchmark's business, never a test's: see ``python -m bench``.)"""
    import random

    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    lexicon = ["".join(rng.choice(letters) for _ in range(rng.randint(5, 12))) for _ in range(20000)]
    tail = " The president said in a speech that Zelensky and China agreed."
    texts = [" ".join(rng.choice(lexicon) for _ in range(200)) + tail for _ in range(2000)]
    speller = Speller.from_texts(texts)
    got = speller.correct("wat did zelenksy sya abuot chian in teh presdient's speech")
    assert got.text == "what did zelensky say about china in the president's speech"


# --- Store.speller: the index's own words -------------------------------------------------------------


def test_the_store_speller_knows_the_sample_corpus(corpus_rag):
    store = corpus_rag._open_store()
    speller = store.speller()
    assert store.speller() is speller  # cached while the index is unchanged
    got = speller.correct("wat did zelenksy sya abuot china")
    assert got.text == "what did zelensky say about china"
    assert speller.correct("How long did Trump's phone call with Putin last?").changes == []
    assert speller.correct("Lavrvo and Grushkoo").text == "Lavrov and Grushko"  # names from the articles


def test_the_store_speller_follows_ingest_and_remove(make_rag, tmp_path):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "kyiv.md").write_text("# Talks in Kyiv\n\nZelensky met the envoy in Kyiv to discuss the ceasefire.\n")
    rag = make_rag()
    rag.ingest([folder], progress=False)
    store = rag._open_store()
    assert store.bm25().texts() is not None  # words come from the side index's stored copy, not from Chroma
    first = store.speller()
    assert first.correct("Zelenksy ceasfire").text == "Zelensky ceasefire"
    assert first.correct("Talks in Kyvi").text == "Talks in Kyiv"  # titles are indexed words too
    assert first.correct("zorbfissh").changes == []

    (folder / "zorb.md").write_text("# Fish\n\nThe zorbfish was found near Odesa.\n")
    rag.ingest([folder], progress=False)
    second = store.speller()
    assert second is not first
    assert second.correct("zorbfissh near Odsea").text == "zorbfish near Odesa"
    assert second.correct("near Odessa").changes == []  # a common English spelling is a word, not a typo

    rag.remove(["zorb.md"])
    third = store.speller()
    assert third is not second
    assert third.correct("zorbfissh").changes == []


def test_the_store_speller_reads_chroma_when_the_side_index_keeps_no_copy(corpus_rag, monkeypatch):
    from rag.store import BM25Index

    store = corpus_rag._open_store()
    from_copy = store.speller()
    monkeypatch.setattr(store, "_speller", None)
    monkeypatch.setattr(BM25Index, "texts", lambda self: None)
    from_chroma = store.speller()
    assert from_chroma is not from_copy and len(from_chroma) == len(from_copy)
    assert from_chroma.correct("wat did zelenksy sya").text == "what did zelensky say"


def test_common_english_words_the_articles_lack_are_not_typos():
    speller = Speller.from_texts(["The purchase will be financed by a provincial programme for hostages."])
    assert speller.correct("Who is paying for them?").changes == []  # not "having"
    assert speller.correct("Is there a postage stamp?").changes == []  # not "hostage"
    assert speller.correct("wat about teh purchse").text == "what about the purchase"  # typos of function words


def test_very_common_words_near_function_words_stay():
    speller = Speller.from_texts(["The posts were published."])
    assert speller.correct("How many posts was that?").changes == []  # not "any"
    assert speller.correct("What day of the week was that?").changes == []  # not "say"


def test_names_the_web_knows_and_other_languages_are_not_typos(corpus_rag):
    speller = corpus_rag._open_store().speller()
    assert speller.correct("Who is Olaf Scholz?").changes == []  # a real name the articles lack
    answer = corpus_rag.ask("Wie viele Busse kauft die Stadt?")
    assert answer.corrections == [] and answer.query == "Wie viele Busse kauft die Stadt?"  # German, not typos

"""The page's handlers called directly, around a real RAG on the sample corpus."""

from __future__ import annotations

import html
import json
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from urllib.parse import parse_qs

import gradio as gr
import pytest

from rag import RAG, Settings
from tests.conftest import ARTICLES, CALL_FILE
from tests.fixtures.files import pdf_bytes
from ui import Handlers, render
from ui.conversations import read_listing
from ui.handlers import conversation_sources as sources_panel
from ui.render import LIBRARY_HEADERS

FILE = LIBRARY_HEADERS.index("File")

CALL_Q = "How long did Trump's phone call with Putin last?"


def run(handlers: Handlers, message: str, state=None, **controls):
    """All the yields of one chat turn; ``state`` is (chatbot, conversation) from the previous turn."""
    chatbot, conversation = state or ([], None)
    events = list(handlers.respond(message, chatbot, conversation, **controls))
    events[-1] = tuple(conversation if isinstance(v, dict) and v.get("__type__") == "update" and i == 2 else v
                       for i, v in enumerate(events[-1]))  # gr.skip(): the page keeps its conversation
    return events


def bubble(events) -> str:
    """The last chat bubble as the reader sees it."""
    return html.unescape(re.sub(r"<[^>]+>", "", events[-1][1][-1]["content"]))


def final_state(events):
    _, chatbot, conversation, _, _, _ = events[-1]
    return chatbot, conversation


@pytest.fixture
def handlers(corpus_rag, tmp_path) -> Handlers:
    return Handlers(corpus_rag, upload_dir=tmp_path / "uploads")


def test_chat_answers_with_badges_sources_and_markdown(handlers):
    events = run(handlers, CALL_Q)
    textbox, chatbot, conversation, sources, markdown, saved = events[-1]
    history = conversation.history()
    assert textbox == ""
    assert [m["role"] for m in chatbot] == ["user", "assistant"]
    assert "Searching the articles" in events[0][1][-1]["content"]  # feedback before the answer arrives
    bubble = chatbot[-1]["content"]
    assert "40-minute phone call" in html.unescape(re.sub(r"<[^>]+>", "", bubble))
    assert re.search(r'<mark class="short-answer"[^>]*>40&#45;minute</mark>', bubble)  # the short answer, in place
    n = int(re.search(r'href="#passage-1-(\d+)\?', bubble).group(1))
    assert re.search(rf'<details class="article cited" open>.*?id="passage-1-{n}"', sources)
    assert '<mark class="quote">' in sources
    assert CALL_FILE.replace("_", "&#95;") in sources
    assert history == [{"role": "user", "content": CALL_Q},
                       {"role": "assistant", "content": history[1]["content"]}]
    assert f"[{n}]" in history[1]["content"] and "40-minute" in markdown and "Sources:" in markdown
    assert json.loads(json.loads(saved)["conversation"])["turns"][0]["answer"]["question"] == CALL_Q


def test_follow_up_uses_the_history_and_keeps_earlier_sources(handlers, monkeypatch):
    first = final_state(run(handlers, CALL_Q))
    seen = []
    real_stream = handlers.rag.stream

    def spy(question, history=None, **kwargs):
        seen.append(history)
        return real_stream(question, history=history, **kwargs)

    monkeypatch.setattr(handlers.rag, "stream", spy)
    events = run(handlers, "Who did he talk to before it?", first)
    _, chatbot, conversation, sources, _, _ = events[-1]
    assert seen == [first[1].history()] and seen[0][0] == {"role": "user", "content": CALL_Q}
    assert len(chatbot) == 4 and len(conversation.history()) == 4 and len(conversation.turns) == 2
    assert sources.index('data-turn="2"') < sources.index("Earlier answers (1)") < sources.index('data-turn="1"')


def test_every_answer_keeps_its_sources_and_badge_ids_stay_unique(handlers):
    state = ([], None)
    for _ in range(12):
        state = final_state(run(handlers, CALL_Q, state))
    chatbot, conversation = state
    panel = sources_panel(conversation)
    first = chatbot[1]["content"]
    target = re.search(r'href="#(passage-1-\d+)\?', first).group(1)
    assert f'id="{target}"' in panel  # the first answer's badge still has its passage on the page
    ids = re.findall(r'id="(passage-\d+-\d+)"', panel)
    assert len(ids) == len(set(ids)) and 'data-turn="12"' in panel and 'data-turn="1"' in panel


def test_an_answer_whose_passages_were_dropped_says_so_and_its_badges_open_the_article(handlers):
    chatbot, conversation = final_state(run(handlers, CALL_Q))
    chatbot, conversation = final_state(run(handlers, "What did the Kremlin say?", (chatbot, conversation)))
    small = conversation.trimmed(budget=len(conversation.to_json()) - 1)
    assert small.turns[0].dropped and not small.turns[1].dropped and small.turns[0].answer.passages == []
    assert len(small.to_json()) < len(conversation.to_json())
    panel = sources_panel(small)
    assert "The passages of this older answer were not kept" in panel and 'id="passage-1-' not in panel
    restored = handlers.restore(json.dumps({"current": small.to_json()}))[0]
    badge = re.search(r'<a class="cite" href="#passage-1-\d+\?([^"]+)"', restored[1]["content"])
    where = parse_qs(html.unescape(badge.group(1)))
    shown = handlers.article(where["doc"][0], [[where["start"][0], where["end"][0]]])
    assert '<mark id="article-cited" class="quote">' in shown and "40&#45;minute" in shown.split('id="article-cited"')[1]


def test_a_conversation_from_the_browser_is_read_as_data_and_a_damaged_one_starts_afresh(handlers):
    chatbot, conversation = final_state(run(handlers, CALL_Q))
    hostile = json.loads(conversation.to_json())
    hostile["turns"][0]["answer"]["question"] = '<img src=x onerror="alert(1)">'
    listing = [{"id": conversation.id, "title": "<b>t</b>", "updated": "2026-12-01T10:00:00Z", "answers": 1},
               {"id": "../../etc", "title": "bad id", "updated": "2026-12-01T10:00:00Z"}]
    shown, restored, sources, markdown, listed, saved = handlers.restore(
        json.dumps({"current": json.dumps(hostile), "listing": listing}))
    assert shown[0]["content"] == render.escape('<img src=x onerror="alert(1)">') and "<img" not in sources
    assert chatbot[1]["content"] in shown[1]["content"] and restored.id == conversation.id
    assert listed["choices"] == [("<b>t</b> · 2026-12-01 10:00 UTC · 1 answer", conversation.id)]
    assert listed["value"] == conversation.id and saved == "" and "40-minute" in markdown
    for damaged in ('{"current": "{not json"}', '{"current": "{\\"turns\\": 5}"}', "[]", "not json"):
        if "current" in damaged:
            with pytest.warns(UserWarning, match="could not be opened"):
                shown, restored, *_ = handlers.restore(damaged)
        else:
            shown, restored, *_ = handlers.restore(damaged)
        assert shown == [] and restored.turns == []
    follow = run(handlers, "Who did he talk to before it?", ([], restored))  # and the page goes on
    assert len(follow[-1][2].turns) == 1


def test_saved_conversations_hold_no_server_paths_stay_in_budget_and_belong_to_their_user(handlers):
    alice = SimpleNamespace(username="alice")
    events = list(handlers.respond(CALL_Q, [], None, request=alice))
    conversation, stored = events[-1][2], json.loads(events[-1][5])
    assert conversation.owner == "alice" and stored["entry"]["owner"] == "alice" and stored["previous"] is None
    assert str(handlers.rag.settings.data_dir) not in stored["conversation"]  # no server path leaves the server
    assert json.loads(stored["conversation"])["turns"][0]["answer"]["passages"][0]["file_name"]
    listing = [stored["entry"]]
    mine = handlers.restore(json.dumps({"current": stored["conversation"], "listing": listing}), alice)
    assert len(mine[0]) == 2 and mine[4]["choices"][0][1] == conversation.id
    with pytest.warns(UserWarning, match="another user's"):  # the same browser, another login
        theirs = handlers.restore(json.dumps({"current": stored["conversation"], "listing": listing}),
                                  SimpleNamespace(username="bob"))
    assert theirs[0] == [] and theirs[4]["choices"] == []
    # a second answer says when its conversation was last saved, so another tab's save can append to it
    second = list(handlers.respond(CALL_Q, mine[0], mine[1], request=alice))[-1]
    assert json.loads(second[5])["previous"] == conversation.updated.isoformat()
    # the budget is in bytes of JSON and bounds any conversation, however it grew
    many = conversation
    for _ in range(6):
        many = many.with_answer(conversation.turns[0].answer, budget=30_000)
    assert len(many.to_json().encode()) <= 30_000 and not many.turns[-1].dropped
    assert many.turns[0].dropped or len(many.turns) < 7


def test_the_list_skips_entries_it_cannot_read():
    good = {"id": "a" * 32, "title": "t", "updated": "2026-12-01T10:00:00Z", "answers": 2}
    naive = {"id": "b" * 32, "title": "naive", "updated": "2026-12-01T11:00:00", "answers": 1}
    assert [c.id for c in read_listing([good, naive, "x", {"id": "c" * 32}], None)] == ["a" * 32]


def test_the_article_view_says_when_the_article_is_gone_changed_or_the_link_is_bad(make_rag, tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    rag = make_rag()
    rag.ingest([folder], progress=False)
    handlers = Handlers(rag)
    cited = rag.ask(CALL_Q).citations[0]
    where = [[cited.start, cited.end]]
    assert "40-minute" in html.unescape(handlers.article(cited.doc_id, where).split("article-cited")[1])
    assert "does not say where" in handlers.article(cited.doc_id, [["x", None]])
    assert "does not say where" in handlers.article(cited.doc_id, None)
    (folder / CALL_FILE).write_text("Rewritten entirely.\n", encoding="utf-8")
    changed = handlers.article(cited.doc_id, where)
    assert "Could not open the article." in changed and "changed or went away" in changed
    assert str(folder) not in changed
    rag.remove([cited.doc_id])
    gone = handlers.article(cited.doc_id, where)
    assert "Could not open the article." in gone and "no longer in the index" in gone


def test_a_question_after_the_server_forgot_the_session_starts_a_new_conversation(handlers):
    chatbot, conversation = final_state(run(handlers, CALL_Q))
    events = run(handlers, CALL_Q, (chatbot, None))  # the chat still shows, the server's state is gone
    chatbot, fresh = final_state(events)
    assert len(chatbot) == 2 and fresh.id != conversation.id and len(fresh.turns) == 1
    assert 'href="#passage-1-' in chatbot[1]["content"]  # numbered afresh, with nothing older on screen


def test_filters_and_top_k_reach_retrieval(handlers):
    only = next(doc_id for label, doc_id in handlers.article_choices() if "000_8b6024e873124198.txt" in label)
    events = run(handlers, CALL_Q, sources=[only], top_k=2)
    sources = events[-1][3]
    assert sources.count('id="passage-') == 2 and sources.count('<details class="article') == 1
    assert "001&#95;" not in sources and "000&#95;8b6024e873124198.txt" in sources
    assert all("/" not in doc_id for _, doc_id in handlers.article_choices())  # no server paths in the page


def test_top_k_outside_the_slider_is_said_and_brought_inside(handlers, monkeypatch):
    seen = []
    real_stream = handlers.rag.stream
    monkeypatch.setattr(handlers.rag, "stream", lambda q, **kw: (seen.append(kw["top_k"]), real_stream(q, **kw))[1])
    for typed, used in ((0, 1), (50, 20), ("7", 7), (None, None)):
        if typed in (0, 50):
            with pytest.warns(UserWarning, match=f"Passages to read: {typed} is outside 1 to 20; {used} were read"):
                run(handlers, CALL_Q, top_k=typed)
        else:
            run(handlers, CALL_Q, top_k=typed)
    assert seen == [1, 20, 7, None]  # 0 no longer silently means the default


def test_bad_input_gives_readable_messages_and_the_chat_goes_on(handlers):
    with pytest.warns(UserWarning, match="Type a question first"):
        empty = run(handlers, "   ")
    assert empty[-1][1] == []  # nothing asked, nothing added
    bad_date = run(handlers, CALL_Q, date_from="sometime in spring")
    assert "Could not answer." in bubble(bad_date)
    assert "From date 'sometime in spring' is not a date: write it as YYYY-MM-DD" in bubble(bad_date)
    month_only = run(handlers, CALL_Q, date_from="March 2025")  # a month is not a day: refused, not guessed
    assert "From date 'March 2025' is not a date" in bubble(month_only)
    backwards = run(handlers, CALL_Q, date_from="2025-09-01", date_to="2025-08-01")
    assert "The date range is empty" in bubble(backwards)
    with pytest.warns(UserWarning, match="the limit is 2,000"):
        too_long = run(handlers, "why " * 1000)
    assert final_state(too_long) == ([], None)  # refused before it is echoed into the chat
    after = run(handlers, CALL_Q, final_state(backwards))
    assert "40-minute" in bubble(after)
    assert len(after[-1][2].history()) == 2  # failed turns do not pollute the follow-up history
    assert len(after[-1][2].turns) == 2 and after[-1][1][1]["content"].count("Could not answer") == 1


def test_date_filter_leaves_out_undated_articles(handlers):
    events = run(handlers, CALL_Q, date_from="2020-01-01")
    assert "Not in the articles." in bubble(events)


def test_chat_api_returns_text_with_markers_and_raises_readable_errors(handlers):
    text = handlers.chat_api(CALL_Q)
    assert "40-minute" in text and re.search(r"\[\d+\]", text)
    with pytest.raises(gr.Error, match="The question is empty"):
        handlers.chat_api("")


def test_mode_choices_and_notice_follow_the_settings(handlers, llm_rag):
    assert [v for _, v in handlers.mode_choices()] == ["extractive"]
    assert "Offline extractive mode" in handlers.notice()
    llm = Handlers(llm_rag())
    assert llm.mode_choices()[1] == ("LLM: fake-model", "llm")
    notice = html.unescape(llm.notice())
    assert "**fake-model** at http://127.0.0.1:" in notice and "Offline" not in notice


def test_examples_come_from_the_indexed_titles_and_are_answerable(handlers, corpus_rag):
    examples = handlers.examples()
    titles = {a.title for a in corpus_rag.documents()}
    assert 2 <= len(examples) <= 4
    for question in examples:
        assert any(title in question for title in titles)
        assert not corpus_rag.ask(question).abstained
    assert handlers.examples() is examples  # cached until the library changes


def test_llm_mode_streams_and_marks_unsupported_sentences(llm_rag, fake_llm):
    rag = llm_rag()
    handlers = Handlers(rag)
    call = next(i for i, p in enumerate(rag.retrieve(CALL_Q), 1) if "40-minute" in p.text)
    fake_llm.queue({"chunks": ["Trump held a 40-minute ", f"phone call with Putin. [{call}] ",
                               "He also flew to Mars."]})
    events = run(handlers, CALL_Q, mode="llm")
    partial = [e[1][-1]["content"] for e in events if e[1][-1]["content"].endswith("▍")]
    assert len(partial) >= 2  # the answer streamed in pieces
    raw = events[-1][1][-1]["content"]
    assert f'href="#passage-1-{call}?' in raw
    assert re.search(r'<span class="unsupported"[^>]*>⚠ He also flew to Mars\.</span>', raw)
    assert "unsupported-list" in events[-1][3]


def test_dead_llm_server_is_a_message_and_extractive_still_works(corpus_rag, embedder):
    rag = RAG(Settings(data_dir=corpus_rag.settings.data_dir, llm="openai", openai_base_url="http://127.0.0.1:9/v1",
                       llm_retries=0, llm_timeout=2), embedder=embedder)
    handlers = Handlers(rag)
    events = run(handlers, CALL_Q, mode="llm")
    shown = bubble(events)
    assert "Could not answer." in shown and "cannot connect" in shown and "Traceback" not in shown
    after = run(handlers, CALL_Q, final_state(events), mode="extractive")
    assert "40-minute" in bubble(after)


def test_empty_index_then_upload_then_remove(make_rag, tmp_path):
    rag = make_rag()
    handlers = Handlers(rag, upload_dir=tmp_path / "uploads")
    assert handlers.library() == [] and handlers.examples() == []
    empty = run(handlers, CALL_Q)
    assert "Nothing is indexed" in bubble(empty) and "Library tab" in bubble(empty)

    staged = tmp_path / "staged"
    staged.mkdir()
    shutil.copy(ARTICLES / CALL_FILE, staged / "call story.txt")
    (staged / "report.pdf").write_bytes(pdf_bytes(["Zorbland recount ends Friday, officials said."], title="Zorb"))
    (staged / "empty.txt").write_bytes(b"")
    (staged / "virus.exe").write_bytes(b"MZ")
    summary = handlers.upload([str(p) for p in sorted(staged.iterdir())])
    assert "**Indexed.** added 2" in summary
    assert "virus.exe: unsupported file type" in summary
    assert "empty.txt:" in summary  # skipped by ingest, with its reason
    rows = handlers.library()
    assert sorted(r[FILE] for r in rows) == ["call_story.txt", "report.pdf"]
    # a file ingest refused is not kept in the upload folder
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["call_story.txt", "report.pdf"]

    answered = run(handlers, CALL_Q, final_state(empty))
    assert "40-minute" in bubble(answered)

    call_id = next(v for label, v in handlers.article_choices() if "call_story.txt" in label)
    assert handlers.remove([call_id]).startswith("**Removed 1 article(s)**")
    assert [r[FILE] for r in handlers.library()] == ["report.pdf"]
    assert not (tmp_path / "uploads" / "call_story.txt").exists()
    assert "Choose" in handlers.remove([]) and "Choose" in handlers.upload([])


def test_remove_leaves_files_outside_the_upload_folder(make_rag, articles_copy, tmp_path):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    handlers = Handlers(rag, upload_dir=tmp_path / "uploads")
    target = articles_copy / CALL_FILE
    handlers.remove([next(a.doc_id for a in rag.documents() if a.file_name == CALL_FILE)])
    assert target.exists() and len(handlers.library()) == 4


def test_build_app_returns_unlaunched_blocks_with_one_public_endpoint(corpus_rag, tmp_path):
    from ui import build_app

    app = build_app(corpus_rag, upload_dir=tmp_path / "uploads")
    assert isinstance(app, gr.Blocks) and not app.is_running
    public = [fn.api_name for fn in app.fns.values() if fn.api_visibility == "public"]
    assert public == ["chat"]
    # the chat event hands respond() its controls in the order of its parameters
    chat = next(fn for fn in app.fns.values() if getattr(fn.fn, "__name__", "") == "respond"
                and getattr(fn.inputs[0], "elem_id", None) == "question")
    labels = [getattr(block, "label", None) for block in chat.inputs]
    assert labels[3:] == ["Only these articles", "Published from", "Published to", "Passages to read (top-k)",
                          "Answer mode", "Answer as of"]
    assert labels[1] == "Conversation"


def test_chat_keeps_working_while_an_upload_is_indexed(make_rag, articles_copy, tmp_path):
    rag = make_rag()
    rag.ingest([articles_copy / CALL_FILE], progress=False)
    handlers = Handlers(rag, upload_dir=tmp_path / "uploads")
    others = [str(p) for p in sorted(articles_copy.iterdir()) if p.name != CALL_FILE]
    with ThreadPoolExecutor(max_workers=2) as pool:
        upload = pool.submit(handlers.upload, others)
        answers = []
        while not upload.done() or len(answers) < 3:
            answers.append(bubble(run(handlers, CALL_Q)))
    assert "added 4" in upload.result()
    assert all("40-minute" in a for a in answers), answers
    assert len(handlers.library()) == 5 and "Rutte" in handlers.chat_api("Who is the NATO Secretary General?")


def test_a_chosen_article_removed_since_is_a_message_not_a_traceback(make_rag, articles_copy, tmp_path):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    handlers = Handlers(rag, upload_dir=tmp_path / "uploads")
    call_id = next(v for label, v in handlers.article_choices() if CALL_FILE in label)
    other_id = next(v for label, v in handlers.article_choices() if CALL_FILE not in label)
    rag.remove([call_id])  # another window removes it while this page still lists it
    events = run(handlers, CALL_Q, sources=[call_id])
    shown = bubble(events)
    assert "Could not answer." in shown and "no longer in the index" in shown and call_id in shown
    assert "reload the page" in shown and "Traceback" not in shown
    assert handlers.remove([other_id, call_id]).startswith("**Remove failed.** An article you chose")
    assert len(handlers.library()) == 4  # all or nothing: the other article is still there
    backwards = run(handlers, CALL_Q, final_state(events), date_from="2025-12-31", date_to="2025-01-01")
    assert "2025-12-31 is after 2025-01-01; put the earlier date first" in bubble(backwards)  # the CLI's words
    after = run(handlers, CALL_Q, final_state(backwards), sources=[other_id])  # the chat goes on
    assert "Could not answer." not in bubble(after) and len(after[-1][2].history()) == 2


def test_without_a_login_an_upload_is_anonymous_and_a_corpus_name_is_refused(make_rag, articles_copy, tmp_path):
    rag = make_rag()
    rag.ingest([articles_copy], progress=False)
    handlers = Handlers(rag, upload_dir=tmp_path / "uploads")
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / CALL_FILE).write_text("Trump held a 95-minute phone call with Putin.")
    (staged / "note.txt").write_text("The Zorbland ferry strike ended after 12 days, officials said.")
    summary = handlers.upload([str(staged / CALL_FILE), str(staged / "note.txt")])
    assert "**Indexed.** added 1" in summary and "Rename the file" in summary
    assert (staged / CALL_FILE).exists()  # a file outside Gradio's cache is the user's: never deleted
    uploaded = [a for a in rag.documents() if a.origin == "upload"]
    assert [(a.file_name, a.uploaded_by) for a in uploaded] == [("note.txt", "anonymous")]
    assert any("note.txt; uploaded by anonymous on" in label for label, _ in handlers.article_choices())
    assert "40-minute" in bubble(run(handlers, CALL_Q))

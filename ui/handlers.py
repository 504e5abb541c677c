"""What the page does, as plain methods over one ``RAG``; ``app.py`` only lays them out.

Tests call these directly. Every failure a user can cause (empty index, dead
LLM server, bad date, bad upload) comes back as a readable message in the
page, never as a traceback, and the page keeps working.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from rag import (
    RAG,
    SUPPORTED_SUFFIXES,
    Answer,
    ArticleInfo,
    EmptyIndexError,
    Filters,
    RagError,
    SourceChangedError,
    UnknownSourceError,
    source_name,
)
from rag.time import as_of_date
from rag.uploads import add_uploads, remove_articles

from . import render
from .cache import CacheLimits, cache_dir, discard, owned, sweep
from .conversations import (
    Conversation,
    budget_bytes,
    read_conversation,
    read_listing,
    to_store,
)

log = logging.getLogger(__name__)

MAX_TOP_K = 20  # the most passages a question may read (the top-k slider's end)
EMPTY_INDEX_HINT = " In the page: add articles in the Library tab."


class Handlers:
    """The page's behaviour; one instance serves every browser session (state lives in gr.State)."""

    def __init__(self, rag: RAG, upload_dir: Path | None = None, cache_limits: CacheLimits | None = None) -> None:
        """``cache_limits``: after each upload or removal, sweep Gradio's upload cache to them (None: only the
        upload's own temporary copies are deleted)."""
        self.rag = rag
        self.upload_dir = Path(upload_dir or Path(rag.settings.data_dir) / "uploads")
        self.cache_dir = cache_dir()  # where Gradio puts uploads: read as Gradio reads it when the page is built
        self.cache_limits = cache_limits
        self._write_lock = threading.Lock()
        self._examples: tuple[tuple, list[str]] | None = None
        self._examples_lock = threading.Lock()

    @property
    def write_lock(self) -> threading.Lock:
        """Taken by every change to the library (uploads, removals, fetches, feeds): one at a time, so two
        sessions never write the index at once."""
        return self._write_lock

    # --- chat ----------------------------------------------------------------

    @property
    def budget(self) -> int:
        """The most bytes a saved conversation may take (``ui.conversations.budget_bytes``)."""
        return budget_bytes(self.rag.settings.max_request_kb)

    def respond(self, message: str, chatbot: list[dict] | None, conversation: Conversation | None,
                sources: list[str] | None = None, date_from: Any = None, date_to: Any = None,
                top_k: float | None = None, mode: str | None = None, as_of: Any = None,
                request: gr.Request | None = None) -> Iterator[tuple]:
        """Stream one answer into the chat; yields (textbox, chatbot, conversation, sources, markdown, saved).

        While the answer is written only the chat changes (the other outputs are ``gr.skip()``); the last
        yield carries the conversation with the answer added and ``saved``, its JSON for the browser to keep
        (``ui.conversations``)."""
        chatbot = list(chatbot or [])
        if conversation is None and chatbot:  # the server forgot this session (idle for hours, or restarted)
            gr.Info("This page's conversation was idle too long to continue here: it is kept in the "
                    "Saved conversations list; this question starts a new one.")
            chatbot = []  # its badges would share ids with the new conversation's
        conversation = conversation or Conversation(owner=_user(request))
        previous = conversation.updated if conversation.turns else None
        skip = gr.skip()

        def writing(kept: Any = skip, box: str = "") -> tuple:
            return box, list(chatbot), skip, skip, skip, kept

        if not (message or "").strip():
            gr.Warning("Type a question first.")
            yield writing("")  # nothing for the browser to store (not the last answer's conversation again)
            return
        limit = self.rag.settings.max_question_chars
        if len(message) > limit:  # refused before it is echoed: a huge question is not copied into the chat
            gr.Warning(f"The question is {len(message):,} characters; the limit is {limit:,} "
                       "(RAG_MAX_QUESTION_CHARS). Shorten it.")
            yield writing("", box=message)  # left in the box to shorten, not lost
            return
        turn = len(conversation.turns) + 1  # only grows within a conversation: badge ids stay unique
        chatbot += [{"role": "user", "content": render.escape(message)},
                    {"role": "assistant", "content": "<em>Searching the articles…</em>"}]
        yield writing()
        answer: Answer | None = None
        try:
            filters = self.filters(sources, date_from, date_to)
            day = parse_day(as_of, "As of")
            written = ""
            for event in self.rag.stream(message, history=conversation.history(), filters=filters,
                                         top_k=passages_to_read(top_k), mode=mode or None, as_of=day):
                if isinstance(event, Answer):
                    answer = event
                else:
                    written += event
                    chatbot[-1] = {"role": "assistant", "content": render.escape(written) + " ▍"}
                    yield writing()
        except Exception as exc:  # shown in the chat; the session goes on
            answer = Answer(question=message, error=readable(exc))
        assert answer is not None
        chatbot[-1] = {"role": "assistant", "content": render.answer_html(answer, turn)}
        conversation = conversation.with_answer(answer, self.budget)
        yield ("", chatbot, conversation, conversation_sources(conversation), render.answer_markdown(answer),
               to_store(conversation, self.budget, previous))

    def restore(self, stored: str | None, request: gr.Request | None = None) -> tuple:
        """The conversation the browser sent back (``app._STORE``: a reload, a second tab, one chosen in the
        list, or none after "New conversation" or a deletion) on the page, with the list of saved ones.

        Returns (chatbot, conversation, sources, markdown, conversation list, saved): ``saved`` is emptied, so
        no later step stores the conversation shown before."""
        try:
            payload = json.loads(stored or "{}")
        except ValueError:
            payload = {}
        payload = payload if isinstance(payload, dict) else {}
        user = _user(request)
        conversation = read_conversation(payload.get("current"), user, self.budget)
        if payload.get("current") and conversation is None:
            gr.Warning("A saved conversation could not be opened (damaged, from an older version, or another "
                       "user's); starting a new one.")
        conversation = conversation or Conversation(owner=user)
        chatbot: list[dict] = []
        for turn, kept in enumerate(conversation.turns, 1):
            chatbot += [{"role": "user", "content": render.escape(kept.answer.question)},
                        {"role": "assistant", "content": render.answer_html(kept.answer, turn)}]
        last = conversation.turns[-1].answer if conversation.turns else None
        return (chatbot, conversation, conversation_sources(conversation),
                render.answer_markdown(last) if last else "",
                conversation_list(payload.get("listing"), conversation, user), "")

    def listing(self, stored: str | None, conversation: Conversation | None, request: gr.Request | None = None) -> Any:
        """The list of saved conversations after the browser's storage changed (``stored``: its report,
        ``app._STORE``); says so when the browser had to drop old conversations to make room."""
        try:
            report = json.loads(stored or "{}")
        except ValueError:
            report = {}
        report = report if isinstance(report, dict) else {}
        if report.get("dropped"):
            gr.Warning(f"The browser's storage was full: its {report['dropped']} oldest saved conversation(s) "
                       "were deleted to keep this one.")
        return conversation_list(report.get("listing"), conversation, _user(request))

    def article(self, doc_id: str, ranges: Any) -> str:
        """The article view (``render.article_html``): the whole article ``doc_id`` with ``ranges`` (pairs of
        source offsets) marked; a readable message when it is gone or changed since it was indexed."""
        try:
            marks = [(int(a), int(b)) for a, b in ranges][:50]
        except (TypeError, ValueError):
            return render.notice_html("Could not open the article.", "The link does not say where in the article to open.")
        try:
            passages = self.rag.passages(str(doc_id))
            text = self.rag.source_text(str(doc_id)) if passages else None
        except UnknownSourceError:
            passages, text = [], None
        except SourceChangedError:
            return render.notice_html("Could not open the article.", "Its file changed or went away since it was "
                                      "indexed, so the cited words can no longer be found in it. Ask your "
                                      "administrator to run the ingest again.")
        except Exception as exc:
            return render.notice_html("Could not open the article.", readable(exc))
        if not passages or text is None:
            return render.notice_html("Could not open the article.", "It is no longer in the index (removed since "
                                      "the answer was given). Ask again to see the current sources.")
        return render.article_html(passages[0], text, marks)

    def chat_api(self, message: str) -> str:
        """Answer one question; the text keeps its [n] markers. The `/chat` API endpoint."""
        try:
            answer = self.rag.ask(message)
        except Exception as exc:
            raise gr.Error(readable(exc)) from exc
        return answer.text

    def filters(self, sources: list[str] | None, date_from: Any, date_to: Any) -> Filters | None:
        """Filters from the controls; a bad date or a reversed range is a ValueError with a readable message."""
        lo, hi = parse_day(date_from, "From"), parse_day(date_to, "To")
        found = Filters.checked(sources=list(sources) if sources else None, date_from=lo, date_to=hi)
        return None if found.is_empty() else found

    def timeline(self, topic: str, since: Any = None, until: Any = None, as_of: Any = None) -> str:
        """The Timeline tab's HTML for ``topic``; a bad date or an empty topic is said in the page."""
        if not (topic or "").strip():
            gr.Warning("Type what the story is about first.")
            return ""
        try:
            found = self.rag.timeline(topic, since=parse_day(since, "From"), until=parse_day(until, "To"),
                                      as_of=parse_day(as_of, "As of"))
        except Exception as exc:
            return render.error_html(readable(exc))
        return render.timeline_html(found)

    # --- controls ------------------------------------------------------------

    def mode_choices(self) -> list[tuple[str, str]]:
        choices = [("Extractive (offline, quotes only)", "extractive")]
        if self.rag.settings.llm_configured:
            choices.append((f"LLM: {self.rag.settings.llm_model}", "llm"))
        return choices

    def notice(self) -> str:
        settings = self.rag.settings
        if settings.llm_configured:
            return (f"LLM answers from **{render.escape(settings.llm_model)}** at "
                    f"{render.escape(settings.llm_where)}; every citation is checked against the passages.")
        return ("**Offline extractive mode.** Answers quote the articles word for word, each sentence cited; "
                "nothing is sent anywhere. To get written answers, set `OPENAI_API_KEY` (or `OPENAI_BASE_URL` "
                "for a local server such as Ollama) and restart.")

    def examples(self, limit: int = 4, tries: int = 8, articles: list[ArticleInfo] | None = None) -> list[str]:
        """Questions about the newest indexed articles that the index can answer (checked by asking).

        Cached until the library changes, so a page load does not ask again.
        """
        if articles is None:
            articles = self.rag.documents()
        key = (limit, tuple((a.doc_id, a.chunks) for a in articles))
        with self._examples_lock:  # page loads after a library change share one computation
            if self._examples and self._examples[0] == key:
                return self._examples[1]
            self._examples = (key, self._answerable_examples(articles, limit, tries))
            return self._examples[1]

    def _answerable_examples(self, articles: list[ArticleInfo], limit: int, tries: int) -> list[str]:
        questions = []
        for article in articles[:tries]:
            title = " ".join(article.title.split())
            if title.endswith("…") or not 12 <= len(title) <= 90:
                continue
            question = f"What happened in “{title}”?"
            try:
                if self.rag.ask(question, mode="extractive").abstained:
                    continue
            except Exception:  # an example that cannot be answered is simply not offered
                continue
            questions.append(question)
            if len(questions) == limit:
                break
        return questions

    # --- library -------------------------------------------------------------

    def library(self, articles: list[ArticleInfo] | None = None) -> list[list[str | int]]:
        return render.library_rows(self.rag.documents() if articles is None else articles)

    def article_choices(self, articles: list[ArticleInfo] | None = None) -> list[tuple[str, str]]:
        """(label, doc id) pairs for the article filter and the remove list (no server paths in the page)."""
        return [(f"{a.title} ({source_name(a.file_name, a.url)}{'; ' + a.upload_note() if a.upload_note() else ''})",
                 a.doc_id)
                for a in (self.rag.documents() if articles is None else articles)]

    def upload(self, files: list[Any] | None, request: gr.Request | None = None,
               progress: gr.Progress = gr.Progress(track_tqdm=True)) -> str:
        """Save uploads under safe names and ingest them as uploads by the logged-in user (or 'anonymous'),
        so their citations say so; returns a Markdown summary.

        A file named like an indexed corpus article is refused (it would pass for it). Gradio's temporary
        copies are deleted afterwards, whatever became of them: the page keeps its own copy of what it indexed.
        """
        if not files:
            return "Choose one or more files first (" + ", ".join(SUPPORTED_SUFFIXES) + ")."
        paths = [str(f) for f in files]  # gr.File(type="filepath") hands over paths
        try:
            try:
                uploaded = add_uploads(self.rag, paths, None, self.upload_dir, getattr(request, "username", None),
                                       self._write_lock, progress=True)
            except Exception as exc:
                return f"**Upload failed.** {render.escape(readable(exc))}"
        finally:
            self._clean_cache(paths)
        report = uploaded.report
        lines = [f"**Indexed.** {render.escape(report.summary())}" if report else "**Nothing was indexed.**"]
        for name, reason in uploaded.rejected:
            lines.append(f"- {render.escape(name)}: {render.escape(reason)}")
        return "\n".join(lines)

    def remove(self, doc_ids: list[str] | None) -> str:
        """Take articles out of the index; uploaded copies are deleted too, other files are left alone."""
        if not doc_ids:
            return "Choose the articles to remove first."
        try:
            report = remove_articles(self.rag, doc_ids, self.upload_dir, self._write_lock)
        except Exception as exc:
            return f"**Remove failed.** {render.escape(readable(exc))}"
        self._clean_cache([])
        return (f"**Removed {report.removed} article(s)** ({report.chunks_removed} chunks); "
                f"{report.documents_total} articles, {report.chunks_total} chunks remain.")

    def _clean_cache(self, temporary: list[str]) -> None:
        """Delete Gradio's copies of this upload, then sweep its cache to the limits; never fails the event."""
        try:
            discard(temporary, self.cache_dir)
            if self.cache_limits is not None and owned():
                sweep(self.cache_dir, self.cache_limits.max_age_s, self.cache_limits.max_bytes)
        except OSError as exc:
            log.warning("could not clean Gradio's upload cache %s: %s", self.cache_dir, exc)


def readable(exc: BaseException) -> str:
    """One line for the page: our errors already say how to fix them; others are named, and logged."""
    if isinstance(exc, EmptyIndexError):
        return str(exc) + EMPTY_INDEX_HINT
    if isinstance(exc, UnknownSourceError):  # the page sends doc ids from its lists: one went away since
        return (f"An article you chose is no longer in the index (doc id {', '.join(exc.keys)}; removed in "
                "another window?): reload the page and choose again.")
    if isinstance(exc, (RagError, ValueError)):
        return str(exc)
    log.exception("unexpected error in the page")
    return f"Unexpected error ({type(exc).__name__}: {exc}). The page still works; details are in the server log."


def parse_day(value: Any, which: str) -> date | None:
    """A date from a date picker: an ISO string, a timestamp, empty, or the text typed into a picker that
    Gradio rejected ("13 June 2025"; see ``app._typed_dates``), read by ``rag.time.as_of_date``."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return date.fromtimestamp(value)
    try:
        return as_of_date(str(value).strip())  # the picker's own value: "2025-06-13 00:00:00"
    except ValueError as exc:
        raise ValueError(f"{which} date {exc}") from None


def conversation_sources(conversation: Conversation) -> str:
    """Every answer's sources, the latest first (``render.sources_panel``), each rendered once per conversation;
    an answer whose passages were dropped says so, and its badges open the article instead."""
    sections = conversation._sections
    for turn, kept in enumerate(conversation.turns, 1):
        if (turn, kept.dropped) not in sections:
            sections[(turn, kept.dropped)] = render.sources_html(kept.answer, turn, dropped=kept.dropped)
    return render.sources_panel([sections[(turn, kept.dropped)] for turn, kept in enumerate(conversation.turns, 1)])


def conversation_list(listing: Any, conversation: Conversation | None, user: str | None) -> Any:
    """The list of ``user``'s saved conversations (``listing``: what the browser keeps, ``read_listing``)
    with ``conversation`` chosen when it is saved."""
    listed = read_listing(listing, user)
    choices = [(f"{c.title} · {c.updated:%Y-%m-%d %H:%M} UTC · {c.answers} answer{'s' if c.answers != 1 else ''}",
                c.id) for c in listed]
    current = conversation.id if conversation and conversation.id in {c.id for c in listed} else None
    return gr.update(choices=choices, value=current,
                     label=f"Saved conversations ({len(listed)}, kept in this browser)")


def _user(request: gr.Request | None) -> str | None:
    """The logged-in user's name, or None without a login (or outside a page request)."""
    return getattr(request, "username", None) or None


def passages_to_read(value: Any) -> int | None:
    """The top-k box's value as an int in 1..MAX_TOP_K; empty: the configured default. A value outside
    (typed into the box, which the slider does not stop) is brought inside, and the page says so."""
    if value in (None, ""):
        return None
    try:
        number = round(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"Passages to read must be a whole number from 1 to {MAX_TOP_K}; got {value!r}.") from None
    if 1 <= number <= MAX_TOP_K:
        return number
    used = min(max(number, 1), MAX_TOP_K)
    gr.Warning(f"Passages to read: {number} is outside 1 to {MAX_TOP_K}; {used} were read.")
    return used

"""The page's layout: components and the events that join them to ``Handlers``. Nothing is launched here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr

from rag import RAG, SUPPORTED_SUFFIXES

from . import render, web
from .cache import CacheLimits, owned, sweep
from .handlers import MAX_TOP_K, Handlers, readable
from .web import WebLibrary

EXAMPLE_SLOTS = 4
MAX_ADDRESS_CHARS = 2_000  # a web address; longer ones are refused by the box
SESSION_TTL_S = 6 * 3600  # seconds a conversation's state outlives its last turn

# Citation badges live in the chatbot, passages in the sources panel: one document-level listener (capture
# phase, so no link handler opens a tab) opens and scrolls to the passage, or, when the passage is no longer
# on the page, opens its article there (the badge carries the article and offsets); "Read the whole article"
# buttons open the article view (``_ARTICLE``). Keyboard users get the same: links and buttons take Enter.
_SCRIPT = """
if (!document.getElementById('rag-style')) {
  const style = document.createElement('style');
  style.id = 'rag-style';
  style.textContent = %s;
  document.head.appendChild(style);
}
if (!window.__ragNames) {  // what axe finds in Gradio's own markup, mended as it is drawn
  const name = () => {
    document.querySelectorAll('button.calendar:not([aria-label])').forEach((button) => {  // unnamed buttons
      const block = button.closest('[id]');
      const label = block ? block.querySelector('[data-testid="block-info"]') : null;
      button.setAttribute('aria-label', 'Choose the date' + (label ? ': ' + label.textContent.trim() : ''));
    });
    document.querySelectorAll('.toast-header[role="button"]').forEach((header) => {  // a button holding a button
      header.removeAttribute('role');
      header.removeAttribute('tabindex');
    });
  };
  window.__ragNames = new MutationObserver(name);
  window.__ragNames.observe(document.body, {subtree: true, childList: true});
  name();
}
if (!document.getElementById('rag-skip')) {  // past every badge of the chat, straight to the question
  const skip = document.createElement('a');
  skip.id = 'rag-skip';
  skip.className = 'skip-link';
  skip.href = '#question';
  skip.textContent = 'Skip to the question box';
  skip.addEventListener('click', (event) => {
    event.preventDefault();
    const box = document.querySelector('#question textarea');
    if (box) box.focus();
  });
  document.body.prepend(skip);
}
const chat = document.getElementById('chat');
if (chat && !chat.__ragLabels) {  // Gradio names each message by its HTML source: screen readers read the markup
  chat.__ragLabels = new MutationObserver(() => {
    chat.querySelectorAll('[aria-label*="<"]').forEach((el) => el.removeAttribute('aria-label'));
  });
  chat.__ragLabels.observe(chat, {subtree: true, attributes: true, attributeFilter: ['aria-label']});
}
if (!window.__ragCitations) {
  window.__ragCitations = true;
  document.addEventListener('click', (event) => {
    const read = event.target.closest ? event.target.closest('button.read-article') : null;
    if (read) {
      event.preventDefault();
      const ranges = (read.dataset.ranges || '').split(',').map((r) => r.split('-').map(Number));
      if (window.ragOpenArticle) window.ragOpenArticle(read.dataset.doc, ranges, read);
      return;
    }
    const link = event.target.closest ? event.target.closest('a[href^="#passage-"]') : null;
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const [id, query] = link.getAttribute('href').slice(1).split('?');
    const target = document.getElementById(id);
    if (!target) {  // the passage left the page: open the cited sentence in its article (``render.badge``)
      const where = new URLSearchParams(query || '');
      if (window.ragOpenArticle && where.get('doc')) {
        window.ragOpenArticle(where.get('doc'), [[Number(where.get('start')), Number(where.get('end'))]], link);
      }
      return;
    }
    for (let node = target; node; node = node.parentElement) {
      if (node.tagName === 'DETAILS') node.open = true;
    }
    document.querySelectorAll('.passage.active').forEach((el) => el.classList.remove('active'));
    target.classList.add('active');
    target.scrollIntoView({block: 'center'});
    target.focus({preventScroll: true});
  }, true);
}
"""

# The article view: a native modal dialog (the focus stays inside; Escape closes it) filled by the server
# (``Handlers.article`` through Gradio's server functions), scrolled to the cited sentence; closing it gives
# the focus back to what opened it. A reply that arrives after a later request is dropped.
_ARTICLE_DIALOG = (
    '<dialog class="article-dialog" aria-labelledby="article-title">'
    '<div class="article-box"><button type="button" class="article-close" aria-label="Close the article">'
    'Close ✕</button><div class="article-body" tabindex="0" aria-label="The article"></div></div></dialog>')
_ARTICLE = """
const dialog = element.querySelector('dialog.article-dialog');
const body = element.querySelector('.article-body');
let asked = 0;
dialog.addEventListener('close', () => {
  asked += 1;  // a reply still on its way is not shown
  const opener = window.__ragOpener;
  if (opener && opener.isConnected) opener.focus();
});
element.querySelector('.article-close').addEventListener('click', () => dialog.close());
dialog.addEventListener('click', (event) => { if (event.target === dialog) dialog.close(); });
window.ragOpenArticle = async (doc, ranges, opener) => {
  const mine = ++asked;
  window.__ragOpener = opener || document.activeElement;
  body.innerHTML = '<p class="rag-note">Opening the article…</p>';
  if (!dialog.open) dialog.showModal();
  element.querySelector('.article-close').focus({preventScroll: true});
  let html;
  try {
    html = await server.read_article([String(doc), ranges]);
  } catch (error) {
    html = '<div class="rag-error"><b>Could not open the article.</b> The server refused (too many requests ' +
      'at once) or did not answer: wait a few seconds and try again; if it goes on, reload the page.</div>';
  }
  if (mine !== asked) return;
  body.innerHTML = html;
  const mark = body.querySelector('#article-cited');
  if (mark) mark.scrollIntoView({block: 'center'});
};
"""

# Conversations in the browser's localStorage, one key each plus a list (``ui.conversations``); which one a
# tab shows is in its sessionStorage, so a reload returns to it and a new tab opens the newest. Saving over a
# copy another tab changed since this tab last saved or opened it appends this tab's answer to that copy
# (trimmed to the server's budget the same way: passages of the oldest answers first, then the oldest
# answers). When the storage is full, the oldest other conversations go, and the server is told how many.
# Prefixed to every event script that reads or writes them.
_STORE = """
window.ragStore = window.ragStore || (() => {
  const PREFIX = 'newsrag:conversation:', INDEX = 'newsrag:conversations', CURRENT = 'newsrag:current';
  const index = () => {
    try { const items = JSON.parse(localStorage.getItem(INDEX) || '[]'); return Array.isArray(items) ? items : []; }
    catch (error) { return []; }
  };
  const newest = () => index().sort((a, b) => String(b.updated).localeCompare(String(a.updated)));
  const report = (dropped) => JSON.stringify({listing: index(), dropped: dropped || 0});
  const payload = (id) => {
    const current = id ? localStorage.getItem(PREFIX + id) : null;
    sessionStorage.setItem(CURRENT, current ? id : '');
    return JSON.stringify({current: current, listing: index()});
  };
  const drop = (id) => {
    localStorage.removeItem(PREFIX + id);
    localStorage.setItem(INDEX, JSON.stringify(index().filter((c) => c.id !== id)));
  };
  const bytes = (text) => new TextEncoder().encode(text).length;
  const merged = (saved) => {  // this tab's new answer appended to the copy another tab changed since
    let stored;
    try { stored = JSON.parse(localStorage.getItem(PREFIX + saved.id) || 'null'); } catch (error) { stored = null; }
    if (!stored || !Array.isArray(stored.turns) || !saved.previous ||
        Date.parse(stored.updated) === Date.parse(saved.previous)) return saved.conversation;
    stored.turns.push(saved.turn);
    // a time no tab's own copy has: every tab that saves to it afterwards appends, never overwrites
    stored.updated = new Date().toISOString();
    saved.entry.updated = stored.updated;
    let text = JSON.stringify(stored);
    for (let i = 0; bytes(text) > saved.budget && i < stored.turns.length - 1; i++) {
      if (!stored.turns[i].dropped) {
        stored.turns[i] = {answer: {...stored.turns[i].answer, passages: []}, dropped: true};
        text = JSON.stringify(stored);
      }
    }
    while (bytes(text) > saved.budget && stored.turns.length > 1) {
      stored.turns.shift();
      text = JSON.stringify(stored);
    }
    saved.entry.answers = stored.turns.length;
    return text;
  };
  return {
    load() {
      const mine = sessionStorage.getItem(CURRENT);
      if (mine !== null) return payload(mine);
      const latest = newest()[0];
      return payload(latest ? latest.id : '');
    },
    open(id) { return payload(id); },
    fresh() { sessionStorage.setItem(CURRENT, ''); return report(); },
    remove() { const id = sessionStorage.getItem(CURRENT); if (id) drop(id); return payload(''); },
    save(text) {
      if (!text) return report();
      // one tab at a time: two tabs saving at once would each read the copy before the other's answer
      if (navigator.locks) return navigator.locks.request('newsrag-store', () => this.write(text));
      return this.write(text);
    },
    write(text) {
      const saved = JSON.parse(text);
      const conversation = merged(saved);
      let dropped = 0;
      for (;;) {
        try {
          localStorage.setItem(PREFIX + saved.id, conversation);
          localStorage.setItem(INDEX, JSON.stringify([saved.entry, ...index().filter((c) => c.id !== saved.id)]));
          break;
        } catch (error) {  // storage full: the oldest other conversation goes first
          const oldest = newest().filter((c) => c.id !== saved.id).pop();
          if (!oldest) { localStorage.removeItem(PREFIX + saved.id); break; }
          drop(oldest.id);
          dropped += 1;
        }
      }
      sessionStorage.setItem(CURRENT, saved.id);
      return report(dropped);
    },
  };
})();
"""


def _stored(call: str) -> str:
    """An event script calling ``ragStore`` (``_STORE``): ``call`` is its body, arguments in ``args``."""
    return "(...args) => { %s return %s; }" % (_STORE, call)


def _typed_dates(inputs: list[Any]) -> str:
    """A page script passing each date picker's typed text when Gradio's picker rejects it ("13 June 2025",
    "2025-13-01"): the picker then sends its last valid value or nothing, so a mistyped "Answer as of" was
    silently today. The server reads the text (``handlers.parse_day``) and says what it understood or why not."""
    ids = {i: c.elem_id for i, c in enumerate(inputs) if isinstance(c, gr.DateTime) and c.elem_id}
    return ("(...args) => { const typed = %s; for (const [i, id] of Object.entries(typed)) { "
            "const box = document.querySelector(`#${id} input`); "
            "if (box && box.classList.contains('invalid') && box.value.trim()) args[i] = box.value; } "
            "return args; }") % json.dumps(ids)


_CSS = """
a.cite { display: inline-block; font-size: 0.75em; font-weight: 600; line-height: 1.2; padding: 0 0.35em;
  margin: 0 0.1em; border-radius: 0.6em; background: #1e3a8a; color: #fff !important; text-decoration: none;
  vertical-align: super; cursor: pointer; opacity: 1 !important; }
a.cite:hover { background: #172554; }
.skip-link { position: absolute; left: -9999px; top: 0.5em; z-index: 2000; padding: 0.4em 0.8em; border-radius: 4px;
  background: #1e3a8a; color: #fff !important; }
.skip-link:focus { left: 0.5em; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
footer .show-api, footer a, footer button { color: #4b5563 !important; }
.dark footer .show-api, .dark footer a, .dark footer button { color: #d1d5db !important; }
a.cite.upload { background: #92400e; }
a.cite.upload:hover { background: #78350f; }
.upload-tag { font-size: 0.7em; background: #b45309; color: #fff; border-radius: 0.5em; padding: 0 0.4em;
  margin-left: 0.4em; }
mark.short-answer { background: #bbf7d0; color: #052e16; font-weight: 600; padding: 0 0.1em; border-radius: 2px; }
.rag-meta.restated { font-style: italic; margin-bottom: 0.3em; }
.unsupported { background: rgba(245, 158, 11, 0.25); border-bottom: 2px dotted #d97706; }
.rag-abstain { border-left: 4px solid #6b7280; padding: 0.3em 0.6em; background: rgba(107, 114, 128, 0.12); }
.rag-error { border-left: 4px solid #dc2626; padding: 0.3em 0.6em; background: rgba(220, 38, 38, 0.1); }
.rag-meta, .rag-note { font-size: 0.85em; color: #4b5563; }
.dark .rag-meta, .dark .rag-note, .dark .rag-sources .meta { color: #d1d5db; }
.rag-sources { max-height: 660px; overflow-y: auto; }
.rag-question { font-weight: 600; margin-bottom: 0.4em; }
.rag-sources h3.rag-question { font-size: 1em; margin: 0.2em 0 0.4em; }
.rag-sources details.article { border: 1px solid rgba(128, 128, 128, 0.35); border-radius: 6px;
  margin: 0.35em 0; padding: 0.3em 0.5em; }
.rag-sources details.article.cited { border-color: #2563eb; }
.rag-sources .passage { border-top: 1px dashed rgba(128, 128, 128, 0.35); margin-top: 0.4em; padding-top: 0.3em; }
.rag-sources .passage.active { box-shadow: 0 0 0 3px rgba(37, 99, 235, 0.45); border-radius: 4px; }
.rag-sources .passage:focus { outline: 2px solid #2563eb; outline-offset: 2px; }
.rag-sources .why { font-size: 0.85em; }
.rag-sources .num { font-weight: 600; margin-right: 0.2em; }
.rag-sources summary { cursor: pointer; }
.rag-sources .passage-actions { display: flex; flex-wrap: wrap; gap: 0.3em 0.8em; align-items: baseline;
  margin-top: 0.3em; }
.rag-sources button.read-article { white-space: nowrap; font-size: 0.85em; padding: 0.1em 0.6em; border: 1px solid #2563eb;
  border-radius: 4px; background: transparent; color: inherit; cursor: pointer; }
.rag-sources button.read-article:focus-visible, a.cite:focus-visible { outline: 2px solid #1d4ed8; outline-offset: 2px; }
.rag-sources details.scores summary { font-size: 0.8em; }
dialog.article-dialog { width: min(780px, 94vw); max-width: none; max-height: 90vh; margin: 5vh auto !important; padding: 0; border: none;
  border-radius: 8px; background: var(--background-fill-primary, #fff); color: var(--body-text-color, #111); }
dialog.article-dialog::backdrop { background: rgba(15, 23, 42, 0.55); }
.article-box { position: relative; display: flex; flex-direction: column; max-height: 90vh; overflow: hidden; }
.article-close { position: absolute; top: 0.7em; right: 1em; z-index: 2; padding: 0.2em 0.7em;
  border: 1px solid #6b7280; border-radius: 4px; background: var(--background-fill-primary, #fff); color: inherit;
  cursor: pointer; }
.article-body { overflow-y: auto; padding: 0 1.4em 1em; }
.article-head { position: sticky; top: 0; z-index: 1; padding: 0.8em 6.5em 0.5em 0;
  background: var(--background-fill-primary, #fff); border-bottom: 1px solid rgba(128, 128, 128, 0.35); }
.article-head h2 { margin: 0 0 0.2em; font-size: 1.3em; }
.article-text { white-space: pre-wrap; line-height: 1.55; margin-top: 0.8em; }
.article-text mark.quote { background: #fde047; color: #111; padding: 0 0.1em; }
.rag-sources .meta { font-size: 0.8em; color: #4b5563; }
.rag-sources .also-reported { display: block; font-size: 0.8em; margin-top: 0.2em; }
.rag-sources .cited-tag { font-size: 0.7em; background: #2563eb; color: #fff; border-radius: 0.5em;
  padding: 0 0.4em; margin-left: 0.4em; }
.rag-sources .passage-text { white-space: pre-wrap; font-size: 0.9em; margin-top: 0.3em; }
.rag-sources mark.quote { background: #fde047; color: #111; padding: 0 0.1em; }
.rag-events { padding-left: 1.2em; }
.rag-event { margin: 0.5em 0; }
.rag-event time { font-weight: 600; margin-right: 0.4em; white-space: nowrap; }
.rag-event .rag-passage { white-space: pre-wrap; font-size: 0.9em; }
.rag-event mark.quote { background: #fde047; color: #111; padding: 0 0.1em; }
.rag-notice { font-style: italic; margin-top: 0.3em; }
.unsupported-list { border-left: 4px solid #d97706; padding: 0.2em 0.6em; margin: 0.4em 0; }
"""


def theme() -> gr.themes.Base:
    """Gradio's default look in the fonts of the reader's system: the bundled Source Sans Pro has no bold
    face, so bold capitals were drawn from a fallback font ("Pulls Back" with a different B)."""
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    # colours dark enough for WCAG AA text contrast (4.5:1; axe found Gradio's orange, red and greys below it)
    return theme.set(
        button_primary_background_fill="#c2410c", button_primary_background_fill_hover="#9a3412",
        button_primary_text_color="#ffffff", button_primary_border_color="#c2410c",
        button_cancel_background_fill="#b91c1c", button_cancel_background_fill_hover="#991b1b",
        button_cancel_text_color="#ffffff", button_cancel_border_color="#b91c1c",
        body_text_color_subdued="#4b5563", input_placeholder_color="#6b7280", block_info_text_color="#4b5563",
    )


def build_app(rag: RAG, upload_dir: Path | None = None, cache_limits: CacheLimits = CacheLimits()) -> gr.Blocks:
    """The chat page over ``rag``, not launched: tests drive it; ``rag-ui`` serves it behind the guard with
    ``ui.site.page_app`` (Gradio's own ``.launch()`` works for a quick look, without the guard, and prints
    a "share=True" hint that does not apply: public share links are never used here).

    Gradio's upload cache (``GRADIO_TEMP_DIR``) is swept to ``cache_limits`` now, after every upload and
    removal, and by Gradio on a schedule (``delete_cache``): an uploaded file's temporary copy never outlives
    its use, so it cannot be downloaded after its article is removed.
    """
    handlers = Handlers(rag, upload_dir, cache_limits)
    library_web = WebLibrary(rag, handlers.write_lock)
    if owned():
        sweep(handlers.cache_dir, cache_limits.max_age_s, cache_limits.max_bytes)  # what an earlier run left
    settings = rag.settings

    def read_article(where: Any) -> str:
        """The article view's HTML (``Handlers.article``) for ``where`` = [doc_id, [[start, end], ...]], called
        by the page's script (a server function takes one argument)."""
        doc_id, ranges = where if isinstance(where, list) and len(where) == 2 else ("", None)
        return handlers.article(doc_id, ranges)

    try:
        handlers.examples(EXAMPLE_SLOTS)  # warm the cache: the first page load should not wait for it
    except Exception:  # a damaged index is reported by the page's first refresh
        pass
    with gr.Blocks(title="News Q&A", analytics_enabled=False, delete_cache=cache_limits.gradio()) as app:
        gr.Markdown("# News Q&A: answers cited to the exact passage")
        gr.Markdown(handlers.notice(), elem_id="mode-notice")
        # a conversation idle for SESSION_TTL_S is forgotten by the server (Gradio keeps up to 10,000 sessions'
        # state in memory); the browser keeps its own copy (``_STORE``) and brings it back
        conversation = gr.State(None, time_to_live=SESSION_TTL_S)
        stored = gr.Textbox(visible=False)  # what the browser sends back from its storage
        saved = gr.Textbox(visible=False)  # what the browser is asked to store after an answer
        saved_list = gr.Textbox(visible=False)  # the browser's list of saved conversations
        with gr.Tab("Chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation", show_label=False, elem_id="chat", height=430, sanitize_html=True,
                        latex_delimiters=[], buttons=[], feedback_options=None,
                    )
                    question = gr.Textbox(
                        placeholder="Ask about the articles… (follow-ups keep the conversation)",
                        label="Question", show_label=False, elem_id="question", submit_btn="Ask",
                    )  # no max_length: the box would cut a long paste silently; the server says the limit
                    with gr.Accordion("Filters and answer settings", open=False, elem_id="settings"):
                        articles = gr.Dropdown(label="Only these articles", multiselect=True, choices=[],
                                               elem_id="article-filter")
                        with gr.Row():  # two pickers a row: three overflowed the column and clipped their buttons
                            date_from = gr.DateTime(label="Published from", include_time=False, type="string",
                                                    elem_id="date-from")
                            date_to = gr.DateTime(label="Published to", include_time=False, type="string",
                                                  elem_id="date-to")
                        gr.Markdown("With a date set, articles without a known date are left out.",
                                    elem_classes="rag-note")
                        as_of = gr.DateTime(label="Answer as of", include_time=False, type="string",
                                            elem_id="as-of", info="Empty: today. Later articles are not "
                                            "evidence; \"this week\" and \"latest\" are read against it.")
                        with gr.Row():
                            top_k = gr.Slider(1, MAX_TOP_K, value=min(settings.top_k, MAX_TOP_K), step=1,
                                              label="Passages to read (top-k)", elem_id="top-k",
                                              info=f"1 to {MAX_TOP_K}; a number typed outside is brought inside.")
                            choices = handlers.mode_choices()
                            mode = gr.Radio(choices, value=settings.answer_mode if len(choices) > 1 else "extractive",
                                            label="Answer mode", interactive=len(choices) > 1)
                    with gr.Row():
                        examples = [gr.Button(visible=False, size="sm", elem_classes="example")
                                    for _ in range(EXAMPLE_SLOTS)]
                    clear = gr.Button("New conversation", size="sm", elem_id="new-chat")
                    with gr.Accordion("Saved conversations", open=False, elem_id="conversations"):
                        conversations = gr.Radio([], label="Saved conversations (kept in this browser)",
                                                 elem_id="conversation-list")
                        delete = gr.Button("Delete this conversation…", size="sm", elem_id="delete-conversation")
                        with gr.Row(visible=False) as confirm_row:
                            confirm = gr.Button("Yes, delete it", variant="stop", size="sm", elem_id="confirm-delete")
                            keep = gr.Button("No, keep it", size="sm", elem_id="keep-conversation")
                        gr.Markdown("Kept in this browser only (its local storage): a reload or another tab finds "
                                    "them; another browser or a private window does not.", elem_classes="rag-note")
                    with gr.Accordion("Copy the answer as Markdown", open=False):
                        markdown = gr.Textbox(show_label=False, label="The answer as Markdown", lines=8,
                                              buttons=["copy"], interactive=False, elem_id="answer-markdown")
                with gr.Column(scale=2):
                    gr.Markdown("## Sources")
                    sources_view = gr.HTML(render.sources_panel([]), elem_id="sources",
                                           js_on_load=_SCRIPT % json.dumps(_CSS))
            gr.HTML(_ARTICLE_DIALOG, elem_id="article-view", js_on_load=_ARTICLE,
                    server_functions=[read_article])
        with gr.Tab("Timeline"):
            with gr.Row():
                story = gr.Textbox(label="What happened with…", placeholder="a story or topic, e.g. the peace talks", scale=3,
                                   elem_id="timeline-topic")
                with gr.Column(scale=1, min_width=260):  # stacked: side by side they clipped on narrow screens
                    story_from = gr.DateTime(label="From", include_time=False, type="string", elem_id="story-from")
                    story_to = gr.DateTime(label="To", include_time=False, type="string", elem_id="story-to")
            show = gr.Button("Show timeline", variant="primary", elem_id="timeline-show")
            events_view = gr.HTML(elem_id="timeline")
            story_in = [story, story_from, story_to, as_of]
            story_options: dict[str, Any] = dict(api_visibility="private", js=_typed_dates(story_in))
            story.submit(handlers.timeline, story_in, events_view, **story_options)
            show.click(handlers.timeline, story_in, events_view, **story_options)
        with gr.Tab("Library"):
            table = gr.Dataframe(headers=render.LIBRARY_HEADERS, interactive=False, wrap=True,
                                 column_widths=["30%", "10%", "13%", "13%", "18%", "6%", "10%"],  # one per LIBRARY_HEADERS
                                 label="Indexed articles", elem_id="library",
                                 max_height=380)  # with the upload box's height: the tab, feeds too, fits one screen
            with gr.Row():
                with gr.Column():
                    files = gr.File(label=f"Add articles ({', '.join(SUPPORTED_SUFFIXES)}; "
                                          f"up to {settings.max_file_mb:g} MB each)",
                                    file_count="multiple", file_types=list(SUPPORTED_SUFFIXES), elem_id="upload",
                                    height=170)
                    add = gr.Button("Add to index", variant="primary")
                with gr.Column():
                    address = gr.Textbox(label="Add from the web: an article's or a feed's address",
                                         placeholder="https://example.com/news/story or https://example.com/rss",
                                         elem_id="web-address", max_length=MAX_ADDRESS_CHARS)
                    with gr.Row():
                        fetch = gr.Button("Fetch article", variant="primary", elem_id="fetch-article")
                        follow = gr.Button("Follow feed", variant="primary", elem_id="follow-feed")
                with gr.Column():
                    to_remove = gr.Dropdown(label="Articles to remove from the index", multiselect=True,
                                            choices=[], elem_id="remove-select")
                    remove = gr.Button("Remove from index", variant="stop")
            summary = gr.Markdown(elem_id="library-summary")
            feeds_table = gr.Dataframe(headers=web.FEED_HEADERS, interactive=False, wrap=True,
                                       column_widths=["24%", "13%", "6%", "6%", "7%", "8%", "6%", "30%"],  # FEED_HEADERS
                                       label="Followed feeds (last sync's counts)", elem_id="feeds")
            with gr.Row():
                to_unfollow = gr.Dropdown(label="Feeds to stop following (their articles stay indexed)",
                                          multiselect=True, choices=[], elem_id="unfollow-select", scale=3)
                with gr.Column(scale=1):
                    unfollow = gr.Button("Stop following", variant="stop", elem_id="unfollow")
                    sync = gr.Button("Sync all feeds now", elem_id="sync-feeds")

        def refresh(selected: list[str] | None = None) -> tuple[Any, ...]:
            """The library's tables and lists as they are now (after uploads, removals, fetches, syncs, reloads).
            Quick, and shown without a progress overlay: the old rows stay until the new ones arrive."""
            try:
                indexed = rag.documents()  # one scan of the index for the table and both lists
                rows, options = handlers.library(indexed), handlers.article_choices(indexed)
            except Exception as exc:  # a damaged index: say so on the page
                gr.Warning(f"Could not read the index: {render.escape(readable(exc))}")
                rows, options = [], []
            try:
                feeds = rag.feeds()
            except Exception as exc:  # an unreadable feed list: the articles are still listed
                gr.Warning(f"Could not read the followed feeds: {render.escape(readable(exc))}")
                feeds = []
            still_there = [v for v in selected or [] if v in {value for _, value in options}]
            return (rows, gr.update(choices=options, value=still_there), gr.update(choices=options, value=[]),
                    web.feed_rows(feeds), gr.update(choices=web.feed_choices(feeds), value=[]))

        def example_questions() -> list[Any]:
            """The example buttons for the library as it is now: slow after a change (each is checked by
            asking it), so a step of its own after the tables."""
            try:
                asked = handlers.examples(EXAMPLE_SLOTS)
            except Exception:  # a damaged index is said by refresh
                asked = []
            buttons = [gr.update(value=q, visible=True) for q in asked]
            return buttons + [gr.update(visible=False)] * (EXAMPLE_SLOTS - len(asked))

        listing = [table, articles, to_remove, feeds_table, to_unfollow]
        chat_in = [question, chatbot, conversation, articles, date_from, date_to, top_k, mode, as_of]
        chat_out = [question, chatbot, conversation, sources_view, markdown, saved]
        chat_options: dict[str, Any] = dict(api_visibility="private", concurrency_id="chat",
                                            js=_typed_dates(chat_in))
        quiet: dict[str, Any] = dict(api_visibility="private", show_progress="hidden")
        shown = [chatbot, conversation, sources_view, markdown, conversations, saved]

        def list_saved(event: Any) -> Any:
            """After the browser's storage changed: the list of saved conversations, as it now holds them."""
            return event.then(handlers.listing, [saved_list, conversation], conversations, **quiet)

        def kept(event: Any) -> Any:
            """After an answer: the browser stores the conversation, then the list shows it."""
            list_saved(event.then(None, saved, saved_list, js=_stored("ragStore.save(args[0])"), **quiet))
            return event

        answering = [kept(question.submit(handlers.respond, chat_in, chat_out, **chat_options))]
        answering += [kept(button.click(handlers.respond, [button, *chat_in[1:]], chat_out, **chat_options))
                      for button in examples]
        switching: dict[str, Any] = dict(quiet, cancels=answering)  # an answer still coming is stopped first

        def new_conversation() -> tuple:
            """An empty chat; the browser forgets which conversation this tab shows (``_STORE``)."""
            return [], None, render.sources_panel([]), "", ""

        fresh = [chatbot, conversation, sources_view, markdown, saved]
        for started in (clear.click, chatbot.clear):
            list_saved(started(new_conversation, None, fresh, queue=False, api_visibility="private", cancels=answering)
                       .then(None, None, saved_list, js=_stored("ragStore.fresh()"), **quiet))
        app.load(handlers.restore, stored, shown, js=_stored("ragStore.load()"), **quiet)

        def open_saved(_chosen: str, payload: str, request: gr.Request) -> tuple:
            """The conversation chosen in the list, as the browser keeps it."""
            return handlers.restore(payload, request)

        conversations.input(open_saved, [conversations, stored], shown,
                            js=_stored("[args[0], ragStore.open(args[0])]"), **switching)
        def ask_delete(shown_conversation: Any) -> Any:
            """Ask before deleting; a conversation not saved yet has nothing to delete, and the page says so."""
            if shown_conversation is None or not shown_conversation.turns:
                gr.Info("Nothing to delete: this conversation has no answer saved yet.")
                return gr.update(visible=False)
            return gr.update(visible=True)

        delete.click(ask_delete, conversation, confirm_row, api_visibility="private")  # queued: gr.Info needs it
        keep.click(lambda: gr.update(visible=False), None, confirm_row, queue=False, api_visibility="private")
        confirm.click(handlers.restore, stored, shown, js=_stored("ragStore.remove()"), **switching).then(
            lambda: gr.update(visible=False), None, confirm_row, queue=False, api_visibility="private")
        gr.api(handlers.chat_api, api_name="chat", concurrency_id="chat")

        library_options: dict[str, Any] = dict(api_visibility="private", concurrency_id="library",
                                               concurrency_limit=1)

        def then_refresh(event: Any) -> Any:
            """After a library change (or a page load): the tables and lists, then the example questions."""
            return event.then(refresh, articles, listing, **quiet).then(example_questions, None, examples, **quiet)

        uploaded = add.click(handlers.upload, files, summary, **library_options)
        uploaded.then(lambda: None, None, files, api_visibility="private")  # beside the refresh, not after it
        then_refresh(uploaded)
        then_refresh(remove.click(handlers.remove, to_remove, summary, **library_options))
        then_refresh(fetch.click(library_web.fetch, address, summary, **library_options))
        then_refresh(follow.click(library_web.follow, address, summary, **library_options))
        then_refresh(sync.click(library_web.sync_all, None, summary, **library_options))
        then_refresh(unfollow.click(library_web.stop_following, to_unfollow, summary, **library_options))
        app.load(refresh, articles, listing, **quiet).then(example_questions, None, examples, **quiet)
    app.queue(default_concurrency_limit=settings.concurrency, max_size=settings.queue_max)
    return app

"""``RAG``: the one wiring point. Builds store, retriever and answerer from ``Settings``."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Literal, Sequence

from tqdm.auto import tqdm

from . import indexer
from .answer.base import ABSTAIN_TEXT, Answerer, Asked, Draft
from .answer.verify import languages
from .answer.abstention import answer_probability
from .answer.constraints import Constraints
from .answer.extractive import ExtractiveAnswerer, evidence_features, sentence_texts
from .answer.metadata import asked_field, metadata_answer, topic_terms
from .answer.generative import GenerativeAnswerer
from .answer.notices import empty_reasons, evidence_notices
from .answer.timeline import (DIGEST_LIMIT, digest_notes, events, lead_events, news_digest, timeline_draft,
                              timeline_topic, within)
from .config import Settings
from .embeddings import Embedder
from .errors import ConfigError, EmptyIndexError, EmptyQuestionError, QuestionTooLongError
from .ingest.readers import check_readers, discover, require_reader
from .llm import ChatModel
from .retrieve import HybridRetriever, to_passage
from .sources import resolve_keys, source_text
from . import sentence_vectors
from .sentence_vectors import SentenceVectors
from .store import BM25Index, ChromaServer, Store
from .stories import Stories, StoryIndex
from .text import words
from .time import as_of_date, resolve, window, without_time
from .web.feeds import Feed, FeedRegistry
from .web.pages import Pages, is_url
from .web.sync import drop_refused
from .types import (Answer, ArticleInfo, Chunk, Document, Filters, IngestReport, Passage, Story, Timeline, TimelineEvent,
                    TimeScope, Upload)

if TYPE_CHECKING:
    from .web.sync import SyncFailure, SyncReport

AsOf = date | datetime | str | None  # a date, a datetime, "YYYY-MM-DD", or None for today
TIMELINE_PASSAGES = 20  # a timeline reads this many passages: a story's steps are spread over many articles

Mode = Literal["extractive", "llm"]


class RAG:
    """Ingest articles, retrieve passages, answer with citations.

    ``embedder`` may be passed in to share one loaded model between instances.
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._store: Store | None = None
        self._chat: ChatModel | None = None
        self._sentences: SentenceVectors | None = None
        self._stories = StoryIndex(self.settings.data_dir)
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, **overrides: Any) -> "RAG":
        """Settings from ``RAG_*`` variables and ``.env``, with keyword overrides."""
        return cls(Settings(**overrides))

    # --- wiring --------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder(
                    self.settings.embed_model, self.settings.embed_batch_size, self.settings.embed_backend,
                    cache_dir=Path(self.settings.data_dir) / "models",
                )
            return self._embedder

    @property
    def chat(self) -> ChatModel:
        """The LLM client (LLM mode only); built on first use, shared by threads."""
        with self._lock:
            if self._chat is None:
                self._chat = ChatModel(self.settings)
            return self._chat

    @property
    def sentences(self) -> SentenceVectors:
        """The extractive answerer's sentence vectors, stored beside the index (``rag.sentence_vectors``)."""
        embedder = self.embedder
        with self._lock:
            if self._sentences is None:
                self._sentences = SentenceVectors(self.settings.data_dir, embedder)
            return self._sentences

    def _open_store(self, create: bool = False) -> Store:
        if self._store is not None:
            return self._store
        server = ChromaServer.from_settings(self.settings)
        if server is not None:
            server.check()  # a server that is down fails now, not after the model has loaded
        embedder = self.embedder
        with self._lock:
            if self._store is None:
                self._store = Store(
                    self.settings.data_dir, self.settings.collection, embedder.name, embedder.dim,
                    create=create, server=server,
                )
            return self._store

    # --- public API ----------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], rebuild: bool = False, prune: bool = False,
               progress: bool = True, upload: Upload | None = None) -> IngestReport:
        """Index files and folders; unchanged files are skipped, changed ones replaced.

        ``upload``: these files were uploaded through a page, by whom and when; every passage and citation of
        them then says so (``origin="upload"``), so an upload never passes for the corpus."""
        urls = [str(p) for p in paths if is_url(p)]
        paths = [p for p in paths if not is_url(p)]
        found = discover(list(paths))
        check_readers(found[0])  # a broken install fails here, once, before the wipe or any write
        if urls:
            require_reader("html")
        if rebuild:
            with self._lock:
                self._store = self._sentences = None
            Store.wipe(self.settings.data_dir, self.settings.collection, ChromaServer.from_settings(self.settings))
            sentence_vectors.wipe(self.settings.data_dir)
            self._stories.wipe()
        fetched, failed = self._fetch(urls, progress) if urls else ([], [])
        files = list(dict.fromkeys(p.resolve() for p in [*found[0], *fetched]))  # two links, one article: once
        found = (files, found[1] + [(f.url, f.reason) for f in failed])
        store = self._open_store(create=True)
        report = indexer.ingest([*paths, *fetched], store, self.embedder, self.settings, prune=prune,
                                progress=progress, found=found, upload=upload,
                                on_written=self._encode_sentences if self.settings.sentence_vectors else None)
        drop_refused(Pages(self.settings.data_dir), report)
        return self._restory(report)

    def _fetch(self, urls: list[str], progress: bool) -> tuple[list[Path], list["SyncFailure"]]:
        """Article pages into the data folder's stored pages (``rag.web``), through the one fetcher."""
        from .web.fetch import Fetcher, FetchPolicy
        from .web.sync import fetch_urls

        with Fetcher(FetchPolicy.from_settings(self.settings)) as fetcher:
            return fetch_urls(fetcher, Pages(self.settings.data_dir), urls)

    # --- feeds (rag.web) -----------------------------------------------------

    def add_feed(self, url: str, name: str | None = None) -> Feed:
        """Follow an RSS/Atom feed or news sitemap; ``sync`` fetches its articles. Nothing is fetched here."""
        return FeedRegistry(self.settings.data_dir).add(url, name)

    def feeds(self) -> list[Feed]:
        """The followed feeds with how their last sync went."""
        return FeedRegistry(self.settings.data_dir).all()

    def remove_feed(self, url: str) -> Feed:
        """Stop following a feed (by URL or name); its articles stay indexed (``remove`` takes them out)."""
        return FeedRegistry(self.settings.data_dir).remove(url)

    def sync(self, progress: bool = True, feeds: Sequence[str] | None = None) -> "SyncReport":
        """Fetch every followed feed (or those ``feeds`` names by URL or name) once and index their new and
        changed articles (``rag.web.sync``). A feed or page that fails is reported in ``SyncReport.failed``
        and never stops the others."""
        from .web.fetch import Fetcher, FetchPolicy
        from .web.sync import sync

        with Fetcher(FetchPolicy.from_settings(self.settings)) as fetcher:
            report = sync(FeedRegistry(self.settings.data_dir), Pages(self.settings.data_dir), fetcher,
                          lambda paths: self.ingest(paths, progress=False), self.settings.feed_max_items,
                          progress, list(feeds) if feeds else None)
        try:
            self._open_store().bm25()  # a run killed while saving the side index left it stale: repair it now
        except EmptyIndexError:
            pass
        return report

    def _restory(self, report: IngestReport) -> IngestReport:
        """Bring the stories in line with the index just changed (``rag.stories``); a failure is a warning, as
        the next question computes them again."""
        if self.settings.stories:
            try:
                self._stories.current(self._open_store())
            except Exception as exc:
                report.warnings.append(f"Grouping syndicated copies into stories failed ({type(exc).__name__}: "
                                       f"{exc}); the index is complete, the next question tries again.")
        return report

    def stories(self) -> list[Story]:
        """Articles with near-identical text (syndicated copies), grouped, earliest first: each story's first
        article is the one retrieved and cited. Empty when nothing is indexed or ``Settings.stories`` is off."""
        if not self.settings.stories:
            return []
        try:
            return self._stories.current(self._open_store()).stories()
        except EmptyIndexError:
            return []

    def _encode_sentences(self, written: list[tuple[Document, list[Chunk]]]) -> None:
        """Store the vectors of every sentence the answerer may quote from newly written chunks."""
        self.sentences.fill([t for doc, chunks in written for c in chunks
                             for t in sentence_texts([Passage.of_chunk(doc, c)])])  # per passage, as each is read

    def remove(self, keys: Sequence[str | Path]) -> IngestReport:
        """Take articles out of the index; files on disk are untouched.

        Keys are doc ids, file names or paths (relative to the current folder, as ``ingest`` reads them).
        A key that names no indexed article raises UnknownSourceError and nothing is removed.
        """
        keys = [keys] if isinstance(keys, (str, Path)) else list(keys)  # one key, not its characters
        store = self._open_store()
        docs = store.documents()
        named = resolve_keys(keys, docs.values())  # raises, naming the unknown keys, before anything goes
        report = indexer.remove(keys, store, docs)
        pages = Pages(self.settings.data_dir)
        for doc_id in named:  # a removed web article's page goes too, or the next sync would index it again
            if (record := pages.record_of(Path(docs[doc_id].source))) is not None:
                pages.drop_page(record, "removed from the index")
        return self._restory(report)

    def documents(self) -> list[ArticleInfo]:
        """The indexed articles, newest first (undated last); empty when nothing is indexed yet."""
        try:
            stored = self._open_store().documents()
        except EmptyIndexError:
            return []
        articles = [
            ArticleInfo(
                doc_id=d.doc_id, title=d.title, source=d.source, file_name=d.file_name,
                **d.record.article(), chunks=len(d.chunk_ids),
                complete=len(d.chunk_ids) == d.n_chunks,
            )
            for d in stored.values()
        ]
        articles.sort(key=lambda a: a.title.lower())
        articles.sort(key=lambda a: a.published.toordinal() if a.published else -1, reverse=True)
        return articles

    def retrieve(self, question: str, top_k: int | None = None,
                 filters: Filters | dict | None = None, as_of: AsOf = None) -> list[Passage]:
        """Passages for ``question``, best first, as of ``as_of`` (default today; ``rag.time``): articles
        published after it are left out, and the question's time words ("this week", "latest") rank
        articles of that period, or the newest, higher. Raises ValueError for an unreadable ``as_of``."""
        question = self._check(question)
        day = as_of_date(as_of)
        return self._retrieve(question, top_k, filters, day, resolve(question, day))

    def _retrieve(self, query: str, top_k: int | None, filters: Filters | dict | None,
                  as_of: date, scopes: list[TimeScope]) -> list[Passage]:
        return self._retriever().retrieve(query, top_k or self.settings.top_k, _filters(filters), as_of, scopes)

    def _retriever(self) -> HybridRetriever:
        return HybridRetriever(self._open_store(), self.embedder, rrf_k=self.settings.rrf_k,
                               half_life_days=self.settings.recency_half_life_days,
                               time_weight=self.settings.time_weight,
                               stories=self._current_stories if self.settings.stories else None)

    def _current_stories(self, bm25: BM25Index) -> Stories:
        return self._stories.current(self._open_store(), bm25)

    def passages(self, doc_id: str | None = None) -> list[Passage]:
        """Every indexed chunk as a Passage (score 0), in source order: for eval and browsing."""
        return [to_passage(hit, 0.0, None) for hit in self._open_store().hits(doc_id)]

    def source_text(self, doc_id: str) -> str:
        """The text an article's citation offsets index: ``source_text(c.doc_id)[c.start:c.end] == c.quote``
        (for HTML and PDF, the extracted text; ``rag.sources.source_text``). Raises UnknownSourceError,
        SourceChangedError."""
        return source_text(doc_id, self.passages(doc_id), int(self.settings.max_file_mb * 1_000_000))

    def ask(self, question: str, history: list[dict] | None = None, filters: Filters | dict | None = None,
            top_k: int | None = None, mode: Mode | None = None, as_of: AsOf = None) -> Answer:
        """Answer with ``[n]`` citations into ``Answer.passages``, or abstain. The last event of ``stream``."""
        answer = None
        for event in self.stream(question, history=history, filters=filters, top_k=top_k, mode=mode, as_of=as_of):
            answer = event
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str, history: list[dict] | None = None,
               filters: Filters | dict | None = None, top_k: int | None = None,
               mode: Mode | None = None, as_of: AsOf = None) -> Iterator[str | Answer]:
        """Text deltas as they are written, then the final ``Answer`` with verified citations.

        One path for both modes: correct typos against the index's words,
        condense a follow-up into a standalone question (``Answer.query``),
        retrieve for it, let the answerer stream its drafts, build the
        ``Answer`` once. LLM mode streams the model's words (invalid markers
        included; the final ``Answer.text`` is the verified text); extractive
        mode sends its text in one delta. ``mode`` overrides
        ``Settings.answer_mode`` for this question ("llm" needs a configured server).
        ``as_of`` (default today): later articles are not evidence, the question's time words are resolved
        against it (``Answer.time_scopes``), and an answer whose newest cited article is older than
        ``Settings.stale_after_days`` says so (``Answer.notices``).
        """
        answerer = self._answerer(mode or self.settings.answer_mode)
        started = time.perf_counter()
        question = self._check(question)
        day = as_of_date(as_of)
        timings: dict[str, float] = {}
        typed, query, corrections = self.standalone(question, history, answerer)
        scopes = resolve(typed, day)  # as typed: carried context is an earlier turn's, not this one's time
        topic = timeline_topic(typed)  # "what happened with X": a timeline, from more passages
        timings["condense"] = round(time.perf_counter() - started, 4)
        mark = time.perf_counter()
        chosen, period = _filters(filters), window(scopes)
        digest = news_digest(query, scopes)  # "What happened this week?": the period's articles, no topic
        k = max(top_k or self.settings.top_k, TIMELINE_PASSAGES) if topic else top_k
        if digest:
            passages, dated = self._retriever().leads(period or (None, day), chosen, day, DIGEST_LIMIT)  # open: up to as_of
        else:
            passages = self._retrieve(query, k, filters, day, scopes)  # checked as typed; context may add length
        timings["retrieve"] = round(time.perf_counter() - mark, 4)
        mark = time.perf_counter()
        draft = None
        one_article = (bool(chosen and chosen.sources) and asked_field(typed) is not None  # only then worth a scan
                       and len(resolve_keys(chosen.sources, self._open_store().documents().values())) == 1)
        asked = Asked(typed, query, tuple(history or ()), day, period, any(s.recent for s in scopes))
        leads = lead_events(passages) if digest else []
        story = timeline_draft(leads if digest else self._events(query, passages, scopes) if topic else [])
        if topic and story is None and not digest:  # no timeline: answered as any question, from the passages
            passages = passages[: top_k or self.settings.top_k]
        said = digest_notes(len(leads), dated, period or (None, day), day) if digest else []
        if digest and story is None:
            story = Draft(ABSTAIN_TEXT, abstained=True)  # nothing dated in the period: said, not searched for
        mode = "extractive" if story else answerer.mode  # a timeline quotes, whichever mode was asked for
        for event in [story.text, story] if story else _drafts(answerer, asked, passages, one_article):
            if isinstance(event, Draft):
                draft = event
            else:
                timings.setdefault("first_token", round(time.perf_counter() - started, 4))
                yield event
        assert draft is not None
        timings["answer"] = round(time.perf_counter() - mark, 4)
        timings["total"] = round(time.perf_counter() - started, 4)
        yield Answer(
            question=question, query=query, text=draft.text, citations=draft.citations, passages=passages,
            abstained=draft.abstained, mode=mode, confidence=round(draft.confidence, 4),
            short_answer=draft.short_answer, corrections=corrections,
            timings=timings, unsupported=draft.unsupported, dropped_citations=draft.dropped,
            model=self.settings.llm_model if mode == "llm" else None, raw_text=draft.raw,
            as_of=day, time_scopes=scopes, filters=chosen,
            notices=said + evidence_notices(draft, day, self.settings.stale_after_days, period) + (
                [] if passages or said else empty_reasons(self._published_days(), chosen, day)),
        )

    def timeline(self, topic: str, since: date | str | None = None, until: date | str | None = None,
                 as_of: AsOf = None, filters: Filters | dict | None = None) -> Timeline:
        """What happened with ``topic``: dated, cited events (one sentence per article, near-duplicates merged),
        oldest first, from articles published between ``since`` and ``until`` (inclusive) and not after
        ``as_of``. Raises ValueError for an unreadable date or a reversed range, EmptyQuestionError for
        a blank topic."""
        topic = self._check(topic)
        day = as_of_date(as_of)
        chosen = _filters(filters) or Filters()
        lo, hi = (as_of_date(d) if d else None for d in (since, until))
        bounded = Filters.checked(sources=chosen.sources, date_from=lo or chosen.date_from,
                                  date_to=hi or chosen.date_to)
        scopes = resolve(topic, day)
        passages = self._retrieve(without_time(topic, scopes), TIMELINE_PASSAGES, bounded, day, scopes)
        found = self._events(topic, passages, scopes)
        undated = {p.doc_id for p in passages if p.published is None}
        notes = [] if passages else empty_reasons(self._published_days(), bounded, day)
        return Timeline(topic=topic, as_of=day, since=lo, until=hi, events=found, passages=passages,
                        undated=len(undated), notes=notes)

    def _published_days(self) -> list[int]:
        """Each indexed article's published day (YYYYMMDD, -1 undated): what an empty result's reasons count."""
        return list({r.doc_id: r.published_day for r in self._open_store().bm25().rows}.values())

    def _events(self, topic: str, passages: list[Passage], scopes: list[TimeScope]) -> list[TimelineEvent]:
        """The topic's dated events among ``passages``, inside the period its time words name (if any)."""
        story = without_time(topic, scopes)
        ranked = self._answerer("extractive").rank_parts([story], passages)[0]
        eligible = [c for c in ranked if c.eligible]
        named = bool(Constraints(story).names) and eligible and eligible[0].names_met
        if not eligible or not named and (
                answer_probability(evidence_features(eligible[0], eligible)) < self.settings.abstain_threshold):
            return []  # the story is not in the articles: no timeline of whatever matched best
        return within(events(ranked, passages), window(scopes))

    def standalone(self, question: str, history: list[dict] | None,
                   answerer: Answerer) -> tuple[str, str, list[tuple[str, str]]]:
        """(the question as typed with its typos corrected, its standalone form, the corrections made).

        Corrections are used only when the question is English and the typos are many (``_worth_correcting``).
        A question about "the article" that names no topic gets the last user question that did beside it.
        """
        correction = self._open_store().speller().correct(question)
        used = _worth_correcting(question, correction.changes)
        typed = correction.text if used else question
        query = answerer.condense(typed, history) if history else typed
        if history and asked_field(typed) and not topic_terms(query):
            # "Who wrote the article?" after a question about a story: that story's article
            last = next((str(t.get("content") or "") for t in reversed(history)  # the last turn with a topic
                         if t.get("role") == "user" and topic_terms(str(t.get("content") or ""))), "")
            query = f"{typed} ({last})" if last else query
        return typed, query, correction.changes if used else []

    def _answerer(self, mode: str) -> Answerer:
        if mode == "extractive":
            return ExtractiveAnswerer(self.embedder, self.settings.abstain_threshold,
                                      self.settings.max_answer_sentences, self.sentences)
        if mode == "llm":
            return GenerativeAnswerer(self.chat, self.embedder, self.settings.max_answer_sentences + 1)
        raise ConfigError(f"Unknown answer mode {mode!r}: use 'extractive' or 'llm'.")

    def ask_batch(self, questions: Sequence[str], concurrency: int | None = None, progress: bool = True,
                  filters: Filters | dict | None = None, top_k: int | None = None,
                  as_of: AsOf | Sequence[AsOf] = None) -> list[Answer]:
        """Answers in input order; a failing question gets ``Answer.error``, the batch goes on.

        ``as_of``: one reference date for every question, or a list with one per question (a quiz's
        question dates). Raises ValueError when such a list is not as long as ``questions``."""
        concurrency = concurrency or self.settings.concurrency
        today = date.today()  # once: a batch that runs past midnight answers every question as of one day
        dates = [d if d is not None else today
                 for d in (list(as_of) if isinstance(as_of, (list, tuple)) else [as_of] * len(questions))]
        if len(dates) != len(questions):
            raise ValueError(f"as_of has {len(dates)} dates for {len(questions)} questions: give one date, "
                             "or one per question.")

        def one(q: str, day: AsOf) -> Answer:
            try:
                return self.ask(q, filters=filters, top_k=top_k, as_of=day)
            except Exception as exc:  # one bad question must not sink the batch
                return Answer(question=str(q), error=f"{type(exc).__name__}: {exc}")

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = pool.map(one, questions, dates)
            return list(tqdm(results, total=len(questions), desc="Answering", unit="q", disable=not progress))

    def stats(self) -> dict[str, Any]:
        store = self._open_store()
        docs = store.documents()
        return {
            "documents": len(docs),
            "chunks": store.count(),
            "embed_model": self.embedder.name,
            "embed_dim": self.embedder.dim,
            "embed_backend": self.embedder.backend,
            "data_dir": str(Path(self.settings.data_dir).resolve()),
            "chroma": "server" if store.server else "embedded",
            "store": store.server.url if store.server else str(Path(self.settings.data_dir).resolve()),
            "collection": self.settings.collection,
            "size_bytes": store.size_bytes(),
        }

    def check(self) -> list[str]:
        """What disagrees between Chroma and the BM25 side index (empty: all agree); changes nothing.

        The next ``ingest`` of the same paths repairs any of it.
        """
        return self._open_store().check()

    def _check(self, question: str) -> str:
        if not isinstance(question, str) or not words(question):  # blank, or only punctuation ("???")
            raise EmptyQuestionError()
        question = " ".join(question.split())
        if len(question) > self.settings.max_question_chars:
            raise QuestionTooLongError(len(question), self.settings.max_question_chars)
        return question


def _drafts(answerer: Answerer, asked: Asked, passages: list[Passage], one_article: bool) -> Iterator[str | Draft]:
    """The answerer's deltas and draft; a question about the article itself (who wrote it, when it was
    published) is answered from the top article's metadata in either mode (``answer.metadata``): no story
    sentence, quoted or generated, states it. ``one_article``: a sources filter chose a single article."""
    field = asked_field(asked.question)
    if field is not None and (draft := metadata_answer(field, asked.query, passages, one_article)) is not None:
        yield draft.text
        yield draft
        return
    yield from answerer.stream(asked, passages)


def _filters(filters: Filters | dict | None) -> Filters | None:
    """``filters`` as Filters; None when nothing is chosen, so every caller's Answer says the same for "no
    filter" (the CLI passes an empty Filters, the API none)."""
    if filters is not None and not isinstance(filters, Filters):
        filters = Filters.checked(**filters)
    return None if filters is None or filters.is_empty() else filters


def _worth_correcting(question: str, changes: list[tuple[str, str]]) -> bool:
    """Use the corrected question when it is English and the typos are many: two words or more, or a third
    of its content words. A single unknown word in a long question is more often a real word the articles
    lack ("postage stamp" is not "hostage stamp"); a German or French question's words are not English
    typos ("Wie viele Busse" is not "Win views Russo")."""
    langs = languages(question)
    if not changes or (langs and "english" not in langs):
        return False
    content = [w for w in question.split() if len(w.strip(".,;:!?\"'")) > 3]
    return len(changes) >= 2 or 3 * len(changes) >= len(content)

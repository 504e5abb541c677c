"""``RAG``: the one wiring point. Builds store, retriever and answerer from ``Settings``."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, Sequence

from tqdm.auto import tqdm

from . import indexer
from .answer.extractive import ExtractiveAnswerer
from .config import Settings
from .embeddings import Embedder
from .errors import EmptyIndexError, EmptyQuestionError, QuestionTooLongError
from .retrieve import HybridRetriever, to_passage
from .store import Store
from .types import Answer, Filters, IngestReport, Passage

_FOLLOW_UP = re.compile(r"\b(he|she|it|they|him|her|his|hers|its|them|their|this|that|these|those)\b", re.I)


class RAG:
    """Ingest articles, retrieve passages, answer with citations.

    ``embedder`` may be passed in to share one loaded model between instances.
    """

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._store: Store | None = None
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
                self._embedder = Embedder(self.settings.embed_model, self.settings.embed_batch_size)
            return self._embedder

    def _open_store(self, create: bool = False) -> Store:
        embedder = self.embedder
        with self._lock:
            if self._store is None:
                self._store = Store(
                    self.settings.data_dir, self.settings.collection, embedder.name, embedder.dim,
                    create=create,
                )
            return self._store

    # --- public API ----------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], rebuild: bool = False, prune: bool = False,
               progress: bool = True) -> IngestReport:
        """Index files and folders; unchanged files are skipped, changed ones replaced."""
        if rebuild:
            with self._lock:
                self._store = None
            Store.wipe(self.settings.data_dir, self.settings.collection)
        store = self._open_store(create=True)
        return indexer.ingest(list(paths), store, self.embedder, self.settings, prune=prune, progress=progress)

    def retrieve(self, question: str, top_k: int | None = None,
                 filters: Filters | dict | None = None) -> list[Passage]:
        """Passages for ``question``, best first."""
        question = self._check(question)
        store = self._open_store()
        if store.count() == 0:
            raise EmptyIndexError(str(self.settings.data_dir))
        retriever = HybridRetriever(store, self.embedder, rrf_k=self.settings.rrf_k)
        return retriever.retrieve(question, top_k or self.settings.top_k, _filters(filters))

    def passages(self, doc_id: str | None = None) -> list[Passage]:
        """Every indexed chunk as a Passage (score 0), in source order: for eval and browsing."""
        return [to_passage(hit, 0.0, None) for hit in self._open_store().hits(doc_id)]

    def ask(self, question: str, history: list[dict] | None = None,
            filters: Filters | dict | None = None, top_k: int | None = None) -> Answer:
        """Answer with ``[n]`` citations into ``Answer.passages``, or abstain."""
        started = time.perf_counter()
        question = self._check(question)
        query = _standalone_query(question, history)
        passages = self.retrieve(query, top_k=top_k, filters=filters)
        retrieved = time.perf_counter()
        answerer = ExtractiveAnswerer(
            self.embedder, self.settings.abstain_threshold, self.settings.max_answer_sentences
        )
        result = answerer.answer(question, passages)
        done = time.perf_counter()
        return Answer(
            question=question,
            query=query,
            text=result.text,
            citations=result.citations,
            passages=passages,
            abstained=result.abstained,
            mode="extractive",
            confidence=round(result.confidence, 4),
            timings={
                "retrieve": round(retrieved - started, 4),
                "answer": round(done - retrieved, 4),
                "total": round(done - started, 4),
            },
        )

    def stream(self, question: str, history: list[dict] | None = None,
               filters: Filters | dict | None = None, top_k: int | None = None) -> Iterator[str | Answer]:
        """Text deltas, then the final ``Answer``. Extractive mode sends the text in one delta."""
        answer = self.ask(question, history=history, filters=filters, top_k=top_k)
        yield answer.text
        yield answer

    def ask_batch(self, questions: Sequence[str], concurrency: int | None = None, progress: bool = True,
                  filters: Filters | dict | None = None, top_k: int | None = None) -> list[Answer]:
        """Answers in input order; a failing question gets ``Answer.error``, the batch goes on."""
        concurrency = concurrency or self.settings.concurrency

        def one(q: str) -> Answer:
            try:
                return self.ask(q, filters=filters, top_k=top_k)
            except Exception as exc:  # one bad question must not sink the batch
                return Answer(question=str(q), error=f"{type(exc).__name__}: {exc}")

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = pool.map(one, questions)
            return list(tqdm(results, total=len(questions), desc="Answering", unit="q", disable=not progress))

    def stats(self) -> dict[str, Any]:
        store = self._open_store()
        docs = store.documents()
        return {
            "documents": len(docs),
            "chunks": store.count(),
            "embed_model": self.embedder.name,
            "embed_dim": self.embedder.dim,
            "data_dir": str(Path(self.settings.data_dir).resolve()),
            "size_bytes": store.size_bytes(),
        }

    def _check(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise EmptyQuestionError()
        question = " ".join(question.split())
        if len(question) > self.settings.max_question_chars:
            raise QuestionTooLongError(len(question), self.settings.max_question_chars)
        return question


def _filters(filters: Filters | dict | None) -> Filters | None:
    if filters is None or isinstance(filters, Filters):
        return filters
    return Filters(**filters)


def _standalone_query(question: str, history: list[dict] | None) -> str:
    """Without an LLM: a follow-up that leans on a pronoun borrows the previous user question."""
    if not history or not _FOLLOW_UP.search(question):
        return question
    previous = [t.get("content", "") for t in history if t.get("role") == "user" and t.get("content")]
    return f"{previous[-1]} {question}" if previous else question

"""LLM answers: prompt with numbered passages, stream the reply, then verify its citations."""

from __future__ import annotations

from typing import Iterator, Sequence

from ..embeddings import Embedder
from ..llm import ChatModel
from ..types import Passage
from .base import ABSTAIN_TEXT, Asked, Draft
from .prompt import answer_messages, rewrite_messages
from .verify import SENTINEL, verify


class GenerativeAnswerer:
    """The LLM answerer (``base.Answerer``): the model condenses and writes; every citation is verified."""

    mode = "llm"

    def __init__(self, chat: ChatModel, embedder: Embedder, max_sentences: int = 4) -> None:
        self.chat = chat
        self.embedder = embedder
        self.max_sentences = max_sentences

    def condense(self, question: str, history: Sequence[dict]) -> str:
        return self.rewrite(question, history) if history else question

    def stream(self, asked: Asked, passages: Sequence[Passage]) -> Iterator[str | Draft]:
        """Text deltas as the model writes, then the verified ``Draft`` (last).

        A reply that begins like the sentinel is held back until it can no
        longer be it, so the user sees the abstention text, not the token.
        """
        question = asked.query
        if not passages:
            yield ABSTAIN_TEXT
            yield Draft(text=ABSTAIN_TEXT, abstained=True)
            return
        raw: list[str] = []
        held: str | None = ""  # None once the reply can no longer be the sentinel
        for delta in self.chat.stream(answer_messages(question, passages, self.max_sentences, asked.as_of)):
            raw.append(delta)
            if held is not None:
                held += delta
                if SENTINEL.startswith(held.strip()):
                    continue
                delta, held = held, None
            yield delta
        text = "".join(raw)
        if held is not None:  # the sentinel (or nothing) came back
            yield ABSTAIN_TEXT
        result = verify(text, passages, embed=self._embed, abstain_text=ABSTAIN_TEXT)
        yield Draft(text=result.text, citations=result.citations, abstained=result.abstained,
                    confidence=result.supported_share, unsupported=result.unsupported, dropped=result.dropped,
                    raw=text)

    def rewrite(self, question: str, history: Sequence[dict]) -> str:
        """A standalone version of a follow-up question; the question itself if the reply is unusable."""
        reply = " ".join(self.chat.complete(rewrite_messages(question, history), max_tokens=96).split())
        reply = reply.strip("\"'“” ")
        if not reply or len(reply) > 3 * len(question) + 200:
            return question
        return reply

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_texts(texts)

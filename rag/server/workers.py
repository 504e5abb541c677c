"""A bounded pool of threads for answers: ``RAG.ask`` is synchronous CPU work (embedding, scoring) or a wait
on an LLM, so it runs off the event loop, at most ``concurrency`` at once (``RAG_CONCURRENCY``), with at most
``queue_max`` more waiting (``RAG_QUEUE_MAX``); past that a request is refused as busy at once instead of
queueing without end."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
RETRY_AFTER_S = 2.0  # told to a client refused as busy


class BusyError(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, waiting: int):
        super().__init__(f"Busy: {waiting} questions are being answered or waiting; try again in "
                         f"{RETRY_AFTER_S:.0f} s (or raise RAG_CONCURRENCY/RAG_QUEUE_MAX on the server).")


class Workers:
    """``await workers.run(fn, *args)`` and ``async for event in workers.stream(make_iterator)``."""

    def __init__(self, concurrency: int, queue_max: int):
        self.limit = concurrency + queue_max
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rag-answer")
        self._admitted = 0
        self._lock = threading.Lock()

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.limit:
                raise BusyError(self._admitted)
            self._admitted += 1

    def _release(self, *_: Any) -> None:
        with self._lock:
            self._admitted -= 1

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Admit ``fn`` (BusyError when full) and queue it; the admission is given back when it is done, or
        at once when the pool refuses it (shut down)."""
        self._admit()
        try:
            future = self._pool.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        return future

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on a worker; raises BusyError when full, else what ``fn`` raises."""
        return await asyncio.wrap_future(self._submit(fn, *args))

    async def stream(self, make: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
        """The events of ``make()``, iterated on a worker and handed over as they come. When the consumer
        stops early (a client that left), the worker stops at the next event and closes the iterator."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def hand(kind: str, value: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
            except RuntimeError:  # the loop has closed (server shutting down): nobody is listening
                stop.set()

        def work() -> None:
            if stop.is_set():  # the client left while this waited in the queue: no work for nobody
                hand("end", None)
                return
            try:
                events = make()
                try:
                    for event in events:
                        if stop.is_set():
                            break
                        hand("event", event)
                finally:
                    getattr(events, "close", lambda: None)()
                hand("end", None)
            except BaseException as exc:  # handed to the consumer, which raises it
                hand("error", exc)

        self._submit(work)
        try:
            while True:
                kind, value = await queue.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            stop.set()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

"""The Gradio chat page over ``rag``'s public API.

    from rag import RAG
    from ui import build_app
    build_app(RAG.from_env())   # the Blocks, unlaunched: tests drive them

``rag-ui`` serves them behind the guard instead of Gradio's ``launch()``: see ``ui.site``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .app import build_app
    from .handlers import Handlers

__all__ = ["build_app", "Handlers"]


def __getattr__(name: str):
    """Import Gradio only when the page is built, so ``rag-ui`` can refuse a taken port in a blink."""
    if name == "build_app":
        from .app import build_app
        return build_app
    if name == "Handlers":
        from .handlers import Handlers
        return Handlers
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

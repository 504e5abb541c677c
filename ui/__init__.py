"""The Gradio chat page over ``rag``'s public API.

    from rag import RAG
    from ui import build_app
    build_app(RAG.from_env()).launch()
"""

from .app import build_app
from .handlers import Handlers

__all__ = ["build_app", "Handlers"]

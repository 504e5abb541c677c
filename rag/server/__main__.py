"""``python -m rag.server``: the same as ``rag serve``."""

import typer

from ..cli import serve

typer.run(serve)

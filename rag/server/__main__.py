"""``python -m rag.server``: the same as ``rag serve`` (``.env`` read the same way)."""

import sys

from ..cli import app

app(args=["serve", *sys.argv[1:]], prog_name="python -m rag.server")

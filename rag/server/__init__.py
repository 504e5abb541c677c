"""Serving: the safety layer every HTTP face of the project shares (the page today, ``rag serve`` next)."""

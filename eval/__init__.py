"""rag-eval: the regression harness. Drives ``rag`` only through its public API."""

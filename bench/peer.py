"""The peer: what a hand-rolled LlamaIndex script does with library defaults.

``VectorStoreIndex.from_documents`` (SentenceSplitter, 1024-token chunks,
in-memory vector store) with the same MiniLM model through llama-index's
HuggingFaceEmbedding, then ``as_retriever(similarity_top_k=k)``. Nothing is
tuned: that is the point of the comparison. The model's 256-piece window
means most of each 1024-token chunk is never embedded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from eval.datasets import GoldCase


def naive_llamaindex(corpus: Path, cases: list[GoldCase], ks: tuple[int, ...] = (2, 5)) -> dict[str, Any]:
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from bench.phases import hits_at
    from rag.embeddings import resolve_model_path

    mark = time.perf_counter()
    embed_model = HuggingFaceEmbedding(model_name=str(resolve_model_path("all-MiniLM-L6-v2")), device="cpu")
    load_s = time.perf_counter() - mark
    mark = time.perf_counter()
    documents = SimpleDirectoryReader(str(corpus)).load_data()
    index = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
    ingest_s = time.perf_counter() - mark
    retriever = index.as_retriever(similarity_top_k=max(ks))
    mark = time.perf_counter()
    retrieved = [[n.node.get_content() for n in retriever.retrieve(c.question)] for c in cases]
    retrieve_s = time.perf_counter() - mark
    return {"model_load_s": round(load_s, 2), "ingest_s": round(ingest_s, 2), "chunks": len(index.docstore.docs),
            "retrieve_s": round(retrieve_s, 2), **hits_at(retrieved, cases, ks)}

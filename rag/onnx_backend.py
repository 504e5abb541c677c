"""MiniLM through ONNX Runtime: the same vectors as sentence-transformers, without importing torch.

Importing torch and sentence-transformers costs seconds in every fresh
process (each `rag ask`); onnxruntime + tokenizers load the same network in
well under one. The network is exported once, with torch, into the data dir
and reused from then on. Mean pooling over the attention mask and L2
normalisation repeat what the model's sentence-transformers modules do.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import ConfigError

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_FORMAT = 1  # bump when the export itself changes


def exportable(model_path: Path) -> bool:
    """True for Transformer -> mean Pooling -> Normalize models (what this backend reproduces)."""
    try:
        modules = json.loads((model_path / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        pooling = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
        config = json.loads((model_path / pooling / "config.json").read_text())
    except (OSError, ValueError, KeyError, StopIteration):
        return False
    modes = [k for k, v in config.items() if k.startswith("pooling_mode") and v]
    return kinds == ["Transformer", "Pooling", "Normalize"] and modes == ["pooling_mode_mean_tokens"]


def _stamp(model_path: Path, quantized: bool) -> dict:
    """What the exported file was made from; a different stamp means export again."""
    weights = sorted(p for p in model_path.iterdir() if p.suffix in (".safetensors", ".bin"))
    return {
        "format": _FORMAT,
        "source": str(model_path.resolve()),
        "weights": [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in weights],
        "quantized": quantized,
    }


def ensure_exported(model_path: Path, target_dir: Path, quantized: bool = False) -> Path:
    """``target_dir/model.onnx`` for ``model_path``, exported (with torch) if missing or stale."""
    target_dir = Path(target_dir)
    target = target_dir / "model.onnx"
    stamp_file = target_dir / "stamp.json"
    stamp = _stamp(model_path, quantized)
    try:
        if target.exists() and json.loads(stamp_file.read_text()) == stamp:
            return target
    except (OSError, ValueError):
        pass
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export_fp32(model_path, fp32)
        made = fp32
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            made = Path(tmp) / "int8.onnx"
            quantize_dynamic(str(fp32), str(made), weight_type=QuantType.QInt8)
        os.replace(made, target)  # atomic: a concurrent reader sees the old file or the new one
        (Path(tmp) / "stamp.json").write_text(json.dumps(stamp))
        os.replace(Path(tmp) / "stamp.json", stamp_file)
    return target


def _export_fp32(model_path: Path, out: Path) -> None:
    try:
        import torch
        from transformers import AutoModel
    except ImportError as exc:  # pragma: no cover - torch is a dependency
        raise ConfigError(f"Exporting {model_path.name} to ONNX needs torch and transformers ({exc}).") from exc

    class LastHiddenState(torch.nn.Module):
        """Keyword call, so the exporter does not guess argument positions."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_path)).eval()
    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*_INPUTS, "last_hidden_state")}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model), (sample, sample, torch.zeros_like(sample)), str(out),
            input_names=list(_INPUTS), output_names=["last_hidden_state"], dynamic_axes=axes,
            opset_version=17, dynamo=False,
        )


class OnnxEncoder:
    """Texts -> normalised mean-pooled vectors with an ONNX Runtime session (thread-safe)."""

    def __init__(self, onnx_file: Path, tokenizer_file: Path, max_tokens: int) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._wants_types = "token_type_ids" in {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.enable_padding()

    def encode(self, texts: list[str]) -> np.ndarray:
        """One batch; callers group texts of similar length so little padding is computed."""
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if self._wants_types:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

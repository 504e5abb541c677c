from pathlib import Path

import pytest

from rag import RAG, ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"RAG_{name.upper()}=" in text, name


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("RAG_TOP_K", "7")
    rag = RAG.from_env()
    assert rag.settings.data_dir == tmp_path / "x" and rag.settings.top_k == 7
    assert RAG.from_env(top_k=3).settings.top_k == 3


def test_unknown_embedding_model_says_what_to_set(tmp_path):
    rag = RAG(Settings(data_dir=tmp_path, embed_model="no/such-model"))
    with pytest.raises(ConfigError, match="RAG_EMBED_MODEL"):
        rag.ingest([tmp_path])

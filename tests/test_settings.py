from pathlib import Path

import pytest

from rag import RAG, ConfigError, Settings

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text()
    for name, field in Settings.model_fields.items():
        env_name = field.validation_alias.choices[0] if field.validation_alias else f"RAG_{name.upper()}"
        assert f"\n{env_name}=" in text, env_name


def test_env_example_is_a_valid_configuration(tmp_path, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=ROOT / ".env.example")
    assert settings.answer_mode == "extractive" and settings == Settings(_env_file=None)


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

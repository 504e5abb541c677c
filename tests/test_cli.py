"""The `rag` command, run in-process through typer's runner against a real index."""

import json

import pytest
from typer.testing import CliRunner

from rag.cli import app

from .conftest import ARTICLES, CALL_FILE

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("cli_index")
    env = {"RAG_DATA_DIR": str(data_dir)}
    result = runner.invoke(app, ["ingest", str(ARTICLES)], env=env)
    assert result.exit_code == 0, result.output
    assert "added 5" in result.output
    return env


def test_ask_prints_the_answer_and_numbered_sources(cli_env):
    result = runner.invoke(app, ["ask", "How long did Trump's phone call with Putin last?"], env=cli_env)
    assert result.exit_code == 0, result.output
    assert "40-minute phone call" in result.output
    assert "Sources:" in result.output and CALL_FILE in result.output
    assert "[1] Trump Pulls Back" in result.output


def test_ask_json_prints_the_answer_model(cli_env):
    result = runner.invoke(app, ["ask", "--json", "Who is the NATO Secretary General?"], env=cli_env)
    data = json.loads(result.stdout)
    assert data["citations"] and data["mode"] == "extractive" and "Rutte" in data["text"]


def test_ask_with_filters_and_bad_dates(cli_env):
    result = runner.invoke(app, ["ask", "phone call", "--source", "000_8b6024e873124198.txt", "--json"], env=cli_env)
    assert {p["file_name"] for p in json.loads(result.stdout)["passages"]} == {"000_8b6024e873124198.txt"}
    bad = runner.invoke(app, ["ask", "x", "--since", "last tuesday"], env=cli_env)
    assert bad.exit_code == 1 and "YYYY-MM-DD" in bad.output


def test_errors_are_one_line_not_tracebacks(cli_env, tmp_path):
    empty = runner.invoke(app, ["ask", "   "], env=cli_env)
    assert empty.exit_code == 1 and "question is empty" in empty.output
    assert "Traceback" not in empty.output
    nothing = runner.invoke(app, ["ask", "hello?"], env={"RAG_DATA_DIR": str(tmp_path / "none")})
    assert nothing.exit_code == 1 and "rag ingest" in nothing.output


def test_second_ingest_reports_unchanged_and_skips(cli_env, tmp_path):
    (tmp_path / "bad.txt").write_bytes(b"\x00\xff" * 50)
    result = runner.invoke(app, ["ingest", str(ARTICLES), str(tmp_path / "bad.txt")], env=cli_env)
    assert result.exit_code == 0
    assert "unchanged 5" in result.output and "skipped 1" in result.output
    assert "bad.txt: binary" in result.output


def test_batch_is_resumable(cli_env, tmp_path):
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in [
        {"id": "a", "question": "How long did Trump's phone call with Putin last?"},
        {"id": "b", "question": "Who is the NATO Secretary General?"},
        {"id": "c", "question": ""},
    ]))
    out = tmp_path / "answers.jsonl"
    out.write_text(json.dumps({"id": "a", "text": "answered earlier"}) + "\n" + '{"id": "b", "te')  # torn line
    result = runner.invoke(app, ["batch", str(questions), "-o", str(out)], env=cli_env)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip() and line.endswith("}")]
    by_id = {r["id"]: r for r in rows}
    assert by_id["a"]["text"] == "answered earlier"  # not asked again
    assert "Rutte" in by_id["b"]["text"]
    assert by_id["c"]["error"] and "empty" in by_id["c"]["error"]
    again = runner.invoke(app, ["batch", str(questions), "-o", str(out)], env=cli_env)
    assert "3 already answered" in again.output


def test_batch_txt_input_and_bad_jsonl(cli_env, tmp_path):
    txt = tmp_path / "q.txt"
    txt.write_text("Who is the NATO Secretary General?\n\nWhere did Trump meet Putin last week?\n")
    out = tmp_path / "a.jsonl"
    assert runner.invoke(app, ["batch", str(txt), "-o", str(out)], env=cli_env).exit_code == 0
    assert [json.loads(l)["id"] for l in out.read_text().splitlines()] == ["1", "3"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\nnot json\n')
    result = runner.invoke(app, ["batch", str(bad), "-o", str(out)], env=cli_env)
    assert result.exit_code == 1 and "bad.jsonl:2" in result.output


def test_stats(cli_env):
    result = runner.invoke(app, ["stats"], env=cli_env)
    assert result.exit_code == 0
    assert "documents: 5" in result.output and "all-MiniLM-L6-v2 (dim 384, onnx backend)" in result.output


def test_remove_takes_an_article_out_and_a_typo_removes_nothing(tmp_path):
    env = {"RAG_DATA_DIR": str(tmp_path / "index")}
    assert runner.invoke(app, ["ingest", str(ARTICLES)], env=env).exit_code == 0
    typo = runner.invoke(app, ["remove", "001_6455e6dab78b474c.tx"], env=env)
    assert typo.exit_code == 1 and "did you mean '001_6455e6dab78b474c.txt'" in typo.output
    assert "documents: 5" in runner.invoke(app, ["stats"], env=env).output
    gone = runner.invoke(app, ["remove", "001_6455e6dab78b474c.txt"], env=env)
    assert gone.exit_code == 0 and "removed 1" in gone.output
    assert "documents: 4" in runner.invoke(app, ["stats"], env=env).output
    again = runner.invoke(app, ["ask", "x", "--source", "001_6455e6dab78b474c.txt"], env=env)
    assert again.exit_code == 1  # no such article any more: said, not silently abstained


def test_ask_names_the_outlets_that_also_ran_a_syndicated_story(tmp_path):
    from .test_stories import FERRY, write_corpus

    env = {"RAG_DATA_DIR": str(tmp_path / "index")}
    assert runner.invoke(app, ["ingest", str(write_corpus(tmp_path / "news"))], env=env).exit_code == 0
    result = runner.invoke(app, ["ask", FERRY, "--as-of", "2025-03-10"], env=env)
    assert result.exit_code == 0, result.output
    sources = result.output.split("Sources:")[1]
    assert "Coastal Times" in sources and "zz_coastal.html" in sources
    assert ("Also reported by 2 outlets: Valley Herald (https://valleyherald.example/news/bridge-hangers), "
            "Metro Daily (https://metrodaily.example/a/5521)") in sources
    assert "mm_valley.html" not in sources and "aa_metro.html" not in sources

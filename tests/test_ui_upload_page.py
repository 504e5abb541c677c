"""Uploads through the real running page (HTTP, as its browser sends them), behind a login.

Item 5: an upload named like an indexed article is refused (nothing indexed, nothing lost); another upload
is indexed as an upload, and its citations and sources say who uploaded it and when.
Item 7: Gradio's temporary copy of an upload is gone once it is ingested (or refused), and after the
article is removed: nothing of it can be downloaded from the page any more.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag import RAG, Settings
from tests.conftest import ARTICLES, CALL_FILE
from tests.fixtures.gradio_http import PageClient, event_index
from tests.fixtures.net import free_port
from ui import build_app

USER = ("alice", "wonder-land-7")
FALSE_CALL = ("Trump Pulls Back from Direct Role in Russia-Ukraine Peace Talks\n\n"
              "Trump held a 95-minute phone call with Putin, officials said.\n")
STRIKE = ("Zorbland ferry strike ends\n\n"
          "The Zorbland ferry strike ended after 12 days, union leader Mira Kaas said on Tuesday. "
          "Ferries between Zorbland and the mainland run again from Thursday.\n")
STRIKE_Q = "How many days did the Zorbland ferry strike last?"


@pytest.fixture(scope="module")
def page(embedder, tmp_path_factory):
    """The page over the sample corpus, behind a login, with its own Gradio cache folder."""
    cache = tmp_path_factory.mktemp("gradio_cache")
    data_dir = tmp_path_factory.mktemp("upload_page_index")
    articles = tmp_path_factory.mktemp("upload_page_articles")
    shutil.copytree(ARTICLES, articles, dirs_exist_ok=True)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADIO_TEMP_DIR", str(cache))  # read by Gradio when the page is built and launched
        rag = RAG(Settings(data_dir=data_dir), embedder=embedder)
        rag.ingest([articles], progress=False)
        app = build_app(rag, upload_dir=data_dir / "uploads")
        app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, ssr_mode=False,
                   quiet=True, auth=USER)
        client = PageClient(app.local_url, auth=USER)
        try:
            yield app, rag, client, cache, data_dir / "uploads"
        finally:
            client.close()
            app.close()


def cached(cache: Path) -> list[Path]:
    """Files in Gradio's cache with content. Gradio's gr.File (6.x, type="filepath") also leaves one empty
    placeholder file per uploaded file (``tempfile.NamedTemporaryFile`` in ``_process_single_file``): no copy
    of anything, swept by age (``ui.cache``)."""
    return sorted(p for p in cache.rglob("*") if p.is_file() and p.stat().st_size)


def add(app, client: PageClient, files: list[Path]) -> tuple[str, list[str]]:
    """Upload ``files`` and press "Add to index": the summary, and where Gradio kept the temporary copies."""
    sent = client.upload(files)
    paths = [f["path"] for f in sent]
    assert all(Path(p).is_file() for p in paths)  # the copy exists until the add event runs
    [summary] = client.run(event_index(app, "upload"), [sent])
    client.run(event_index(app, "refresh"), [[]])  # then, as the page does: the lists now offer the new article
    return summary, paths


def test_an_upload_named_like_an_indexed_article_is_refused(page, tmp_path):
    app, rag, client, cache, uploads = page
    before = [(a.doc_id, a.chunks) for a in rag.documents()]
    impostor = tmp_path / CALL_FILE
    impostor.write_text(FALSE_CALL)

    summary, temporary = add(app, client, [impostor])

    assert "Nothing was indexed" in summary
    assert CALL_FILE.replace("_", "&#95;") in summary and "Trump Pulls Back" in summary  # names the article
    assert "Rename the file" in summary
    assert [(a.doc_id, a.chunks) for a in rag.documents()] == before  # nothing indexed, nothing lost
    assert all(a.origin == "corpus" for a in rag.documents())
    assert not (uploads / CALL_FILE).exists()
    assert "40-minute" in rag.ask("How long did Trump's phone call with Putin last?").text
    assert cached(cache) == [] and all(client.file_status(p) in (403, 404) for p in temporary)


def test_an_upload_is_cited_as_an_upload_and_leaves_no_cached_copy(page, tmp_path):
    app, rag, client, cache, uploads = page
    story = tmp_path / "zorbland strike.txt"
    story.write_text(STRIKE)

    summary, temporary = add(app, client, [story])

    assert "**Indexed.** added 1" in summary
    assert cached(cache) == []  # Gradio's copy went once the page kept its own
    assert all(client.file_status(p) in (403, 404) for p in temporary)
    [article] = [a for a in rag.documents() if a.file_name == "zorbland_strike.txt"]
    assert (article.origin, article.uploaded_by) == ("upload", "alice") and article.uploaded_at is not None
    corpus = [a for a in rag.documents() if a.doc_id != article.doc_id]
    assert len(corpus) == 5 and all(a.origin == "corpus" and a.uploaded_by is None for a in corpus)

    respond = event_index(app, "respond", first_input="question")
    out = client.run(respond, [STRIKE_Q, [], None, [], None, None, 5, "extractive", None])
    content = out[1][-1]["content"]  # Gradio 6 sends a message's content as a list of parts
    bubble = "".join(part.get("text", "") for part in content) if isinstance(content, list) else content
    sources, markdown = out[3], out[4]
    when = article.uploaded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "strike ended after" in bubble and 'class="cite upload"' in bubble  # the citation badge looks different
    assert "uploaded by alice on" in bubble.replace("&#45;", "-")  # ... and its tooltip says who uploaded it
    assert 'class="upload-tag"' in sources and f"uploaded by alice on {when}" in sources.replace("&#45;", "-").replace("&#58;", ":")
    assert f"uploaded by alice on {when}" in markdown and "zorbland_strike.txt" in markdown

    [removed] = client.run(event_index(app, "remove"), [[article.doc_id]])
    assert removed.startswith("**Removed 1 article(s)**")
    assert not (uploads / "zorbland_strike.txt").exists() and cached(cache) == []
    assert all(client.file_status(p) in (403, 404) for p in temporary)
    assert [a.file_name for a in rag.documents() if a.origin == "upload"] == []

"""``rag``: ingest, remove, ask, batch, stats, feed, sync, serve, mcp. Every command honours RAG_DATA_DIR and .env."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from .types import Answer

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Grounded, cited answers from your news articles.")

SERVE_VARIABLES = ("RAG_SERVE_HOST", "RAG_SERVE_PORT")


@app.callback()
def _dotenv_options() -> None:
    """``rag serve``'s address may come from ``.env`` too; runs before a command's options are read."""
    from .config import options_from_dotenv

    options_from_dotenv(SERVE_VARIABLES)


DataDir = Annotated[Optional[Path], typer.Option("--data-dir", help="Index folder (default: RAG_DATA_DIR or .rag).")]


def _rag(data_dir: Path | None):
    """The RAG the settings describe; a bad setting ends the command with one line naming it."""
    from pydantic import ValidationError

    from .api import RAG
    from .config import Settings, settings_problem
    from .errors import ConfigError

    try:
        return RAG(Settings(data_dir=data_dir) if data_dir else Settings())
    except ValidationError as exc:
        _fail(ConfigError(settings_problem(exc)))


def _printable(text: str, keep: str = "") -> str:
    """``text`` safe for a terminal: control and bidi-override characters (from file names, or a model's
    reply) show as escapes; characters in ``keep`` (say, newlines of an answer) pass as they are."""
    return "".join(c if c.isprintable() or c in keep else c.encode("unicode_escape").decode() for c in text)


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(
        help="Files or folders (.txt .md .html .htm .pdf), or article URLs (http/https).")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Delete the index and start over.")] = False,
    prune: Annotated[bool, typer.Option("--prune", help="Remove documents whose files are gone.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Index articles. Unchanged files are skipped; changed files are replaced. A URL is fetched (politely:
    robots.txt, timeouts, size cap; internal addresses refused) and indexed by its canonical URL. Exit 1
    when a URL could not be fetched (after indexing the rest)."""
    from .errors import RagError
    from .web.pages import is_url

    try:
        report = _rag(data_dir).ingest(paths, rebuild=rebuild, prune=prune, progress=sys.stderr.isatty())
    except RagError as exc:
        _fail(exc)
    for item in report.skipped:
        typer.echo(f"skipped {_printable(item.path)}: {_printable(item.reason)}", err=True)
    for warning in report.warnings:
        typer.echo(f"warning: {_printable(warning)}", err=True)
    typer.echo(report.summary())
    if any(is_url(item.path) for item in report.skipped):
        raise typer.Exit(1)


feed_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Follow RSS/Atom feeds and news sitemaps; `rag sync` reads them.")
app.add_typer(feed_app, name="feed")


@feed_app.command("add")
def feed_add(
    url: Annotated[str, typer.Argument(help="The feed's address (RSS 0.9x/1.0/2.0, Atom, or a news sitemap).")],
    name: Annotated[Optional[str], typer.Option("--name", help="A name to show instead of the URL.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Follow a feed. Nothing is fetched until `rag sync`."""
    from .errors import RagError

    try:
        feed = _rag(data_dir).add_feed(url, name)
    except RagError as exc:
        _fail(exc)
    typer.echo(f"following {_printable(feed.label)} ({_printable(feed.url)}); `rag sync` fetches its articles")


@feed_app.command("list")
def feed_list(data_dir: DataDir = None) -> None:
    """The followed feeds and how their last sync went."""
    from .errors import RagError

    try:
        feeds = _rag(data_dir).feeds()
    except RagError as exc:
        _fail(exc)
    if not feeds:
        typer.echo("no feeds followed; add one with `rag feed add URL`")
    for feed in feeds:
        typer.echo(_printable(feed_line(feed)))


def feed_line(feed) -> str:
    """One feed as `rag feed list` shows it: name, URL, last sync and what it brought."""
    when = feed.last_sync.strftime("%Y-%m-%d %H:%M UTC") if feed.last_sync else "never synced"
    counts = (f"; {feed.items} items, last sync: new {feed.new}, updated {feed.updated}, unchanged {feed.unchanged}, "
              f"failed {feed.failed}") if feed.last_ok else ""
    error = f"; error: {feed.error}" if feed.error else ""
    name = f"{feed.name}: " if feed.name else ""
    return f"{name}{feed.url} ({when}{counts}{error})"


@feed_app.command("remove")
def feed_remove(
    url: Annotated[str, typer.Argument(help="The feed's URL or name.")],
    data_dir: DataDir = None,
) -> None:
    """Stop following a feed. Its articles stay indexed (`rag remove` takes articles out)."""
    from .errors import RagError

    try:
        feed = _rag(data_dir).remove_feed(url)
    except RagError as exc:
        _fail(exc)
    typer.echo(f"stopped following {_printable(feed.label)}")


@app.command()
def sync(
    every: Annotated[Optional[str], typer.Option(
        "--every", help="Sync again on this schedule until stopped (Ctrl-C): 15m, 1h, 90s.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Fetch every followed feed, index new and changed articles, print what happened. Exit 1 when a feed
    could not be read (an article that fails is listed, and retried next time when it may pass)."""
    import time
    from datetime import datetime, timezone

    from .errors import RagError

    interval = _interval(every) if every else None
    rag = _rag(data_dir)
    if not rag.feeds():
        _fail(ValueError("no feeds followed: add one with `rag feed add URL`"))
    try:
        while True:
            try:
                report = rag.sync(progress=sys.stderr.isatty())
            except RagError as exc:
                if interval is None:
                    _fail(exc)
                typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)  # a scheduled sync tries again
            else:
                for failure in report.failed:
                    typer.echo(f"failed {_printable(failure.url)}: {_printable(failure.reason)}", err=True)
                for warning in report.warnings:
                    typer.echo(f"warning: {_printable(warning)}", err=True)
                stamp = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC: " if interval is not None else ""
                typer.echo(stamp + report.summary())
            if interval is None:
                if report.feeds_failed:  # a feed that cannot be read is for the caller to see; a dead link is not
                    raise typer.Exit(1)
                return
            typer.echo(f"next sync in {every} (Ctrl-C stops)", err=True)
            time.sleep(interval)
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)


def _interval(text: str) -> float:
    """'15m' -> 900.0 seconds; a bare number is seconds. At least 60 s: a feed polled faster is rude."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text.lower())
    if not m:
        _fail(ValueError(f"--every {text!r} is not a duration: write e.g. 15m, 1h or 90s"))
    seconds = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
    if seconds < 60:
        _fail(ValueError(f"--every {text!r} is under a minute: feeds change slowly, and polling faster is "
                         "impolite; use 1m or more"))
    return seconds


@app.command()
def remove(
    keys: Annotated[list[str], typer.Argument(help="File names, paths or doc ids of indexed articles.")],
    data_dir: DataDir = None,
) -> None:
    """Take articles out of the index; the files stay on disk. A key that names no article removes nothing."""
    from .errors import RagError

    try:
        report = _rag(data_dir).remove(keys)
    except RagError as exc:
        _fail(exc)
    typer.echo(report.summary())


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole Answer as JSON.")] = False,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, max=50)] = None,
    source: Annotated[Optional[list[str]], typer.Option(
        "--source", help="Only this article: file name, path (relative to the current folder, or a folder) "
                         "or doc id; repeatable. A key that matches no indexed article is an error.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Published on or after YYYY-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Published on or before YYYY-MM-DD.")] = None,
    after: Annotated[Optional[list[str]], typer.Option(
        "--after", help="An earlier question of the conversation (repeatable, oldest first): each is answered "
                        "first, so a follow-up such as 'Who is paying for them?' is understood.")] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="Answer as of this day (YYYY-MM-DD; default today): later articles are not evidence, "
                        "'this week' and 'latest' are read against it.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Answer one question with numbered citations."""
    from .answer.verify import UNCHECKED
    from .errors import RagError
    from .format import also_text
    from .types import Filters

    days = [_as_of(since, "--since"), _as_of(until, "--until")]
    try:
        filters = Filters.checked(sources=source or None, date_from=days[0], date_to=days[1])
    except ValueError as exc:  # a reversed range: the same check and words as the page
        _fail(exc)
    day = _as_of(as_of)
    rag = _rag(data_dir)
    live = not as_json and rag.settings.answer_mode == "llm" and sys.stdout.isatty()
    answer = None
    history: list[dict] = []
    try:
        for earlier in after or []:
            said = rag.ask(earlier, history=history, filters=filters, top_k=top_k, as_of=day)
            history += [{"role": "user", "content": said.query or earlier}, {"role": "assistant", "content": said.text}]
        for event in rag.stream(question, history=history, filters=filters, top_k=top_k, as_of=day):
            if isinstance(event, str):
                if live:  # words as the model writes them; the verified text follows
                    typer.echo(_printable(event, keep="\n"), nl=False)
            else:
                answer = event
    except RagError as exc:
        _fail(exc)
    assert answer is not None
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    if live:
        typer.echo("\n\nVerified:")
    if answer.restated():
        typer.echo(_printable(answer.restated()))
    if as_of or answer.time_scopes:
        typer.echo(_printable(_when(answer)))
    typer.echo(_printable(answer.text, keep="\n"))
    if answer.short_answer and not answer.abstained:
        typer.echo(f"  Short answer: {_printable(answer.short_answer)}")
    for notice in answer.notices:
        typer.echo(f"  Note: {_printable(notice)}")
    for u in answer.unsupported:
        if u.reason.startswith(UNCHECKED):  # kept, neither confirmed nor contradicted
            typer.echo(f"  (?) not checked (another language than its passage): {_printable(u.sentence)}")
        else:
            typer.echo(f"  (!) not supported by the passages: {_printable(u.sentence)}")
    added = sorted({c.n for c in answer.citations if c.added})
    if added:
        typer.echo(f"  (citations {added} were added by verification)")
    shown = sorted({c.n for c in answer.citations}) or (
        list(range(1, len(answer.passages) + 1)) if answer.abstained else [])
    if shown:
        typer.echo("\nSources:" if answer.citations else "\nClosest passages:")
    for n in shown:
        p = answer.passages[n - 1]
        typer.echo(f"  [{n}] {_printable(p.title)} ({_printable(_provenance(p))}, chars {p.start}-{p.end})")
        if p.also_reported_by:
            typer.echo(f"      {_printable(also_text(p.also_reported_by))}")


@app.command()
def timeline(
    topic: Annotated[str, typer.Argument(help="What the story is about, in quotes: 'the Lakeport ferry'.")],
    since: Annotated[Optional[str], typer.Option(help="Articles published on or after YYYY-MM-DD.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Articles published on or before YYYY-MM-DD.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", help="As of this day (default today).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole Timeline as JSON.")] = False,
    data_dir: DataDir = None,
) -> None:
    """What happened with a topic: one dated, cited sentence per article, oldest first."""
    from .errors import RagError
    from .time import human_date

    day = _as_of(as_of)
    rag = _rag(data_dir)
    try:
        found = rag.timeline(topic, since=_as_of(since, "--since"), until=_as_of(until, "--until"), as_of=day)
    except (RagError, ValueError) as exc:
        _fail(exc)
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
        return
    if not found.events:
        typer.echo("No dated article tells this story" + (f" ({found.undated} undated articles matched; a timeline "
                   "needs published dates)." if found.undated else "."))
        for note in found.notes:
            typer.echo(f"  Note: {_printable(note)}")
        return
    typer.echo("Dates are when each article was published.")
    for event in found.events:
        p = found.passages[event.citation.n - 1]
        typer.echo(f"{human_date(event.day)}  {_printable(event.text)}")
        typer.echo(f"    {_printable(p.title)} ({_printable(_provenance(p))})"
                   + (f"; also reported by {len(event.also)} more" if event.also else ""))
    if found.undated:
        typer.echo(f"({found.undated} undated articles matched too; they cannot be placed on a timeline.)")


def _as_of(value: str | None, option: str = "--as-of") -> date | None:
    """The day an option gives (2025-06-13, "13 June 2025"), or exit naming the option and the forms wanted."""
    from .time import as_of_date

    if not value:
        return None
    try:
        return as_of_date(value)
    except ValueError as exc:
        _fail(ValueError(f"{option} {exc}"))


def _when(answer: "Answer") -> str:
    """'As of 16 June 2022: "this week" -> 2022-06-09..2022-06-16': the date answered as of, and the question's
    time words as resolved."""
    from .time import human_date

    scopes = "; ".join(s.describe() for s in answer.time_scopes)
    return f"As of {human_date(answer.as_of)}" + (f": {scopes}" if scopes else "")


def _provenance(passage) -> str:
    """Where a passage comes from: an upload's uploader and time first (it is not the corpus), then author,
    outlet, date, the file (and URL)."""
    note = passage.upload_note()
    from .web.pages import source_name

    named = source_name(passage.file_name, passage.url)  # a page fetched from the web: its URL, once
    return ", ".join([*([note] if note else []), *passage.provenance(), *([] if named == passage.url else [named]),
                      *([passage.url] if passage.url else [])])


@app.command()
def batch(
    infile: Annotated[Path, typer.Argument(help="Questions: .txt (one a line) or .jsonl ({'id','question'}).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Answers, one JSON object a line.")],
    concurrency: Annotated[int, typer.Option(min=1, max=64)] = 4,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="Answer every question as of this day (YYYY-MM-DD; default today); a .jsonl line's "
                        "own 'as_of' wins.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Answer many questions; resumable: ids already in OUT are skipped."""
    from .batchfile import read_questions, done_ids
    from .errors import RagError

    try:
        items = read_questions(infile)
    except (OSError, ValueError) as exc:
        _fail(exc)
    day = _as_of(as_of)
    done = done_ids(out)
    todo = [it for it in items if it["id"] not in done]
    typer.echo(f"{len(items)} questions, {len(items) - len(todo)} already answered in {out}", err=True)
    if not todo:
        return
    rag = _rag(data_dir)
    failed = 0
    step = max(16, 4 * concurrency)  # append as we go, so a killed run resumes where it stopped
    with out.open("a", encoding="utf-8") as fh:
        if out.stat().st_size and not out.read_bytes().endswith(b"\n"):
            fh.write("\n")  # seal a line torn by an earlier crash
        for k in range(0, len(todo), step):
            part = todo[k : k + step]
            try:
                answers = rag.ask_batch([it["question"] for it in part], concurrency=concurrency,
                                        progress=False, as_of=[it.get("as_of") or day for it in part])
            except RagError as exc:
                _fail(exc)
            for item, answer in zip(part, answers):
                failed += answer.error is not None
                fh.write(json.dumps({"id": item["id"], **answer.model_dump(mode="json")}) + "\n")
            fh.flush()
            typer.echo(f"  {min(k + step, len(todo))}/{len(todo)} answered", err=True)
    typer.echo(f"wrote {len(todo)} answers to {out} ({failed} failed)", err=True)


@app.command()
def stats(
    check: Annotated[bool, typer.Option("--check", help="Also verify that Chroma and the BM25 side index agree; exit 1 on drift.")] = False,
    data_dir: DataDir = None,
) -> None:
    """What is indexed: documents, chunks, embedding model, store path (or Chroma server URL) and size."""
    from .errors import RagError

    rag = _rag(data_dir)
    try:
        s = rag.stats()
        problems = rag.check() if check else []
    except RagError as exc:
        _fail(exc)
    typer.echo(
        f"documents: {s['documents']}\nchunks: {s['chunks']}\n"
        f"embedding model: {s['embed_model']} (dim {s['embed_dim']}, {s['embed_backend']} backend)"
    )
    if s["chroma"] == "server":
        typer.echo(f"store: Chroma server {s['store']} (collection {s['collection']})\n"
                   f"BM25 side index: {s['data_dir']} ({s['size_bytes'] / 1e6:.1f} MB)")
    else:
        typer.echo(f"store: {s['store']} ({s['size_bytes'] / 1e6:.1f} MB)")
    if check:
        for problem in problems:
            typer.echo(f"drift: {problem}", err=True)
        if problems:
            typer.secho(f"check: {len(problems)} problem(s); `rag ingest PATH` again repairs them", fg=typer.colors.RED, err=True)
            raise typer.Exit(1)
        typer.echo(f"check: ok ({s['chunks']} chunks, Chroma and the BM25 side index agree, every document complete)")



@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="RAG_SERVE_HOST", help="Address to bind; 127.0.0.1 is this machine "
                                      "only. Any other address needs RAG_API_KEYS (or --insecure-no-auth).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="RAG_SERVE_PORT", min=1, max=65535)] = 8000,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Serve a non-loopback address without API keys (anyone who reaches it can "
                                   "ask, upload and remove articles).")] = False,
    allowed_hosts: Annotated[Optional[str], typer.Option(
        help="Comma-separated host names the server answers to besides loopback (default RAG_ALLOWED_HOSTS).")]
    = None,
    ssl_certfile: Annotated[Optional[Path], typer.Option(help="TLS certificate (PEM): serve https.")] = None,
    ssl_keyfile: Annotated[Optional[Path], typer.Option(help="TLS private key (PEM).")] = None,
    data_dir: DataDir = None,
) -> None:
    """Serve answers over HTTP: OpenAI-compatible /v1/chat/completions and /v1/models, REST under /api,
    the schema at /openapi.json (Ctrl+C stops it)."""
    from .server.http import main

    main(host, port, data_dir=data_dir, insecure_no_auth=insecure_no_auth, allowed_hosts=allowed_hosts,
         ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)


@app.command()
def mcp(data_dir: DataDir = None) -> None:
    """Serve the index to an MCP client over stdio (tools: ask, search, list_articles). Register it with
    your client as the command `rag mcp`; it writes nothing but the protocol to stdout."""
    from .server.mcp import main

    main(data_dir)


if __name__ == "__main__":
    app()

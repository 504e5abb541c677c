"""``rag-ui`` (also ``python -m ui``): launch the chat page on the index named by RAG_DATA_DIR / .env."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer

from rag.server.binding import CHANGE_PORT, is_loopback, port_problem

cli = typer.Typer(add_completion=False, rich_markup_mode=None, help="The chat page: cited answers from your news articles.")


def parse_auth(value: str | None) -> dict[str, str] | None:
    """``user:password`` (the password may contain colons; several logins one per line) into user -> password."""
    if value is None:
        return None
    from rag.errors import ConfigError
    from rag.server.passwords import parse_logins

    try:
        logins = parse_logins(value, "--auth/RAG_UI_AUTH")
    except ConfigError:
        logins = {}
    if not logins:
        raise typer.BadParameter("use --auth user:password (both parts non-empty)", param_hint="--auth")
    return logins


def check_exposure(host: str, credentials: dict[str, str] | None, insecure_no_auth: bool) -> None:
    """Refuse to serve the network without a login unless the user said so explicitly."""
    if is_loopback(host) or credentials is not None or insecure_no_auth:
        return
    typer.secho(
        f"error: --host {host} is reachable from other machines; add a login with --auth-file FILE "
        "(or RAG_UI_AUTH=user:password), or pass --insecure-no-auth if you really mean an open page.",
        fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def fail(message: str) -> NoReturn:
    """End the command with one red ``error:`` line on stderr and exit code 1."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def read_credentials(ctx: typer.Context, auth: str | None, auth_file: Path | None) -> dict[str, str] | None:
    """The page's logins from --auth-file, RAG_UI_AUTH or --auth; a password typed on the command line is
    warned about (other users of the machine see it in `ps`, and it stays in the shell's history)."""
    from rag.errors import ConfigError
    from rag.server.passwords import read_logins

    source = ctx.get_parameter_source("auth")  # typer's own click: compared by name
    if auth and getattr(source, "name", None) == "COMMANDLINE":
        typer.secho("warning: a password given with --auth is visible to every user of this machine (ps) and "
                    "kept in your shell history; use --auth-file FILE or RAG_UI_AUTH instead.",
                    fg=typer.colors.YELLOW, err=True)
    logins = parse_auth(auth) or {}
    if auth_file is not None:
        try:
            logins |= read_logins(auth_file)
        except ConfigError as exc:
            fail(str(exc))
    return logins or None


@cli.command()
def main(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(envvar="RAG_UI_HOST", help="Address to bind; 0.0.0.0 serves the network.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="RAG_UI_PORT", min=1, max=65535)] = 7860,
    auth: Annotated[Optional[str], typer.Option(
        envvar="RAG_UI_AUTH", help="user:password login (prefer RAG_UI_AUTH or --auth-file: a password on the "
                                   "command line shows in `ps`); required when --host is not loopback.")] = None,
    auth_file: Annotated[Optional[Path], typer.Option(
        envvar="RAG_UI_AUTH_FILE", help="File of `user:password` lines; passwords may be hashed "
                                        "(--hash-password).")] = None,
    ssl_certfile: Annotated[Optional[Path], typer.Option(
        envvar="RAG_UI_SSL_CERTFILE", help="TLS certificate (PEM): serve https, so logins do not travel in clear.")]
    = None,
    ssl_keyfile: Annotated[Optional[Path], typer.Option(envvar="RAG_UI_SSL_KEYFILE", help="TLS private key (PEM).")]
    = None,
    allowed_hosts: Annotated[Optional[str], typer.Option(
        help="Comma-separated host names the page answers to besides loopback (default RAG_ALLOWED_HOSTS).")]
    = None,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Serve a non-loopback address without a login (anyone who reaches it "
                                   "can read, upload and remove articles).")] = False,
    hash_password: Annotated[bool, typer.Option(
        "--hash-password", help="Ask for a password, print its hash for an --auth-file line, and exit.")] = False,
    data_dir: Annotated[Optional[Path], typer.Option(help="Index folder (default: RAG_DATA_DIR or .rag).")] = None,
    upload_dir: Annotated[Optional[Path], typer.Option(help="Where uploads are kept (default: DATA_DIR/uploads).")]
    = None,
    cache_mb: Annotated[float, typer.Option(
        envvar="RAG_UI_CACHE_MB", min=1, help="Cap on Gradio's upload cache (GRADIO_TEMP_DIR); the oldest "
                                              "temporary copies go first.")] = 500,
) -> None:
    """Launch the chat page (Ctrl+C stops it)."""
    if hash_password:
        from rag.server.passwords import hash_password as make_hash

        typer.echo(make_hash(typer.prompt("Password", hide_input=True, confirmation_prompt=True)))
        typer.secho("Put it after the user name in the --auth-file: `ann:pbkdf2_sha256$...`.", err=True)
        return
    credentials = read_credentials(ctx, auth, auth_file)
    check_exposure(host, credentials, insecure_no_auth)
    if problem := port_problem(host, port):  # before the model loads: a taken port fails in a blink
        fail(problem)
    from pydantic import ValidationError

    from rag import RAG, RagError, Settings
    from rag.config import settings_problem
    from rag.server.passwords import Logins
    from rag.server.run import guard_policy, make_server

    from .cache import CacheLimits
    from .site import answering, page_app

    os.environ.setdefault("GRADIO_TEMP_DIR", str(own_cache_dir()))  # its start sweep meets no other app's files

    try:
        overrides = {"allowed_hosts": allowed_hosts} if allowed_hosts is not None else {}
        settings = Settings(data_dir=data_dir, **overrides) if data_dir else Settings(**overrides)
        rag = RAG(settings)
        rag.embedder  # load the model now, not on the first question
        app = page_app(rag, upload_dir, Logins(credentials).check if credentials else None,
                       cache_limits=CacheLimits(max_bytes=int(cache_mb * 1_000_000)))
        server = make_server(app, guard_policy(settings, host, answering(app)), host, port, ssl_certfile, ssl_keyfile)
    except RagError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(settings_problem(exc))
    scheme = "https" if ssl_certfile else "http"
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    typer.echo(f"Index: {Path(rag.settings.data_dir).resolve()} ({len(rag.documents())} articles)")
    typer.echo(f"Page: {scheme}://{shown}:{port}" + ("  (login required)" if credentials else ""))
    if not is_loopback(host) and not ssl_certfile:
        typer.secho("warning: logins and answers travel in clear over the network; add --ssl-certfile and "
                    "--ssl-keyfile, or put the page behind a TLS proxy (README, Security).",
                    fg=typer.colors.YELLOW, err=True)
    try:
        server.run()
    except SystemExit:  # uvicorn exits when it cannot bind: the port was taken while the model loaded
        pass
    if not server.started:
        fail(port_problem(host, port) or f"the page could not start listening on {host} port {port}; "
                                         f"{CHANGE_PORT} or RAG_UI_PORT=N")


def own_cache_dir() -> Path:
    """The page's own Gradio upload folder, when GRADIO_TEMP_DIR does not name one: Gradio's default
    (``<temp>/gradio``) is shared by every Gradio app of the machine, and the page sweeps its folder on start."""
    import tempfile

    return Path(tempfile.gettempdir()) / f"rag-ui-gradio-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


UI_VARIABLES = ("RAG_UI_HOST", "RAG_UI_PORT", "RAG_UI_AUTH", "RAG_UI_AUTH_FILE", "RAG_UI_SSL_CERTFILE",
                "RAG_UI_SSL_KEYFILE", "RAG_UI_CACHE_MB")


def run() -> None:
    """Console-script entry point; RAG_UI_* may also come from .env, like every other setting."""
    from rag.config import options_from_dotenv

    options_from_dotenv(UI_VARIABLES)
    cli()


if __name__ == "__main__":  # python -m ui.cli, as python -m ui
    run()

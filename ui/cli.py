"""``rag-ui`` (also ``python -m ui``): launch the chat page on the index named by RAG_DATA_DIR / .env."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}

cli = typer.Typer(add_completion=False, help="The chat page: cited answers from your news articles.")


def is_loopback(host: str) -> bool:
    """True when only this machine can reach ``host``."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:pass`` into a pair; the password may contain colons."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise typer.BadParameter("use --auth user:password (both parts non-empty)", param_hint="--auth")
    return user, password


def check_exposure(host: str, credentials: tuple[str, str] | None, insecure_no_auth: bool) -> None:
    """Refuse to serve the network without a login unless the user said so explicitly."""
    if is_loopback(host) or credentials is not None or insecure_no_auth:
        return
    typer.secho(
        f"error: --host {host} is reachable from other machines; add --auth user:password "
        "(or RAG_UI_AUTH), or pass --insecure-no-auth if you really mean an open page.",
        fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@cli.command()
def main(
    host: Annotated[str, typer.Option(envvar="RAG_UI_HOST", help="Address to bind; 0.0.0.0 serves the network.")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="RAG_UI_PORT", min=1, max=65535)] = 7860,
    auth: Annotated[Optional[str], typer.Option(
        envvar="RAG_UI_AUTH", help="user:password login; required when --host is not loopback.")] = None,
    insecure_no_auth: Annotated[bool, typer.Option(
        "--insecure-no-auth", help="Serve a non-loopback address without a login (anyone who reaches it "
                                   "can read, upload and remove articles).")] = False,
    data_dir: Annotated[Optional[Path], typer.Option(help="Index folder (default: RAG_DATA_DIR or .rag).")] = None,
    upload_dir: Annotated[Optional[Path], typer.Option(help="Where uploads are kept (default: DATA_DIR/uploads).")]
    = None,
) -> None:
    """Launch the chat page (Ctrl+C stops it)."""
    credentials = parse_auth(auth)
    check_exposure(host, credentials, insecure_no_auth)
    from pydantic import ValidationError

    from rag import RAG, RagError, Settings

    from .app import build_app

    try:
        rag = RAG(Settings(data_dir=data_dir) if data_dir else Settings())
        rag.embedder  # load the model now, not on the first question
        app = build_app(rag, upload_dir)
    except (RagError, ValidationError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    typer.echo(f"Index: {Path(rag.settings.data_dir).resolve()} ({len(rag.documents())} articles)")
    app.launch(
        server_name=host, server_port=port, auth=credentials, max_file_size=int(rag.settings.max_file_mb * 1_000_000),
        ssr_mode=False, share=False, show_error=False, footer_links=["api"],
    )


UI_VARIABLES = ("RAG_UI_HOST", "RAG_UI_PORT", "RAG_UI_AUTH")


def run() -> None:
    """Console-script entry point; RAG_UI_* may also come from .env, like every other setting."""
    from dotenv import dotenv_values

    for key, value in dotenv_values(".env").items():
        if key in UI_VARIABLES and value and key not in os.environ:
            os.environ[key] = value
    cli()

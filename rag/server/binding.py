"""Can a server listen where it was asked to? Checked before a model loads, so a taken port or a wrong
address fails in a blink with one line naming the setting to change; shared by ``rag-ui`` and ``rag serve``."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
CHANGE_PORT = "choose another with --port N"  # + " or RAG_UI_PORT=N"


def is_loopback(host: str) -> bool:
    """True when only this machine can reach ``host``."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_error(host: str, port: int) -> OSError | None:
    """Bind (and close) a socket on every address ``host`` resolves to, as uvicorn's server will; the error, if any.

    uvicorn listens through asyncio's ``create_server``, which sets SO_REUSEADDR on POSIX (so connections of a
    just-stopped page, in TIME_WAIT, do not count as "in use", while a program listening there does) and IPV6_V6ONLY
    on IPv6; so does this. It takes milliseconds.
    """
    bind_host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        infos = socket.getaddrinfo(bind_host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as exc:  # socket.gaierror: a name that does not resolve
        return exc
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
    except OSError as exc:
        return exc
    finally:
        for sock in sockets:
            sock.close()
    return None


def port_problem(host: str, port: int, env: str = "RAG_UI", what: str = "the page") -> str | None:
    """Why ``what`` cannot listen on ``host:port``, as one line naming the option (and ``{env}_HOST`` /
    ``{env}_PORT`` variable) to change; None if it can."""
    exc = bind_error(host, port)
    change_port = f"{CHANGE_PORT} or {env}_PORT=N"
    if exc is None:
        return None
    if isinstance(exc, socket.gaierror):
        return f"--host {host} is not a name this machine can resolve ({exc.strerror}); fix --host or {env}_HOST"
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; {change_port} (or stop the program using it)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"--host {host} is not an address of this machine, so {what} cannot listen on it; use "
                f"127.0.0.1 (this machine only) or 0.0.0.0 (every interface), with --host or {env}_HOST")
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on port {port} on {host} (ports below 1024 need root); {change_port}"
    return (f"cannot listen on {host} port {port} ({exc.strerror or exc}); "
            f"change --host/--port ({env}_HOST/{env}_PORT)")

"""The SSRF rule: which addresses a fetch may connect to, checked when the socket is opened.

A feed or a redirect can name any host, including this machine (127.0.0.1), its network (10.x, fc00::)
or a cloud's metadata service (169.254.169.254). Checking a URL's host before the request is not enough:
DNS can answer differently a moment later (rebinding). So the check sits in the network backend httpcore
calls to open every connection: it resolves the host once, refuses if any address is internal, and
connects to the vetted address itself. TLS still names the host (SNI, certificate check), because httpcore
starts TLS over this socket with the request's host name.

The same backend holds each request to its time limit (``time_limit``): a per-read timeout alone lets a
server that sends a byte now and then keep a request going for hours, headers included.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598): not global, not "private"

# seconds left for the request under way in this thread (or context), None outside ``time_limit``
_time_left: ContextVar[Callable[[], float] | None] = ContextVar("rag_fetch_time_left", default=None)


def address_kind(address: str | IPAddress) -> str | None:
    """None for a global (public) address; else what it is, for the message: "loopback", "private", ...

    An IPv6 form that carries an IPv4 address (::ffff:127.0.0.1, 6to4) is judged by that IPv4 address,
    which is where the packets end up.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        for form, embedded in (("IPv4-mapped", ip.ipv4_mapped), ("6to4", ip.sixtofour)):
            if embedded is not None:
                kind = address_kind(embedded)
                return None if kind is None else f"{form} {kind}"
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-global"
    return None


class AddressRefused(Exception):
    """Raised inside the connection attempt; the fetcher turns it into ``BlockedAddressError`` with the URL."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host, self.address, self.kind = host, address, kind
        article = "an" if kind[0].lower() in "aeiou" else "a"
        named = address if host == address else f"{host} resolves to {address}, which"
        super().__init__(f"{named} is {article} {kind} address")


class Unresolvable(Exception):
    """DNS has no address for the host; ``transient`` when the resolver only failed for now (EAI_AGAIN)."""

    def __init__(self, host: str, detail: str, transient: bool) -> None:
        self.host, self.transient = host, transient
        super().__init__(f"cannot resolve host {host} ({detail})")


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host``, in its order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@contextmanager
def time_limit(left: Callable[[], float]) -> Iterator[None]:
    """Every DNS lookup, connect, TLS handshake, read and write in the block ends once ``left()`` reaches 0.

    ``left`` is read at each step, so a deadline that moves (time spent waiting given back) is followed.
    """
    token = _time_left.set(left)
    try:
        yield
    finally:
        _time_left.reset(token)


def _bounded(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to the time left; ``late`` once none is left (httpx reports it as a timeout)."""
    left_s = _time_left.get()
    if left_s is None:
        return timeout
    left = left_s()
    if left <= 0:
        raise late("the time allowed for the whole request ran out")
    return left if timeout is None else min(timeout, left)


class _LimitedStream(httpcore.NetworkStream):
    """A connection whose every read and write (TLS handshake included) stops at the request's time limit."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _LimitedStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's own socket backend, except that every TCP connection goes to a vetted address."""

    def __init__(self, allow_private: bool, allow_networks: Iterable[str] = (),
                 resolver: Resolver = system_resolver) -> None:
        self.allow_private = allow_private
        self.allow_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks)
        self.resolver = resolver

    def vet(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """The host's addresses, if every one of them may be fetched; else ``AddressRefused``.

        All of them, not just the first: a name that resolves to a public and a private address could
        be connected to either.
        """
        try:
            addresses = self._resolve(host, port, _bounded(timeout, httpcore.ConnectTimeout))
        except socket.gaierror as exc:
            raise Unresolvable(host, exc.strerror or str(exc), exc.errno == socket.EAI_AGAIN) from None
        except (UnicodeError, OSError) as exc:
            raise Unresolvable(host, str(exc), False) from None
        if not addresses:
            raise Unresolvable(host, "no addresses", False)
        if not self.allow_private:
            for address in addresses:
                ip = ipaddress.ip_address(address)
                kind = address_kind(ip)
                if kind is not None and not any(ip in net for net in self.allow_networks):
                    raise AddressRefused(host, address, kind)
        return addresses

    def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        """The resolver's answer, waited for at most ``timeout`` s (else ``httpcore.ConnectTimeout``).

        getaddrinfo takes no timeout, so it runs in a daemon thread that is left to finish on its own
        if the answer comes too late.
        """
        if timeout is None:
            return list(self.resolver(host, port))
        answer: list[list[str] | Exception] = []

        def resolve() -> None:
            try:
                answer.append(list(self.resolver(host, port)))
            except Exception as exc:  # noqa: BLE001 - raised again in the caller's thread
                answer.append(exc)
        worker = threading.Thread(target=resolve, name=f"resolve {host}", daemon=True)
        worker.start()
        worker.join(timeout)
        if not answer:
            raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout:.3g} s")
        if isinstance(answer[0], Exception):
            raise answer[0]
        return answer[0]

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self.vet(host, port, timeout):
            try:  # an IP literal: the parent connects without resolving again
                bounded = _bounded(timeout, httpcore.ConnectTimeout)
                stream = super().connect_tcp(address, port, bounded, local_address, socket_options)
                return _LimitedStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last


def guarded_transport(backend: GuardedBackend) -> httpx.HTTPTransport:
    """An httpx transport whose connections all go through ``backend``.

    httpx 0.28 has no public way to give its transport an httpcore network backend, so this replaces the
    transport's private ``_pool`` with a pool built on ``backend``. If a later httpx renames or reshapes
    that attribute, this raises rather than fetch unguarded (and tests/test_web_fetch.py fails loudly).
    Environment settings are ignored (``trust_env=False``): an HTTPS_PROXY would connect on our behalf, so
    the address check would vet the proxy instead of the target, and SSL_CERT_FILE would swap the CAs.
    """
    transport = httpx.HTTPTransport(trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
        raise RuntimeError(
            f"httpx {httpx.__version__} no longer keeps its connection pool in HTTPTransport._pool: "
            "rag/web/addresses.py cannot guard connections; pin httpx<0.29 or update guarded_transport()")
    transport._pool.close()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=100,
        max_keepalive_connections=20, keepalive_expiry=5.0, network_backend=backend,
    )
    return transport

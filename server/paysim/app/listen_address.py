"""Turn a ``--listen HOST:PORT`` into the socket addresses to serve on, and check each one is free.

gRPC's ``add_insecure_port`` binds every address a name resolves to and reports success if any
one of them bound: with ``localhost:50051`` while another server holds ``127.0.0.1:50051`` it
serves on ``[::1]`` alone, and clients that try ``127.0.0.1`` talk to the other server. So the
server resolves the name itself, probes every address before gRPC binds anything (a taken port
is then a sentence of ours, not a gRPC log line), and binds each address on its own.

A probe binds with the options the server's listening socket will have: gRPC always sets
``SO_REUSEADDR``, so connections of an earlier server left in TIME_WAIT never trip the probe,
while any socket *listening* on the port still does. ``SO_REUSEPORT`` is added only for the
workers of one ``serve --workers N``, which share the port; the parent probes without it first,
and a probe without ``SO_REUSEPORT`` collides with a listener whether or not that one set it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass

# RFC 6761: "localhost" is the loopback, both families. gRPC's resolver (c-ares) answers both
# whatever /etc/hosts says, so a gRPC client may try either: the server must hold both.
_LOCALHOST_ADDRESSES = ("::1", "127.0.0.1")
_WILDCARDS = ("0.0.0.0", "::")  # noqa: S104 - recognised, not chosen
# The host simply has no such address (e.g. ::1 where IPv6 is off): nobody can reach it there,
# so no client can reach another server there either.
_NOT_ON_THIS_HOST = (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT)


class ListenError(RuntimeError):
    """The listen address cannot be served as given."""


class AddressInUse(ListenError):
    """Another socket listens on one of the addresses."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One socket address to listen on."""

    ip: str
    port: int

    @property
    def family(self) -> socket.AddressFamily:
        return socket.AF_INET6 if ":" in self.ip else socket.AF_INET

    @property
    def is_wildcard(self) -> bool:
        return self.ip in _WILDCARDS

    def with_port(self, port: int) -> Endpoint:
        return Endpoint(self.ip, port)

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if self.family == socket.AF_INET6 else f"{self.ip}:{self.port}"


def split(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for an IPv6 literal) into its host and port."""
    host, colon, port_text = listen.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not colon or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ListenError(f"cannot listen on {listen!r}: give HOST:PORT, e.g. 127.0.0.1:50051 or [::1]:50051")
    return host, int(port_text)


def resolve(listen: str) -> list[Endpoint]:
    """Every address ``listen`` names, in a stable order without repeats."""
    host, port = split(listen)
    try:
        return [Endpoint(str(ipaddress.ip_address(host)), port)]
    except ValueError:
        pass  # a name, not a literal address
    names: list[str] = list(_LOCALHOST_ADDRESSES) if host.lower() == "localhost" else []
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if not names:
            raise ListenError(f"cannot listen on {listen}: {host!r} does not resolve ({error.strerror})") from None
        found = []
    names += [str(info[4][0]) for info in found if info[0] in (socket.AF_INET, socket.AF_INET6)]
    return [Endpoint(ip, port) for ip in dict.fromkeys(names)]


def _bind_once(family: socket.AddressFamily, ip: str, port: int, *, reuse_port: bool) -> None:
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if family == socket.AF_INET6 and ip == "::":
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        probe.bind((ip, port))


def _probe(endpoint: Endpoint, port: int, *, reuse_port: bool) -> None:
    """Bind a socket to ``endpoint``'s address and ``port`` as gRPC would, then close it."""
    if not endpoint.is_wildcard:
        _bind_once(endpoint.family, endpoint.ip, port, reuse_port=reuse_port)
        return
    # gRPC serves either wildcard on one dual-stack socket: probe the same way, so that a
    # listener on any address of either family counts. Without IPv6, the IPv4 wildcard.
    try:
        _bind_once(socket.AF_INET6, "::", port, reuse_port=reuse_port)
    except OSError as error:
        if error.errno not in _NOT_ON_THIS_HOST:
            raise
        _bind_once(socket.AF_INET, "0.0.0.0", port, reuse_port=reuse_port)  # noqa: S104


def is_on_this_host(endpoint: Endpoint) -> bool:
    """Whether this host has the endpoint's address at all (any other failure is reported when
    the endpoint itself is checked)."""
    try:
        _probe(endpoint, 0, reuse_port=False)
    except OSError as error:
        return error.errno not in _NOT_ON_THIS_HOST
    return True


def check_free(listen: str, endpoint: Endpoint, *, reuse_port: bool) -> None:
    """Raise unless the server could bind ``endpoint`` now."""
    try:
        _probe(endpoint, endpoint.port, reuse_port=reuse_port)
    except OSError as error:
        where = listen if str(endpoint) == listen else f"{listen} ({endpoint})"
        if error.errno == errno.EADDRINUSE:
            raise AddressInUse(f"cannot listen on {where}: the address is already in use") from None
        raise ListenError(f"cannot listen on {where}: {error.strerror}") from None


def endpoints_to_serve(listen: str, *, reuse_port: bool) -> list[Endpoint]:
    """The endpoints of ``listen`` that this host has, each checked free; raise if one is taken
    or none is left."""
    endpoints = resolve(listen)
    present = [e for e in endpoints if is_on_this_host(e)]
    if not present:
        raise ListenError(f"cannot listen on {listen}: this host has no such address")
    for endpoint in present:
        if endpoint.port:
            check_free(listen, endpoint, reuse_port=reuse_port)
    return present

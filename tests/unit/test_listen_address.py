"""``--listen`` parsing and the port probe, with real sockets on the loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from paysim.app.listen_address import (
    AddressInUse,
    Endpoint,
    ListenError,
    check_free,
    endpoints_to_serve,
    resolve,
    split,
)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


IPV6 = _has_ipv6_loopback()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A server socket on 127.0.0.1 as gRPC makes them: IPv6 with a v4-mapped address, SO_REUSEADDR."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("::ffff:127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


@pytest.mark.parametrize(
    ("listen", "parts"),
    [
        ("127.0.0.1:50051", ("127.0.0.1", 50051)),
        ("[::1]:6000", ("::1", 6000)),
        ("localhost:0", ("localhost", 0)),
        ("0.0.0.0:65535", ("0.0.0.0", 65535)),  # noqa: S104
    ],
)
def test_split(listen: str, parts: tuple[str, int]) -> None:
    assert split(listen) == parts


@pytest.mark.parametrize("listen", ["50051", ":50051", "localhost", "localhost:http", "localhost:65536", "[::1]:"])
def test_split_refuses_what_is_not_host_and_port(listen: str) -> None:
    with pytest.raises(ListenError, match="give HOST:PORT"):
        split(listen)


def test_resolve() -> None:
    assert resolve("127.0.0.1:7") == [Endpoint("127.0.0.1", 7)]
    assert resolve("[0:0:0:0:0:0:0:1]:7") == [Endpoint("::1", 7)]
    assert [str(e) for e in resolve("[::]:7")] == ["[::]:7"]
    # localhost is both loopbacks, as gRPC clients resolve it, whatever /etc/hosts says.
    assert {str(e) for e in resolve("localhost:7")} == {"[::1]:7", "127.0.0.1:7"}
    with pytest.raises(ListenError, match="does not resolve"):
        resolve("no-such-host.invalid:7")


def test_a_listener_is_found_on_any_address_of_the_name(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    for listen in (f"127.0.0.1:{port}", f"localhost:{port}", f"0.0.0.0:{port}"):
        with pytest.raises(AddressInUse, match="already in use"):
            endpoints_to_serve(listen, reuse_port=False)
    with pytest.raises(AddressInUse, match=rf"cannot listen on localhost:{port} \(127.0.0.1:{port}\)"):
        endpoints_to_serve(f"localhost:{port}", reuse_port=False)


def test_connections_left_in_time_wait_do_not_count(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server side closes first: its end of the connection will be in TIME_WAIT
    assert client.recv(1) == b""
    client.close()
    listener.close()  # the server is gone; only the connection's TIME_WAIT is left on the port
    check_free(f"127.0.0.1:{port}", Endpoint("127.0.0.1", port), reuse_port=False)
    check_free(f"127.0.0.1:{port}", Endpoint("127.0.0.1", port), reuse_port=True)


def test_workers_probe_past_their_siblings_but_not_past_a_stranger() -> None:
    sibling = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sibling.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sibling.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sibling.bind(("127.0.0.1", 0))
    sibling.listen()
    port = sibling.getsockname()[1]
    try:
        endpoints_to_serve(f"127.0.0.1:{port}", reuse_port=True)  # another worker of the same serve
        with pytest.raises(AddressInUse):
            endpoints_to_serve(f"127.0.0.1:{port}", reuse_port=False)  # the parent's check
    finally:
        sibling.close()


@pytest.mark.skipif(not IPV6, reason="this host has no IPv6 loopback")
def test_localhost_is_refused_when_its_ipv6_address_is_taken() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as taken:
        taken.bind(("::1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(AddressInUse, match=rf"\(\[::1\]:{port}\)"):
            endpoints_to_serve(f"localhost:{port}", reuse_port=False)


def test_an_address_this_host_lacks_is_refused_when_named_alone() -> None:
    with pytest.raises(ListenError, match="this host has no such address"):
        endpoints_to_serve("192.0.2.1:50051", reuse_port=False)  # TEST-NET-1, never assigned

"""gRPC-Web on the dashboard's HTTP port, through a real server: the browser's calls reach the
same RPCs through the same interceptors (authentication, validation) as gRPC clients' calls,
answers and errors (with their google.rpc details) come back in gRPC-Web trailers, event streams
stream, and the browser-facing rules (same origin, security headers) hold."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest
from paysim_proto.v1 import auth_pb2, events_pb2, payment_pb2

from tests.support import grpc_web
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle

CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2035, cvc="123", holder_name="Ann")
SUBSCRIBE = "paysim.v1.EventService/SubscribePaymentEvents"


@pytest.fixture(scope="module")
def web_server(backend: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    from tests.support.harness import test_settings

    site = tmp_path_factory.mktemp("site")
    (site / "assets").mkdir()
    (site / "index.html").write_text("<!doctype html><title>paysim</title>")
    (site / "assets" / "app-1234.js").write_text("console.log('paysim')")
    settings = test_settings(
        backend,  # type: ignore[arg-type]
        tmp_path_factory.mktemp("data"),
        http_listen="127.0.0.1:0",
        dashboard_dir=str(site),
    )
    handle = ServerHandle(settings)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def base(web_server: ServerHandle) -> str:
    assert web_server.server.web is not None
    return f"http://127.0.0.1:{web_server.server.web.port}"


@pytest.fixture(scope="module")
def shop(web_server: ServerHandle) -> MerchantAccount:
    return register_merchant(web_server.stubs())


def pay(web_server: ServerHandle, shop: MerchantAccount) -> payment_pb2.Payment:
    api = web_server.stubs().as_(shop.api_key)
    reply = api.payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=1250, currency_code="EUR", card=CARD)
    )
    payment: payment_pb2.Payment = reply.payment
    return payment


def test_login_and_an_authenticated_call(base: str, shop: MerchantAccount) -> None:
    login = grpc_web.decode(
        grpc_web.call(
            base, "paysim.v1.AuthService/Login", auth_pb2.LoginRequest(email=shop.email, password=shop.password)
        ),
        auth_pb2.LoginResponse,
    )
    token = login.tokens.access_token
    me = grpc_web.decode(
        grpc_web.call(base, "paysim.v1.AuthService/GetCurrentUser", auth_pb2.GetCurrentUserRequest(), token),
        auth_pb2.GetCurrentUserResponse,
    )
    assert me.user.email == shop.email


def test_errors_carry_their_status_and_details(base: str) -> None:
    reply = grpc_web.call(base, "paysim.v1.PaymentService/ListPayments", payment_pb2.ListPaymentsRequest())
    assert reply.http_status == 200
    assert reply.grpc_status == 16  # UNAUTHENTICATED, from the same interceptor as for gRPC clients
    assert reply.reason() == "CREDENTIALS_MISSING"

    bad = grpc_web.call(base, "paysim.v1.AuthService/Login", auth_pb2.LoginRequest(email="ann@example.test"))
    assert bad.grpc_status == 3
    assert bad.reason() == "INVALID_ARGUMENT"
    assert bad.field_violations() == {"password": "is required"}


def test_a_malformed_body_is_refused_with_details(base: str) -> None:
    reply = grpc_web.call(base, "paysim.v1.AuthService/Login", b"\x00\x00")
    assert reply.grpc_status == 3
    assert reply.reason() == "INVALID_ARGUMENT"
    assert "body" in reply.field_violations()


def test_an_unknown_method_is_unimplemented(base: str) -> None:
    reply = grpc_web.call(base, "paysim.v1.PaymentService/NoSuchMethod", auth_pb2.LoginRequest())
    assert reply.grpc_status == 12


def _read_stream(base: str, token: str, into: Queue[object], stop: threading.Event) -> None:
    request = events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_AFTER_SEQ, after_seq=0)
    try:
        with httpx.stream(
            "POST", f"{base}/{SUBSCRIBE}", content=grpc_web.encode(request), headers=grpc_web.headers(token), timeout=60
        ) as answer:
            for flag, payload in grpc_web.frames(answer.iter_raw()):
                into.put((flag, payload))
                if stop.is_set():
                    return
    except Exception as error:  # handed to the test, which reports it
        into.put(error)


def test_event_streams_stream_live(web_server: ServerHandle, base: str) -> None:
    shop = register_merchant(web_server.stubs())
    first = pay(web_server, shop)
    events: Queue[object] = Queue()
    stop = threading.Event()
    reader = threading.Thread(target=_read_stream, args=(base, shop.access_token, events, stop), daemon=True)
    reader.start()

    def payments_seen(until: str) -> set[str]:
        seen: set[str] = set()
        while until not in seen:
            try:
                item = events.get(timeout=20)
            except Empty:
                raise AssertionError(f"no event of {until} within 20 s; saw {seen}") from None
            assert isinstance(item, tuple), item
            flag, payload = item
            assert flag == 0, grpc_web.parse_trailers(payload)
            message = events_pb2.SubscribePaymentEventsResponse.FromString(payload)
            if message.HasField("event"):
                seen.add(message.event.payment_id)
        return seen

    assert first.id in payments_seen(first.id)  # the replay from the cursor
    second = pay(web_server, shop)  # made while the stream is open: it must arrive live
    assert second.id in payments_seen(second.id)
    stop.set()


def test_cross_origin_calls_are_refused(base: str, shop: MerchantAccount) -> None:
    login = auth_pb2.LoginRequest(email=shop.email, password=shop.password)
    foreign = grpc_web.call(base, "paysim.v1.AuthService/Login", login, Origin="https://evil.example")
    assert foreign.http_status == 403
    assert "access-control-allow-origin" not in foreign.headers
    own = grpc_web.call(base, "paysim.v1.AuthService/Login", login, Origin=base)
    assert own.grpc_status == 0
    preflight = httpx.options(
        f"{base}/paysim.v1.AuthService/Login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers


def test_a_foreign_host_name_is_refused(base: str) -> None:
    # A DNS name rebound to 127.0.0.1 would make its site "same origin": its Host gives it away.
    answer = httpx.get(f"{base}/", headers={"Host": "attacker.example:80"})
    assert answer.status_code == 421


def test_pages_carry_the_security_headers(base: str) -> None:
    page = httpx.get(f"{base}/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    asset = httpx.get(f"{base}/assets/app-1234.js")
    assert asset.status_code == 200
    assert "javascript" in asset.headers["content-type"]
    assert httpx.get(f"{base}/assets/..%2Findex.html").status_code in (404, 405)  # never the file
    assert httpx.get(f"{base}/assets/missing.js").status_code == 404


def test_without_built_files_the_page_says_how_to_build_them(backend: object, tmp_path: Path) -> None:
    from tests.support.harness import test_settings

    settings = test_settings(
        backend,  # type: ignore[arg-type]
        tmp_path / "data",
        http_listen="127.0.0.1:0",
        dashboard_dir=str(tmp_path / "nothing"),
    )
    handle = ServerHandle(settings)
    try:
        assert handle.server.web is not None
        page = httpx.get(f"http://127.0.0.1:{handle.server.web.port}/")
        assert page.status_code == 503
        assert "server/dev.py serve" in page.text
    finally:
        handle.stop()


def test_login_limits_count_the_browsers_address_which_it_cannot_choose(backend: object, tmp_path: Path) -> None:
    from tests.support.harness import test_settings

    settings = test_settings(
        backend,  # type: ignore[arg-type]
        tmp_path / "data",
        http_listen="127.0.0.1:0",
        dashboard_dir=str(tmp_path / "site"),
        login_limit_per_address_per_minute=3,
        # Counted in this process: a Redis slowed down by a loaded machine lets attempts through
        # uncounted (fail-open), which is not what this test is about.
        redis_url="",
    )
    handle = ServerHandle(settings)
    try:
        assert handle.server.web is not None
        web_base = f"http://127.0.0.1:{handle.server.web.port}"
        reasons = []
        for attempt in range(5):
            # A browser naming another address for itself each time changes nothing.
            wrong = auth_pb2.LoginRequest(email=f"nobody{attempt}@example.test", password="wrong password")
            reply = grpc_web.call(
                web_base, "paysim.v1.AuthService/Login", wrong, **{"paysim-web-peer": f"ipv4:10.0.0.{attempt}"}
            )
            reasons.append(reply.reason())
        assert reasons[:3] == ["INVALID_CREDENTIALS"] * 3
        assert reasons[3:] == ["RATE_LIMITED"] * 2
    finally:
        handle.stop()


def test_a_refused_stream_answers_with_its_status_in_the_trailers(base: str) -> None:
    request = events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW)
    reply = grpc_web.call(base, SUBSCRIBE, request)  # no credentials
    assert reply.messages == []
    assert reply.grpc_status == 16
    assert reply.reason() == "CREDENTIALS_MISSING"


def test_open_streams_end_with_the_servers_shutdown(backend: object, tmp_path: Path) -> None:
    from tests.support.harness import test_settings

    settings = test_settings(
        backend,  # type: ignore[arg-type]
        tmp_path / "data",
        http_listen="127.0.0.1:0",
        dashboard_dir=str(tmp_path / "site"),
    )
    handle = ServerHandle(settings)
    stopped = False
    try:
        assert handle.server.web is not None
        web_base = f"http://127.0.0.1:{handle.server.web.port}"
        shop = register_merchant(handle.stubs())
        events: Queue[object] = Queue()
        reader = threading.Thread(
            target=_read_stream, args=(web_base, shop.access_token, events, threading.Event()), daemon=True
        )
        reader.start()
        first = events.get(timeout=20)  # the stream is open: its opening heartbeat
        assert isinstance(first, tuple) and first[0] == 0
        handle.stop()
        stopped = True
        while True:
            item = events.get(timeout=20)
            assert isinstance(item, tuple), item
            flag, payload = item
            if flag & 0x80:
                trailers = grpc_web.parse_trailers(payload)
                break
        assert trailers["grpc-status"] == "14"  # UNAVAILABLE: resume from your cursor
        reply = grpc_web.WebReply(200, httpx.Headers(), trailers=trailers)
        assert reply.reason() == "SERVER_SHUTTING_DOWN"
        reader.join(10)
        assert not reader.is_alive()
    finally:
        if not stopped:
            handle.stop()


def test_a_message_over_the_size_limit_is_refused_with_details(base: str, web_server: ServerHandle) -> None:
    limit = web_server.settings.max_message_bytes
    oversized = auth_pb2.LoginRequest(email="ann@example.test", password="x" * (limit + 10))
    reply = grpc_web.call(base, "paysim.v1.AuthService/Login", oversized)
    assert reply.grpc_status == 3
    assert f"{limit}-byte limit" in reply.field_violations()["body"]

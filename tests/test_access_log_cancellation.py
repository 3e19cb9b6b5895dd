"""The access log tells the truth about calls the client stopped waiting for: a unary call the
server finishes after its client's deadline passed (or after the client cancelled it) is logged
with the code the client saw, ``cancelled``, and what the server's work came to; a stream that
the client leaves is logged with the code the client saw."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from paysim_proto.v1 import events_pb2, events_pb2_grpc, payment_pb2, payment_pb2_grpc

from tests.support.client import Stubs
from tests.support.factories import register_merchant, unique
from tests.support.harness import ServerHandle
from tests.support.streams import wait_for

CARD = payment_pb2.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
GATEWAY_MS = 3000  # the simulated gateway answers after this long: far beyond the client's patience
PATIENCE_SECONDS = 1.0  # the client deadline: time enough for the call to reach a loaded server
CREATE = "/paysim.v1.PaymentService/CreatePayment"
SUBSCRIBE = "/paysim.v1.EventService/SubscribePaymentEvents"


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="paysim.access")
    return caplog


def _line(caplog: pytest.LogCaptureFixture, request_id: str) -> dict[str, Any]:
    """The access-log line of one call, once the server has written it."""

    def lines() -> list[dict[str, Any]]:
        return [
            r.fields  # type: ignore[attr-defined]
            for r in caplog.records
            if r.name == "paysim.access" and getattr(r, "fields", {}).get("request_id") == request_id
        ]

    wait_for(lambda: bool(lines()), timeout=30, what=f"the access-log line of {request_id}")
    (line,) = lines()
    return line


def _slow_payment(
    credential: str, request_id: str, *overrides: tuple[str, str]
) -> tuple[payment_pb2.CreatePaymentRequest, list[tuple[str, str]]]:
    request = payment_pb2.CreatePaymentRequest(amount_minor=700, currency_code="USD", card=CARD)
    metadata = [
        ("authorization", f"Bearer {credential}"),
        ("x-request-id", request_id),
        ("paysim-latency-ms", str(GATEWAY_MS)),
        *overrides,
    ]
    return request, metadata


def _captured(api: Stubs) -> list[str]:
    listed = api.payments.ListPayments(payment_pb2.ListPaymentsRequest())
    return [p.id for p in listed.payments if p.status == payment_pb2.PAYMENT_STATUS_CAPTURED]


def test_a_call_past_its_deadline_is_logged_as_the_client_saw_it(
    server: ServerHandle, stubs: Stubs, access_log: pytest.LogCaptureFixture
) -> None:
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    rid = unique("deadline")
    request, metadata = _slow_payment(account.api_key, rid)
    payments = payment_pb2_grpc.PaymentServiceStub(server.channel())
    with pytest.raises(grpc.RpcError) as raised:
        payments.CreatePayment(request, metadata=metadata, timeout=PATIENCE_SECONDS)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]

    line = _line(access_log, rid)
    assert line["method"] == CREATE
    assert line["code"] == "DEADLINE_EXCEEDED"
    assert line["cancelled"] is True
    assert line["server_code"] == "OK"  # the server finished the payment regardless
    assert line["cancelled_after_ms"] < GATEWAY_MS <= line["duration_ms"]
    assert len(_captured(api)) == 1  # ... and a retry with the same idempotency key would find it


def test_work_that_fails_after_the_client_gave_up_is_logged_with_its_error(
    server: ServerHandle, stubs: Stubs, access_log: pytest.LogCaptureFixture
) -> None:
    account = register_merchant(stubs)
    rid = unique("deadline-error")
    request, metadata = _slow_payment(account.api_key, rid, ("paysim-force-outcome", "error"))
    with pytest.raises(grpc.RpcError) as raised:
        payment_pb2_grpc.PaymentServiceStub(server.channel()).CreatePayment(
            request, metadata=metadata, timeout=PATIENCE_SECONDS
        )
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]

    line = _line(access_log, rid)
    assert (line["code"], line["cancelled"]) == ("DEADLINE_EXCEEDED", True)
    assert line["server_code"] == "UNAVAILABLE"  # no gateway answered: what the client would have got


def test_a_call_the_client_cancels_is_logged_as_cancelled(
    server: ServerHandle, stubs: Stubs, access_log: pytest.LogCaptureFixture
) -> None:
    account = register_merchant(stubs)
    api = stubs.as_(account.api_key)
    rid = unique("cancel")
    request, metadata = _slow_payment(account.api_key, rid)
    call = payment_pb2_grpc.PaymentServiceStub(server.channel()).CreatePayment.future(
        request, metadata=metadata, timeout=60
    )
    # The payment exists (processing) once the server is inside the call, waiting for the gateway.
    wait_for(lambda: bool(api.payments.ListPayments(payment_pb2.ListPaymentsRequest()).payments), what="the payment")
    assert call.cancel()

    line = _line(access_log, rid)
    assert (line["code"], line["cancelled"], line["server_code"]) == ("CANCELLED", True, "OK")
    assert line["cancelled_after_ms"] < line["duration_ms"]
    assert len(_captured(api)) == 1


def test_a_call_answered_in_time_is_not_cancelled(stubs: Stubs, access_log: pytest.LogCaptureFixture) -> None:
    account = register_merchant(stubs)
    rid = unique("in-time")
    stubs.as_(account.api_key).payments.CreatePayment(
        payment_pb2.CreatePaymentRequest(amount_minor=700, currency_code="USD", card=CARD),
        metadata=[("x-request-id", rid)],
        timeout=30,
    )
    line = _line(access_log, rid)
    assert (line["code"], line["cancelled"]) == ("OK", False)
    assert "server_code" not in line and "cancelled_after_ms" not in line


@pytest.mark.parametrize(("timeout", "seen"), [(2.0, "DEADLINE_EXCEEDED"), (60, "CANCELLED")])
def test_a_stream_the_client_leaves_is_logged_as_the_client_saw_it(
    server: ServerHandle, stubs: Stubs, access_log: pytest.LogCaptureFixture, timeout: float, seen: str
) -> None:
    account = register_merchant(stubs)
    rid = unique("stream")
    events = events_pb2_grpc.EventServiceStub(server.channel())
    stream = events.SubscribePaymentEvents(
        events_pb2.SubscribePaymentEventsRequest(start=events_pb2.STREAM_START_NOW),
        metadata=[("authorization", f"Bearer {account.api_key}"), ("x-request-id", rid)],
        timeout=timeout,
    )
    assert next(stream).WhichOneof("kind") == "heartbeat"  # open on the server
    if seen == "CANCELLED":
        stream.cancel()
    with pytest.raises(grpc.RpcError) as raised:
        for _ in stream:
            pass
    assert raised.value.code().name == seen  # type: ignore[attr-defined]

    line = _line(access_log, rid)
    assert line["method"] == SUBSCRIBE
    assert (line["code"], line["cancelled"]) == (seen, True)

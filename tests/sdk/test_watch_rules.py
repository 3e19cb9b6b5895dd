"""The watcher's rules against scripted streams: the request each reconnection sends, the cursor
that heartbeats and events move, no event twice, what is resumed and what is raised, one
renewal of a refused token, the attempt limit; and the pure reconnection delays."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from paysim_client import ReconnectPolicy, RetryPolicy, errors
from paysim_client._transport import Transport
from paysim_client.watch import AsyncWatcher, may_resume
from paysim_proto.v1 import events_pb2, payment_pb2

NOW = ReconnectPolicy(initial_backoff=0.0, max_backoff=0.0)
BLOCK = object()  # the stream stays open with nothing to say


def _error(code: grpc.StatusCode, reason: str = "") -> grpc.aio.AioRpcError:
    status = status_pb2.Status(code=code.value[0], message="scripted")
    if reason:
        packed = any_pb2.Any()
        packed.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="paysim.v1"))
        status.details.append(packed)
    trailers = grpc.aio.Metadata(*rpc_status.to_status(status).trailing_metadata)
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailers, "scripted")


def heartbeat(seq: int) -> events_pb2.SubscribePaymentEventsResponse:
    return events_pb2.SubscribePaymentEventsResponse(seq=seq, heartbeat=events_pb2.StreamHeartbeat())


def event(seq: int) -> events_pb2.SubscribePaymentEventsResponse:
    return events_pb2.SubscribePaymentEventsResponse(
        seq=seq,
        event=payment_pb2.PaymentEvent(id=f"evt_{seq}", type="payment.created", payment_id="pay_1", sequence=seq),
    )


class FakeCall:
    """Like grpc.aio's call: cancelling it makes a pending read raise CancelledError."""

    def __init__(self, script: list[Any]) -> None:
        self._script = script
        self._pending: asyncio.Future[None] | None = None
        self.cancelled = False

    async def read(self) -> Any:
        if self.cancelled:
            raise asyncio.CancelledError
        if not self._script:
            return grpc.aio.EOF
        item = self._script.pop(0)
        if item is BLOCK:
            self._pending = asyncio.get_running_loop().create_future()
            await self._pending  # until cancelled
        if isinstance(item, BaseException):
            raise item
        return item

    def cancel(self) -> bool:
        self.cancelled = True
        if self._pending is not None:
            self._pending.cancel()
        return True


@dataclass
class FakeChannel:
    """Each stream opened plays the next script."""

    scripts: list[list[Any]]
    opened: list[tuple[events_pb2.SubscribePaymentEventsRequest, dict[str, str]]] = field(default_factory=list)

    def unary_stream(self, path: str, request_serializer: Any, response_deserializer: Any) -> Any:
        assert path == "/paysim.v1.EventService/SubscribePaymentEvents"

        def invoke(
            request: events_pb2.SubscribePaymentEventsRequest, *, metadata: Sequence[tuple[str, str]]
        ) -> FakeCall:
            self.opened.append((request, dict(metadata)))
            return FakeCall(self.scripts.pop(0))

        return invoke

    async def close(self, grace: float | None) -> None:
        return None


class Renewing:
    def __init__(self) -> None:
        self.token = "old"
        self.renewals = 0

    async def authorization(self) -> str | None:
        return self.token

    async def renew(self, used: str | None, error: errors.Unauthenticated) -> bool:
        self.renewals += 1
        self.token = "new"
        return True


def _watcher(channel: FakeChannel, **kw: Any) -> AsyncWatcher:
    transport = Transport(channel, timeout=30.0, retry=RetryPolicy())  # type: ignore[arg-type]
    transport.credentials = Renewing()
    return AsyncWatcher(transport, **{"reconnect": NOW, **kw})


async def _take(watcher: AsyncWatcher, count: int) -> list[int]:
    seqs = []
    for _ in range(count):
        await anext(watcher)
        assert watcher.cursor is not None
        seqs.append(watcher.cursor)
    return seqs


def test_each_reconnection_resumes_from_the_cursor_and_nothing_is_handed_out_twice() -> None:
    channel = FakeChannel(
        [
            [heartbeat(5), event(6), event(7), _error(grpc.StatusCode.UNAVAILABLE, "SERVER_SHUTTING_DOWN")],
            # A process further behind replays 7 again; a heartbeat then moves the cursor to 10.
            [
                heartbeat(7),
                event(7),
                event(8),
                heartbeat(10),
                _error(grpc.StatusCode.RESOURCE_EXHAUSTED, "SUBSCRIBER_TOO_SLOW"),
            ],
            [heartbeat(10), event(11), BLOCK],
        ]
    )
    watcher = _watcher(channel, event_types=["payment.created"], payment_id="pay_1")

    async def scenario() -> list[int]:
        async with watcher:
            assert watcher.cursor == 5
            return await _take(watcher, 4)

    assert asyncio.run(scenario()) == [6, 7, 8, 11]
    requests = [request for request, _ in channel.opened]
    assert [(r.start, r.after_seq) for r in requests] == [
        (events_pb2.STREAM_START_NOW, 0),
        (events_pb2.STREAM_START_AFTER_SEQ, 7),
        (events_pb2.STREAM_START_AFTER_SEQ, 10),
    ]
    assert all(list(r.event_types) == ["payment.created"] and r.payment_id == "pay_1" for r in requests)
    ids = {metadata["x-request-id"] for _, metadata in channel.opened}
    assert len(ids) == 3, "every stream has a request id of its own"
    assert all(metadata["authorization"] == "Bearer old" for _, metadata in channel.opened)
    assert watcher.reconnects == 2 and watcher.closed
    assert isinstance(watcher.last_error, errors.SubscriberTooSlow)


@pytest.mark.parametrize(
    "ending",
    [
        _error(grpc.StatusCode.UNAVAILABLE),
        _error(grpc.StatusCode.CANCELLED),
        _error(grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_STREAMS"),
        _error(grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED"),
        grpc.aio.EOF,  # the server ended the stream with OK
    ],
)
def test_transient_endings_are_resumed(ending: Any) -> None:
    channel = FakeChannel([[heartbeat(3), event(4), ending], [heartbeat(4), event(5), BLOCK]])

    async def scenario() -> list[int]:
        async with _watcher(channel, after_seq=3) as watcher:
            return await _take(watcher, 2)

    assert asyncio.run(scenario()) == [4, 5]
    assert [r.after_seq for r, _ in channel.opened] == [3, 4]


@pytest.mark.parametrize(
    ("code", "reason", "raised"),
    [
        (grpc.StatusCode.NOT_FOUND, "PAYMENT_NOT_FOUND", errors.NotFound),
        (grpc.StatusCode.PERMISSION_DENIED, "MERCHANT_INACTIVE", errors.MerchantInactive),
        (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", errors.InvalidArgument),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "LOGIN_LOCKED", errors.LoginLocked),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "", errors.ResourceExhausted),
        (grpc.StatusCode.INTERNAL, "INTERNAL", errors.Internal),
        (grpc.StatusCode.UNIMPLEMENTED, "", errors.Unimplemented),
    ],
)
def test_endings_a_new_stream_cannot_fix_are_raised(
    code: grpc.StatusCode, reason: str, raised: type[errors.RpcError]
) -> None:
    channel = FakeChannel([[heartbeat(1), event(2), _error(code, reason)]])

    async def scenario() -> None:
        async with _watcher(channel) as watcher:
            assert await _take(watcher, 1) == [2]
            with pytest.raises(raised):
                await anext(watcher)
            assert watcher.last_error is not None and watcher.last_error.reason == reason

    asyncio.run(scenario())
    assert len(channel.opened) == 1


def test_a_refusal_by_grpc_itself_at_the_opening_is_resumed() -> None:
    refused = _error(grpc.StatusCode.RESOURCE_EXHAUSTED)  # no ErrorInfo: gRPC's, not paysim's
    channel = FakeChannel([[refused], [heartbeat(4), event(5), BLOCK]])

    async def scenario() -> list[int]:
        async with _watcher(channel) as watcher:
            return await _take(watcher, 1)

    assert asyncio.run(scenario()) == [5]


def test_a_refused_token_is_renewed_once_per_opening() -> None:
    expired = _error(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED")
    channel = FakeChannel(
        [[expired], [heartbeat(2), event(3), _error(grpc.StatusCode.UNAVAILABLE)], [expired], [expired]]
    )
    watcher = _watcher(channel)

    async def scenario() -> None:
        async with watcher:
            assert await _take(watcher, 1) == [3]
            # The reconnection is refused, renewed, refused again: the caller's problem, raised.
            with pytest.raises(errors.Unauthenticated):
                await anext(watcher)

    asyncio.run(scenario())
    assert [metadata["authorization"] for _, metadata in channel.opened] == [
        "Bearer old",
        "Bearer new",
        "Bearer new",
        "Bearer new",
    ]


def test_max_attempts_bounds_the_failed_reconnections_in_a_row() -> None:
    down = _error(grpc.StatusCode.UNAVAILABLE)
    channel = FakeChannel([[heartbeat(1), down], [down], [heartbeat(1), down], [down], [down], [down]])
    watcher = _watcher(channel, reconnect=ReconnectPolicy(initial_backoff=0.0, max_backoff=0.0, max_attempts=2))

    async def scenario() -> None:
        await watcher.open()
        with pytest.raises(errors.Unavailable):
            await anext(watcher)

    asyncio.run(scenario())
    # Opened, ended; one failed reconnection; opened again (the count starts over), ended; two
    # failed reconnections in a row, and the second one's error is raised.
    assert len(channel.opened) == 5 and len(channel.scripts) == 1


def test_a_stream_silent_past_the_stall_timeout_is_replaced() -> None:
    channel = FakeChannel([[heartbeat(1), BLOCK], [heartbeat(1), event(2), BLOCK]])

    async def scenario() -> list[int]:
        async with _watcher(channel, stall_timeout=0.05) as watcher:
            return await _take(watcher, 1)

    assert asyncio.run(scenario()) == [2]
    assert len(channel.opened) == 2


def test_aclose_ends_an_iteration_that_waits_and_cancels_the_stream() -> None:
    channel = FakeChannel([[heartbeat(1), BLOCK]])
    watcher = _watcher(channel)

    async def scenario() -> None:
        await watcher.open()
        waiting = asyncio.ensure_future(anext(watcher))
        await asyncio.sleep(0.01)
        await watcher.aclose()
        with pytest.raises(StopAsyncIteration):
            await waiting
        with pytest.raises(RuntimeError, match="closed"):
            await watcher.open()

    asyncio.run(scenario())


def test_the_arguments_are_checked_before_anything_is_sent() -> None:
    channel = FakeChannel([])
    with pytest.raises(ValueError, match="after_seq"):
        _watcher(channel, start=events_pb2.STREAM_START_NOW, after_seq=3)
    with pytest.raises(ValueError, match="negative"):
        _watcher(channel, after_seq=-1)
    with pytest.raises(ValueError, match="stall_timeout"):
        _watcher(channel, stall_timeout=0)
    with pytest.raises(TypeError):
        _watcher(channel, event_types="payment.created")
    assert _watcher(channel, start=events_pb2.STREAM_START_AFTER_SEQ).cursor == 0
    assert _watcher(channel).cursor is None
    assert channel.opened == []


def test_what_may_be_resumed() -> None:
    assert may_resume(errors.Unavailable("down"))
    assert may_resume(errors.ServerShuttingDown("stopping", reason="SERVER_SHUTTING_DOWN"))
    assert may_resume(errors.Cancelled("reset"))
    for reason in ("SUBSCRIBER_TOO_SLOW", "TOO_MANY_STREAMS", "RATE_LIMITED"):
        assert may_resume(errors.error_class(grpc.StatusCode.RESOURCE_EXHAUSTED, reason)("x", reason=reason))
    assert not may_resume(errors.LoginLocked("locked", reason="LOGIN_LOCKED"))
    # gRPC's own refusal (no paysim reason) is resumed at the opening only: later it is a message
    # too large for the channel, which the next stream would meet again.
    refused = errors.ResourceExhausted("Too many pending requests")
    assert may_resume(refused, opening=True) and not may_resume(refused)
    for cls in (errors.NotFound, errors.PermissionDenied, errors.InvalidArgument, errors.Unauthenticated):
        assert not may_resume(cls("no"))


def test_reconnection_delays_grow_are_capped_honour_the_server_and_add_jitter() -> None:
    policy = ReconnectPolicy(initial_backoff=0.1, max_backoff=1.0, multiplier=2.0, jitter=0.5)
    assert [policy.delay(n, None, 0.0) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert policy.delay(1, 1.0, 0.0) == pytest.approx(1.0)  # RetryInfo is a floor …
    assert policy.delay(1, 1.0, 0.999) == pytest.approx(1.4995)  # … and the jitter comes on top
    assert policy.delay(6, 0.5, 0.5) == pytest.approx(1.25)
    with pytest.raises(ValueError):
        ReconnectPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=1.5)
    with pytest.raises(ValueError):
        ReconnectPolicy(multiplier=0.5)

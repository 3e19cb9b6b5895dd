"""Values no handler can use are refused for every method before its handler runs: Timestamps
outside years 0001–9999 or with nanos outside 0–999,999,999, Durations beyond ±10,000 years, and
enum numbers the proto does not define (proto3 keeps them as plain ints). INVALID_ARGUMENT with a
field violation naming the path of the bad value, never INTERNAL, and never a default in its place."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from paysim_proto.v1 import events_pb2, payment_pb2, simulator_pb2, threeds_pb2, webhook_pb2

from tests.support.client import RichError, Stubs, expect_error, rich_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

P = payment_pb2
S = simulator_pb2

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def _card() -> P.CardInput:
    return P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123", holder_name="Ann Payer")


def _refused(err: RichError, field: str, reason: str) -> None:
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT, err
    assert err.reason == "INVALID_ARGUMENT" and err.domain == "paysim.v1" and err.request_id, err
    assert err.violation_reasons.get(field) == reason, err


@pytest.fixture(scope="module")
def merchant_key(server: ServerHandle) -> str:
    key: str = register_merchant(server.stubs()).api_key
    return key


@pytest.mark.parametrize(
    ("timestamp", "field"),
    [
        (Timestamp(seconds=-62135596801), "seconds"),  # a second before 0001-01-01
        (Timestamp(seconds=253402300800), "seconds"),  # a second after 9999-12-31T23:59:59
        (Timestamp(seconds=INT64_MAX), "seconds"),
        (Timestamp(seconds=INT64_MIN), "seconds"),
        (Timestamp(seconds=0, nanos=-1), "nanos"),
        (Timestamp(seconds=0, nanos=1_000_000_000), "nanos"),
    ],
    ids=["before-year-1", "after-year-9999", "int64-max", "int64-min", "negative-nanos", "nanos-overflow"],
)
@pytest.mark.parametrize("which", ["created_after", "created_before"])
def test_list_payments_refuses_timestamps_out_of_range(
    stubs: Stubs, merchant_key: str, timestamp: Timestamp, field: str, which: str
) -> None:
    request = P.ListPaymentsRequest(**{which: timestamp})
    err = expect_error(stubs.as_(merchant_key).payments.ListPayments, request)
    _refused(err, f"{which}.{field}", "TIMESTAMP_OUT_OF_RANGE")


def test_the_ends_of_the_timestamp_range_are_accepted(stubs: Stubs, merchant_key: str) -> None:
    first = Timestamp(seconds=-62135596800)
    last = Timestamp(seconds=253402300799, nanos=999_999_999)
    reply = stubs.as_(merchant_key).payments.ListPayments(
        P.ListPaymentsRequest(created_after=first, created_before=last)
    )
    assert list(reply.payments) == []


@pytest.mark.parametrize(
    ("duration", "field"),
    [
        (Duration(seconds=INT64_MAX), "duration.seconds"),
        (Duration(seconds=INT64_MIN), "duration.seconds"),
        (Duration(seconds=315_576_000_001), "duration.seconds"),
        (Duration(seconds=60, nanos=1_000_000_000), "duration.nanos"),
        (Duration(seconds=60, nanos=-1), "duration.nanos"),  # nanos of the other sign
    ],
    ids=["int64-max", "int64-min", "past-10000-years", "nanos-overflow", "mixed-signs"],
)
def test_set_gateway_outage_refuses_durations_out_of_range(
    stubs: Stubs, merchant_key: str, duration: Duration, field: str
) -> None:
    request = S.SetGatewayOutageRequest(gateway="simulator", mode=S.OUTAGE_MODE_ERROR, duration=duration)
    err = expect_error(stubs.as_(merchant_key).simulator.SetGatewayOutage, request)
    _refused(err, field, "DURATION_OUT_OF_RANGE")
    faults = stubs.as_(merchant_key).simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults
    assert not [f for f in faults if f.outage_mode != S.OUTAGE_MODE_UNSPECIFIED], "no outage may be set"


def test_a_valid_duration_past_the_business_limit_is_the_services_refusal(stubs: Stubs, merchant_key: str) -> None:
    """Representable but longer than an outage may last: the simulator's own rule answers."""
    request = S.SetGatewayOutageRequest(
        gateway="simulator", mode=S.OUTAGE_MODE_ERROR, duration=Duration(seconds=315_576_000_000)
    )
    err = expect_error(stubs.as_(merchant_key).simulator.SetGatewayOutage, request)
    _refused(err, "duration", "OUT_OF_RANGE")


def test_an_unknown_capture_method_is_refused_and_nothing_is_charged(server: ServerHandle) -> None:
    stubs = server.stubs()
    key = register_merchant(stubs).api_key
    request = P.CreatePaymentRequest(amount_minor=1000, currency_code="USD", card=_card(), capture_method=7)  # type: ignore[arg-type]
    err = expect_error(stubs.as_(key).payments.CreatePayment, request)
    _refused(err, "capture_method", "UNKNOWN_ENUM_VALUE")
    assert "7" in err.field_violations["capture_method"]
    assert list(stubs.as_(key).payments.ListPayments(P.ListPaymentsRequest()).payments) == []


@pytest.mark.parametrize("value", [-1, 99, 2**31 - 1, -(2**31)])
def test_unknown_enum_values_are_refused_in_every_place_they_can_be(
    stubs: Stubs, merchant_key: str, value: int
) -> None:
    api = stubs.as_(merchant_key)
    cases = [
        (api.payments.ListPayments, P.ListPaymentsRequest(statuses=[P.PAYMENT_STATUS_CAPTURED, value]), "statuses[1]"),
        (
            api.simulator.ScriptGatewayOutcomes,
            S.ScriptGatewayOutcomesRequest(
                gateway="simulator",
                outcomes=[S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_APPROVE), S.ScriptedOutcome(kind=value)],
            ),
            "outcomes[1].kind",
        ),
        (api.simulator.SetGatewayOutage, S.SetGatewayOutageRequest(gateway="simulator", mode=value), "mode"),
        (api.simulator.ListScenarios, S.ListScenariosRequest(trigger=value), "trigger"),
        (api.threeds.SetThreeDSPolicy, threeds_pb2.SetThreeDSPolicyRequest(mode=value), "mode"),
        (api.threeds.SimulateAcs, threeds_pb2.SimulateAcsRequest(action=value), "action"),
        (api.webhooks.ListWebhookDeliveries, webhook_pb2.ListWebhookDeliveriesRequest(state=value), "state"),
    ]
    for call, request, field in cases:
        err = expect_error(call, request)
        _refused(err, field, "UNKNOWN_ENUM_VALUE")


def test_an_unknown_enum_value_ends_a_stream_before_it_opens(stubs: Stubs, merchant_key: str) -> None:
    request = events_pb2.SubscribePaymentEventsRequest(start=42)  # type: ignore[arg-type]
    call = stubs.as_(merchant_key).events.SubscribePaymentEvents(request, timeout=30)
    with pytest.raises(grpc.RpcError) as raised:
        next(iter(call))
    _refused(rich_error(raised.value), "start", "UNKNOWN_ENUM_VALUE")


def test_the_caller_is_authenticated_before_the_request_is_judged(stubs: Stubs) -> None:
    request = P.ListPaymentsRequest(created_after=Timestamp(seconds=INT64_MAX), statuses=[99])
    err = expect_error(stubs.as_(None).payments.ListPayments, request)
    assert err.code is grpc.StatusCode.UNAUTHENTICATED, err


def test_a_request_full_of_bad_values_is_answered_with_a_bounded_list(stubs: Stubs, merchant_key: str) -> None:
    request = P.ListPaymentsRequest(statuses=[1000 + i for i in range(5000)])
    err = expect_error(stubs.as_(merchant_key).payments.ListPayments, request)
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT, err
    assert "statuses[0]" in err.field_violations and 1 <= len(err.field_violations) <= 20


def test_a_service_refusing_thousands_of_values_answers_within_the_metadata_limit(
    stubs: Stubs, merchant_key: str
) -> None:
    """Every bad event type is a violation of its own; the answer lists a bounded number of them
    (and says how many more), so its trailers never outgrow what a client accepts."""
    request = events_pb2.SubscribePaymentEventsRequest(event_types=["not an event type"] * 5000)
    call = stubs.as_(merchant_key).events.SubscribePaymentEvents(request, timeout=30)
    with pytest.raises(grpc.RpcError) as raised:
        next(iter(call))
    err = rich_error(raised.value)
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT, err
    assert err.reason == "INVALID_ARGUMENT" and err.domain == "paysim.v1", err
    assert "event_types[0]" in err.field_violations and len(err.field_violations) <= 20
    assert "4981 more" in err.message and len(err.message) < 4000, err.message

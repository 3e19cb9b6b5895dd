"""Simulated gateway faults (outages, scripted outcomes) and the circuit breakers they trip, through
a real server: SimulatorService drives them, payments show their effect on every attempt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import simulator_pb2 as S

from paysim.app.bootstrap import ensure_admin
from tests.support.client import Stubs, expect_error, operation, outcome
from tests.support.factories import PASSWORD, login, register_merchant, unique_email
from tests.support.harness import ServerHandle
from tests.test_serve_process import ServerProcess, Target

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
DECLINING = P.CardInput(number="4000000000000002", exp_month=12, exp_year=2031, cvc="123")
ERROR = S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_ERROR)
APPROVE = S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_APPROVE)


def pay(api: Stubs, card: P.CardInput = CARD, **fields: object) -> P.Payment:
    request = P.CreatePaymentRequest(amount_minor=700, card=card, **fields)
    payment: P.Payment = api.payments.CreatePayment(request).payment
    return payment


def refused(api: Stubs, card: P.CardInput = CARD) -> tuple[P.Payment, float]:
    """A payment no gateway carried out: UNAVAILABLE with RetryInfo, the failed payment readable."""
    err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=700, card=card))
    assert err.code is grpc.StatusCode.UNAVAILABLE, err
    assert err.retry_delay_seconds is not None
    payment = api.payments.GetPayment(P.GetPaymentRequest(payment_id=err.metadata["payment_id"])).payment
    assert (payment.status, payment.failure_reason) == (P.PAYMENT_STATUS_FAILED, "no_gateway_available")
    return payment, err.retry_delay_seconds


def breaker(api: Stubs, gateway: str = "simulator") -> S.CircuitBreaker:
    listed = api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).breakers
    found: S.CircuitBreaker = next(b for b in listed if b.gateway == gateway)
    return found


def script(api: Stubs, *outcomes: S.ScriptedOutcome, gateway: str = "simulator", append: bool = False) -> None:
    api.simulator.ScriptGatewayOutcomes(
        S.ScriptGatewayOutcomesRequest(gateway=gateway, outcomes=list(outcomes), append=append)
    )


def admin(server: ServerHandle) -> Stubs:
    email = unique_email("admin")
    server.run(ensure_admin(server.app, email, PASSWORD))
    return server.stubs(login(server.stubs(), email).tokens.access_token)


@pytest.fixture
def api(stubs: Stubs) -> Stubs:
    return stubs.as_(register_merchant(stubs).api_key)


def test_an_outage_fails_one_merchants_payments_until_cleared(stubs: Stubs, api: Stubs) -> None:
    other = stubs.as_(register_merchant(stubs).api_key)
    set_reply = api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="simulator", mode=S.OUTAGE_MODE_ERROR))
    assert set_reply.faults.outage_mode == S.OUTAGE_MODE_ERROR
    assert not set_reply.faults.HasField("outage_until")  # until cleared
    failed, _ = refused(api)
    assert [(a.gateway, outcome(a)) for a in failed.attempts] == [("simulator", "error")]
    assert failed.attempts[0].detail.startswith("simulated_error: outage:mer_")
    # Another merchant's payments are untouched: faults are per tenant.
    assert pay(other).status == P.PAYMENT_STATUS_CAPTURED
    listed = api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults
    assert [(f.gateway, f.outage_mode) for f in listed] == [("simulator", S.OUTAGE_MODE_ERROR)]
    assert api.simulator.ClearGatewayFaults(S.ClearGatewayFaultsRequest()).cleared == 1
    assert pay(api).status == P.PAYMENT_STATUS_CAPTURED
    assert list(api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults) == []


def test_an_outage_with_a_duration_ends_by_itself(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    api.simulator.SetGatewayOutage(
        S.SetGatewayOutageRequest(gateway="simulator", mode=S.OUTAGE_MODE_ERROR, duration=Duration(seconds=60))
    )
    refused(api)
    server.clock.advance(timedelta(seconds=61))
    assert pay(api).status == P.PAYMENT_STATUS_CAPTURED


def test_a_timeout_outage_ends_each_call_at_the_gateway_timeout(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(gateway_timeout_ms=150)
    api = server.stubs(register_merchant(server.stubs()).api_key)
    api.simulator.SetGatewayOutage(S.SetGatewayOutageRequest(gateway="simulator", mode=S.OUTAGE_MODE_TIMEOUT))
    failed, _ = refused(api)
    (attempt,) = failed.attempts
    assert outcome(attempt) == "error" and attempt.detail.startswith("timeout: no answer within 150 ms")
    assert attempt.latency_ms >= 150


def test_scripted_outcomes_are_taken_one_per_call_in_order(api: Stubs) -> None:
    script(
        api,
        ERROR,
        S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_DECLINE, decline_code="insufficient_funds"),
        APPROVE,
    )
    remaining = api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults[0].script
    assert [s.kind for s in remaining] == [
        S.SCRIPTED_OUTCOME_KIND_ERROR,
        S.SCRIPTED_OUTCOME_KIND_DECLINE,
        S.SCRIPTED_OUTCOME_KIND_APPROVE,
    ]
    failed, _ = refused(api)
    assert failed.attempts[0].detail.startswith("simulated_error: script:")
    declined = pay(api)
    assert (declined.status, declined.decline.code) == (P.PAYMENT_STATUS_DECLINED, "insufficient_funds")
    assert pay(api, DECLINING).status == P.PAYMENT_STATUS_CAPTURED  # the script approves a declining card
    # The script is used up: cards decide again.
    assert pay(api, DECLINING).status == P.PAYMENT_STATUS_DECLINED
    assert list(api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults) == []


def test_a_scripted_step_acts_on_capture_too_and_a_retry_with_the_same_key_succeeds(api: Stubs) -> None:
    authorized = pay(api, capture_method=P.CAPTURE_METHOD_MANUAL)
    assert authorized.status == P.PAYMENT_STATUS_AUTHORIZED
    script(api, ERROR)
    key = [("idempotency-key", f"cap-{authorized.id}")]
    request = P.CapturePaymentRequest(payment_id=authorized.id)
    err = expect_error(api.payments.CapturePayment, request, metadata=key)
    assert (err.code, err.reason) == (grpc.StatusCode.UNAVAILABLE, "GATEWAY_UNAVAILABLE")
    still = api.payments.GetPayment(P.GetPaymentRequest(payment_id=authorized.id)).payment
    assert still.status == P.PAYMENT_STATUS_AUTHORIZED
    assert [(operation(a), outcome(a)) for a in still.attempts][-1] == ("capture", "error")
    captured = api.payments.CapturePayment(request, metadata=key).payment
    assert captured.status == P.PAYMENT_STATUS_CAPTURED


def test_the_breaker_opens_on_the_fifth_failure_rejects_fast_half_opens_and_closes(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    script(api, *[ERROR] * 5)
    for i in range(4):
        refused(api)
        assert breaker(api).state == S.BREAKER_STATE_CLOSED, f"opened after {i + 1} failures"
    refused(api)
    opened = breaker(api)
    assert (opened.state, opened.failures, opened.failures_in_window) == (S.BREAKER_STATE_OPEN, 5, 0)
    assert opened.reopens_time.ToDatetime() - opened.opened_time.ToDatetime() == timedelta(seconds=30)
    # Open: rejected at once, without reaching the gateway, told when to come back.
    skipped, retry_after = refused(api)
    assert [(a.gateway, outcome(a)) for a in skipped.attempts] == [("simulator", "skipped")]
    assert skipped.attempts[0].detail.startswith("circuit_open")
    assert 25 <= retry_after <= 30
    assert breaker(api).rejections == 1
    # After the cool-down: half-open, probes go through; two successes close it.
    server.clock.advance(timedelta(seconds=31))
    assert breaker(api).state == S.BREAKER_STATE_HALF_OPEN
    assert pay(api).status == P.PAYMENT_STATUS_CAPTURED
    probing = breaker(api)
    assert (probing.state, probing.half_open_successes) == (S.BREAKER_STATE_HALF_OPEN, 1)
    assert pay(api).status == P.PAYMENT_STATUS_CAPTURED
    closed = breaker(api)
    assert closed.state == S.BREAKER_STATE_CLOSED
    assert (closed.calls, closed.successes, closed.failures, closed.state_changes) == (7, 2, 5, 3)


def test_a_failure_while_half_open_reopens_it(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    script(api, *[ERROR] * 6)
    for _ in range(5):
        refused(api)
    server.clock.advance(timedelta(seconds=31))
    refused(api)  # the probe fails
    assert breaker(api).state == S.BREAKER_STATE_OPEN


def test_failures_outside_the_window_do_not_add_up(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    script(api, *[ERROR] * 5)
    for _ in range(4):
        refused(api)
    server.clock.advance(timedelta(seconds=61))
    refused(api)
    state = breaker(api)
    assert (state.state, state.failures_in_window, state.failures) == (S.BREAKER_STATE_CLOSED, 1, 5)


def test_declines_count_as_successes_for_the_breaker(api: Stubs) -> None:
    for _ in range(6):
        assert pay(api, DECLINING).status == P.PAYMENT_STATUS_DECLINED
    state = breaker(api)
    assert (state.state, state.calls, state.successes, state.failures) == (S.BREAKER_STATE_CLOSED, 6, 6, 0)


def test_a_merchant_resets_only_its_own_breakers_and_only_an_admin_sets_platform_wide_faults(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    api, root = server.stubs(account.api_key), admin(server)
    other_account = register_merchant(server.stubs())
    other = server.stubs(other_account.api_key)
    for stubs in (api, other):
        script(stubs, *[ERROR] * 5)
        for _ in range(5):
            refused(stubs)
    request = S.ResetCircuitBreakerRequest(merchant_id=account.merchant_id, gateway="simulator")
    # Another merchant's breaker is NOT_FOUND, as every other tenant's object.
    assert expect_error(other.simulator.ResetCircuitBreaker, request).code is grpc.StatusCode.NOT_FOUND
    own = api.simulator.ResetCircuitBreaker(S.ResetCircuitBreakerRequest(gateway="simulator")).breaker
    assert (own.state, own.calls, own.failures) == (S.BREAKER_STATE_CLOSED, 0, 0)
    assert pay(api).status == P.PAYMENT_STATUS_CAPTURED
    refused(other)  # its breaker is still open
    for_other = S.ResetCircuitBreakerRequest(merchant_id=other_account.merchant_id, gateway="simulator")
    assert expect_error(root.simulator.ResetCircuitBreaker, S.ResetCircuitBreakerRequest(gateway="simulator")).code is (
        grpc.StatusCode.INVALID_ARGUMENT
    )
    reset = root.simulator.ResetCircuitBreaker(for_other).breaker
    assert (reset.state, reset.calls, reset.failures) == (S.BREAKER_STATE_CLOSED, 0, 0)
    assert pay(other).status == P.PAYMENT_STATUS_CAPTURED

    platform = S.SetGatewayOutageRequest(platform_wide=True, gateway="simulator", mode=S.OUTAGE_MODE_ERROR)
    assert expect_error(api.simulator.SetGatewayOutage, platform).code is grpc.StatusCode.PERMISSION_DENIED
    assert root.simulator.SetGatewayOutage(platform).faults.scope == "platform"
    refused(api)
    refused(other)
    # A merchant sees the platform's faults beside its own.
    seen = api.simulator.ListGatewayFaults(S.ListGatewayFaultsRequest()).faults
    assert [(f.scope, f.gateway) for f in seen] == [("platform", "simulator")]
    cleared = root.simulator.ClearGatewayFaults(S.ClearGatewayFaultsRequest(platform_wide=True))
    assert cleared.cleared == 1
    assert pay(other).status == P.PAYMENT_STATUS_CAPTURED


def test_bad_fault_requests_are_field_errors(api: Stubs) -> None:
    cases = [
        (
            api.simulator.SetGatewayOutage,
            S.SetGatewayOutageRequest(gateway="visa", mode=S.OUTAGE_MODE_ERROR),
            "gateway",
        ),
        (api.simulator.SetGatewayOutage, S.SetGatewayOutageRequest(gateway="stripe"), "mode"),
        (
            api.simulator.SetGatewayOutage,
            S.SetGatewayOutageRequest(gateway="stripe", mode=S.OUTAGE_MODE_ERROR, duration=Duration(seconds=90_000)),
            "duration",
        ),
        (api.simulator.ScriptGatewayOutcomes, S.ScriptGatewayOutcomesRequest(gateway="stripe"), "outcomes"),
        (
            api.simulator.ScriptGatewayOutcomes,
            S.ScriptGatewayOutcomesRequest(gateway="stripe", outcomes=[S.ScriptedOutcome()]),
            "outcomes[0].kind",
        ),
        (
            api.simulator.ScriptGatewayOutcomes,
            S.ScriptGatewayOutcomesRequest(
                gateway="stripe",
                outcomes=[S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_DECLINE, decline_code="nope")],
            ),
            "outcomes[0].decline_code",
        ),
        (
            api.simulator.ScriptGatewayOutcomes,
            S.ScriptGatewayOutcomesRequest(gateway="stripe", outcomes=[APPROVE] * 101),
            "outcomes",
        ),
        (api.simulator.ClearGatewayFaults, S.ClearGatewayFaultsRequest(gateway="visa"), "gateway"),
    ]
    for call, request, field in cases:
        err = expect_error(call, request)
        assert err.code is grpc.StatusCode.INVALID_ARGUMENT, (request, err)
        assert field in err.field_violations, (request, err.field_violations)


def test_another_merchants_faults_are_not_found(stubs: Stubs, api: Stubs) -> None:
    other = register_merchant(stubs)
    request = S.SetGatewayOutageRequest(merchant_id=other.merchant_id, gateway="stripe", mode=S.OUTAGE_MODE_ERROR)
    assert expect_error(api.simulator.SetGatewayOutage, request).code is grpc.StatusCode.NOT_FOUND
    listing = S.ListCircuitBreakersRequest(merchant_id=other.merchant_id)
    assert expect_error(api.simulator.ListCircuitBreakers, listing).code is grpc.StatusCode.NOT_FOUND


def test_a_second_server_process_on_the_same_database_sees_the_open_breaker(
    make_server: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    server = make_server()
    if server.settings.database_url.startswith("sqlite") or not server.settings.database_url:
        pytest.skip("an embedded SQLite database serves one process (serve --workers refuses it)")
    api = server.stubs(register_merchant(server.stubs()).api_key)
    script(api, *[ERROR] * 5)
    for _ in range(5):
        refused(api)
    target = Target("postgres", server.settings.database_url, "")
    other = ServerProcess(target, tmp_path / "second")
    try:
        other.wait_serving()
        remote = Stubs(other.channel, api.credential)
        assert breaker(remote).state == S.BREAKER_STATE_OPEN
        skipped, _ = refused(remote)
        assert [outcome(a) for a in skipped.attempts] == ["skipped"]
        assert breaker(api).rejections == 1  # counted in the shared row, seen by the first process
    finally:
        other.stop()

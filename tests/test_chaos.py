"""Seeded chaos profiles through a real server: the same seed and the same calls give the same
outcomes and latencies, chaos-made outcomes are marked on the attempts, errors and timeouts trip
the breaker and fail over like real faults, declines do not, and every request is checked."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from paysim_proto.v1 import merchant_pb2 as M
from paysim_proto.v1 import payment_pb2 as P
from paysim_proto.v1 import simulator_pb2 as S

from paysim.domain.chaos import ChaosKind, ChaosSettings, draw
from tests.support.client import Stubs, expect_error, outcome
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle
from tests.test_serve_process import ServerProcess, Target

CARD = P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="123")
# Small latencies and a short route timeout: the simulated waits are real, and 50 payments stay fast.
PROFILE = {
    "error_rate_bps": 2_000,
    "timeout_rate_bps": 1_000,
    "decline_rate_bps": 1_500,
    "decline_code": "insufficient_funds",
    "latency_p50_ms": 2,
    "latency_p99_ms": 9,
    "seed": 20_261_207,
}
TIMEOUT_MS = 60

Trail = list[tuple[str, str, int, bool, str]]  # see attempts()


@pytest.fixture
def api(stubs: Stubs) -> Stubs:
    return stubs.as_(register_merchant(stubs).api_key)


def configure(api: Stubs, *gateways: str, **settings: str) -> None:
    for priority, gateway in enumerate(gateways, start=1):
        api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway=gateway, priority=priority, settings=settings))


def set_profile(api: Stubs, gateway: str = "stripe", **fields: object) -> S.ChaosProfile:
    values = {**PROFILE, **fields}
    reply = api.simulator.SetChaosProfile(S.SetChaosProfileRequest(gateway=gateway, **values))  # type: ignore[arg-type]
    profile: S.ChaosProfile = reply.profile
    return profile


def pay(api: Stubs) -> P.Payment:
    payment: P.Payment = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=900, card=CARD)).payment
    return payment


def attempts(payment: P.Payment) -> Trail:
    """Each attempt's gateway, outcome, latency, chaos mark and source. The latency of a call the
    profile drew for is the simulated one; another gateway's is its measured time, -1 here."""
    return [
        (a.gateway, outcome(a), a.latency_ms if a.simulated_by else -1, a.chaos, a.simulated_by)
        for a in payment.attempts
    ]


def run(api: Stubs, count: int, **fields: object) -> list[tuple[str, Trail]]:
    """Reset the merchant's simulation, set the profile, make ``count`` payments one after another."""
    api.simulator.ResetSimulation(S.ResetSimulationRequest())
    set_profile(api, **fields)
    made = [pay(api) for _ in range(count)]
    return [(P.PaymentStatus.Name(p.status), attempts(p)) for p in made]


def chaos_kind(trail: Trail) -> str:
    return trail[0][4].partition(":")[2].partition("#")[0]


def test_the_same_seed_and_calls_give_the_same_outcomes_and_latencies(
    make_server: Callable[..., ServerHandle],
) -> None:
    # A breaker that never opens here: its window is measured in real time, which two runs do not share.
    server = make_server(breaker_failure_threshold=1_000)
    account = register_merchant(server.stubs())
    api = server.stubs(account.api_key)
    configure(api, "stripe", "simulator", timeout_ms=str(TIMEOUT_MS))

    first = run(api, 50)
    second = run(api, 50)
    assert first == second

    # Every draw is the pure function of (seed, gateway, n): the server's n-th call is draw n.
    settings = ChaosSettings(2_000, 1_000, 1_500, "insufficient_funds", 2, 9, PROFILE["seed"])  # type: ignore[arg-type]
    expected = [draw(settings, "stripe", n) for n in range(50)]
    assert [chaos_kind(trail) for _, trail in first] == [d.kind.value for d in expected]
    for (status, trail), drawn in zip(first, expected, strict=True):
        gateway, result, latency, made, source = trail[0]
        assert (gateway, source, made) == ("stripe", drawn.source, drawn.kind is not ChaosKind.LATENCY)
        if drawn.kind is ChaosKind.TIMEOUT:
            assert (result, latency) == ("error", TIMEOUT_MS)
        else:
            assert latency == drawn.latency_ms  # the simulated latency, exactly as drawn
        if drawn.kind in (ChaosKind.ERROR, ChaosKind.TIMEOUT):
            # A fault: the payment fails over to the next gateway, which answers for itself.
            assert [(t[0], t[1], t[3], t[4]) for t in trail[1:]] == [("simulator", "approved", False, "")]
            assert status == "PAYMENT_STATUS_CAPTURED"
        elif drawn.kind is ChaosKind.DECLINE:
            assert (len(trail), result, status) == (1, "declined", "PAYMENT_STATUS_DECLINED")
        else:
            assert (len(trail), result, status) == (1, "approved", "PAYMENT_STATUS_CAPTURED")
    assert {d.kind for d in expected} == set(ChaosKind)  # the sequence exercised every kind
    assert api.simulator.GetChaosProfile(S.GetChaosProfileRequest(gateway="stripe")).profile.draws == 50

    # Another seed is another sequence; another merchant with the same seed replays this one.
    assert run(api, 50, seed=7) != first
    newcomer = server.stubs(register_merchant(server.stubs()).api_key)
    configure(newcomer, "stripe", "simulator", timeout_ms=str(TIMEOUT_MS))
    assert run(newcomer, 50) == first


def test_the_profile_draws_for_captures_and_refunds_too(api: Stubs) -> None:
    configure(api, "simulator")
    set_profile(api, "simulator", error_rate_bps=0, timeout_rate_bps=0, decline_rate_bps=0)
    manual = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=900, card=CARD, capture_method=P.CAPTURE_METHOD_MANUAL)
    ).payment
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=manual.id)).payment
    refunded = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=captured.id, amount_minor=100)).payment
    assert [a.simulated_by for a in refunded.attempts] == ["chaos:latency#0", "chaos:latency#1", "chaos:latency#2"]
    assert not any(a.chaos for a in refunded.attempts)  # only the latency was the profile's


def test_chaos_errors_open_the_breaker_and_payments_fail_over(api: Stubs) -> None:
    configure(api, "stripe", "simulator")
    set_profile(api, error_rate_bps=10_000, timeout_rate_bps=0, decline_rate_bps=0)
    settings = api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).settings
    for n in range(settings.failure_threshold):
        payment = pay(api)
        assert payment.status == P.PAYMENT_STATUS_CAPTURED
        assert [(a.gateway, outcome(a), a.chaos) for a in payment.attempts] == [
            ("stripe", "error", True),
            ("simulator", "approved", False),
        ]
        assert payment.attempts[0].simulated_by == f"chaos:error#{n}"
        assert payment.attempts[0].detail.startswith("chaos_error:")
    stripe = next(
        b for b in api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).breakers if b.gateway == "stripe"
    )
    assert (stripe.state, stripe.failures) == (S.BREAKER_STATE_OPEN, settings.failure_threshold)
    # The open breaker skips stripe without calling it: no draw is taken.
    skipped = pay(api)
    assert [(a.gateway, outcome(a)) for a in skipped.attempts] == [("stripe", "skipped"), ("simulator", "approved")]
    profile = api.simulator.GetChaosProfile(S.GetChaosProfileRequest(gateway="stripe")).profile
    assert profile.draws == settings.failure_threshold
    # The merchant closes its own breaker; chaos goes on failing the gateway.
    api.simulator.ResetCircuitBreaker(S.ResetCircuitBreakerRequest(gateway="stripe"))
    assert [outcome(a) for a in pay(api).attempts] == ["error", "approved"]


def test_chaos_timeouts_wait_for_the_route_timeout_and_count_as_failures(api: Stubs) -> None:
    configure(api, "stripe", "simulator", timeout_ms="25")
    set_profile(api, error_rate_bps=0, timeout_rate_bps=10_000, decline_rate_bps=0)
    payment = pay(api)
    first = payment.attempts[0]
    assert (first.gateway, outcome(first), first.chaos, first.latency_ms) == ("stripe", "error", True, 25)
    assert first.detail.startswith("timeout:") and first.simulated_by == "chaos:timeout#0"
    assert payment.attempts[1].gateway == "simulator"
    stripe = next(
        b for b in api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).breakers if b.gateway == "stripe"
    )
    assert stripe.failures == 1


def test_a_drawn_latency_past_the_route_timeout_is_a_timeout(api: Stubs) -> None:
    configure(api, "stripe", "simulator", timeout_ms="20", latency_ms="5")
    set_profile(api, error_rate_bps=0, timeout_rate_bps=0, decline_rate_bps=0, latency_p50_ms=30, latency_p99_ms=0)
    first = pay(api).attempts[0]
    assert (outcome(first), first.latency_ms, first.simulated_by) == ("error", 20, "chaos:timeout#0")


def test_a_gateway_slow_on_its_own_still_times_out_under_a_profile(api: Stubs) -> None:
    configure(api, "stripe", timeout_ms="40")
    api.merchants.SetGatewayConfig(M.SetGatewayConfigRequest(gateway="simulator", priority=2))
    set_profile(api, error_rate_bps=0, timeout_rate_bps=0, decline_rate_bps=0, latency_p50_ms=1, latency_p99_ms=0)
    slow = [("paysim-latency-ms", "100")]  # the simulator, with the default timeout, answers after it
    reply = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=900, card=CARD), metadata=slow)
    first, second = reply.payment.attempts
    assert (outcome(first), first.latency_ms, first.chaos) == ("error", 40, False)
    assert first.simulated_by == "chaos:latency#0"
    assert first.detail.startswith("timeout:") and second.gateway == "simulator"


def test_chaos_declines_are_answers_not_faults(api: Stubs) -> None:
    configure(api, "stripe", "simulator")
    set_profile(api, error_rate_bps=0, timeout_rate_bps=0, decline_rate_bps=10_000, decline_code="do_not_honor")
    for _ in range(6):
        payment = pay(api)
        assert (payment.status, payment.decline.code) == (P.PAYMENT_STATUS_DECLINED, "do_not_honor")
        assert [(a.gateway, outcome(a), a.chaos) for a in payment.attempts] == [("stripe", "declined", True)]
    stripe = next(
        b for b in api.simulator.ListCircuitBreakers(S.ListCircuitBreakersRequest()).breakers if b.gateway == "stripe"
    )
    assert (stripe.state, stripe.failures) == (S.BREAKER_STATE_CLOSED, 0)


def test_an_outage_or_a_script_comes_before_the_profile(api: Stubs) -> None:
    configure(api, "stripe", "simulator")
    set_profile(api, error_rate_bps=0, timeout_rate_bps=0, decline_rate_bps=10_000)
    approve = S.ScriptedOutcome(kind=S.SCRIPTED_OUTCOME_KIND_APPROVE)
    api.simulator.ScriptGatewayOutcomes(S.ScriptGatewayOutcomesRequest(gateway="stripe", outcomes=[approve]))
    scripted = pay(api).attempts[0]
    assert (outcome(scripted), scripted.chaos, scripted.simulated_by.startswith("script:mer_")) == (
        "approved",
        False,
        True,
    )
    assert outcome(pay(api).attempts[0]) == "declined"  # the script is used up: the profile again
    assert api.simulator.GetChaosProfile(S.GetChaosProfileRequest(gateway="stripe")).profile.draws == 1


def test_per_merchant_latency_ms_delays_the_payment(api: Stubs) -> None:
    configure(api, "simulator", latency_ms="40")
    started = time.monotonic()
    payment = pay(api)
    elapsed_ms = (time.monotonic() - started) * 1000
    assert payment.status == P.PAYMENT_STATUS_CAPTURED
    assert payment.attempts[0].latency_ms >= 40
    assert elapsed_ms >= 40
    assert payment.attempts[0].simulated_by == ""  # a configured latency is no simulation of a fault


def test_profiles_are_read_listed_and_cleared(api: Stubs) -> None:
    set_profile(api, "stripe")
    stored = set_profile(api, "paypal", latency_p99_ms=0)
    assert (stored.gateway, stored.latency_p99_ms, stored.draws, stored.decline_code) == (
        "paypal",
        2,
        0,
        "insufficient_funds",
    )
    assert stored.merchant_id.startswith("mer_") and stored.HasField("update_time")
    listed = api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles
    assert [p.gateway for p in listed] == ["paypal", "stripe"]
    got = api.simulator.GetChaosProfile(S.GetChaosProfileRequest(gateway="stripe")).profile
    assert (got.error_rate_bps, got.seed) == (PROFILE["error_rate_bps"], PROFILE["seed"])
    assert api.simulator.ClearChaosProfile(S.ClearChaosProfileRequest(gateway="stripe")).cleared == 1
    err = expect_error(api.simulator.GetChaosProfile, S.GetChaosProfileRequest(gateway="stripe"))
    assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "CHAOS_PROFILE_NOT_FOUND")
    assert err.metadata["resource_id"].endswith("/stripe")
    assert api.simulator.ClearChaosProfile(S.ClearChaosProfileRequest()).cleared == 1
    assert api.simulator.ClearChaosProfile(S.ClearChaosProfileRequest()).cleared == 0
    assert list(api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles) == []


@pytest.mark.parametrize(
    ("fields", "violations"),
    [
        ({"gateway": ""}, {"gateway": "REQUIRED"}),
        ({"gateway": "visa"}, {"gateway": "UNKNOWN_GATEWAY"}),
        ({"error_rate_bps": 10_001}, {"error_rate_bps": "OUT_OF_RANGE"}),
        ({"timeout_rate_bps": -1}, {"timeout_rate_bps": "OUT_OF_RANGE"}),
        ({"decline_rate_bps": 20_000}, {"decline_rate_bps": "OUT_OF_RANGE"}),
        (
            {"error_rate_bps": 6_000, "timeout_rate_bps": 3_000, "decline_rate_bps": 1_001},
            {"error_rate_bps": "TOO_LARGE"},
        ),
        ({"decline_code": "no_such_code"}, {"decline_code": "UNKNOWN_DECLINE_CODE"}),
        ({"latency_p50_ms": -3}, {"latency_p50_ms": "OUT_OF_RANGE"}),
        ({"latency_p50_ms": 60_001, "latency_p99_ms": 0}, {"latency_p50_ms": "OUT_OF_RANGE"}),
        ({"latency_p50_ms": 50, "latency_p99_ms": 10}, {"latency_p99_ms": "OUT_OF_RANGE"}),
        ({"latency_p99_ms": 60_001}, {"latency_p99_ms": "OUT_OF_RANGE"}),
        ({"merchant_id": "nope"}, {"merchant_id": "INVALID_ID"}),
    ],
)
def test_bad_profiles_are_field_errors(api: Stubs, fields: dict[str, object], violations: dict[str, str]) -> None:
    values = {**PROFILE, "gateway": "stripe", **fields}
    err = expect_error(api.simulator.SetChaosProfile, S.SetChaosProfileRequest(**values))  # type: ignore[arg-type]
    assert err.code is grpc.StatusCode.INVALID_ARGUMENT
    assert {f: err.violation_reasons.get(f) for f in violations} == violations, err.violation_reasons
    assert list(api.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles) == []


def test_a_merchant_acts_on_its_own_profiles_and_an_admin_on_any(stubs: Stubs, admin_token: str) -> None:
    owner, stranger = register_merchant(stubs), register_merchant(stubs)
    api, other, root = stubs.as_(owner.api_key), stubs.as_(stranger.api_key), stubs.as_(admin_token)
    set_profile(api)
    theirs = owner.merchant_id
    for call, request in [
        (other.simulator.GetChaosProfile, S.GetChaosProfileRequest(merchant_id=theirs, gateway="stripe")),
        (other.simulator.SetChaosProfile, S.SetChaosProfileRequest(merchant_id=theirs, gateway="stripe")),
        (other.simulator.ClearChaosProfile, S.ClearChaosProfileRequest(merchant_id=theirs)),
        (other.simulator.ListChaosProfiles, S.ListChaosProfilesRequest(merchant_id=theirs)),
        (other.simulator.ResetSimulation, S.ResetSimulationRequest(merchant_id=theirs)),
    ]:
        err = expect_error(call, request)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "MERCHANT_NOT_FOUND"), call
    assert [p.gateway for p in other.simulator.ListChaosProfiles(S.ListChaosProfilesRequest()).profiles] == []
    # An admin names the merchant, and may act on any.
    err = expect_error(root.simulator.ListChaosProfiles, S.ListChaosProfilesRequest())
    assert (err.code, err.violation_reasons) == (grpc.StatusCode.INVALID_ARGUMENT, {"merchant_id": "REQUIRED"})
    by_admin = root.simulator.SetChaosProfile(
        S.SetChaosProfileRequest(merchant_id=theirs, gateway="paypal", error_rate_bps=100)
    ).profile
    assert (by_admin.merchant_id, by_admin.decline_code) == (theirs, "generic_decline")
    listed = root.simulator.ListChaosProfiles(S.ListChaosProfilesRequest(merchant_id=theirs)).profiles
    assert [p.gateway for p in listed] == ["paypal", "stripe"]
    reset = root.simulator.ResetSimulation(S.ResetSimulationRequest(merchant_id=theirs))
    assert reset.chaos_profiles_cleared == 2
    missing = "mer_" + "0" * 22
    err = expect_error(root.simulator.ResetSimulation, S.ResetSimulationRequest(merchant_id=missing))
    assert err.code is grpc.StatusCode.NOT_FOUND


def test_two_server_processes_take_one_sequence_of_draws(
    make_server: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    server = make_server()
    if server.settings.database_url.startswith("sqlite") or not server.settings.database_url:
        pytest.skip("an embedded SQLite database serves one process (serve --workers refuses it)")
    api = server.stubs(register_merchant(server.stubs()).api_key)
    configure(api, "simulator")
    set_profile(api, "simulator", error_rate_bps=0, timeout_rate_bps=0, decline_rate_bps=5_000)
    other = ServerProcess(Target("postgres", server.settings.database_url, ""), tmp_path / "second")
    try:
        other.wait_serving()
        remote = Stubs(other.channel, api.credential)
        # Alternating processes: the draws are numbered across both, one sequence, none twice.
        made = [pay(api if n % 2 == 0 else remote) for n in range(10)]
    finally:
        other.stop()
    assert [p.attempts[0].simulated_by.rpartition("#")[2] for p in made] == [str(n) for n in range(10)]
    settings = ChaosSettings(0, 0, 5_000, "insufficient_funds", 2, 9, PROFILE["seed"])  # type: ignore[arg-type]
    expected = [draw(settings, "simulator", n) for n in range(10)]
    assert [(p.attempts[0].simulated_by, p.attempts[0].latency_ms) for p in made] == [
        (d.source, d.latency_ms) for d in expected
    ]

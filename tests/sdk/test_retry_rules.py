"""The pure retry rules: what may be retried, backoff with jitter, RetryInfo, deadline, attempts."""

from __future__ import annotations

import grpc
import pytest
from paysim_client import RetryPolicy, errors
from paysim_client._retry import backoff, may_retry, retry_delay
from paysim_client._rpc import Safety

POLICY = RetryPolicy(max_attempts=5, initial_backoff=0.1, max_backoff=1.0, multiplier=2.0, jitter=0.5)


def unavailable(retry_delay_seconds: float | None = None) -> errors.RpcError:
    return errors.Unavailable("down", retry_delay=retry_delay_seconds)


def aborted(reason: str) -> errors.RpcError:
    return errors.error_class(grpc.StatusCode.ABORTED, reason)("busy", reason=reason, retry_delay=0.05)


@pytest.mark.parametrize(
    ("safety", "expected"),
    [(Safety.READ, True), (Safety.IDEMPOTENT, True), (Safety.KEYED, True), (Safety.UNSAFE, False)],
)
def test_unavailable_is_retried_only_where_repeating_cannot_act_twice(safety: Safety, expected: bool) -> None:
    assert may_retry(unavailable(), safety, POLICY) is expected
    assert may_retry(errors.GatewayUnavailable("gw", reason="GATEWAY_UNAVAILABLE"), safety, POLICY) is expected


def test_aborted_is_retried_only_for_the_in_flight_idempotency_reason_by_default() -> None:
    assert may_retry(aborted("IDEMPOTENCY_KEY_IN_USE"), Safety.KEYED, POLICY)
    for reason in ("PAYMENT_BUSY", "CONCURRENT_MODIFICATION", "TRANSACTION_CONFLICT", ""):
        assert not may_retry(aborted(reason), Safety.KEYED, POLICY), reason
    wider = RetryPolicy(aborted_reasons=frozenset({"IDEMPOTENCY_KEY_IN_USE", "PAYMENT_BUSY"}))
    assert may_retry(aborted("PAYMENT_BUSY"), Safety.KEYED, wider)


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidArgument("bad"),
        errors.FailedPrecondition("state"),
        errors.IdempotencyKeyReused("reused", reason="IDEMPOTENCY_KEY_REUSED"),
        errors.ResourceExhausted("slow down", retry_delay=1.0),
        errors.DeadlineExceeded("late"),
        errors.Unauthenticated("who"),
        errors.Internal("bug"),
        errors.Unknown("?"),
    ],
)
def test_other_errors_are_never_retried(error: errors.RpcError) -> None:
    assert retry_delay(error, Safety.READ, POLICY, 1, None, lambda: 0.0) is None


def test_backoff_grows_geometrically_up_to_the_cap_and_jitter_only_shortens_it() -> None:
    assert [backoff(POLICY, n, lambda: 0.0) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert backoff(POLICY, 3, lambda: 1.0) == pytest.approx(0.2)  # jitter 0.5 at most halves it
    assert backoff(POLICY, 3, lambda: 0.5) == pytest.approx(0.3)


def test_the_servers_retry_info_is_a_floor() -> None:
    assert retry_delay(unavailable(0.75), Safety.READ, POLICY, 1, None, lambda: 0.0) == pytest.approx(0.75)
    assert retry_delay(unavailable(0.01), Safety.READ, POLICY, 2, None, lambda: 0.0) == pytest.approx(0.2)


def test_no_wait_ends_past_the_deadline() -> None:
    assert retry_delay(unavailable(0.75), Safety.READ, POLICY, 1, 5.0, lambda: 0.0) == pytest.approx(0.75)
    assert retry_delay(unavailable(0.75), Safety.READ, POLICY, 1, 0.5, lambda: 0.0) is None
    assert retry_delay(unavailable(30.0), Safety.READ, POLICY, 1, 10.0, lambda: 0.0) is None


def test_attempts_are_capped() -> None:
    assert retry_delay(unavailable(), Safety.READ, POLICY, 4, None, lambda: 0.0) is not None
    assert retry_delay(unavailable(), Safety.READ, POLICY, 5, None, lambda: 0.0) is None
    assert retry_delay(unavailable(), Safety.READ, RetryPolicy.disabled(), 1, None, lambda: 0.0) is None


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"initial_backoff": -1}, {"multiplier": 0.5}, {"jitter": 1.5}, {"max_backoff": -0.1}],
)
def test_nonsensical_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]

"""paysim_client.webhooks.verify: the documented header format, rotation, tolerance, tampering."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from paysim_client import webhooks
from paysim_client.webhooks import SignatureVerificationError

SECRET = "whsec_test_4f1c2a"
BODY = b'{"id":"evt_1","type":"payment.captured","data":{"amount":1999}}'
T = 1_700_000_000


def _hex(secret: str, timestamp: int, body: bytes) -> str:
    # Written out independently of the module: HMAC-SHA256 over "<t>." + body, lowercase hex.
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _reason(header: str, *, body: bytes = BODY, secret: str = SECRET, now: float = T, **kw: object) -> str:
    with pytest.raises(SignatureVerificationError) as caught:
        webhooks.verify(body, header, secret, now=now, **kw)  # type: ignore[arg-type]
    return caught.value.reason


def test_a_valid_header_verifies_and_returns_the_timestamp() -> None:
    header = f"t={T},v1={_hex(SECRET, T, BODY)}"
    assert webhooks.verify(BODY, header, SECRET, now=T + 10) == T


def test_sign_produces_the_documented_format() -> None:
    assert webhooks.sign(BODY, SECRET, T) == f"t={T},v1={_hex(SECRET, T, BODY)}"
    two = webhooks.sign(BODY, ["old", "new"], T)
    assert two == f"t={T},v1={_hex('old', T, BODY)},v1={_hex('new', T, BODY)}"


def test_during_rotation_any_v1_signature_may_match() -> None:
    header = f"t={T},v1={_hex('retired secret', T, BODY)},v1={_hex(SECRET, T, BODY)}"
    assert webhooks.verify(BODY, header, SECRET, now=T) == T
    assert webhooks.verify(BODY, header, "retired secret", now=T) == T
    assert _reason(header, secret="a third secret") == "SIGNATURE_MISMATCH"


def test_a_tampered_body_or_timestamp_or_wrong_secret_is_refused() -> None:
    good = _hex(SECRET, T, BODY)
    assert _reason(f"t={T},v1={good}", body=BODY.replace(b"1999", b"9999")) == "SIGNATURE_MISMATCH"
    assert _reason(f"t={T + 1},v1={good}") == "SIGNATURE_MISMATCH"
    assert _reason(f"t={T},v1={good}", secret=SECRET + "x") == "SIGNATURE_MISMATCH"
    assert _reason(f"t={T},v1={good.upper()}") == "SIGNATURE_MISMATCH"
    assert _reason(f"t={T},v1=") == "SIGNATURE_MISMATCH"


def test_the_timestamp_must_be_within_the_tolerance_either_way() -> None:
    header = f"t={T},v1={_hex(SECRET, T, BODY)}"
    assert webhooks.verify(BODY, header, SECRET, now=T + 300) == T
    assert webhooks.verify(BODY, header, SECRET, now=T - 300) == T
    assert _reason(header, now=T + 301) == "TIMESTAMP_OUT_OF_TOLERANCE"
    assert _reason(header, now=T - 301) == "TIMESTAMP_OUT_OF_TOLERANCE"
    assert _reason(header, now=T + 61, tolerance=60) == "TIMESTAMP_OUT_OF_TOLERANCE"
    assert webhooks.verify(BODY, header, SECRET, tolerance=None, now=T + 10**6) == T


def test_the_current_time_is_the_default_now() -> None:
    assert webhooks.verify(BODY, webhooks.sign(BODY, SECRET), SECRET) > 0
    assert _reason(f"t={T},v1={_hex(SECRET, T, BODY)}", now=None) == "TIMESTAMP_OUT_OF_TOLERANCE"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header",
    ["", "garbage", f"v1={'0' * 64}", f"t=abc,v1={'0' * 64}", f"t=-5,v1={'0' * 64}", f"t={T},t={T},v1=00"],
)
def test_malformed_headers_are_refused(header: str) -> None:
    assert _reason(header) == "MALFORMED_HEADER"


def test_a_header_without_v1_is_refused_and_other_schemes_are_ignored() -> None:
    assert _reason(f"t={T},v0={_hex(SECRET, T, BODY)}") == "NO_SIGNATURE"
    header = f" t={T} , v0=ignored , v2=future , v1={_hex(SECRET, T, BODY)} "
    assert webhooks.verify(BODY, header, SECRET, now=T) == T


def test_a_non_ascii_signature_is_a_mismatch_not_a_crash() -> None:
    assert _reason(f"t={T},v1=ünïcödé") == "SIGNATURE_MISMATCH"


def test_the_error_is_a_value_error_and_a_paysim_error() -> None:
    from paysim_client import PaysimError

    with pytest.raises(ValueError):
        webhooks.verify(BODY, "nonsense", SECRET)
    with pytest.raises(PaysimError):
        webhooks.verify(BODY, "nonsense", SECRET)

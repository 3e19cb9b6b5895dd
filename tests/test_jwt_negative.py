"""Forged, malformed and misused access tokens are UNAUTHENTICATED (README, "Errors").

Every negative case is built by the same claim builder and signer as the positive controls,
with one thing changed, so a case that fails proves the server refused it for that one reason
(and not, say, because our builder produces tokens the server never accepts).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paysim_proto.v1 import auth_pb2, merchant_pb2

from paysim.security.signing_key import KEY_FILE
from tests.support.client import RichError, Stubs, expect_error, rich_error
from tests.support.factories import MerchantAccount, register_merchant
from tests.support.harness import ServerHandle

DOMAIN = "paysim.v1"
LEEWAY_SECONDS = 5  # the server's documented clock-skew allowance
_DROP = object()  # a claim override meaning "leave this claim out"


# --- token building ---------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(value: object) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _hmac_token(header: dict[str, Any], claims: dict[str, Any], key: bytes, digest: Any = hashlib.sha256) -> str:
    """A JWS signed with HMAC by hand, whatever the header says (PyJWT refuses some of these)."""
    signing_input = f"{_b64_json(header)}.{_b64_json(claims)}"
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{_b64(signature)}"


@dataclass
class TokenLab:
    """Builds tokens the way the server does (AccessTokenCodec.issue) with the server's key."""

    key: bytes
    issuer: str
    audience: str

    def claims(self, account: MerchantAccount, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": account.owner_id,
            "typ": "access",
            "role": "merchant",
            "mid": account.merchant_id,
            "iat": now,
            "nbf": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
        }
        for name, value in overrides.items():
            if value is _DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.key, algorithm="HS256", headers={"typ": "JWT"})


@pytest.fixture(scope="module")
def lab(server: ServerHandle) -> TokenLab:
    settings = server.settings
    # The test server has no configured secret: its key is generated into the data directory.
    key = settings.jwt_secret.encode() or (settings.data_dir / KEY_FILE).read_bytes().strip()
    assert len(key) >= 32
    return TokenLab(key=key, issuer=settings.jwt_issuer, audience=settings.jwt_audience)


@pytest.fixture(scope="module")
def account(server: ServerHandle) -> MerchantAccount:
    return register_merchant(server.stubs())


def _call(stubs: Stubs, header: str | None, rpc: str = "GetCurrentUser") -> Any:
    """Call an authenticated RPC with exactly this ``authorization`` header (or none)."""
    anonymous = stubs.as_(None)
    metadata = [] if header is None else [("authorization", header)]
    if rpc == "GetCurrentUser":
        return anonymous.auth.GetCurrentUser(auth_pb2.GetCurrentUserRequest(), metadata=metadata)
    if rpc == "ListMerchants":
        return anonymous.merchants.ListMerchants(merchant_pb2.ListMerchantsRequest(), metadata=metadata)
    raise AssertionError(rpc)


def _assert_unauthenticated(err: RichError, token: str, reasons: set[str]) -> None:
    assert err.code == grpc.StatusCode.UNAUTHENTICATED, (err.code, err.reason, err.message)
    assert err.domain == DOMAIN
    assert err.reason in reasons, err.reason
    assert err.request_id
    # The refusal must not echo the presented credential back.
    if len(token) >= 8:
        assert token not in err.message
        assert token not in json.dumps(err.metadata)


# --- the cases --------------------------------------------------------------------------------

TokenFactory = Callable[[TokenLab, MerchantAccount, Stubs], str]


def _alg_none(with_dot: bool, alg: str = "none") -> TokenFactory:
    def make(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
        token = f"{_b64_json({'alg': alg, 'typ': 'JWT'})}.{_b64_json(lab.claims(account))}"
        return token + "." if with_dot else token

    return make


def _alg_none_with_stale_signature(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    """alg none in the header but the (valid) HS256 signature left on."""
    good = lab.sign(lab.claims(account))
    _, payload, signature = good.split(".")
    return f"{_b64_json({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}"


def _wrong_key(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    return jwt.encode(lab.claims(account), secrets.token_bytes(48), algorithm="HS256")


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rs256(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    return jwt.encode(lab.claims(account), _rsa_key(), algorithm="RS256")


def _es256(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    return jwt.encode(lab.claims(account), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")


def _hs256_with_public_pem(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    """The classic confusion: HMAC keyed with an RSA public key's PEM."""
    pem = (
        _rsa_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return _hmac_token({"alg": "HS256", "typ": "JWT"}, lab.claims(account), pem)


def _rs256_header_hmac_server_key(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    """Confusion the other way: a correct HMAC with the real key, but the header claims RS256."""
    return _hmac_token({"alg": "RS256", "typ": "JWT"}, lab.claims(account), lab.key)


def _hs512_server_key(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    """A correct signature with the real key, by an algorithm outside the allow-list."""
    return jwt.encode(lab.claims(account), lab.key, algorithm="HS512")


def _claims(**overrides: Any) -> TokenFactory:
    def make(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
        return lab.sign(lab.claims(account, **overrides))

    return make


def _expired(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    now = int(time.time())
    beyond = LEEWAY_SECONDS + 30
    return lab.sign(lab.claims(account, iat=now - 900 - beyond, nbf=now - 900 - beyond, exp=now - beyond))


def _not_yet_valid(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    now = int(time.time())
    return lab.sign(lab.claims(account, nbf=now + LEEWAY_SECONDS + 60, exp=now + 900))


def _refresh_token_as_access(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    token = account.refresh_token
    assert token.startswith("rt_")
    return token


def _truncated_signature(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    return lab.sign(lab.claims(account))[:-6]


def _signature_removed(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    head, payload, _ = lab.sign(lab.claims(account)).split(".")
    return f"{head}.{payload}."


def _tampered(**changes: Any) -> TokenFactory:
    """A valid token whose payload is edited while the original signature is kept."""

    def make(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
        head, payload, signature = lab.sign(lab.claims(account)).split(".")
        claims = json.loads(_unb64(payload))
        claims.update(changes)
        return f"{head}.{_b64_json(claims)}.{signature}"

    return make


def _constant(value: str) -> TokenFactory:
    return lambda lab, account, stubs: value


def _valid_token_of_nonexistent_user(lab: TokenLab, account: MerchantAccount, stubs: Stubs) -> str:
    return lab.sign(lab.claims(account, sub="usr_" + secrets.token_hex(11), mid=None))


@dataclass(frozen=True)
class Case:
    make: TokenFactory
    reasons: frozenset[str]


INVALID = frozenset({"INVALID_TOKEN"})

CASES: dict[str, Case] = {
    "alg_none_without_trailing_dot": Case(_alg_none(with_dot=False), INVALID),
    "alg_none_with_trailing_dot": Case(_alg_none(with_dot=True), INVALID),
    "alg_None_capitalised": Case(_alg_none(with_dot=True, alg="None"), INVALID),
    "alg_none_with_stale_signature": Case(_alg_none_with_stale_signature, INVALID),
    "hs256_wrong_key": Case(_wrong_key, INVALID),
    "rs256_signed_with_rsa_key": Case(_rs256, INVALID),
    "es256_signed_with_ec_key": Case(_es256, INVALID),
    "hs256_keyed_with_rsa_public_pem": Case(_hs256_with_public_pem, INVALID),
    "rs256_header_hmac_with_server_key": Case(_rs256_header_hmac_server_key, INVALID),
    "hs512_with_server_key": Case(_hs512_server_key, INVALID),
    "expired_beyond_leeway": Case(_expired, frozenset({"TOKEN_EXPIRED"})),
    "not_yet_valid": Case(_not_yet_valid, INVALID),
    "wrong_audience": Case(_claims(aud="someone-else"), INVALID),
    "audience_list_without_ours": Case(_claims(aud=["a", "b"]), INVALID),
    "missing_audience": Case(_claims(aud=_DROP), INVALID),
    "wrong_issuer": Case(_claims(iss="https://evil.example"), INVALID),
    "missing_issuer": Case(_claims(iss=_DROP), INVALID),
    "missing_exp": Case(_claims(exp=_DROP), INVALID),
    "missing_nbf": Case(_claims(nbf=_DROP), INVALID),
    "missing_iat": Case(_claims(iat=_DROP), INVALID),
    "missing_jti": Case(_claims(jti=_DROP), INVALID),
    "missing_sub": Case(_claims(sub=_DROP), INVALID),
    "missing_role": Case(_claims(role=_DROP), INVALID),
    "missing_typ": Case(_claims(typ=_DROP), INVALID),
    "typ_refresh": Case(_claims(typ="refresh"), INVALID),
    "typ_id_token": Case(_claims(typ="id"), INVALID),
    "unknown_role": Case(_claims(role="superuser"), INVALID),
    "role_not_a_string": Case(_claims(role=["admin"]), INVALID),
    "sub_not_a_string": Case(_claims(sub=12345), INVALID),
    "exp_not_a_number": Case(_claims(exp="tomorrow"), INVALID),
    "refresh_token_used_as_access_token": Case(_refresh_token_as_access, INVALID),
    "truncated_signature": Case(_truncated_signature, INVALID),
    "signature_removed": Case(_signature_removed, INVALID),
    "tampered_role_admin": Case(_tampered(role="admin"), INVALID),
    "tampered_exp_extended": Case(_tampered(exp=int(time.time()) + 10 * 365 * 86400), INVALID),
    "garbage": Case(_constant("garbage"), INVALID),
    "three_empty_segments": Case(_constant(".."), INVALID),
    "random_base64_segments": Case(_constant(f"{_b64(b'x' * 20)}.{_b64(b'y' * 40)}.{_b64(b'z' * 32)}"), INVALID),
    "header_not_json": Case(_constant(f"{_b64(b'not json')}.{_b64_json({'a': 1})}.{_b64(b'sig')}"), INVALID),
    "api_key_lookalike": Case(_constant("sk_test_" + "A" * 44), frozenset({"INVALID_API_KEY"})),
    "api_key_prefix_only": Case(_constant("sk_test_"), frozenset({"INVALID_API_KEY"})),
    # Correctly signed, but for an account that does not exist: still no entry.
    "signed_for_nonexistent_user": Case(_valid_token_of_nonexistent_user, frozenset({"ACCOUNT_INACTIVE"})),
}


@pytest.mark.parametrize("rpc", ["GetCurrentUser", "ListMerchants"])
@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_bearer_token_is_unauthenticated(
    stubs: Stubs, lab: TokenLab, account: MerchantAccount, case: str, rpc: str
) -> None:
    token = CASES[case].make(lab, account, stubs)
    err = expect_error(_call, stubs, f"Bearer {token}", rpc)
    _assert_unauthenticated(err, token, set(CASES[case].reasons))


MALFORMED = {"MALFORMED_CREDENTIALS"}


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer ", id="empty_bearer_with_space"),
        pytest.param("Bearer", id="bearer_without_token"),
        pytest.param("", id="empty_header"),
        pytest.param("Basic dXNlcjpjb3JyZWN0IGhvcnNlIGJhdHRlcnk=", id="basic_scheme"),
        pytest.param("Token {access}", id="token_scheme_with_valid_token"),
        pytest.param("{access}", id="valid_token_without_scheme"),
        pytest.param("Digest {access}", id="digest_scheme_with_valid_token"),
    ],
)
def test_malformed_authorization_header_is_unauthenticated(
    stubs: Stubs, lab: TokenLab, account: MerchantAccount, header: str
) -> None:
    value = header.format(access=lab.sign(lab.claims(account)))
    err = expect_error(_call, stubs, value)
    assert err.code == grpc.StatusCode.UNAUTHENTICATED, (err.code, err.reason, err.message)
    assert err.domain == DOMAIN
    assert err.reason in MALFORMED


def test_no_header_is_credentials_missing(stubs: Stubs) -> None:
    err = expect_error(_call, stubs, None)
    assert (err.code, err.reason, err.domain) == (grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_MISSING", DOMAIN)


# --- positive controls: the same builder, nothing changed, is accepted -------------------------


def test_control_token_signed_like_the_server_is_accepted(
    stubs: Stubs, lab: TokenLab, account: MerchantAccount
) -> None:
    token = lab.sign(lab.claims(account))
    me = _call(stubs, f"Bearer {token}")
    assert me.user.id == account.owner_id
    assert me.merchant_id == account.merchant_id
    assert me.credential_kind == auth_pb2.CREDENTIAL_KIND_ACCESS_TOKEN
    # The scheme is case-insensitive (RFC 7235).
    assert _call(stubs, f"bearer {token}").user.id == account.owner_id


def test_control_server_issued_token_is_accepted(stubs: Stubs, account: MerchantAccount) -> None:
    assert _call(stubs, f"Bearer {account.access_token}").user.id == account.owner_id


def test_control_hand_built_hs256_is_accepted(stubs: Stubs, lab: TokenLab, account: MerchantAccount) -> None:
    """The hand-rolled signer used by the confusion cases produces valid tokens with the right key."""
    token = _hmac_token({"alg": "HS256", "typ": "JWT"}, lab.claims(account), lab.key)
    assert _call(stubs, f"Bearer {token}").user.id == account.owner_id


def test_control_expiry_within_leeway_is_accepted(stubs: Stubs, lab: TokenLab, account: MerchantAccount) -> None:
    now = int(time.time())
    token = lab.sign(lab.claims(account, iat=now - 900, nbf=now - 900, exp=now - 1))
    assert _call(stubs, f"Bearer {token}").user.id == account.owner_id


def test_control_audience_list_containing_ours_is_accepted(
    stubs: Stubs, lab: TokenLab, account: MerchantAccount
) -> None:
    token = lab.sign(lab.claims(account, aud=["other", lab.audience]))
    assert _call(stubs, f"Bearer {token}").user.id == account.owner_id


def test_role_claim_does_not_grant_the_role(stubs: Stubs, lab: TokenLab, account: MerchantAccount) -> None:
    """Even a correctly signed token claiming admin acts with the account's stored role."""
    token = lab.sign(lab.claims(account, role="admin", mid=None))
    me = _call(stubs, f"Bearer {token}")
    assert me.user.id == account.owner_id
    assert me.merchant_id == account.merchant_id
    err = expect_error(_call, stubs, f"Bearer {token}", "ListMerchants")
    assert (err.code, err.domain) == (grpc.StatusCode.PERMISSION_DENIED, DOMAIN)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"exp": 10**13}, id="exp_beyond_year_9999"),
        pytest.param({"exp": 2**63}, id="exp_2_pow_63"),
        pytest.param({"exp": 1e300}, id="exp_huge_float"),
        pytest.param({"iat": -(10**13), "nbf": -(10**13)}, id="iat_nbf_before_year_1"),
        pytest.param({"mid": {"x": 1}}, id="mid_not_a_string"),
    ],
)
def test_extreme_claims_with_a_valid_signature_never_break_the_server(
    stubs: Stubs, lab: TokenLab, account: MerchantAccount, overrides: dict[str, Any]
) -> None:
    """Whoever holds the key can mint odd claims; the answer is a decision, never INTERNAL."""
    token = lab.sign(lab.claims(account, **overrides))
    try:
        _call(stubs, f"Bearer {token}")
    except grpc.RpcError as error:
        call: Any = error
        assert call.code() == grpc.StatusCode.UNAUTHENTICATED, (call.code(), call.details())


# --- and whatever else a client might put in the header ----------------------------------------

_HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)  # what gRPC lets through
_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="


def _jwt_shaped() -> st.SearchStrategy[str]:
    segment = st.text(alphabet=_B64_CHARS, max_size=80)
    json_segment = st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8), st.none())).map(
        _b64_json
    )
    return st.builds(
        lambda parts: ".".join(parts),
        st.lists(st.one_of(segment, json_segment), min_size=1, max_size=5),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    credential=st.one_of(
        st.text(alphabet=_HEADER_CHARS, min_size=1, max_size=300),
        _jwt_shaped(),
        st.text(alphabet=_B64_CHARS, max_size=60).map(lambda s: "sk_test_" + s),
        st.text(alphabet=_B64_CHARS, max_size=60).map(lambda s: "rt_" + s),
    ),
    # (A tab or other control character is refused by the gRPC client before it is sent.)
    scheme=st.sampled_from(["Bearer ", "bearer ", "BEARER ", "Bearer  ", "", "Basic "]),
)
def test_random_authorization_headers_are_unauthenticated(stubs: Stubs, credential: str, scheme: str) -> None:
    header = scheme + credential
    try:
        _call(stubs, header)
    except grpc.RpcError as error:
        err = rich_error(error)
        assert err.code == grpc.StatusCode.UNAUTHENTICATED, (header, err.code, err.reason, err.message)
        assert err.domain == DOMAIN and err.reason
        return
    raise AssertionError(f"a random header was accepted: {header!r}")

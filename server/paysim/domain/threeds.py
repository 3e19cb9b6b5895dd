"""3-D Secure 2, the pure part: how a card takes part (from the scenario catalogue), whether a
merchant's policy asks for authentication, the values of a 3DS2 result (transaction status, ECI per
network, CAVV, directory-server transaction id) and the signed messages of a challenge.

- A card's scenario gives its :class:`Profile`. Cards whose issuer requires authentication (the
  challenge cards, and the card whose lookup fails) are authenticated whatever the merchant's policy;
  for every other card the policy decides (never, always, above an amount in a currency).
- Profile and request give a :class:`Plan`: no 3DS; frictionless (``Y``); attempted (``A``: the card
  supports 3DS but is not enrolled); not supported (``U``, the payment goes on without); a challenge
  (``C``: the payment waits in ``requires_action``); a failed lookup (declined ``processing_error``);
  an authentication error (``U``: the payment fails).
- A challenge carries a *challenge request* signed by paysim: HMAC-SHA256 over its fields and its
  expiry, with a key derived from the server secret. The simulated ACS verifies it and answers with
  an *ACS result*, signed the same way under a key of its own, which the merchant passes back to
  complete the challenge. Signatures are compared in constant time; a token signed for one purpose
  never verifies as the other.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from paysim.domain import ids
from paysim.domain.errors import FailedPrecondition, NotFound, PreconditionViolation
from paysim.domain.scenarios import ScenarioKind
from paysim.domain.validation import Violations, check_currency

VERSION = "2.2.0"
CHALLENGE_TTL = timedelta(minutes=15)
ACS_URL = "https://acs.paysim.test/3ds2/challenge"
CHALLENGE = "chl"
MAX_AMOUNT = 10**12
MAX_TOKEN_CHARS = 4096


class TransStatus(enum.StrEnum):
    """The 3DS2 ``transStatus`` of an authentication."""

    AUTHENTICATED = "Y"
    NOT_AUTHENTICATED = "N"
    UNAVAILABLE = "U"
    ATTEMPTED = "A"
    CHALLENGE_REQUIRED = "C"
    REJECTED = "R"


class ChallengeStatus(enum.StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    EXPIRED = "expired"


class AcsAction(enum.StrEnum):
    """What the simulated cardholder does at the ACS."""

    APPROVE = "approve"
    DENY = "deny"
    WRONG_CODE = "wrong_code"


# --- the card and the merchant's policy -------------------------------------------------------


class Profile(enum.StrEnum):
    """How a card takes part in 3-D Secure."""

    NOT_ENROLLED = "not_enrolled"  # supports 3DS, issuer not enrolled: the network attempts (A)
    NOT_SUPPORTED = "not_supported"  # cannot do 3DS at all: payments go on without it
    FRICTIONLESS = "frictionless"  # authenticates without a challenge (Y)
    CHALLENGE = "challenge"  # the issuer requires a challenge, whatever the merchant asks
    LOOKUP_ERROR = "lookup_error"  # the issuer requires 3DS, and its lookup fails
    ATTEMPT_ERROR = "attempt_error"  # supports 3DS; authenticating errors

    @property
    def mandated(self) -> bool:
        """The issuer asks for 3DS itself: the merchant's policy cannot waive it."""
        return self in (Profile.CHALLENGE, Profile.LOOKUP_ERROR)


_PROFILES: Mapping[ScenarioKind, Profile] = {
    ScenarioKind.THREE_DS_REQUIRED: Profile.CHALLENGE,
    ScenarioKind.THREE_DS_CHALLENGE_THEN_DECLINE: Profile.CHALLENGE,
    ScenarioKind.THREE_DS_AUTH_THEN_DECLINE: Profile.CHALLENGE,
    ScenarioKind.THREE_DS_LOOKUP_ERROR: Profile.LOOKUP_ERROR,
    ScenarioKind.THREE_DS_FRICTIONLESS: Profile.FRICTIONLESS,
    ScenarioKind.THREE_DS_ATTEMPT_ERROR: Profile.ATTEMPT_ERROR,
    ScenarioKind.THREE_DS_NOT_SUPPORTED: Profile.NOT_SUPPORTED,
}


def profile_for(kind: ScenarioKind) -> Profile:
    """The 3DS profile of a payment's scenario; any card without a 3DS scenario is not enrolled."""
    return _PROFILES.get(kind, Profile.NOT_ENROLLED)


class PolicyMode(enum.StrEnum):
    NEVER = "never"
    ALWAYS = "always"
    ABOVE_AMOUNT = "above_amount"


@dataclass(frozen=True, slots=True)
class Threshold:
    """Payments in ``currency`` of more than ``amount`` minor units are authenticated."""

    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class Policy:
    """A merchant's 3DS policy. ``NEVER`` (the default) only means the merchant does not ask:
    cards whose issuer requires authentication are still challenged."""

    mode: PolicyMode = PolicyMode.NEVER
    thresholds: tuple[Threshold, ...] = ()

    def requests(self, amount: int, currency: str) -> bool:
        if self.mode is PolicyMode.ALWAYS:
            return True
        if self.mode is PolicyMode.ABOVE_AMOUNT:
            # Minor units mean nothing across currencies: a currency without a threshold is not asked.
            return any(t.currency == currency and amount > t.amount for t in self.thresholds)
        return False

    def to_dict(self) -> list[dict[str, Any]]:
        return [{"currency": t.currency, "amount": t.amount} for t in self.thresholds]


def policy_from(mode: str, thresholds: list[dict[str, Any]]) -> Policy:
    return Policy(PolicyMode(mode), tuple(Threshold(t["currency"], int(t["amount"])) for t in thresholds))


def check_policy(v: Violations, policy: Policy) -> None:
    """Thresholds belong to ``ABOVE_AMOUNT`` (at least one; one per currency) and nowhere else."""
    if policy.mode is not PolicyMode.ABOVE_AMOUNT:
        if policy.thresholds:
            v.add("thresholds", "are only for THREE_DS_POLICY_MODE_ABOVE_AMOUNT", "UNEXPECTED_THRESHOLDS")
        return
    if not policy.thresholds:
        v.add("thresholds", "need at least one amount with its currency", "REQUIRED")
    seen: set[str] = set()
    for i, t in enumerate(policy.thresholds):
        check_currency(v, f"thresholds[{i}].currency_code", t.currency)
        if t.currency in seen:
            v.add(f"thresholds[{i}].currency_code", "names a currency a second time", "DUPLICATE_CURRENCY")
        seen.add(t.currency)
        if not 0 <= t.amount <= MAX_AMOUNT:
            v.add(f"thresholds[{i}].amount_minor", f"must be 0 to {MAX_AMOUNT} minor units", "AMOUNT_OUT_OF_RANGE")


class Plan(enum.StrEnum):
    NONE = "none"
    FRICTIONLESS = "frictionless"
    ATTEMPTED = "attempted"
    NOT_SUPPORTED = "not_supported"
    CHALLENGE = "challenge"
    LOOKUP_FAILED = "lookup_failed"
    ERROR = "error"


def plan(profile: Profile, requested: bool) -> Plan:
    """What 3DS does for a card, given whether the merchant's policy asks for it."""
    if profile is Profile.CHALLENGE:
        return Plan.CHALLENGE
    if profile is Profile.LOOKUP_ERROR:
        return Plan.LOOKUP_FAILED
    if not requested:
        return Plan.NONE
    return {
        Profile.NOT_ENROLLED: Plan.ATTEMPTED,
        Profile.NOT_SUPPORTED: Plan.NOT_SUPPORTED,
        Profile.FRICTIONLESS: Plan.FRICTIONLESS,
        Profile.ATTEMPT_ERROR: Plan.ERROR,
    }[profile]


# --- result values ---------------------------------------------------------------------------

# Electronic Commerce Indicator by outcome: Mastercard has its own values; Visa's are used by
# American Express and the other networks.
_ECI_MASTERCARD = {"authenticated": "02", "attempted": "01", "failed": "00"}
_ECI_OTHERS = {"authenticated": "05", "attempted": "06", "failed": "07"}


def eci(brand: str, status: TransStatus) -> str:
    """The ECI of a final result on a card of ``brand``; empty while a challenge is pending."""
    if status is TransStatus.CHALLENGE_REQUIRED:
        return ""
    table = _ECI_MASTERCARD if brand == "mastercard" else _ECI_OTHERS
    if status is TransStatus.AUTHENTICATED:
        return table["authenticated"]
    if status is TransStatus.ATTEMPTED:
        return table["attempted"]
    return table["failed"]


def new_ds_transaction_id() -> str:
    """The directory server's transaction id: a UUID, as in 3DS2 messages."""
    return str(uuid.uuid4())


def cavv(key: bytes, ds_transaction_id: str, status: TransStatus) -> str:
    """The authentication value the issuer vouches with: 20 bytes, base64 (28 characters). Only
    authenticated and attempted results have one. Keyed, so only paysim could have made it."""
    if status not in (TransStatus.AUTHENTICATED, TransStatus.ATTEMPTED):
        return ""
    digest = hmac.new(key, f"{ds_transaction_id}:{status.value}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest[:20]).decode("ascii")


@dataclass(frozen=True, slots=True)
class Authentication:
    """A payment's 3DS2 authentication, as it stands."""

    trans_status: TransStatus
    ds_transaction_id: str = ""
    eci: str = ""
    cavv: str = ""
    reason: str = ""  # why, when not plainly authenticated, e.g. "card_not_enrolled", "wrong_code"
    challenged: bool = False
    version: str = VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "trans_status": self.trans_status.value,
            "ds_transaction_id": self.ds_transaction_id,
            "eci": self.eci,
            "cavv": self.cavv,
            "reason": self.reason,
            "challenged": self.challenged,
            "version": self.version,
        }


def authentication_from(d: Mapping[str, Any]) -> Authentication:
    return Authentication(
        trans_status=TransStatus(d["trans_status"]),
        ds_transaction_id=d.get("ds_transaction_id", ""),
        eci=d.get("eci", ""),
        cavv=d.get("cavv", ""),
        reason=d.get("reason", ""),
        challenged=bool(d.get("challenged", False)),
        version=d.get("version", VERSION),
    )


def result(
    status: TransStatus, brand: str, ds_transaction_id: str, cavv_key: bytes, *, reason: str = "", challenged: bool
) -> Authentication:
    """A final result with the ECI of the card's network and, where one belongs, a CAVV."""
    return Authentication(
        trans_status=status,
        ds_transaction_id=ds_transaction_id,
        eci=eci(brand, status),
        cavv=cavv(cavv_key, ds_transaction_id, status) if ds_transaction_id else "",
        reason=reason,
        challenged=challenged,
    )


# What a plan without a challenge yields: (status, reason).
FRICTIONLESS_RESULTS: Mapping[Plan, tuple[TransStatus, str]] = {
    Plan.FRICTIONLESS: (TransStatus.AUTHENTICATED, ""),
    Plan.ATTEMPTED: (TransStatus.ATTEMPTED, "card_not_enrolled"),
    Plan.NOT_SUPPORTED: (TransStatus.UNAVAILABLE, "card_not_supported"),
    Plan.LOOKUP_FAILED: (TransStatus.UNAVAILABLE, "lookup_failed"),
    Plan.ERROR: (TransStatus.UNAVAILABLE, "authentication_error"),
}

# What the cardholder's answer at the ACS yields: (status, reason).
ACS_RESULTS: Mapping[AcsAction, tuple[TransStatus, str]] = {
    AcsAction.APPROVE: (TransStatus.AUTHENTICATED, ""),
    AcsAction.DENY: (TransStatus.NOT_AUTHENTICATED, "cardholder_denied"),
    AcsAction.WRONG_CODE: (TransStatus.REJECTED, "wrong_code"),
}

# Why a payment fails when its authentication does.
FAILURE_REASONS: Mapping[TransStatus, str] = {
    TransStatus.NOT_AUTHENTICATED: "three_ds_authentication_failed",
    TransStatus.REJECTED: "three_ds_authentication_rejected",
    TransStatus.UNAVAILABLE: "three_ds_authentication_error",
}
EXPIRED_REASON = "three_ds_challenge_expired"


def proceeds(status: TransStatus) -> bool:
    """Whether the payment goes on to authorization after this result."""
    return status in (TransStatus.AUTHENTICATED, TransStatus.ATTEMPTED)


# --- signed messages -------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class MessageSigner:
    """Signs and verifies one kind of message: ``<payload>.<signature>``, both base64url, the
    payload canonical JSON carrying its kind, the signature HMAC-SHA256 of the payload text."""

    def __init__(self, server_key: bytes, kind: str) -> None:
        if not server_key:
            raise ValueError("server_key must not be empty")
        self.kind = kind
        self._key = hmac.new(server_key, f"paysim-3ds:{kind}".encode(), hashlib.sha256).digest()

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()

    def sign(self, fields: Mapping[str, Any]) -> str:
        body = json.dumps({**fields, "kind": self.kind}, separators=(",", ":"), sort_keys=True)
        payload = _b64(body.encode())
        return f"{payload}.{_b64(self._mac(payload))}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The fields of a token this signer made, or None for anything else (malformed, altered,
        signed with another key or for another kind)."""
        if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii() or token.count(".") != 1:
            return None
        payload, signature = token.split(".")
        try:
            given = _unb64(signature)
            expected = self._mac(payload)
            if not hmac.compare_digest(given, expected):
                return None
            fields = json.loads(_unb64(payload))
        except (binascii.Error, ValueError):
            return None
        if not isinstance(fields, dict) or fields.get("kind") != self.kind:
            return None
        return fields


@dataclass(frozen=True, slots=True)
class Challenge:
    """A pending (or finished) 3DS2 challenge of a payment."""

    id: str
    acs_url: str
    request: str  # the signed challenge request, for the ACS
    acs_transaction_id: str
    created_at: datetime
    expires_at: datetime
    status: ChallengeStatus = ChallengeStatus.PENDING

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "acs_url": self.acs_url,
            "request": self.request,
            "acs_transaction_id": self.acs_transaction_id,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "status": self.status.value,
        }


def challenge_from(d: Mapping[str, Any]) -> Challenge:
    return Challenge(
        id=d["id"],
        acs_url=d["acs_url"],
        request=d["request"],
        acs_transaction_id=d["acs_transaction_id"],
        created_at=datetime.fromisoformat(d["created_at"]),
        expires_at=datetime.fromisoformat(d["expires_at"]),
        status=ChallengeStatus(d.get("status", ChallengeStatus.PENDING.value)),
    )


@dataclass(frozen=True, slots=True)
class ChallengeRequest:
    """What the signed challenge request says."""

    payment_id: str
    challenge_id: str
    ds_transaction_id: str
    acs_transaction_id: str
    amount: int
    currency: str
    expires_at: datetime

    def fields(self) -> dict[str, Any]:
        return {
            "message_version": VERSION,
            "payment_id": self.payment_id,
            "challenge_id": self.challenge_id,
            "ds_transaction_id": self.ds_transaction_id,
            "acs_transaction_id": self.acs_transaction_id,
            "amount_minor": self.amount,
            "currency_code": self.currency,
            "expire_time": self.expires_at.isoformat(),
        }


def read_challenge_request(fields: Mapping[str, Any]) -> ChallengeRequest | None:
    try:
        return ChallengeRequest(
            payment_id=str(fields["payment_id"]),
            challenge_id=str(fields["challenge_id"]),
            ds_transaction_id=str(fields["ds_transaction_id"]),
            acs_transaction_id=str(fields["acs_transaction_id"]),
            amount=int(fields["amount_minor"]),
            currency=str(fields["currency_code"]),
            expires_at=datetime.fromisoformat(str(fields["expire_time"])),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class AcsResult:
    """What the signed ACS result says: the cardholder's answer to one challenge."""

    payment_id: str
    challenge_id: str
    ds_transaction_id: str
    acs_transaction_id: str
    trans_status: TransStatus
    reason: str = ""
    cavv: str = field(default="")

    def fields(self) -> dict[str, Any]:
        return {
            "message_version": VERSION,
            "payment_id": self.payment_id,
            "challenge_id": self.challenge_id,
            "ds_transaction_id": self.ds_transaction_id,
            "acs_transaction_id": self.acs_transaction_id,
            "trans_status": self.trans_status.value,
            "trans_status_reason": self.reason,
            "cavv": self.cavv,
        }


def read_acs_result(fields: Mapping[str, Any]) -> AcsResult | None:
    try:
        return AcsResult(
            payment_id=str(fields["payment_id"]),
            challenge_id=str(fields["challenge_id"]),
            ds_transaction_id=str(fields["ds_transaction_id"]),
            acs_transaction_id=str(fields["acs_transaction_id"]),
            trans_status=TransStatus(fields["trans_status"]),
            reason=str(fields.get("trans_status_reason", "")),
            cavv=str(fields.get("cavv", "")),
        )
    except (KeyError, TypeError, ValueError):
        return None


def new_challenge(
    signer: MessageSigner, *, payment_id: str, amount: int, currency: str, now: datetime
) -> tuple[Challenge, Authentication]:
    """A fresh challenge for a payment (expiring after :data:`CHALLENGE_TTL`) and the pending
    authentication (``C``) that goes with it."""
    request = ChallengeRequest(
        payment_id=payment_id,
        challenge_id=ids.new_id(CHALLENGE),
        ds_transaction_id=new_ds_transaction_id(),
        acs_transaction_id=str(uuid.uuid4()),
        amount=amount,
        currency=currency,
        expires_at=now + CHALLENGE_TTL,
    )
    challenge = Challenge(
        id=request.challenge_id,
        acs_url=ACS_URL,
        request=signer.sign(request.fields()),
        acs_transaction_id=request.acs_transaction_id,
        created_at=now,
        expires_at=request.expires_at,
    )
    pending = Authentication(TransStatus.CHALLENGE_REQUIRED, request.ds_transaction_id, challenged=True)
    return challenge, pending


def acs_answer(request: ChallengeRequest, action: AcsAction, cavv_key: bytes) -> AcsResult:
    """The simulated ACS's result for the cardholder's ``action``: the same answer every time."""
    status, reason = ACS_RESULTS[action]
    return AcsResult(
        payment_id=request.payment_id,
        challenge_id=request.challenge_id,
        ds_transaction_id=request.ds_transaction_id,
        acs_transaction_id=request.acs_transaction_id,
        trans_status=status,
        reason=reason,
        cavv=cavv(cavv_key, request.ds_transaction_id, status),
    )


# --- rules of an open challenge ---------------------------------------------------------------


def challenge_not_found(payment_id: str, challenge_id: str) -> NotFound:
    error = NotFound("three_ds_challenge", challenge_id or "(none)")
    error.metadata["payment_id"] = payment_id
    return error


def open_challenge(challenge: Challenge | None, payment_id: str, challenge_id: str, now: datetime) -> Challenge:
    """The payment's challenge named ``challenge_id``, if it can still be answered; otherwise
    NOT_FOUND (no such challenge on this payment) or FAILED_PRECONDITION (completed — a challenge
    is answered once — or expired)."""
    if challenge is None or challenge.id != challenge_id:
        raise challenge_not_found(payment_id, challenge_id)
    if challenge.status is ChallengeStatus.COMPLETED:
        raise _closed(
            challenge, payment_id, "THREE_DS_CHALLENGE_COMPLETED", "was already completed: it is answered once"
        )
    if challenge.status is ChallengeStatus.EXPIRED or now >= challenge.expires_at:
        raise _closed(
            challenge, payment_id, "THREE_DS_CHALLENGE_EXPIRED", f"expired at {challenge.expires_at:%Y-%m-%dT%H:%M:%SZ}"
        )
    return challenge


def _closed(challenge: Challenge, payment_id: str, reason: str, what: str) -> FailedPrecondition:
    return FailedPrecondition(
        f"3-D Secure challenge {challenge.id} {what}",
        reason=reason,
        metadata={"payment_id": payment_id, "challenge_id": challenge.id},
        violations=[PreconditionViolation("THREE_DS_CHALLENGE", challenge.id, what)],
    )


def due_to_expire(challenge: Challenge | None, now: datetime) -> bool:
    return challenge is not None and challenge.status is ChallengeStatus.PENDING and now >= challenge.expires_at

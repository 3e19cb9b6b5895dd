"""3-D Secure 2 use cases: authentication before a payment's gateway call, the challenge, the
simulated ACS that plays the cardholder, completing the challenge, expiring unanswered ones, and
each merchant's policy.

paysim acts as the merchants' 3DS server. ``ThreeDSAuthenticator`` runs inside CreatePayment,
between its transaction 1 and the gateway call (PaymentService's ``CardAuthentication``): the card's
scenario and the merchant's policy decide nothing, frictionless, a challenge, or a failure.
``ThreeDSService`` serves the RPCs: a payment that waits for its customer (``requires_action``)
resumes through ``PaymentService.resume`` when the merchant completes the challenge with the ACS's
signed result, and fails when nobody does within 15 minutes (the maintenance sweep, or whoever
notices first).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from paysim.domain import payment, threeds
from paysim.domain.declines import DECLINES
from paysim.domain.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from paysim.domain.overrides import Override
from paysim.domain.payment_events import (
    PaymentEvent,
    ThreeDSAuthenticated,
    ThreeDSChallengeExpired,
    ThreeDSChallengeRequired,
    ThreeDSFailed,
    ThreeDSNotSupported,
)
from paysim.domain.principal import Principal
from paysim.domain.scenarios import scenario_for
from paysim.domain.threeds import AcsAction, Plan, Policy, TransStatus
from paysim.domain.validation import Violations, check_id
from paysim.services.clock import Clock
from paysim.services.idempotency import IdempotencyKey
from paysim.services.payment_commands import PAYMENT, PaymentResult
from paysim.services.payments import PaymentService
from paysim.services.tenancy import target_merchant
from paysim.services.ttl_cache import TtlCache
from paysim.store.repositories.payments import CONCURRENT_MODIFICATION
from paysim.store.repositories.three_ds_policies import StoredPolicy
from paysim.store.unit_of_work import TRANSACTION_CONFLICT, UnitOfWorkFactory

_EXPIRE_ATTEMPTS = 5
_EXPIRED = "THREE_DS_CHALLENGE_EXPIRED"


def _decline(code: str) -> payment.DeclineInfo:
    d = DECLINES.get(code) or DECLINES["processing_error"]
    return payment.DeclineInfo(code=d.code, error_code=d.error_code, message=d.message, retryable=d.retryable)


def _invalid(field: str, description: str, reason: str) -> InvalidArgument:
    return InvalidArgument([FieldViolation(field, description, reason)])


class ThreeDSAuthenticator:
    """Whether and how a new payment authenticates before its gateway call; also holds the keys of
    the challenge messages (derived from the server secret, one per purpose)."""

    def __init__(
        self, uow: UnitOfWorkFactory, server_key: bytes, clock: Clock, *, policy_cache_seconds: float = 5.0
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.challenge_requests = threeds.MessageSigner(server_key, "challenge_request")
        self.acs_results = threeds.MessageSigner(server_key, "acs_result")
        self.cavv_key = hmac.new(server_key, b"paysim-3ds:cavv", hashlib.sha256).digest()
        # Read on most payments: briefly cached, like the merchant's other payment settings.
        self._policies: TtlCache[Policy] = TtlCache(policy_cache_seconds)

    async def policy(self, merchant_id: str) -> Policy:
        policy = self._policies.get(merchant_id)
        if policy is None:
            async with self._uow() as uow:
                stored = await uow.three_ds_policies.get(merchant_id)
            policy = stored.policy if stored is not None else Policy()
            self._policies.put(merchant_id, policy)
        return policy

    def policy_changed(self, merchant_id: str) -> None:
        """The merchant's policy changed in this process: forget its cached copy now (other
        processes notice within the cache's lifetime)."""
        self._policies.discard(merchant_id)

    async def before_authorization(self, state: payment.PaymentState, pan: str) -> tuple[list[PaymentEvent], bool]:
        # The payment's scenario, levers included: a forced decline (holder name, magic amount)
        # replaces the card's own behaviour, 3DS included, as it replaces everything else.
        scenario = scenario_for(pan, state.amount, state.card.holder_name)
        profile = threeds.profile_for(scenario.kind)
        requested = profile.mandated or (await self.policy(state.merchant_id)).requests(state.amount, state.currency)
        step = threeds.plan(profile, requested)
        # Authentication runs right after creation: on a test clock, at the payment's created time.
        now = state.created_at if state.test_clock_id else self._clock()
        if step is Plan.NONE:
            return [], False
        if step is Plan.CHALLENGE:
            challenge, pending = threeds.new_challenge(
                self.challenge_requests, payment_id=state.id, amount=state.amount, currency=state.currency, now=now
            )
            return [ThreeDSChallengeRequired(at=now, authentication=pending, challenge=challenge)], True
        status, reason = threeds.FRICTIONLESS_RESULTS[step]
        # A card that cannot do 3DS never reaches a directory server: no transaction id.
        ds_id = "" if step is Plan.NOT_SUPPORTED else threeds.new_ds_transaction_id()
        result = threeds.result(status, state.card.brand, ds_id, self.cavv_key, reason=reason, challenged=False)
        if step is Plan.NOT_SUPPORTED:
            return [ThreeDSNotSupported(at=now, authentication=result)], False
        if threeds.proceeds(status):
            return [ThreeDSAuthenticated(at=now, authentication=result)], False
        if step is Plan.LOOKUP_FAILED:
            decline = _decline(scenario.decline_code or "processing_error")
            return [ThreeDSFailed(at=now, authentication=result, decline=decline)], True
        reason_text = threeds.FAILURE_REASONS[status]
        return [ThreeDSFailed(at=now, authentication=result, reason=reason_text)], True


@dataclass(frozen=True, slots=True)
class AcsAnswer:
    """What the simulated ACS answers: the signed result to pass to CompleteChallenge, and what it says."""

    token: str
    result: threeds.AcsResult


class ThreeDSService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        payments: PaymentService,
        authenticator: ThreeDSAuthenticator,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._payments = payments
        self._auth = authenticator
        self._clock = clock

    # --- the challenge --------------------------------------------------------------------------

    async def challenge(
        self, principal: Principal, payment_id: str
    ) -> tuple[threeds.Challenge, threeds.Authentication | None]:
        """A payment's challenge (pending, completed or expired) and its authentication as it stands."""
        state = await self._payments.get(principal, payment_id)
        if state.challenge is None:
            raise threeds.challenge_not_found(payment_id, "")
        return state.challenge, state.authentication

    async def simulate_acs(
        self, principal: Principal, payment_id: str, challenge_request: str, action: AcsAction | None
    ) -> AcsAnswer:
        """Play the cardholder at the ACS: verify the signed challenge request, answer it. Changes
        nothing: the merchant passes the signed result on to ``complete``."""
        v = Violations()
        check_id(v, "payment_id", payment_id, PAYMENT)
        if not challenge_request:
            v.add("challenge_request", "is required", "REQUIRED")
        if action is None:
            v.add("action", "must be approve, deny or wrong code", "REQUIRED")
        v.raise_if_any()
        assert action is not None
        state = await self._payments.get(principal, payment_id)
        fields = self._auth.challenge_requests.verify(challenge_request)
        request = threeds.read_challenge_request(fields) if fields is not None else None
        if request is None:
            raise _invalid(
                "challenge_request",
                "is not a challenge request paysim signed (altered, or not one at all)",
                "INVALID_CHALLENGE_REQUEST",
            )
        if request.payment_id != state.id:
            raise _invalid("challenge_request", "belongs to another payment", "CHALLENGE_REQUEST_MISMATCH")
        # On a test clock, its advance expires what falls due: the last event's time judges the same.
        now = state.updated_at if state.test_clock_id else self._clock()
        try:
            threeds.open_challenge(state.challenge, state.id, request.challenge_id, now)
        except FailedPrecondition as refusal:
            await self._expire_if_late(refusal, payment_id)
            raise
        answer = threeds.acs_answer(request, action, self._auth.cavv_key)
        return AcsAnswer(self._auth.acs_results.sign(answer.fields()), answer)

    async def complete(
        self,
        principal: Principal,
        payment_id: str,
        challenge_id: str,
        acs_result: str,
        idem: IdempotencyKey | None,
        override: Override | None = None,
    ) -> PaymentResult:
        """Complete a payment's challenge with the ACS's signed result: authenticated, the payment
        goes on to the gateway; otherwise it fails. A challenge is completed once."""
        v = Violations()
        check_id(v, "payment_id", payment_id, PAYMENT)
        check_id(v, "challenge_id", challenge_id, threeds.CHALLENGE)
        if not acs_result:
            v.add("acs_result", "is required", "REQUIRED")
        v.raise_if_any()
        fields = self._auth.acs_results.verify(acs_result)
        answer = threeds.read_acs_result(fields) if fields is not None else None
        if answer is None:
            raise _invalid(
                "acs_result", "is not a result the ACS signed (altered, or not one at all)", "INVALID_ACS_RESULT"
            )

        def decide(state: payment.PaymentState, now: datetime) -> PaymentEvent:
            challenge = threeds.open_challenge(state.challenge, state.id, challenge_id, now)
            if answer.challenge_id != challenge.id or answer.payment_id != state.id:
                raise _invalid("acs_result", "answers another challenge", "ACS_RESULT_MISMATCH")
            status = answer.trans_status
            result = threeds.Authentication(
                trans_status=status,
                ds_transaction_id=answer.ds_transaction_id,
                eci=threeds.eci(state.card.brand, status),
                cavv=answer.cavv,
                reason=answer.reason,
                challenged=True,
            )
            if threeds.proceeds(status):
                return ThreeDSAuthenticated(at=now, authentication=result)
            reason = threeds.FAILURE_REASONS.get(status, threeds.FAILURE_REASONS[TransStatus.NOT_AUTHENTICATED])
            return ThreeDSFailed(at=now, authentication=result, reason=reason)

        try:
            return await self._payments.resume(principal, payment_id, decide, idem, override)
        except FailedPrecondition as refusal:
            if not refusal.replayed:
                await self._expire_if_late(refusal, payment_id)
            raise

    async def _expire_if_late(self, refusal: FailedPrecondition, payment_id: str) -> None:
        """Whoever finds a challenge past its time expires it on the spot, not waiting for the sweep."""
        if refusal.reason == _EXPIRED:
            await self.expire(payment_id)

    # --- expiry ---------------------------------------------------------------------------------

    async def expire_challenges(
        self, limit: int = 100, *, test_clock_id: str = "", up_to: datetime | None = None
    ) -> int:
        """Fail the payments whose challenge was not completed in time, on real time or (with
        ``test_clock_id``) those of a test clock whose time is ``up_to``; returns how many."""
        now = self._clock() if up_to is None else up_to
        async with self._uow() as uow:
            due = await uow.payments.awaiting_action(now - threeds.CHALLENGE_TTL, limit, test_clock_id)
        expired = 0
        for payment_id in due:
            if await self.expire(payment_id):
                expired += 1
        return expired

    async def expire(self, payment_id: str) -> bool:
        """Fail one payment whose challenge is past its expiry. False if there was nothing to do
        (not waiting, not yet due, or completed meanwhile). On a test clock it expires at the time
        its challenge fell due: what calls this for it (the clock's advance, or an answer its
        clock's time refused as late) knows that time has come."""
        for attempt in range(_EXPIRE_ATTEMPTS):
            try:
                async with self._uow() as uow:
                    state = await uow.payments.get(payment_id, for_update=True)
                    now = self._clock()
                    if state is not None and state.test_clock_id and state.challenge is not None:
                        now = state.challenge.expires_at
                    if (
                        state is None
                        or state.status is not payment.Status.REQUIRES_ACTION
                        or not threeds.due_to_expire(state.challenge, now)
                    ):
                        return False
                    ds_id = state.authentication.ds_transaction_id if state.authentication is not None else ""
                    result = threeds.result(
                        TransStatus.NOT_AUTHENTICATED,
                        state.card.brand,
                        ds_id,
                        self._auth.cavv_key,
                        reason="challenge_expired",
                        challenged=True,
                    )
                    event = ThreeDSChallengeExpired(at=now, authentication=result, reason=threeds.EXPIRED_REASON)
                    after = payment.apply(state, event)
                    await uow.payments.save(state, after, [event])
                    await uow.commit()
                return True
            except Aborted as conflict:
                if conflict.reason not in (CONCURRENT_MODIFICATION, TRANSACTION_CONFLICT):
                    raise
                if attempt == _EXPIRE_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # --- the merchant's policy ------------------------------------------------------------------

    async def get_policy(self, principal: Principal, merchant_id: str) -> StoredPolicy:
        v = Violations()
        check_id(v, "merchant_id", merchant_id, "mer", required=False)
        v.raise_if_any()
        merchant_id = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            if await uow.merchants.get(merchant_id) is None:
                raise NotFound("merchant", merchant_id)
            stored = await uow.three_ds_policies.get(merchant_id)
        return stored if stored is not None else StoredPolicy(merchant_id, Policy(), None)

    async def set_policy(self, principal: Principal, merchant_id: str, policy: Policy | None) -> StoredPolicy:
        """Replace the merchant's policy. ``None``: no mode was given."""
        v = Violations()
        check_id(v, "merchant_id", merchant_id, "mer", required=False)
        if policy is None:
            v.add("mode", "must be never, always or above amount", "REQUIRED")
        else:
            threeds.check_policy(v, policy)
        v.raise_if_any()
        assert policy is not None
        merchant_id = target_merchant(principal, merchant_id)
        async with self._uow() as uow:
            if await uow.merchants.get(merchant_id) is None:
                raise NotFound("merchant", merchant_id)
            stored = await uow.three_ds_policies.put(merchant_id, policy, self._clock())
            await uow.commit()
        self._auth.policy_changed(merchant_id)
        return stored

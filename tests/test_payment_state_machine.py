"""A model-based test of the payment lifecycle: Hypothesis drives random sequences of create /
capture / void / refund (and idempotent repeats) through the real server, keeps its own model of
every payment, and after every step checks the server against the model:

- the answer to each operation (success, or FAILED_PRECONDITION with which reason) is the one the
  model predicts from the payment.proto contract;
- 0 ≤ refunded ≤ captured ≤ authorized ≤ amount, net = captured - fee - refunded, the status,
  the fee (the merchant's percentage rounded half up plus its fixed part, at most the capture)
  and the version (events appended) agree with the model;
- replaying the payment's stored events rebuilds exactly its stored projection.

The model is written from the contract, not from the server's code: its decline triggers are the
public test cards, magic amounts and "decline <code>" holder names.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import grpc
import pytest
from google.protobuf import any_pb2, symbol_database
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, precondition, rule, run_state_machine_as_test
from paysim_proto.v1 import merchant_pb2, payment_pb2

from paysim.domain import ids
from paysim.domain import payment as agg
from tests.support.client import RichError, Stubs, refund_status, rich_error
from tests.support.factories import register_merchant, unique
from tests.support.harness import ServerHandle

pytestmark = pytest.mark.timeout(300)

OK = grpc.StatusCode.OK
FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT
MAX_AMOUNT = 10**12
EXP_YEAR = datetime.now(UTC).year + 2
S = payment_pb2

# Cards that approve, with their CVC length (American Express has four digits).
APPROVING_CARDS = {
    "4242424242424242": 3,
    "5555555555554444": 3,
    "2223003122003222": 3,
    "378282246310005": 4,
    "371449635398431": 4,
    "6011111111111117": 3,
    "36227206271667": 3,
    "3566002020360505": 3,
    "6200000000000005": 3,
}
# Public decline test cards → decline code; 1,000,000 + their last four digits is the magic amount.
DECLINING_CARDS = {
    "4000000000000002": "generic_decline",
    "4000000000009995": "insufficient_funds",
    "4000000000009987": "lost_card",
    "4000000000009979": "stolen_card",
    "4000000000000069": "expired_card",
    "4000000000000127": "incorrect_cvc",
    "4000000000000119": "processing_error",
    "4000000000006975": "card_velocity_exceeded",
    "4100000000000019": "fraudulent",
}
MAGIC_AMOUNTS = {1_000_000 + int(pan[-4:]): code for pan, code in DECLINING_CARDS.items()}
# Holder name → the decline it triggers (None: an ordinary name).
HOLDER_NAMES: dict[str, str | None] = {
    "Model Tester": None,
    "": None,
    "decline insufficient_funds": "insufficient_funds",
    "  DECLINE   do_not_honor ": "do_not_honor",
    "Decline lost_card": "lost_card",
    "decline not_a_real_code": None,
    "decline": None,
}
CURRENCIES = ["", "USD", "EUR", "JPY", "KWD"]


def luhn_complete(partial: str) -> str:
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return partial + str((10 - total % 10) % 10)


def random_pan() -> str:
    """A Luhn-valid Visa number outside the test catalogue: it approves."""
    while True:
        pan = luhn_complete("49" + "".join(secrets.choice("0123456789") for _ in range(13)))
        if pan not in APPROVING_CARDS and pan not in DECLINING_CARDS:
            return pan


def chargeable(amount: int, currency: str) -> int:
    """The drawn amount moved into what Stripe's amount rules accept (payments.proto): at least
    the currency's minimum, whole tens in the three-decimal KWD."""
    if currency == "KWD":
        amount -= amount % 10
    return max(amount, {"USD": 50, "EUR": 50, "JPY": 50}.get(currency, 10))


def predicted_decline(pan: str, amount: int, holder_name: str) -> str | None:
    """Holder name first, then the magic amount, then the card (payment.proto, scenarios)."""
    if (code := HOLDER_NAMES[holder_name]) is not None:
        return code
    if amount in MAGIC_AMOUNTS:
        return MAGIC_AMOUNTS[amount]
    return DECLINING_CARDS.get(pan)


def fee_for(captured: int, percent_bps: int, fixed: int) -> int:
    if captured <= 0:
        return 0
    return min(captured, (captured * percent_bps + 5_000) // 10_000 + fixed)


# --- the model -------------------------------------------------------------------------------------


@dataclass
class Model:
    id: str
    amount: int
    currency: str
    capture_method: int
    status: int
    authorized: int = 0
    captured: int = 0
    refunded: int = 0
    fee: int = 0
    decline_code: str = ""
    refunds: list[int] = field(default_factory=list)
    version: int = 0

    @property
    def refundable(self) -> int:
        return self.captured - self.refunded


@dataclass
class Expected:
    code: grpc.StatusCode
    reason: str = ""


@dataclass
class Answer:
    response: Any = None
    error: RichError | None = None
    trailers: dict[str, str] = field(default_factory=dict)
    # The error's google.rpc.Status details, decoded, without RequestInfo (the request id is per call).
    details: list[Message] = field(default_factory=list)

    @property
    def code(self) -> grpc.StatusCode:
        return OK if self.error is None else self.error.code


@dataclass
class Keyed:
    """A request sent with an idempotency key, and what it answered the first time."""

    method: str
    request: Any
    key: str
    first: Answer


_RICH_DETAILS = error_details_pb2.DESCRIPTOR  # the google.rpc detail messages, registered for _unpack


def _unpack(detail: any_pb2.Any) -> Message:
    """A status detail as its message, so that equal details compare equal (map order aside)."""
    cls = symbol_database.Default().GetSymbol(detail.type_url.rsplit("/", 1)[-1])
    message: Message = cls()
    assert detail.Unpack(message)
    return message


def call(stubs: Stubs, method: str, request: Any, key: str | None = None) -> Answer:
    metadata = [("idempotency-key", key)] if key else []
    try:
        response, c = getattr(stubs.payments, method).with_call(request, metadata=metadata)
    except grpc.RpcError as error:
        trailers = {k: v for k, v in (error.trailing_metadata() or ()) if isinstance(v, str)}  # type: ignore[attr-defined]
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        details = [_unpack(d) for d in (status.details if status else ()) if not d.type_url.endswith("RequestInfo")]
        return Answer(error=rich_error(error), trailers=trailers, details=details)
    return Answer(response=response, trailers={k: v for k, v in (c.trailing_metadata() or ()) if isinstance(v, str)})


def comparable_error(error: RichError) -> tuple[Any, ...]:
    """Everything of an error a replay must repeat (the request id is per call)."""
    return (
        error.code,
        error.message,
        error.reason,
        error.domain,
        error.metadata,
        error.field_violations,
        [t for t in error.detail_types if t != "google.rpc.RequestInfo"],
    )


@dataclass
class Context:
    server: ServerHandle
    stubs: Stubs
    fee_percent_bps: int
    fee_fixed: int
    default_currency: str


class PaymentMachine(RuleBasedStateMachine):
    context: ClassVar[Context | None] = None

    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        assert self.context is not None, "set PaymentMachine.context before running"
        self.ctx = self.context
        self.models: dict[str, Model] = {}
        self.keyed: list[Keyed] = []

    # --- checks ---------------------------------------------------------------------------------

    def expect(self, answer: Answer, expected: Expected, what: str) -> None:
        got = (answer.code, answer.error.reason if answer.error else "")
        want = (expected.code, expected.reason if expected.code is not OK else "")
        if expected.code is INVALID_ARGUMENT:  # the field is named in BadRequest
            got = (answer.code, ",".join(sorted(answer.error.field_violations)) if answer.error else "")
        assert got == want, f"{what}: server answered {got}, model expected {want} ({answer.error})"
        event(f"{what.split()[0]}: {want[0].name} {want[1]}".strip())

    def check(self, model: Model, answered: S.Payment | None = None) -> None:
        payment: S.Payment = self.ctx.stubs.payments.GetPayment(S.GetPaymentRequest(payment_id=model.id)).payment
        if answered is not None:
            assert answered.SerializeToString(deterministic=True) == payment.SerializeToString(deterministic=True)
        p = payment
        assert 0 <= p.refunded_amount_minor <= p.captured_amount_minor <= p.authorized_amount_minor <= p.amount_minor
        assert p.net_amount_minor == p.captured_amount_minor - p.fee_amount_minor - p.refunded_amount_minor
        observed = (
            p.status,
            p.amount_minor,
            p.currency_code,
            p.capture_method,
            p.authorized_amount_minor,
            p.captured_amount_minor,
            p.refunded_amount_minor,
            p.fee_amount_minor,
            p.decline.code,
            [r.amount_minor for r in p.refunds],
            p.version,
        )
        modelled = (
            model.status,
            model.amount,
            model.currency,
            model.capture_method,
            model.authorized,
            model.captured,
            model.refunded,
            model.fee,
            model.decline_code,
            model.refunds,
            model.version,
        )
        assert observed == modelled, f"server {observed} != model {modelled}"
        assert all(refund_status(r) == "succeeded" for r in p.refunds)
        self.check_replay(model.id)

    def check_replay(self, payment_id: str) -> None:
        async def history() -> tuple[list[Any], agg.PaymentState | None]:
            async with self.ctx.server.app.unit_of_work() as uow:
                return await uow.payments.events(payment_id), await uow.payments.get(payment_id)

        events, projection = self.ctx.server.run(history())
        assert [e.version for e in events] == list(range(1, len(events) + 1))
        assert projection is not None
        assert agg.replay(payment_id, [e.as_domain() for e in events]) == projection

    def target(self, payment_id: str, data: st.DataObject, statuses: tuple[int, ...]) -> Model:
        """Usually a payment the operation can succeed on (when there is one), else the drawn one."""
        # Creation order, never id order: ids are random, and a choice must pick the same payment
        # when Hypothesis replays the same draws.
        live = [m.id for m in self.models.values() if m.status in statuses]
        if live and data.draw(st.sampled_from([True, True, False]), label="prefer a live payment"):
            payment_id = data.draw(st.sampled_from(live), label="live payment")
        return self.models[payment_id]

    def remember(self, method: str, request: Any, key: str | None, answer: Answer) -> None:
        if key is not None:
            self.keyed.append(Keyed(method, request, key, answer))

    # --- rules ------------------------------------------------------------------------------------

    @rule(
        target=payments,
        # Weighted towards payments that can go somewhere: manual, approved, ordinary amounts.
        manual=st.sampled_from([True, True, True, False]),
        card=st.sampled_from(sorted(APPROVING_CARDS) * 3 + ["random"] * 2 + sorted(DECLINING_CARDS)),
        amount=st.one_of(
            st.integers(1, 100_000),
            st.integers(1, 100_000),
            st.integers(1, 100_000),
            st.sampled_from(sorted(MAGIC_AMOUNTS)),
            st.integers(1, MAX_AMOUNT),
            st.just(MAX_AMOUNT),
        ),
        currency=st.sampled_from(CURRENCIES),
        holder=st.sampled_from(["Model Tester"] * 6 + sorted(HOLDER_NAMES)),
        keyed=st.booleans(),
    )
    def create(self, manual: bool, card: str, amount: int, currency: str, holder: str, keyed: bool) -> str:
        amount = chargeable(amount, currency or self.ctx.default_currency)
        pan = random_pan() if card == "random" else card
        cvc_digits = APPROVING_CARDS.get(pan, 3)
        request = S.CreatePaymentRequest(
            amount_minor=amount,
            currency_code=currency,
            card=S.CardInput(number=pan, exp_month=6, exp_year=EXP_YEAR, cvc="4" * cvc_digits, holder_name=holder),
            capture_method=S.CAPTURE_METHOD_MANUAL if manual else S.CAPTURE_METHOD_AUTOMATIC,
            description="model",
        )
        key = unique("create") if keyed else None
        answer = call(self.ctx.stubs, "CreatePayment", request, key)
        self.expect(answer, Expected(OK), "create")
        payment = answer.response.payment
        model = Model(
            id=payment.id,
            amount=amount,
            currency=currency or self.ctx.default_currency,
            capture_method=request.capture_method,
            status=S.PAYMENT_STATUS_PROCESSING,
            version=1,
        )
        decline = predicted_decline(pan, amount, holder)
        if decline is not None:
            model.status, model.decline_code, model.version = S.PAYMENT_STATUS_DECLINED, decline, 2
        else:
            model.status, model.authorized, model.version = S.PAYMENT_STATUS_AUTHORIZED, amount, 2
            if not manual:
                model.status, model.captured, model.version = S.PAYMENT_STATUS_CAPTURED, amount, 3
                model.fee = fee_for(amount, self.ctx.fee_percent_bps, self.ctx.fee_fixed)
        assert payment.card.last4 == pan[-4:] and payment.card.bin == pan[:6]
        self.models[model.id] = model
        self.remember("CreatePayment", request, key, answer)
        self.check(model, payment)
        return model.id

    @rule(payment_id=payments, data=st.data(), keyed=st.booleans())
    def capture(self, payment_id: str, data: st.DataObject, keyed: bool) -> None:
        model = self.target(payment_id, data, (S.PAYMENT_STATUS_AUTHORIZED,))
        payment_id = model.id
        authorized = model.authorized
        amount = data.draw(
            st.one_of(
                st.just(0),
                st.integers(1, max(1, authorized)),
                st.just(authorized),
                st.integers(min(authorized + 1, MAX_AMOUNT), MAX_AMOUNT),
                st.sampled_from([-1, MAX_AMOUNT + 1]),
            ),
            label="capture amount",
        )
        if not 0 <= amount <= MAX_AMOUNT:
            expected = Expected(INVALID_ARGUMENT, "amount_minor")
        elif model.status != S.PAYMENT_STATUS_AUTHORIZED:
            expected = Expected(FAILED_PRECONDITION, "PAYMENT_NOT_CAPTURABLE")
        elif amount > authorized:
            expected = Expected(FAILED_PRECONDITION, "AMOUNT_EXCEEDS_AUTHORIZED")
        else:
            expected = Expected(OK)
        request = S.CapturePaymentRequest(payment_id=payment_id, amount_minor=amount)
        key = unique("capture") if keyed else None
        answer = call(self.ctx.stubs, "CapturePayment", request, key)
        self.expect(answer, expected, f"capture {amount} of {model}")
        if expected.code is OK:
            model.captured = amount or authorized
            model.fee = fee_for(model.captured, self.ctx.fee_percent_bps, self.ctx.fee_fixed)
            model.status = S.PAYMENT_STATUS_CAPTURED
            model.version += 2
        self.remember("CapturePayment", request, key, answer)
        self.check(model, answer.response.payment if answer.response else None)

    @rule(payment_id=payments, data=st.data(), keyed=st.booleans())
    def void(self, payment_id: str, data: st.DataObject, keyed: bool) -> None:
        model = self.target(payment_id, data, (S.PAYMENT_STATUS_AUTHORIZED,))
        payment_id = model.id
        if model.status != S.PAYMENT_STATUS_AUTHORIZED:
            expected = Expected(FAILED_PRECONDITION, "PAYMENT_NOT_VOIDABLE")
        else:
            expected = Expected(OK)
        request = S.VoidPaymentRequest(payment_id=payment_id)
        key = unique("void") if keyed else None
        answer = call(self.ctx.stubs, "VoidPayment", request, key)
        self.expect(answer, expected, f"void of {model}")
        if expected.code is OK:
            model.status = S.PAYMENT_STATUS_VOIDED
            model.version += 2
        self.remember("VoidPayment", request, key, answer)
        self.check(model, answer.response.payment if answer.response else None)

    @rule(payment_id=payments, data=st.data(), keyed=st.booleans())
    def refund(self, payment_id: str, data: st.DataObject, keyed: bool) -> None:
        model = self.target(payment_id, data, (S.PAYMENT_STATUS_CAPTURED, S.PAYMENT_STATUS_PARTIALLY_REFUNDED))
        payment_id = model.id
        refundable = model.refundable
        amount = data.draw(
            st.one_of(
                st.just(0),
                st.integers(1, max(1, refundable)),
                st.just(refundable),
                st.integers(refundable + 1, refundable + 1_000),
                st.sampled_from([-5, MAX_AMOUNT + 1]),
            ),
            label="refund amount",
        )
        if not 0 <= amount <= MAX_AMOUNT:
            expected = Expected(INVALID_ARGUMENT, "amount_minor")
        elif model.status not in (S.PAYMENT_STATUS_CAPTURED, S.PAYMENT_STATUS_PARTIALLY_REFUNDED):
            expected = Expected(FAILED_PRECONDITION, "PAYMENT_NOT_REFUNDABLE")
        elif amount > refundable or refundable <= 0:
            expected = Expected(FAILED_PRECONDITION, "AMOUNT_EXCEEDS_REFUNDABLE")
        else:
            expected = Expected(OK)
        request = S.RefundPaymentRequest(payment_id=payment_id, amount_minor=amount, reason="model")
        key = unique("refund") if keyed else None
        answer = call(self.ctx.stubs, "RefundPayment", request, key)
        self.expect(answer, expected, f"refund {amount} of {model}")
        if expected.code is OK:
            refunded = amount or refundable
            model.refunds.append(refunded)
            model.refunded += refunded
            model.status = (
                S.PAYMENT_STATUS_REFUNDED if model.refunded == model.captured else S.PAYMENT_STATUS_PARTIALLY_REFUNDED
            )
            model.version += 2
            refund = answer.response.refund
            assert (refund.amount_minor, refund_status(refund), refund.payment_id) == (
                refunded,
                "succeeded",
                payment_id,
            )
            assert refund.currency_code == model.currency
        self.remember("RefundPayment", request, key, answer)
        self.check(model, answer.response.payment if answer.response else None)

    @precondition(lambda self: bool(self.keyed))
    @rule(data=st.data())
    def repeat_keyed_request(self, data: st.DataObject) -> None:
        """The same request with the same key: the first answer again, whatever happened since."""
        keyed = data.draw(st.sampled_from(self.keyed), label="repeated request")
        again = call(self.ctx.stubs, keyed.method, keyed.request, keyed.key)
        first = keyed.first
        if first.error is None:
            assert again.error is None, again.error
            assert again.response.SerializeToString(deterministic=True) == first.response.SerializeToString(
                deterministic=True
            )
            assert again.trailers.get("idempotent-replayed") == "true"
        else:
            assert again.error is not None, f"{keyed.method} first failed with {first.error}, now succeeded"
            assert comparable_error(again.error) == comparable_error(first.error)
            assert again.details == first.details, "a replayed refusal must carry the same rich details"
            if first.error.code is FAILED_PRECONDITION:  # it executed and was refused: a stored refusal
                assert again.trailers.get("idempotent-replayed") == "true"
        payment_id = getattr(keyed.request, "payment_id", "") or (first.response.payment.id if first.response else "")
        if payment_id in self.models:
            self.check(self.models[payment_id])

    @precondition(lambda self: any(k.first.code in (OK, FAILED_PRECONDITION) for k in self.keyed))
    @rule(data=st.data())
    def reuse_key_with_other_parameters(self, data: st.DataObject) -> None:
        """A claimed key with different parameters is refused, and nothing runs."""
        claimed = [k for k in self.keyed if k.first.code in (OK, FAILED_PRECONDITION)]
        keyed = data.draw(st.sampled_from(claimed), label="reused key")
        other = S.VoidPaymentRequest(payment_id=ids.new_id("pay"))
        answer = call(self.ctx.stubs, "VoidPayment", other, keyed.key)
        self.expect(answer, Expected(FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED"), "reused key")


def test_payment_lifecycle_matches_the_model(server: ServerHandle) -> None:
    stubs = server.stubs()
    account = register_merchant(stubs)
    merchant = stubs.as_(account.api_key).merchants.GetMerchant(merchant_pb2.GetMerchantRequest()).merchant
    PaymentMachine.context = Context(
        server=server,
        stubs=stubs.as_(account.api_key),
        fee_percent_bps=merchant.fee_percent_bps,
        fee_fixed=merchant.fee_fixed_minor,
        default_currency=merchant.default_currency_code,
    )
    try:
        run_state_machine_as_test(
            PaymentMachine,
            settings=settings(
                max_examples=30,
                stateful_step_count=20,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        PaymentMachine.context = None

"""PaymentService through a real server: the card catalogue, every decline code, magic amounts,
holder names, the lifecycle in every state, money in 0-, 2- and 3-decimal currencies."""

from __future__ import annotations

import itertools

import grpc
import pytest
from paysim_proto.v1 import customer_pb2, merchant_pb2, payment_pb2

from paysim.domain.declines import DECLINES
from paysim.domain.scenarios import CARD_SCENARIOS, MAGIC_AMOUNTS
from paysim.domain.threeds import profile_for
from tests.support.client import Stubs, expect_error, operation, outcome, refund_status
from tests.support.factories import MerchantAccount, create_customer, register_customer_user, register_merchant

P = payment_pb2
MANUAL = P.CAPTURE_METHOD_MANUAL


@pytest.fixture(scope="module")
def shop(server_stubs: Stubs) -> MerchantAccount:
    return register_merchant(server_stubs)


@pytest.fixture(scope="module")
def server_stubs(server) -> Stubs:  # type: ignore[no-untyped-def]
    return server.stubs()


@pytest.fixture
def api(server_stubs: Stubs, shop: MerchantAccount) -> Stubs:
    return server_stubs.as_(shop.api_key)


def card(number: str = "4242424242424242", cvc: str | None = None, holder: str = "Ann Payer") -> P.CardInput:
    digits = number.replace(" ", "")
    is_amex = digits.startswith(("34", "37"))
    return P.CardInput(
        number=number, exp_month=12, exp_year=2031, cvc=cvc or ("1234" if is_amex else "123"), holder_name=holder
    )


def create(api: Stubs, amount: int = 1000, currency: str = "USD", **kw: object) -> P.Payment:
    kw.setdefault("card", card())
    payment: P.Payment = api.payments.CreatePayment(
        P.CreatePaymentRequest(amount_minor=amount, currency_code=currency, **kw)  # type: ignore[arg-type]
    ).payment
    return payment


# Cards whose issuer requires 3-D Secure stop before the gateway: tests/test_threeds.py covers them.
STRAIGHT = {pan: s for pan, s in CARD_SCENARIOS.items() if not profile_for(s.kind).mandated}
APPROVING = sorted(pan for pan, s in STRAIGHT.items() if s.decline_code is None)
DECLINING = sorted((pan, s.decline_code) for pan, s in STRAIGHT.items() if s.decline_code is not None)
BLOCKED = {"4000000000004954", "4100000000000019", "4000000000000101"}


@pytest.mark.parametrize("pan", APPROVING)
def test_every_approving_catalogue_card_captures(api: Stubs, pan: str) -> None:
    p = create(api, card=card(pan))
    assert p.status == P.PAYMENT_STATUS_CAPTURED, CARD_SCENARIOS[pan].description
    assert p.captured_amount_minor == p.authorized_amount_minor == 1000
    assert p.card.last4 == pan[-4:] and p.card.bin == pan[:6]
    assert p.card.brand != "unknown"
    assert [operation(a) for a in p.attempts] == ["authorize"]
    assert p.attempts[0].gateway == "simulator" and outcome(p.attempts[0]) == "approved"


@pytest.mark.parametrize(("pan", "code"), DECLINING)
def test_every_declining_catalogue_card(api: Stubs, pan: str, code: str) -> None:
    p = create(api, card=card(pan))
    assert p.status == P.PAYMENT_STATUS_DECLINED
    assert p.decline.code == code
    assert p.decline.message and p.decline.error_code == DECLINES[code].error_code
    assert p.decline.retryable == DECLINES[code].retryable
    assert p.captured_amount_minor == 0 and p.authorized_amount_minor == 0
    if pan in BLOCKED:  # a default fraud rule blocks it before any gateway (tests/sdk/test_screening_cards.py)
        assert p.decline.blocked_by and not p.attempts
    else:
        assert outcome(p.attempts[0]) == "declined" and p.attempts[0].detail == code


def test_reference_decline_cards_have_their_codes(api: Stubs) -> None:
    expected = {
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
    for pan, code in expected.items():
        assert create(api, card=card(pan)).decline.code == code


@pytest.mark.parametrize("amount", sorted(MAGIC_AMOUNTS))
def test_magic_amounts_force_declines_with_any_card(api: Stubs, amount: int) -> None:
    p = create(api, amount=amount, card=card("5555555555554444"))
    assert p.status == P.PAYMENT_STATUS_DECLINED
    assert p.decline.code == MAGIC_AMOUNTS[amount].decline_code


def test_every_decline_code_can_be_forced_by_holder_name(api: Stubs) -> None:
    for code in DECLINES:
        p = create(api, card=card(holder=f"Decline {code}"))
        assert (p.status, p.decline.code) == (P.PAYMENT_STATUS_DECLINED, code)


def test_holder_name_wins_over_magic_amount_and_card(api: Stubs) -> None:
    p = create(api, amount=1_009_995, card=card("4000000000000002", holder="decline lost_card"))
    assert p.decline.code == "lost_card"


def test_a_valid_card_outside_the_catalogue_approves(api: Stubs) -> None:
    p = create(api, card=card("4111111111111111"))
    assert p.status == P.PAYMENT_STATUS_CAPTURED


def test_cards_that_require_three_ds_are_left_to_its_tests() -> None:
    held_back = set(CARD_SCENARIOS) - set(STRAIGHT)
    assert held_back == {
        "4000002500003155",
        "4000002760003184",
        "4000000000003220",
        "4000000000003063",
        "4000003800000446",
        "4000008260003178",
        "4000008400001629",
        "4000008400001280",
    }


@pytest.mark.parametrize(
    ("card_input", "field", "reason_word"),
    [
        (P.CardInput(number="4242424242424241", exp_month=12, exp_year=2031, cvc="123"), "card.number", "Luhn"),
        (P.CardInput(number="4242", exp_month=12, exp_year=2031, cvc="123"), "card.number", ""),
        (P.CardInput(number="4242424242424242", exp_month=13, exp_year=2031, cvc="123"), "card.exp_month", ""),
        (P.CardInput(number="4242424242424242", exp_month=1, exp_year=2020, cvc="123"), "card.exp_year", ""),
        (P.CardInput(number="4242424242424242", exp_month=12, exp_year=2031, cvc="12"), "card.cvc", ""),
        (P.CardInput(number="378282246310005", exp_month=12, exp_year=2031, cvc="123"), "card.cvc", ""),
    ],
)
def test_invalid_cards_are_invalid_argument(api: Stubs, card_input: P.CardInput, field: str, reason_word: str) -> None:
    err = expect_error(
        api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=100, currency_code="USD", card=card_input)
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in err.field_violations
    assert card_input.number not in err.message and card_input.number not in str(err.field_violations)


@pytest.mark.parametrize("amount", [0, -1, 10**12 + 1])
def test_absurd_amounts_are_invalid(api: Stubs, amount: int) -> None:
    err = expect_error(api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=amount, card=card()))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "amount_minor" in err.field_violations


def test_unknown_currency_is_invalid(api: Stubs) -> None:
    err = expect_error(
        api.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=100, currency_code="XYZ", card=card())
    )
    assert "currency_code" in err.field_violations


def test_currency_defaults_to_the_merchants(api: Stubs) -> None:
    assert create(api, currency="").currency_code == "USD"


@pytest.mark.parametrize(("currency", "amount"), [("JPY", 1050), ("KWD", 1050), ("USD", 1050), ("BHD", 70)])
def test_zero_two_and_three_decimal_currencies_keep_minor_units(api: Stubs, currency: str, amount: int) -> None:
    p = create(api, amount=amount, currency=currency, capture_method=MANUAL)
    assert (p.amount_minor, p.currency_code, p.authorized_amount_minor) == (amount, currency, amount)
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=p.id)).payment
    assert captured.captured_amount_minor == amount
    first = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=1)).refund
    assert (first.amount_minor, first.currency_code) == (1, currency)


def test_manual_capture_partial_then_refunds_sum_exactly(api: Stubs) -> None:
    p = create(api, amount=10_000, capture_method=MANUAL)
    assert p.status == P.PAYMENT_STATUS_AUTHORIZED and p.captured_amount_minor == 0
    err = expect_error(api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=p.id, amount_minor=10_001))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and err.reason == "AMOUNT_EXCEEDS_AUTHORIZED"
    captured = api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=p.id, amount_minor=7_001)).payment
    assert captured.status == P.PAYMENT_STATUS_CAPTURED and captured.captured_amount_minor == 7_001
    err = expect_error(api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=p.id))
    assert err.reason == "PAYMENT_NOT_CAPTURABLE"
    parts = [3_000, 2_000, 2_000, 1]
    for i, part in enumerate(parts):
        reply = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=part, reason=f"r{i}"))
        assert refund_status(reply.refund) == "succeeded" and reply.refund.amount_minor == part
        assert reply.refund.id.startswith("re_")
    final = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert final.status == P.PAYMENT_STATUS_REFUNDED
    assert final.refunded_amount_minor == final.captured_amount_minor == sum(parts)
    err = expect_error(api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=p.id, amount_minor=1))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION and err.reason == "PAYMENT_NOT_REFUNDABLE"
    refunds = api.payments.ListRefunds(P.ListRefundsRequest(payment_id=p.id)).refunds
    assert [r.amount_minor for r in refunds] == parts and [r.reason for r in refunds] == ["r0", "r1", "r2", "r3"]


def test_refunds_are_listed_page_by_page(api: Stubs) -> None:
    p = create(api, amount=5_000)
    other = create(api, amount=5_000)
    for amount in (100, 200, 300, 400, 500):
        api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=amount))
    pages: list[list[int]] = []
    token = ""
    while True:
        page = api.payments.ListRefunds(P.ListRefundsRequest(payment_id=p.id, page_size=2, page_token=token))
        pages.append([r.amount_minor for r in page.refunds])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[100, 200], [300, 400], [500]]
    everything = api.payments.ListRefunds(P.ListRefundsRequest(payment_id=p.id, page_size=10_000))
    assert len(everything.refunds) == 5 and not everything.next_page_token
    first = api.payments.ListRefunds(P.ListRefundsRequest(payment_id=p.id, page_size=2))
    # A token belongs to its list: another payment's refunds refuse it, as does a bad page size.
    err = expect_error(
        api.payments.ListRefunds,
        P.ListRefundsRequest(payment_id=other.id, page_size=2, page_token=first.next_page_token),
    )
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in err.field_violations
    err = expect_error(api.payments.ListRefunds, P.ListRefundsRequest(payment_id=p.id, page_size=-1))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "page_size" in err.field_violations
    none = api.payments.ListRefunds(P.ListRefundsRequest(payment_id=other.id))
    assert list(none.refunds) == [] and not none.next_page_token


def test_refund_above_refundable_and_full_refund_by_default(api: Stubs) -> None:
    p = create(api, amount=5_000)
    api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=1_000))
    err = expect_error(api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=p.id, amount_minor=4_001))
    assert err.reason == "AMOUNT_EXCEEDS_REFUNDABLE" and err.metadata["refundable_amount_minor"] == "4000"
    partially = api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment
    assert partially.status == P.PAYMENT_STATUS_PARTIALLY_REFUNDED
    rest = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id)).refund
    assert rest.amount_minor == 4_000


def test_void_releases_an_authorization_once(api: Stubs) -> None:
    p = create(api, capture_method=MANUAL)
    voided = api.payments.VoidPayment(P.VoidPaymentRequest(payment_id=p.id)).payment
    assert voided.status == P.PAYMENT_STATUS_VOIDED
    assert [operation(a) for a in voided.attempts] == ["authorize", "void"]
    for call, req, reason in (
        (api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=p.id), "PAYMENT_NOT_VOIDABLE"),
        (api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=p.id), "PAYMENT_NOT_CAPTURABLE"),
        (api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=p.id), "PAYMENT_NOT_REFUNDABLE"),
    ):
        err = expect_error(call, req)
        assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, reason)
        assert err.metadata["status"] == "voided" and "google.rpc.PreconditionFailure" in err.detail_types


def test_operations_on_a_declined_payment_are_refused(api: Stubs) -> None:
    p = create(api, card=card("4000000000000002"), capture_method=MANUAL)
    for call, req in (
        (api.payments.CapturePayment, P.CapturePaymentRequest(payment_id=p.id)),
        (api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=p.id)),
        (api.payments.RefundPayment, P.RefundPaymentRequest(payment_id=p.id)),
    ):
        assert expect_error(call, req).code == grpc.StatusCode.FAILED_PRECONDITION


def test_captured_payment_cannot_be_voided(api: Stubs) -> None:
    p = create(api)
    assert (
        expect_error(api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=p.id)).reason == "PAYMENT_NOT_VOIDABLE"
    )


def test_fees_and_net_follow_the_merchants_settings(server_stubs: Stubs) -> None:
    account = register_merchant(server_stubs)
    owner = server_stubs.as_(account.access_token)
    owner.merchants.UpdateMerchant(merchant_pb2.UpdateMerchantRequest(fee_percent_bps=250, fee_fixed_minor=25))
    api = server_stubs.as_(account.api_key)
    p = create(api, amount=10_050)  # 2.5 % of 10,050 = 251.25 → 251, + 25
    assert p.fee_amount_minor == 276 and p.net_amount_minor == 10_050 - 276
    refunded = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=50)).payment
    assert refunded.net_amount_minor == 10_050 - 276 - 50
    owner.merchants.UpdateMerchant(merchant_pb2.UpdateMerchantRequest(fee_percent_bps=250, fee_fixed_minor=100))
    tiny = create(api, amount=50)  # the fee never exceeds the captured amount
    assert tiny.fee_amount_minor == 50 and tiny.net_amount_minor == 0
    err = expect_error(owner.merchants.UpdateMerchant, merchant_pb2.UpdateMerchantRequest(fee_percent_bps=10_001))
    assert "fee_percent_bps" in err.field_violations


def test_event_history_tells_the_whole_story(api: Stubs) -> None:
    p = create(api, capture_method=MANUAL, metadata={"order": "42"}, description="two mugs")
    api.payments.CapturePayment(P.CapturePaymentRequest(payment_id=p.id))
    api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=100))
    events = api.payments.ListPaymentEvents(P.ListPaymentEventsRequest(payment_id=p.id)).events
    assert [e.type for e in events] == [
        "payment.created",
        "payment.authorized",
        "payment.capture_requested",
        "payment.captured",
        "refund.requested",
        "refund.succeeded",
    ]
    assert [e.payment_version for e in events] == list(range(1, 7))
    assert all(a.sequence < b.sequence for a, b in itertools.pairwise(events))
    assert all(e.id.startswith("evt_") and e.payment_id == p.id and e.merchant_id == p.merchant_id for e in events)
    # Each event's data is the message of its type, amounts in minor units.
    assert [e.WhichOneof("data") for e in events] == [e.type.replace(".", "_") for e in events]
    created, authorized, requested, captured, refund, refunded = events
    assert (created.payment_created.amount_minor, created.payment_created.currency_code) == (p.amount_minor, "USD")
    assert created.payment_created.capture_method == P.CAPTURE_METHOD_MANUAL
    assert created.payment_created.description == "two mugs" and dict(created.payment_created.metadata) == {
        "order": "42"
    }
    assert created.payment_created.card.last4 == p.card.last4 and created.payment_created.fee_percent_bps > 0
    assert authorized.payment_authorized.amount_minor == p.amount_minor
    assert operation(authorized.payment_authorized.attempt) == "authorize"
    assert requested.payment_capture_requested.amount_minor == p.amount_minor
    assert captured.payment_captured.amount_minor == p.amount_minor and captured.payment_captured.fee_amount_minor > 0
    assert outcome(captured.payment_captured.attempt) == "approved"
    assert refund.refund_requested.amount_minor == 100 and refund.refund_requested.refund_id.startswith("re_")
    assert refunded.refund_succeeded.refund_id == refund.refund_requested.refund_id
    paged: list[str] = []
    token = ""
    while True:
        page = api.payments.ListPaymentEvents(
            P.ListPaymentEventsRequest(payment_id=p.id, page_size=4, page_token=token)
        )
        paged.extend(e.id for e in page.events)
        token = page.next_page_token
        if not token:
            break
    assert paged == [e.id for e in events]


def test_list_filters_and_pages(server_stubs: Stubs) -> None:
    account = register_merchant(server_stubs)
    api = server_stubs.as_(account.api_key)
    customer = create_customer(server_stubs, account.api_key, name="Buyer")
    made = [
        create(api, amount=500),
        create(api, amount=1500, capture_method=MANUAL),
        create(api, amount=2500, card=card("4000000000000002")),
        create(api, amount=3500, customer_id=customer.id),
        create(api, amount=4500, card=card("5555555555554444")),
    ]

    def ids(**kw: object) -> list[str]:
        found: list[str] = []
        token = ""
        while True:
            page = api.payments.ListPayments(P.ListPaymentsRequest(page_size=2, page_token=token, **kw))  # type: ignore[arg-type]
            found.extend(x.id for x in page.payments)
            token = page.next_page_token
            if not token:
                return found

    assert ids() == [p.id for p in reversed(made)]
    assert ids(statuses=[P.PAYMENT_STATUS_DECLINED]) == [made[2].id]
    assert ids(statuses=[P.PAYMENT_STATUS_AUTHORIZED, P.PAYMENT_STATUS_DECLINED]) == [made[2].id, made[1].id]
    assert ids(customer_id=customer.id) == [made[3].id]
    assert ids(min_amount_minor=1500, max_amount_minor=3500) == [made[3].id, made[2].id, made[1].id]
    assert ids(card_last4="4444") == [made[4].id]
    assert ids(created_after=made[3].create_time) == [made[4].id, made[3].id]
    assert ids(created_before=made[1].create_time) == [made[0].id]
    err = expect_error(api.payments.ListPayments, P.ListPaymentsRequest(card_last4="44"))
    assert "card_last4" in err.field_violations


def test_payments_are_tenant_isolated(server_stubs: Stubs, api: Stubs) -> None:
    mine = create(api, capture_method=MANUAL)
    other = register_merchant(server_stubs)
    theirs = server_stubs.as_(other.api_key)
    for call, req in (
        (theirs.payments.GetPayment, P.GetPaymentRequest(payment_id=mine.id)),
        (theirs.payments.CapturePayment, P.CapturePaymentRequest(payment_id=mine.id)),
        (theirs.payments.VoidPayment, P.VoidPaymentRequest(payment_id=mine.id)),
        (theirs.payments.RefundPayment, P.RefundPaymentRequest(payment_id=mine.id)),
        (theirs.payments.ListRefunds, P.ListRefundsRequest(payment_id=mine.id)),
        (theirs.payments.ListPaymentEvents, P.ListPaymentEventsRequest(payment_id=mine.id)),
    ):
        foreign = expect_error(call, req)
        missing = expect_error(call, type(req)(payment_id="pay_doesnotexist000000000"))
        assert (
            (foreign.code, foreign.reason)
            == (missing.code, missing.reason)
            == (
                grpc.StatusCode.NOT_FOUND,
                "PAYMENT_NOT_FOUND",
            )
        )
    assert mine.id not in [p.id for p in theirs.payments.ListPayments(P.ListPaymentsRequest()).payments]
    assert (
        api.payments.GetPayment(P.GetPaymentRequest(payment_id=mine.id)).payment.status == P.PAYMENT_STATUS_AUTHORIZED
    )
    err = expect_error(
        theirs.payments.CreatePayment,
        P.CreatePaymentRequest(
            amount_minor=100, card=card(), customer_id=create_customer(server_stubs, api.credential or "").id
        ),
    )
    assert err.code == grpc.StatusCode.NOT_FOUND


def test_a_customer_account_sees_only_its_own_payments(server_stubs: Stubs, shop: MerchantAccount, api: Stubs) -> None:
    person = register_customer_user(server_stubs)
    record = create_customer(server_stubs, shop.api_key, email=person.email)
    mine = create(api, customer_id=record.id)
    other = create(api)
    me = server_stubs.as_(person.access_token)
    assert me.payments.GetPayment(P.GetPaymentRequest(payment_id=mine.id)).payment.id == mine.id
    assert (
        expect_error(me.payments.GetPayment, P.GetPaymentRequest(payment_id=other.id)).code == grpc.StatusCode.NOT_FOUND
    )
    assert [p.id for p in me.payments.ListPayments(P.ListPaymentsRequest()).payments] == [mine.id]
    err = expect_error(me.payments.CreatePayment, P.CreatePaymentRequest(amount_minor=100, card=card()))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    assert customer_pb2  # the customer record API is exercised in test_customers


def test_idempotent_create_replays_exactly(api: Stubs) -> None:
    request = P.CreatePaymentRequest(amount_minor=1_009_995, currency_code="USD", card=card())
    first, call1 = api.payments.CreatePayment.with_call(request, metadata=[("idempotency-key", "order-1-attempt")])
    again, call2 = api.payments.CreatePayment.with_call(request, metadata=[("idempotency-key", "order-1-attempt")])
    assert first.SerializeToString() == again.SerializeToString()
    assert first.payment.status == P.PAYMENT_STATUS_DECLINED  # declines replay too
    assert ("idempotent-replayed", "true") in list(call2.trailing_metadata())
    assert ("idempotent-replayed", "true") not in list(call1.trailing_metadata())
    changed = P.CreatePaymentRequest(amount_minor=1_000, currency_code="USD", card=card())
    err = expect_error(api.payments.CreatePayment, changed, metadata=[("idempotency-key", "order-1-attempt")])
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "IDEMPOTENCY_KEY_REUSED")
    listed = api.payments.ListPayments(P.ListPaymentsRequest(min_amount_minor=1_009_995, max_amount_minor=1_009_995))
    assert [p.id for p in listed.payments].count(first.payment.id) == 1


def test_idempotency_of_refunds_and_refusals(api: Stubs) -> None:
    p = create(api, amount=1_000)
    key = [("idempotency-key", f"refund-{p.id}")]
    r1 = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=400), metadata=key)
    r2 = api.payments.RefundPayment(P.RefundPaymentRequest(payment_id=p.id, amount_minor=400), metadata=key)
    assert r1.SerializeToString() == r2.SerializeToString()
    assert api.payments.GetPayment(P.GetPaymentRequest(payment_id=p.id)).payment.refunded_amount_minor == 400
    # A refusal after execution started is stored and replayed as well.
    voidkey = [("idempotency-key", f"void-{p.id}")]
    first = expect_error(api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=p.id), metadata=voidkey)
    second = expect_error(api.payments.VoidPayment, P.VoidPaymentRequest(payment_id=p.id), metadata=voidkey)
    assert (first.code, first.reason, first.message) == (second.code, second.reason, second.message)


def test_requests_rejected_before_execution_do_not_burn_the_key(api: Stubs) -> None:
    key = [("idempotency-key", "validation-first")]
    bad = P.CreatePaymentRequest(amount_minor=0, card=card())
    assert expect_error(api.payments.CreatePayment, bad, metadata=key).code == grpc.StatusCode.INVALID_ARGUMENT
    good = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=700, card=card()), metadata=key)
    assert good.payment.status == P.PAYMENT_STATUS_CAPTURED
    for bad_key in ("", "x" * 256, "has space"):
        err = expect_error(
            api.payments.CreatePayment,
            P.CreatePaymentRequest(amount_minor=700, card=card()),
            metadata=[("idempotency-key", bad_key)],
        )
        assert err.code == grpc.StatusCode.INVALID_ARGUMENT and "idempotency-key" in err.field_violations


def test_keys_are_scoped_per_merchant(server_stubs: Stubs, api: Stubs) -> None:
    other = server_stubs.as_(register_merchant(server_stubs).api_key)
    key = [("idempotency-key", "shared-key-name")]
    a = api.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=card()), metadata=key).payment
    b = other.payments.CreatePayment(P.CreatePaymentRequest(amount_minor=100, card=card()), metadata=key).payment
    assert a.id != b.id and a.merchant_id != b.merchant_id

"""The flavoured gateway adapters (stripe, paypal, razorpay): cards through the shared scenario engine,
native decline vocabularies mapped both ways, id formats, the ledger by downstream key, methods, latency,
and the registry."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

import pytest

from paysim.domain.declines import DECLINES
from paysim.domain.payment_methods import MethodType
from paysim.domain.scenarios import CARD_SCENARIOS, MAGIC_AMOUNTS, ScenarioKind
from paysim.gateways.base import (
    METHOD_NOT_SUPPORTED,
    UNKNOWN_REFERENCE,
    AuthorizationRequest,
    Card,
    Gateway,
    GatewayResult,
    Outcome,
    PaymentMethod,
    PayPalWallet,
    Upi,
)
from paysim.gateways.flavoured import (
    DeclineTable,
    FlavouredGateway,
    FlavouredResult,
    NativeCode,
    PaymentRequest,
)
from paysim.gateways.paypal_like import PAYPAL_DECLINES, PAYPAL_RESPONSE_CODES, WALLET_RESTRICTED, PayPalLikeGateway
from paysim.gateways.razorpay_like import INVALID_VPA, RAZORPAY_DECLINES, RazorpayLikeGateway
from paysim.gateways.registry import GATEWAY_NAMES, build_gateways
from paysim.gateways.simulator import SimulatorGateway
from paysim.gateways.stripe_like import STRIPE_DECLINES, StripeLikeGateway

T = TypeVar("T")

APPROVE_CARD = "4242424242424242"
PLAIN_AMOUNT = 2_000

ADAPTERS: dict[str, type[FlavouredGateway]] = {
    "stripe": StripeLikeGateway,
    "paypal": PayPalLikeGateway,
    "razorpay": RazorpayLikeGateway,
}
TABLES = {"stripe": STRIPE_DECLINES, "paypal": PAYPAL_DECLINES, "razorpay": RAZORPAY_DECLINES}

# Formats per adapter: the authorization reference, its related object, capture, void and refund references.
UPPER17 = r"[A-Z0-9]{17}"
ID_FORMATS: dict[str, dict[str, str]] = {
    "stripe": {
        "authorize": r"pi_[A-Za-z0-9]{24}",
        "object": r"ch_[A-Za-z0-9]{24}",
        "capture": r"ch_[A-Za-z0-9]{24}",
        "void": r"pi_[A-Za-z0-9]{24}",
        "refund": r"re_[A-Za-z0-9]{24}",
    },
    "paypal": {
        "authorize": r"PAYID-[A-Z0-9]{24}",
        "object": UPPER17,
        "capture": UPPER17,
        "void": UPPER17,
        "refund": UPPER17,
    },
    "razorpay": {
        "authorize": r"pay_[A-Za-z0-9]{14}",
        "object": r"",
        "capture": r"pay_[A-Za-z0-9]{14}",
        "void": r"rfnd_[A-Za-z0-9]{14}",
        "refund": r"rfnd_[A-Za-z0-9]{14}",
    },
}

DECLINE_CARDS = {pan: s.decline_code for pan, s in CARD_SCENARIOS.items() if s.kind is ScenarioKind.DECLINE}
ENGINE_DECLINES = [("card", pan, PLAIN_AMOUNT, code) for pan, code in DECLINE_CARDS.items()] + [
    ("amount", APPROVE_CARD, amount, s.decline_code) for amount, s in MAGIC_AMOUNTS.items()
]

UNSUPPORTED: list[tuple[str, PaymentMethod]] = [
    ("stripe", Upi("success@razorpay")),
    ("stripe", PayPalWallet("payer@example.com")),
    ("paypal", Upi("success@razorpay")),
    ("razorpay", PayPalWallet("payer@example.com")),
]


def run(coro: Awaitable[T]) -> T:
    async def wrapper() -> T:
        return await coro

    return asyncio.run(wrapper())


def card_request(
    key: str = "pay_1:authorize",
    pan: str = APPROVE_CARD,
    amount: int = PLAIN_AMOUNT,
    holder_name: str = "Jane Doe",
    *,
    capture: bool = True,
) -> AuthorizationRequest:
    return AuthorizationRequest(key, amount, "USD", pan, 12, 2034, holder_name, capture)


def flavoured(result: GatewayResult) -> FlavouredResult:
    assert isinstance(result, FlavouredResult)
    return result


@pytest.fixture(params=sorted(ADAPTERS))
def name(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


def make(name: str, **kwargs: int) -> FlavouredGateway:
    return ADAPTERS[name](**kwargs)


# -- cards ---------------------------------------------------------------------------------------------


APPROVED_STATUS = {
    "stripe": ("succeeded", "requires_capture"),
    "paypal": ("COMPLETED", "CREATED"),
    "razorpay": ("captured", "authorized"),
}


@pytest.mark.parametrize("capture", [True, False])
def test_card_approves_with_native_status(name: str, capture: bool) -> None:
    gateway = make(name)
    result = run(gateway.authorize(card_request(capture=capture)))
    assert result.outcome is Outcome.APPROVED
    assert result.decline_code == ""
    assert result.native is not None
    assert result.native.gateway == name
    assert result.native.code == ""
    assert result.native.status == APPROVED_STATUS[name][0 if capture else 1]
    assert result.error_reason == ""
    assert re.fullmatch(ID_FORMATS[name]["authorize"], result.reference)
    assert re.fullmatch(ID_FORMATS[name]["object"], result.native.object_id)


@pytest.mark.parametrize(
    ("lever", "pan", "amount", "code"), ENGINE_DECLINES, ids=[f"{e[0]}-{e[3]}" for e in ENGINE_DECLINES]
)
def test_engine_declines_map_to_native_and_back(name: str, lever: str, pan: str, amount: int, code: str) -> None:
    table = TABLES[name]
    result = run(make(name).authorize(card_request(pan=pan, amount=amount)))
    assert result.outcome is Outcome.DECLINED
    assert result.decline_code == code
    assert result.native is not None
    assert result.native.native_code == table.to_native(code)
    assert table.to_paysim(result.native.native_code) == code
    assert result.message.startswith(f"{result.native.native_code}: ")
    assert re.fullmatch(ID_FORMATS[name]["authorize"], result.reference)


def test_every_paysim_code_round_trips_through_the_table(name: str) -> None:
    table = TABLES[name]
    natives = {table.to_native(code) for code in DECLINES}
    assert len(natives) == len(DECLINES)  # injective
    for code in DECLINES:
        assert table.to_paysim(table.to_native(code)) == code


def test_every_holder_name_decline_comes_back_as_its_code(name: str) -> None:
    gateway = make(name)

    async def all_codes() -> dict[str, FlavouredResult]:
        return {
            code: await gateway.authorize(card_request(f"pay_{code}:authorize", holder_name=f"Decline {code}"))
            for code in DECLINES
        }

    for code, result in run(all_codes()).items():
        assert result.outcome is Outcome.DECLINED
        assert result.decline_code == code
        assert result.native is not None
        assert result.native.native_code == TABLES[name].to_native(code)


def test_cards_decide_exactly_as_the_simulator(name: str) -> None:
    gateway, simulator = make(name), SimulatorGateway()

    async def both(pan: str) -> tuple[GatewayResult, GatewayResult]:
        key = f"pay_{pan}:authorize"
        return await gateway.authorize(card_request(key, pan)), await simulator.authorize(card_request(key, pan))

    for pan in CARD_SCENARIOS:
        mine, theirs = run(both(pan))
        assert (mine.outcome, mine.decline_code) == (theirs.outcome, theirs.decline_code), pan


def test_native_vocabularies() -> None:
    assert STRIPE_DECLINES.to_native("insufficient_funds") == NativeCode("card_declined", "insufficient_funds")
    assert STRIPE_DECLINES.to_native("expired_card") == NativeCode("expired_card", "expired_card")
    assert PAYPAL_DECLINES.to_native("insufficient_funds") == NativeCode("INSUFFICIENT_FUNDS", "5120")
    assert PAYPAL_DECLINES.to_native("expired_card") == NativeCode("CARD_EXPIRED", "5400")
    assert PAYPAL_DECLINES.to_native("generic_decline").code == "INSTRUMENT_DECLINED"
    assert PAYPAL_DECLINES.to_native("fraudulent").code == "TRANSACTION_REFUSED"
    assert set(PAYPAL_RESPONSE_CODES) == {n.reason for n in PAYPAL_DECLINES.forward.values()}
    assert RAZORPAY_DECLINES.to_native("generic_decline") == NativeCode("BAD_REQUEST_ERROR", "payment_failed")
    assert RAZORPAY_DECLINES.to_native("do_not_honor") == NativeCode("BAD_REQUEST_ERROR", "card_declined")
    assert RAZORPAY_DECLINES.to_native("insufficient_funds") == NativeCode("BAD_REQUEST_ERROR", "insufficient_funds")
    assert RAZORPAY_DECLINES.to_native("processing_error").code == "GATEWAY_ERROR"


def test_decline_table_must_be_total_and_injective() -> None:
    full = {code: NativeCode("x", code) for code in DECLINES}
    DeclineTable(full)
    with pytest.raises(ValueError, match="missing"):
        DeclineTable({k: v for k, v in full.items() if k != "lost_card"})
    with pytest.raises(ValueError, match="names both"):
        DeclineTable({**full, "lost_card": full["stolen_card"]})
    with pytest.raises(ValueError, match="extra"):
        DeclineTable(full, extra={full["lost_card"]: "stolen_card"})
    with pytest.raises(KeyError):
        DeclineTable(full).to_paysim(NativeCode("nope"))


# -- capture, void, refund, the ledger -----------------------------------------------------------------


def test_capture_void_refund_references(name: str) -> None:
    gateway = make(name)

    async def flow() -> list[FlavouredResult]:
        auth = await gateway.authorize(card_request(capture=False))
        return [
            auth,
            await gateway.capture("pay_1:capture", auth.reference, PLAIN_AMOUNT),
            await gateway.void("pay_1:void", auth.reference),
            await gateway.refund("pay_1:re_1", auth.reference, 500),
        ]

    auth, capture, void, refund = run(flow())
    for op, result in (("capture", capture), ("void", void), ("refund", refund)):
        assert result.outcome is Outcome.APPROVED, op
        assert re.fullmatch(ID_FORMATS[name][op], result.reference), (op, result.reference)
    assert auth.native is not None
    if name == "stripe":  # the capture is the intent's charge; a void cancels the intent itself
        assert capture.reference == auth.native.object_id
        assert void.reference == auth.reference
    if name == "paypal":  # a void names the authorization the order created
        assert void.reference == auth.native.object_id
    if name == "razorpay":  # a capture acts on the payment itself
        assert capture.reference == auth.reference
    assert gateway.ledger_size == 4


def test_a_repeated_key_returns_the_first_result_and_acts_once(name: str) -> None:
    gateway = make(name)

    async def flow() -> list[FlavouredResult]:
        first = await gateway.authorize(card_request())
        again = await gateway.authorize(card_request())
        different = await gateway.authorize(card_request(pan="4000000000000002", amount=99))
        cap1 = await gateway.capture("pay_1:capture", first.reference, 100)
        cap2 = await gateway.capture("pay_1:capture", first.reference, 100)
        ref1 = await gateway.refund("pay_1:re_1", first.reference, 50)
        ref2 = await gateway.refund("pay_1:re_1", first.reference, 50)
        return [first, again, different, cap1, cap2, ref1, ref2]

    first, again, different, cap1, cap2, ref1, ref2 = run(flow())
    assert again == first
    assert different == first  # same key, other parameters: still the first answer
    assert cap2 == cap1
    assert ref2 == ref1
    assert gateway.ledger_size == 3


def test_status_answers_from_the_ledger(name: str) -> None:
    gateway = make(name)

    async def flow() -> tuple[FlavouredResult | None, FlavouredResult, FlavouredResult | None, FlavouredResult | None]:
        before = await gateway.status("pay_1:authorize")
        result = await gateway.authorize(card_request(pan="4000000000009995"))
        return before, result, await gateway.status("pay_1:authorize"), await gateway.status("pay_1:capture")

    before, result, after, other = run(flow())
    assert before is None
    assert after == result
    assert after is not None and after.decline_code == "insufficient_funds"
    assert other is None
    assert run(gateway.healthy()) is True


def test_unknown_reference_is_a_refused_error_and_not_remembered(name: str) -> None:
    gateway = make(name)
    for call in (
        gateway.capture("k:capture", "sim_abc", 100),
        gateway.void("k:void", "sim_abc"),
        gateway.refund("k:refund", "sim_abc", 100),
    ):
        result = run(call)
        assert result.outcome is Outcome.ERROR
        assert result.error_reason == UNKNOWN_REFERENCE
        assert result.message.startswith(f"{UNKNOWN_REFERENCE}: ")
    assert gateway.ledger_size == 0
    assert run(gateway.status("k:capture")) is None


# -- methods -------------------------------------------------------------------------------------------


def pay(
    gateway: FlavouredGateway, method: PaymentMethod, amount: int = PLAIN_AMOUNT, key: str = "pay_m:authorize"
) -> FlavouredResult:
    return run(gateway.authorize_payment(PaymentRequest(key, amount, "INR", method)))


def test_card_method_through_authorize_payment(name: str) -> None:
    result = pay(make(name), Card("4000000000009995", 1, 2030, "Jane"))
    assert result.decline_code == "insufficient_funds"


def test_razorpay_upi_test_vpas() -> None:
    gateway = RazorpayLikeGateway()
    ok = pay(gateway, Upi("success@razorpay"), key="a")
    assert ok.outcome is Outcome.APPROVED
    assert re.fullmatch(r"pay_[A-Za-z0-9]{14}", ok.reference)
    assert ok.native is not None and ok.native.status == "captured"

    failed = pay(gateway, Upi("failure@razorpay"), key="b")
    assert failed.outcome is Outcome.DECLINED
    assert failed.decline_code == "generic_decline"
    assert failed.native is not None
    assert failed.native.native_code == NativeCode("BAD_REQUEST_ERROR", "payment_failed")

    unknown = pay(gateway, Upi("someone@okbank"), key="c")
    assert unknown.outcome is Outcome.DECLINED
    assert unknown.decline_code == "invalid_account"
    assert unknown.native is not None and unknown.native.native_code == INVALID_VPA
    assert RAZORPAY_DECLINES.to_paysim(INVALID_VPA) == "invalid_account"

    assert pay(gateway, Upi("  Success@Razorpay "), key="d").outcome is Outcome.APPROVED
    # The VPA alone decides: a magic amount does not decline success@razorpay.
    assert pay(gateway, Upi("success@razorpay"), amount=1_009_995, key="e").outcome is Outcome.APPROVED
    assert pay(gateway, Upi("success@razorpay"), key="a") == ok  # ledger by key
    assert gateway.ledger_size == 5


def test_paypal_wallet_by_email() -> None:
    gateway = PayPalLikeGateway()
    ok = pay(gateway, PayPalWallet("payer@example.com"), key="a")
    assert ok.outcome is Outcome.APPROVED
    assert re.fullmatch(r"PAYID-[A-Z0-9]{24}", ok.reference)
    assert ok.native is not None and ok.native.status == "COMPLETED"
    assert re.fullmatch(UPPER17, ok.native.object_id)

    poor = pay(gateway, PayPalWallet("payer@example.com"), amount=1_009_995, key="b")
    assert poor.decline_code == "insufficient_funds"
    assert poor.native is not None and poor.native.native_code == NativeCode("INSUFFICIENT_FUNDS", "5120")

    bad = pay(gateway, PayPalWallet("not-an-email"), key="c")
    assert bad.outcome is Outcome.DECLINED
    assert bad.decline_code == "invalid_account"
    assert bad.native is not None and bad.native.native_code == WALLET_RESTRICTED

    captured = run(gateway.refund("a:refund", ok.reference, 100))
    assert re.fullmatch(UPPER17, captured.reference)


@pytest.mark.parametrize(("gateway_name", "method"), UNSUPPORTED, ids=[f"{g}-{m.kind}" for g, m in UNSUPPORTED])
def test_a_method_the_gateway_does_not_take(gateway_name: str, method: PaymentMethod) -> None:
    gateway = make(gateway_name)
    assert not gateway.supports(method)
    assert not gateway.supports(method.kind)
    result = pay(gateway, method)
    assert result.outcome is Outcome.ERROR
    assert result.error_reason == METHOD_NOT_SUPPORTED
    assert result.message.startswith(f"{METHOD_NOT_SUPPORTED}: ")
    assert result.native is not None and result.native.code
    assert result.reference == ""
    assert gateway.ledger_size == 0  # refused before processing: nothing to remember
    assert run(gateway.status("pay_m:authorize")) is None


def test_methods_each_gateway_takes() -> None:
    assert StripeLikeGateway.methods == {MethodType.CARD}
    assert PayPalLikeGateway.methods == {MethodType.CARD, MethodType.PAYPAL_WALLET}
    assert RazorpayLikeGateway.methods == {MethodType.CARD, MethodType.UPI}


def test_every_gateway_answers_supports_and_takes_its_methods_through_authorize() -> None:
    """One protocol: a router asks ``supports`` and calls ``authorize`` whatever the gateway."""
    gateways: dict[str, Gateway] = dict(build_gateways())
    takes = {name: {kind for kind in MethodType if g.supports(kind)} for name, g in gateways.items()}
    assert takes == {
        "simulator": {MethodType.CARD},
        "stripe": {MethodType.CARD},
        "paypal": {MethodType.CARD, MethodType.PAYPAL_WALLET},
        "razorpay": {MethodType.CARD, MethodType.UPI},
    }
    upi = replace(card_request(pan=""), method=Upi("success@razorpay"))
    assert run(gateways["razorpay"].authorize(upi)).outcome is Outcome.APPROVED
    refused = run(gateways["simulator"].authorize(upi))
    assert (refused.outcome, refused.error_reason) == (Outcome.ERROR, METHOD_NOT_SUPPORTED)
    assert run(gateways["simulator"].status(upi.downstream_key)) is None  # refused: nothing remembered


# -- latency -------------------------------------------------------------------------------------------


def timed(call: Callable[[], Awaitable[T]]) -> tuple[T, float]:
    started = time.monotonic()
    result = run(call())
    return result, time.monotonic() - started


def test_latency_is_applied_when_configured(name: str) -> None:
    gateway = make(name, latency_ms=40)
    result, elapsed = timed(lambda: gateway.authorize(card_request()))
    assert elapsed >= 0.04
    assert result.latency_ms >= 40
    again, elapsed_again = timed(lambda: gateway.authorize(card_request()))
    assert elapsed_again >= 0.04  # a replay still crosses the (simulated) network
    assert again == result
    _, elapsed_capture = timed(lambda: gateway.capture("pay_1:capture", result.reference, 1))
    assert elapsed_capture >= 0.04


def test_no_latency_by_default(name: str) -> None:
    gateway = make(name)
    assert gateway.latency_ms == 0
    result, elapsed = timed(lambda: gateway.authorize(card_request()))
    assert elapsed < 0.03
    assert result.latency_ms < 30


def test_negative_latency_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="latency"):
        make(name, latency_ms=-1)


# -- registry ------------------------------------------------------------------------------------------


def test_build_gateways() -> None:
    simulator = SimulatorGateway()
    gateways = build_gateways(latency_ms={"paypal": 5}, simulator=simulator)
    assert sorted(gateways) == sorted(GATEWAY_NAMES) == ["paypal", "razorpay", "simulator", "stripe"]
    for key, gateway in gateways.items():
        assert gateway.name == key
    assert gateways["simulator"] is simulator
    paypal, stripe = gateways["paypal"], gateways["stripe"]
    assert isinstance(paypal, PayPalLikeGateway) and paypal.latency_ms == 5
    assert isinstance(stripe, StripeLikeGateway) and stripe.latency_ms == 0
    assert isinstance(build_gateways()["simulator"], SimulatorGateway)
    with pytest.raises(ValueError, match="simulator"):
        build_gateways(latency_ms={"simulator": 5})


def test_adapters_satisfy_the_gateway_protocol() -> None:
    gateways: list[Gateway] = [StripeLikeGateway(), PayPalLikeGateway(), RazorpayLikeGateway()]
    for gateway in gateways:
        result = run(gateway.authorize(card_request()))
        assert flavoured(result).outcome is Outcome.APPROVED


def test_concurrent_calls_with_one_key_act_once(name: str) -> None:
    gateway = make(name, latency_ms=5)

    async def race() -> list[FlavouredResult]:
        return list(await asyncio.gather(*(gateway.authorize(card_request()) for _ in range(5))))

    results = run(race())
    assert all(r == results[0] for r in results)
    assert gateway.ledger_size == 1

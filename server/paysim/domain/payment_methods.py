"""Payment methods besides cards: UPI collect requests (by virtual payment address) and PayPal
wallets (by the payer's email). Which gateway takes which is the gateway's business; this module
only names the methods and checks what a caller sends."""

from __future__ import annotations

import enum
import re

from paysim.domain.validation import Violations, check_email

# name@handle, as NPCI allows: letters, digits, dot, hyphen and underscore before the @.
_VPA = re.compile(r"[A-Za-z0-9._-]{2,256}@[A-Za-z][A-Za-z0-9]{1,63}")


class MethodType(enum.StrEnum):
    CARD = "card"
    UPI = "upi"
    PAYPAL_WALLET = "paypal_wallet"


def check_vpa(v: Violations, field: str, vpa: str) -> None:
    if not vpa:
        v.add(field, "is required", "REQUIRED")
    elif not _VPA.fullmatch(vpa):
        v.add(field, "must be a UPI virtual payment address such as success@razorpay", "INVALID_VPA")


def check_payer_email(v: Violations, field: str, email: str) -> None:
    check_email(v, field, email)

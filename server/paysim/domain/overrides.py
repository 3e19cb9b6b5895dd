"""Per-request simulation overrides, sent as request metadata so a test can target one payment:

    paysim-force-outcome: approve | decline | decline:<code> | error
    paysim-latency-ms:    0 … 30000   (the gateway takes this long to answer)

They act on the gateway call of that one request and on nothing else.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from paysim.domain.declines import DECLINES
from paysim.domain.validation import Violations

FORCE_HEADER = "paysim-force-outcome"
LATENCY_HEADER = "paysim-latency-ms"
OVERRIDE_HEADERS = (FORCE_HEADER, LATENCY_HEADER)
MAX_LATENCY_MS = 30_000


class Forced(enum.StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Override:
    outcome: Forced | None = None
    decline_code: str = "generic_decline"
    latency_ms: int = 0


def parse_override(metadata: Mapping[str, str]) -> Override | None:
    """The override a request asks for, None when it asks for none; bad values are field errors."""
    force = metadata.get(FORCE_HEADER)
    latency = metadata.get(LATENCY_HEADER)
    if force is None and latency is None:
        return None
    v = Violations()
    outcome: Forced | None = None
    code = "generic_decline"
    if force is not None:
        kind, _, detail = force.strip().lower().partition(":")
        if kind not in {f.value for f in Forced} or (detail and kind != Forced.DECLINE):
            v.add(FORCE_HEADER, "must be approve, decline, decline:<code> or error", "INVALID_OVERRIDE")
        elif detail and detail not in DECLINES:
            v.add(FORCE_HEADER, "names an unknown decline code", "UNKNOWN_DECLINE_CODE")
        else:
            outcome, code = Forced(kind), detail or code
    latency_ms = 0
    if latency is not None:
        if not latency.strip().isdigit() or not 0 <= int(latency) <= MAX_LATENCY_MS:
            v.add(
                LATENCY_HEADER, f"must be a whole number of milliseconds from 0 to {MAX_LATENCY_MS}", "INVALID_OVERRIDE"
            )
        else:
            latency_ms = int(latency)
    v.raise_if_any()
    return Override(outcome, code, latency_ms)

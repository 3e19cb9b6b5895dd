"""The wire's "now": a Timestamp of the wall clock, built without a datetime."""

from __future__ import annotations

import time

from paysim.contract.timestamps import from_timestamp, now_timestamp


def test_now_timestamp_is_the_wall_clock() -> None:
    before = time.time_ns()
    ts = now_timestamp()
    after = time.time_ns()
    assert 0 <= ts.nanos < 1_000_000_000
    assert before <= ts.seconds * 1_000_000_000 + ts.nanos <= after
    assert from_timestamp(ts).timestamp() * 1e9 >= before - 1_000

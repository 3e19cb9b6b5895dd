"""Times on the wire."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp


def timestamp(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def now_timestamp() -> Timestamp:
    """The wall clock now, without a datetime on the way (a stream's every heartbeat has one)."""
    ns = time.time_ns()
    return Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def from_timestamp(value: Timestamp) -> datetime:
    """A wire time as an aware UTC datetime."""
    return value.ToDatetime(tzinfo=UTC)

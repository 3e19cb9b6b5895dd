"""Test clocks through a real server and the SDK: create, read, list, delete, advance (in the
background, idempotent by target, bounded, forward only), tenants, and an advance left unfinished
by its process finished by the housekeeping round."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from paysim_client import Client, errors
from paysim_proto.v1 import clock_pb2 as C

from paysim.domain.test_clocks import start_advance
from tests.support.client import Stubs, expect_error
from tests.support.factories import register_merchant
from tests.support.harness import ServerHandle

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
READY, ADVANCING = C.TEST_CLOCK_STATUS_READY, C.TEST_CLOCK_STATUS_ADVANCING


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


def create(api: Stubs, name: str = "checkout", at: datetime = START) -> C.TestClock:
    clock: C.TestClock = api.clocks.CreateTestClock(C.CreateTestClockRequest(name=name, frozen_time=ts(at))).test_clock
    return clock


def test_the_sdk_creates_advances_lists_and_deletes_clocks(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    with Client.connect(server.target, api_key=account.api_key) as client:
        clock = client.test_clocks.create("subscriptions", START)
        assert clock.id.startswith("clk_") and clock.merchant_id == account.merchant_id
        assert (clock.name, clock.status, clock.frozen_time.ToDatetime(UTC)) == ("subscriptions", READY, START)
        later = START + timedelta(days=8)
        moved = client.test_clocks.advance(clock.id, later)
        assert (moved.status, moved.frozen_time.ToDatetime(UTC)) == (READY, later)
        assert not moved.HasField("advancing_to")
        assert client.test_clocks.get(clock.id) == moved
        again = client.test_clocks.advance(clock.id, later)  # the same target: nothing to do
        assert again == moved
        other = client.test_clocks.create("other", START)
        assert [c.id for c in client.test_clocks.list()] == [other.id, clock.id]
        client.test_clocks.delete(clock.id)
        with pytest.raises(errors.TestClockNotFound):
            client.test_clocks.get(clock.id)
        assert [c.id for c in client.test_clocks.list()] == [other.id]


def test_a_clock_moves_forward_only_and_at_most_sixty_days(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    clock = create(api)
    for target, reason in (
        (START - timedelta(seconds=1), "CLOCK_BACKWARDS"),
        (START + timedelta(days=61), "ADVANCE_TOO_FAR"),
    ):
        err = expect_error(
            api.clocks.AdvanceTestClock, C.AdvanceTestClockRequest(test_clock_id=clock.id, frozen_time=ts(target))
        )
        assert (err.code, err.violation_reasons) == (grpc.StatusCode.INVALID_ARGUMENT, {"frozen_time": reason})
    err = expect_error(api.clocks.CreateTestClock, C.CreateTestClockRequest(name=" "))
    assert err.violation_reasons == {"name": "INVALID_NAME", "frozen_time": "REQUIRED"}


def test_another_target_while_advancing_is_refused_and_the_sweep_finishes_an_orphaned_advance(
    make_server: Callable[..., ServerHandle],
) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    clock = create(api)
    target = START + timedelta(days=1)
    # As a process that stopped midway leaves it: ADVANCING, nobody finishing it.
    server.run(_leave_advancing(server, clock.id, target))
    shown = api.clocks.GetTestClock(C.GetTestClockRequest(test_clock_id=clock.id)).test_clock
    assert (shown.status, shown.advancing_to.ToDatetime(UTC)) == (ADVANCING, target)
    request = C.AdvanceTestClockRequest(test_clock_id=clock.id, frozen_time=ts(target + timedelta(hours=1)))
    err = expect_error(api.clocks.AdvanceTestClock, request)
    assert (err.code, err.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "TEST_CLOCK_ADVANCING")
    assert err.metadata["test_clock_id"] == clock.id
    same = C.AdvanceTestClockRequest(test_clock_id=clock.id, frozen_time=ts(target))
    assert api.clocks.AdvanceTestClock(same).test_clock.status == ADVANCING  # a repeat: idempotent
    server.run(server.server.maintenance.run_once())
    done = api.clocks.GetTestClock(C.GetTestClockRequest(test_clock_id=clock.id)).test_clock
    assert (done.status, done.frozen_time.ToDatetime(UTC)) == (READY, target)


def test_another_server_process_sees_and_advances_the_same_clock(
    make_server: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    first = make_server()
    # A second server process on the same database, as `serve --workers 2` runs.
    second = ServerHandle(first.settings.with_overrides(data_dir=tmp_path / "second"))
    try:
        key = register_merchant(first.stubs()).api_key
        clock = create(first.stubs(key))
        with Client.connect(second.target, api_key=key) as client:
            moved = client.test_clocks.advance(clock.id, START + timedelta(days=8))
        shown = first.stubs(key).clocks.GetTestClock(C.GetTestClockRequest(test_clock_id=clock.id)).test_clock
        assert shown == moved and shown.frozen_time.ToDatetime(UTC) == START + timedelta(days=8)
        # An advance the first process started and never finished: the second one's round finishes it.
        target = START + timedelta(days=9)
        first.run(_leave_advancing(first, clock.id, target))
        second.run(second.server.maintenance.run_once())
        done = first.stubs(key).clocks.GetTestClock(C.GetTestClockRequest(test_clock_id=clock.id)).test_clock
        assert (done.status, done.frozen_time.ToDatetime(UTC)) == (READY, target)
    finally:
        second.stop()


def test_clocks_belong_to_their_merchant(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    api = server.stubs(register_merchant(server.stubs()).api_key)
    other = server.stubs(register_merchant(server.stubs()).api_key)
    clock = create(api)
    for call, request in (
        (other.clocks.GetTestClock, C.GetTestClockRequest(test_clock_id=clock.id)),
        (other.clocks.DeleteTestClock, C.DeleteTestClockRequest(test_clock_id=clock.id)),
        (other.clocks.AdvanceTestClock, C.AdvanceTestClockRequest(test_clock_id=clock.id, frozen_time=ts(START))),
    ):
        err = expect_error(call, request)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "TEST_CLOCK_NOT_FOUND")
    assert list(other.clocks.ListTestClocks(C.ListTestClocksRequest()).test_clocks) == []


async def _leave_advancing(server: ServerHandle, clock_id: str, target: datetime) -> None:
    # Only the test's own rounds run from here on: the background one would finish the advance
    # whenever it comes round, before or after what the test checks.
    await server.server.maintenance.stop()
    async with server.app.unit_of_work() as uow:
        clock = await uow.test_clocks.get(clock_id, for_update=True)
        assert clock is not None
        advancing = start_advance(clock, target)
        assert advancing is not None
        await uow.test_clocks.save(advancing)
        await uow.commit()


def test_the_readme_example_runs(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    section = README[README.index("## Test clocks") : README.index("## Webhooks")]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    code = code.replace('"localhost:50051"', repr(server.target)).replace('"sk_test_…"', repr(account.api_key))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"clk_\w+ 2026-03-09\n", result.stdout)

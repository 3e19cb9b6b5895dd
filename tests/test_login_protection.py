"""Login under attack, through a real server: the lockout holds against concurrent guesses (on
every backend, so across processes too), and a flood of guesses does not starve real logins."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import grpc
from paysim_client.v1 import auth_pb2, auth_pb2_grpc

from tests.support.client import Stubs, rich_error
from tests.support.factories import PASSWORD, unique_email
from tests.support.harness import ServerHandle


def register(stubs: Stubs, email: str) -> None:
    stubs.auth.Register(auth_pb2.RegisterRequest(email=email, password=PASSWORD, full_name="Ada"))


def outcome(call: Future[auth_pb2.LoginResponse]) -> str:
    """``TOKENS`` for a login that succeeded, else the refusal's reason."""
    try:
        call.result()
    except grpc.RpcError as error:
        return rich_error(error).reason
    return "TOKENS"


def login_burst(stubs: Stubs, email: str, passwords: list[str]) -> list[str]:
    """Every login at once, on one connection, in the order given; the outcome of each."""
    login = auth_pb2_grpc.AuthServiceStub(stubs.channel).Login
    calls = [login.future(auth_pb2.LoginRequest(email=email, password=password), timeout=120) for password in passwords]
    return [outcome(call) for call in calls]


def guesses_with_the_password(count: int, *at: int) -> list[str]:
    passwords = ["wrong password!"] * count
    for index in at:
        passwords[index] = PASSWORD
    return passwords


def assert_lockout_held(outcomes: list[str], max_failures: int, right: list[int]) -> None:
    counts = Counter(outcomes)
    assert set(counts) <= {"INVALID_CREDENTIALS", "LOGIN_LOCKED"}, counts
    # The last admitted failure locks the email and says so; those before it are "not correct".
    assert counts["INVALID_CREDENTIALS"] <= max_failures - 1, counts
    assert all(outcomes[index] == "LOGIN_LOCKED" for index in right), [outcomes[i] for i in right]


def test_concurrent_guesses_never_pass_the_lockout(make_server: Callable[..., ServerHandle]) -> None:
    # A realistic bcrypt cost, so that the guesses really are in flight together (at cost 4 a
    # compare is over before the next call arrives).
    server = make_server(bcrypt_rounds=10)
    stubs = server.stubs()
    email = unique_email()
    register(stubs, email)
    # The right password twice among 198 guesses, each time after enough guesses to spend the
    # email's budget: it is refused, whether those guesses' compares have finished or not.
    outcomes = login_burst(stubs, email, guesses_with_the_password(200, 50, 199))
    assert_lockout_held(outcomes, server.settings.login_max_failures, right=[50, 199])
    # Locked: the right password alone is refused too.
    assert login_burst(stubs, email, [PASSWORD]) == ["LOGIN_LOCKED"]


def test_the_lockout_holds_across_servers_sharing_a_database(
    make_server: Callable[..., ServerHandle], tmp_path: Path
) -> None:
    first = make_server(bcrypt_rounds=10)
    # A second server process on the same database, as `serve --workers 2` runs.
    second = ServerHandle(first.settings.with_overrides(data_dir=tmp_path / "second"))
    try:
        email = unique_email()
        register(first.stubs(), email)
        bursts: list[Future[list[str]]] = []
        with ThreadPoolExecutor(2) as pool:
            for server in (first, second):
                bursts.append(pool.submit(login_burst, server.stubs(), email, guesses_with_the_password(100, 50, 99)))
        outcomes = [*bursts[0].result(), *bursts[1].result()]
        assert_lockout_held(outcomes, first.settings.login_max_failures, right=[50, 99, 150, 199])
        assert login_burst(second.stubs(), email, [PASSWORD]) == ["LOGIN_LOCKED"]
    finally:
        second.stop()


def test_attempts_in_flight_count_until_they_settle(make_server: Callable[..., ServerHandle]) -> None:
    """The counter itself, on the real database: what an attempt reserves, and what its outcome
    does to the attempts around it."""
    server = make_server()
    key = secrets.token_hex(32)
    lockout = timedelta(minutes=30)

    async def reserve(count: int, max_failures: int) -> list[int | None]:
        async with server.app.unit_of_work() as uow:
            positions = [await uow.login_throttles.reserve(key, server.clock(), max_failures) for _ in range(count)]
            await uow.commit()
        return positions

    async def succeed(position: int) -> bool:
        async with server.app.unit_of_work() as uow:
            admitted = await uow.login_throttles.settle_success(key, server.clock(), position)
            await uow.commit()
        return admitted

    async def fail(max_failures: int) -> datetime | None:
        async with server.app.unit_of_work() as uow:
            now = server.clock()
            state = await uow.login_throttles.settle_failure(key, now, max_failures, now + lockout)
            await uow.commit()
        return state.locked_until

    async def failures() -> int:
        async with server.app.unit_of_work() as uow:
            state = await uow.login_throttles.get(key)
        return state.failures if state else 0

    # Four attempts in flight; the third fails, the second succeeds: the success forgives itself
    # and the first, not the two counted after it.
    assert server.run(reserve(4, 5)) == [1, 2, 3, 4]
    assert server.run(fail(5)) is None
    assert server.run(succeed(2))
    assert server.run(failures()) == 2
    # Three more fill the budget of five; a sixth is refused before it can compare anything.
    assert server.run(reserve(4, 5)) == [3, 4, 5, None]
    # The first of them to fail locks the email, and then even a success is refused.
    assert server.run(fail(5)) is not None
    assert not server.run(succeed(5))
    assert server.run(reserve(1, 5)) == [None]
    # Once the lock has run out, counting starts afresh.
    server.clock.advance(lockout + timedelta(seconds=1))
    assert server.run(reserve(1, 5)) == [1]
    assert server.run(succeed(1))
    assert server.run(failures()) == 0

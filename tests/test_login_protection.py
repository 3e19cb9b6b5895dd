"""Login under attack, through a real server: the lockout holds against concurrent guesses (on
every backend, so across processes too), and a flood of guesses does not starve real logins."""

from __future__ import annotations

import itertools
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import grpc
from paysim_proto.v1 import auth_pb2, auth_pb2_grpc

from paysim.config import Settings
from tests.support.client import RichError, Stubs, expect_error, rich_error
from tests.support.factories import PASSWORD, login, unique_email
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
    start = auth_pb2_grpc.AuthServiceStub(stubs.channel).Login.future
    calls = [start(auth_pb2.LoginRequest(email=email, password=password), timeout=120) for password in passwords]
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
    # compare is over before the next call arrives), and no attempt is turned away for waiting.
    server = make_server(bcrypt_rounds=10, password_hash_wait_seconds=120)
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
    first = make_server(bcrypt_rounds=10, password_hash_wait_seconds=120)
    # A second server process on the same database, as `serve --workers 2` runs.
    second = ServerHandle(first.settings.with_overrides(data_dir=tmp_path / "second"))
    try:
        email = unique_email()
        register(first.stubs(), email)
        bursts: list[Future[list[str]]] = []
        # The right password last in each server's burst. Not in the middle, as on one server:
        # two processes on one SQLite file take its write lock in no particular order (a waiter
        # backs off and a later call may get in first), so 50 guesses sent before a login are not
        # sure to have reserved their attempts before it does, and a right password admitted
        # within the budget rightly logs in.
        with ThreadPoolExecutor(2) as pool:
            for server in (first, second):
                bursts.append(pool.submit(login_burst, server.stubs(), email, guesses_with_the_password(100, 99)))
        outcomes = [*bursts[0].result(), *bursts[1].result()]
        assert_lockout_held(outcomes, first.settings.login_max_failures, right=[99, 199])
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


def timed_login(stubs: Stubs, email: str) -> tuple[str, float]:
    started = time.monotonic()
    result = login_burst(stubs, email, [PASSWORD])[0]
    return result, time.monotonic() - started


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        time.sleep(0.01)


def flood(stubs: Stubs, emails: list[str]) -> list[Future[auth_pb2.LoginResponse]]:
    start = auth_pb2_grpc.AuthServiceStub(stubs.channel).Login.future
    return [start(auth_pb2.LoginRequest(email=e, password="wrong password!"), timeout=120) for e in emails]


def test_a_login_answers_during_a_flood_of_guesses_for_another_email(
    make_server: Callable[..., ServerHandle],
) -> None:
    # bcrypt at a realistic cost, so that every guess that reaches a compare costs real CPU
    # time. The guesses come from the test's own address, like the real login: only the
    # per-address limit is left off (it has its own test).
    server = make_server(
        bcrypt_rounds=10,
        login_limit_per_email_per_minute=Settings().login_limit_per_email_per_minute,
    )
    stubs = server.stubs()
    victim, user = unique_email(), unique_email()
    register(stubs, victim)
    register(stubs, user)
    guesses = flood(server.stubs(), [victim] * 200)
    # Log in once the server has taken the flood in (the guesses over the per-email limit are
    # answered at once), while the admitted ones still wait for or run their compares: what is
    # measured is the wait for bcrypt, not the server's cost of reading 200 calls first.
    wait_for(lambda: sum(call.done() for call in guesses) >= 150)
    result, elapsed = timed_login(stubs, user)
    assert result == "TOKENS"
    assert elapsed < 2.0, f"the login took {elapsed:.2f} s"
    assert {outcome(call) for call in guesses} <= {
        "INVALID_CREDENTIALS",
        "LOGIN_LOCKED",
        "RATE_LIMITED",
        "PASSWORD_CHECKS_BUSY",
    }


def test_password_checks_wait_a_bounded_time(make_server: Callable[..., ServerHandle]) -> None:
    # Guesses for 200 different emails: no lockout or per-email limit stops them, so they all
    # want a bcrypt compare (and the per-address limit is off here). Half a second is the most
    # a caller waits for its turn.
    server = make_server(bcrypt_rounds=10, password_hash_wait_seconds=0.5)
    stubs = server.stubs()
    user = unique_email()
    register(stubs, user)
    guesses = flood(server.stubs(), [unique_email() for _ in range(200)])
    result, elapsed = timed_login(stubs, user)
    # The login is answered within its bound: it got its turn, or was told to come back. Half a
    # second of waiting and a compare, with room for a busy machine (unbounded, it took 20 s).
    assert result in {"TOKENS", "PASSWORD_CHECKS_BUSY"}
    assert elapsed < 4.0, f"the login took {elapsed:.2f} s"
    outcomes = Counter(outcome(call) for call in guesses)
    assert set(outcomes) <= {"INVALID_CREDENTIALS", "PASSWORD_CHECKS_BUSY"}, outcomes
    busy = None
    for call in guesses:
        try:
            call.result()
        except grpc.RpcError as error:
            busy = rich_error(error)
            if busy.reason == "PASSWORD_CHECKS_BUSY":
                break
    assert busy is not None and busy.code == grpc.StatusCode.UNAVAILABLE
    assert busy.retry_delay_seconds is not None and busy.retry_delay_seconds > 0


def attempts_until_limited(stubs: Stubs, emails: Iterator[str], limit: int) -> tuple[int, RichError]:
    """Wrong-password logins until one is rate limited: how many were answered before, and the
    refusal. A minute's window may end during the loop, so up to twice the limit are tried."""
    for answered, email in enumerate(itertools.islice(emails, 2 * limit + 1)):
        result = expect_error(login, stubs, email, "wrong password!")
        if result.reason == "RATE_LIMITED":
            return answered, result
        assert result.reason == "INVALID_CREDENTIALS"
    raise AssertionError(f"the limit of {limit} a minute never applied")


def test_logins_per_email_are_limited(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(login_limit_per_email_per_minute=3)
    stubs = server.stubs()
    email = unique_email()
    answered, refused = attempts_until_limited(stubs, itertools.repeat(email), 3)
    assert answered >= 3
    assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.retry_delay_seconds is not None and 0 < refused.retry_delay_seconds <= 60
    assert "google.rpc.QuotaFailure" in refused.detail_types
    # The limit is the email's: another email from the same address is served.
    assert expect_error(login, stubs, unique_email(), "wrong password!").reason == "INVALID_CREDENTIALS"


def test_logins_per_client_address_are_limited(make_server: Callable[..., ServerHandle]) -> None:
    server = make_server(login_limit_per_address_per_minute=3)
    stubs = server.stubs()
    answered, refused = attempts_until_limited(stubs, (unique_email() for _ in itertools.count()), 3)
    assert answered >= 3
    assert refused.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert refused.retry_delay_seconds is not None and 0 < refused.retry_delay_seconds <= 60


def test_wrong_current_passwords_count_toward_the_lockout(make_server: Callable[..., ServerHandle]) -> None:
    # ChangePassword checks a password too: a stolen session must not guess it without limit.
    server = make_server()
    stubs = server.stubs()
    email = unique_email()
    register(stubs, email)
    session = stubs.as_(login(stubs, email).tokens.access_token)

    def change(current: str) -> RichError:
        return expect_error(
            session.auth.ChangePassword,
            auth_pb2.ChangePasswordRequest(current_password=current, new_password="a brand new one"),
        )

    for _ in range(server.settings.login_max_failures - 1):
        assert change("wrong password!").reason == "WRONG_PASSWORD"
    assert change("wrong password!").reason == "LOGIN_LOCKED"
    assert change(PASSWORD).reason == "LOGIN_LOCKED"
    assert expect_error(login, stubs, email).reason == "LOGIN_LOCKED"

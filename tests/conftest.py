"""Fixtures: a real server per backend (SQLite, and PostgreSQL + Redis when configured)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from paysim.app.bootstrap import ensure_admin
from tests.support import backends
from tests.support.backends import Backend
from tests.support.client import Stubs
from tests.support.factories import PASSWORD, login, unique_email
from tests.support.harness import ServerHandle, test_settings


@pytest.fixture(scope="session", params=backends.available())
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with backends.provision(request.param, tmp_path_factory.mktemp(request.param)) as provisioned:
        yield provisioned


@pytest.fixture(scope="session")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    handle = ServerHandle(test_settings(backend, tmp_path_factory.mktemp("data")))
    yield handle
    handle.stop()


@pytest.fixture
def make_server(backend: Backend, tmp_path: Path) -> Iterator[Callable[..., ServerHandle]]:
    """A dedicated server with its own empty database (same kind as ``backend``) and setting
    overrides, for tests that change limits or lifetimes or must see only their own rows."""
    with ExitStack() as stack:
        started: list[ServerHandle] = []

        def start(**overrides: Any) -> ServerHandle:
            private = stack.enter_context(backends.provision(backend.name, tmp_path / f"db{len(started)}"))
            settings = test_settings(private, tmp_path / f"data{len(started)}", **overrides)
            handle = ServerHandle(settings)
            started.append(handle)
            stack.callback(handle.stop)
            return handle

        yield start


@pytest.fixture
def stubs(server: ServerHandle) -> Stubs:
    return server.stubs()


@pytest.fixture(scope="session")
def admin_token(server: ServerHandle) -> str:
    email = unique_email("admin")
    server.run(ensure_admin(server.app, email, PASSWORD))
    return login(server.stubs(), email).tokens.access_token

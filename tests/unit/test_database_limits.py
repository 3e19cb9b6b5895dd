"""The database time limits: their settings and the libpq parameters they become."""

from __future__ import annotations

import pytest

from paysim.config import ConfigError, Settings
from paysim.store.pg_connection import DatabaseLimits, connect_kwargs


def test_the_limits_have_defaults_that_bound_every_wait() -> None:
    s = Settings.from_env({})
    assert s.db_connect_timeout_seconds == 5
    assert s.db_statement_timeout_seconds == 5.0
    assert s.db_pool_timeout_seconds == 5.0
    assert s.health_probe_timeout_seconds == 2.0


def test_the_limits_are_read_from_the_environment_and_checked() -> None:
    s = Settings.from_env(
        {
            "PAYSIM_DB_CONNECT_TIMEOUT_SECONDS": "3",
            "PAYSIM_DB_STATEMENT_TIMEOUT_SECONDS": "1.5",
            "PAYSIM_DB_POOL_TIMEOUT_SECONDS": "0.25",
            "PAYSIM_HEALTH_PROBE_TIMEOUT_SECONDS": "0.5",
        }
    )
    assert (s.db_connect_timeout_seconds, s.db_statement_timeout_seconds) == (3, 1.5)
    assert (s.db_pool_timeout_seconds, s.health_probe_timeout_seconds) == (0.25, 0.5)
    for name, value in (
        ("PAYSIM_DB_CONNECT_TIMEOUT_SECONDS", "1"),  # libpq never waits less than 2 s
        ("PAYSIM_DB_STATEMENT_TIMEOUT_SECONDS", "0"),
        ("PAYSIM_DB_POOL_TIMEOUT_SECONDS", "-1"),
        ("PAYSIM_HEALTH_PROBE_TIMEOUT_SECONDS", "soon"),
    ):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: value})


def test_connection_parameters_keep_the_url_options_and_add_the_limits() -> None:
    conninfo = "postgresql://u@db:5432/paysim?options=-csearch_path%3Dtenant_a"
    kwargs = connect_kwargs(conninfo, DatabaseLimits(connect_seconds=4, statement_seconds=2.5, pool_seconds=1))
    assert kwargs["options"] == (
        "-csearch_path=tenant_a -c statement_timeout=2500 -c idle_in_transaction_session_timeout=20000"
    )
    assert kwargs["connect_timeout"] == 4
    # The kernel gives up on a peer that stops acknowledging no later than the client would.
    assert kwargs["keepalives"] == 1 and kwargs["tcp_user_timeout"] == 3500
    assert connect_kwargs("postgresql://u@db/paysim", DatabaseLimits(connect_seconds=1))["connect_timeout"] == 2

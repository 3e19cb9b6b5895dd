"""Settings are declared once (server/paysim/config.py); their variables, parsing, messages, flags
and README's table all come from those declarations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paysim.cli import build_parser, settings_for
from paysim.config import ConfigError, Settings
from paysim.config_values import declared

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_table_is_the_one_generated_from_the_declarations() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "server" / "gen_settings_table.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_every_field_is_a_declared_setting_named_after_it() -> None:
    names = [d.name for d in declared(Settings)]
    assert names == [f for f in Settings.__dataclass_fields__]
    assert all(d.env == f"PAYSIM_{d.name.upper()}" for d in declared(Settings))
    assert all(d.spec.doc for d in declared(Settings))


def test_an_empty_environment_gives_the_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"PAYSIM_LISTEN": ""}).listen == "127.0.0.1:50051"


def test_values_are_read_typed_and_normalised() -> None:
    s = Settings.from_env(
        {
            "PAYSIM_WORKERS": "3",
            "PAYSIM_DATA_DIR": "/tmp/x",
            "PAYSIM_GRACE_SECONDS": "2.5",
            "PAYSIM_WEBHOOK_DISPATCH": "off",
            "PAYSIM_LOG_LEVEL": "debug",
            "PAYSIM_RATE_LIMIT_FAILURE_MODE": "CLOSED",
        }
    )
    assert (s.workers, s.data_dir, s.grace_seconds, s.webhook_dispatch) == (3, Path("/tmp/x"), 2.5, False)
    assert (s.log_level, s.rate_limit_failure_mode) == ("DEBUG", "closed")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PAYSIM_WORKERS": "two"}, "PAYSIM_WORKERS must be a whole number, got 'two'"),
        ({"PAYSIM_WORKERS": "0"}, "PAYSIM_WORKERS must be at least 1, got 0"),
        ({"PAYSIM_GRACE_SECONDS": "soon"}, "PAYSIM_GRACE_SECONDS must be a number, got 'soon'"),
        ({"PAYSIM_HEALTH_PROBE_SECONDS": "nan"}, "PAYSIM_HEALTH_PROBE_SECONDS must be at least 0.05, got 'nan'"),
        ({"PAYSIM_WEBHOOK_DISPATCH": "maybe"}, "PAYSIM_WEBHOOK_DISPATCH must be true or false, got 'maybe'"),
        (
            {"PAYSIM_RATE_LIMIT_FAILURE_MODE": "Half"},
            "PAYSIM_RATE_LIMIT_FAILURE_MODE must be open or closed, got 'half'",
        ),
        ({"PAYSIM_REQUIRE_JWT_SECRET": "true"}, "PAYSIM_REQUIRE_JWT_SECRET is set but PAYSIM_JWT_SECRET is empty"),
        ({"PAYSIM_JWT_SECRET": "short"}, "PAYSIM_JWT_SECRET must be at least 32 bytes"),
        (
            {"PAYSIM_WEBHOOK_LEASE_SECONDS": "5"},
            "PAYSIM_WEBHOOK_LEASE_SECONDS must be longer than PAYSIM_WEBHOOK_TIMEOUT_SECONDS",
        ),
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert str(refused.value) == message


def test_flags_on_the_command_line_take_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYSIM_LISTEN", "127.0.0.1:1")
    monkeypatch.setenv("PAYSIM_WORKERS", "2")
    args = build_parser().parse_args(["serve", "--listen", "127.0.0.1:2", "--data-dir", "/tmp/y"])
    s = settings_for(args)
    assert (s.listen, s.workers, s.data_dir) == ("127.0.0.1:2", 2, Path("/tmp/y"))

"""``paysim admin create`` speaks like the other commands: one sentence naming the database it
used (and a warning when that database is new, e.g. run outside the repository), ``error: …`` on
stderr with exit 1 when refused, 2 for a wrong command line, never a traceback or a log line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.conftest import PAYSIM, Result, at_a_terminal_prompt, clean_env

PASSWORD = "an admin passphrase"


def _env(tmp_path: Path) -> dict[str, str]:
    return clean_env(PAYSIM_BCRYPT_ROUNDS="4", HOME=str(tmp_path / "home"))


def admin_create(tmp_path: Path, *args: str, input: str | None = PASSWORD + "\n") -> Result:
    """``paysim admin create ARGS`` run from ``tmp_path``, with no PAYSIM_DATA_DIR: the default
    data directory ``./.paysim`` is ``tmp_path/.paysim``."""
    completed = subprocess.run(
        [PAYSIM, "admin", "create", *args],
        cwd=tmp_path,
        env=_env(tmp_path),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in completed.stderr, completed.stderr
    return Result(completed.returncode, completed.stdout, completed.stderr)


def test_it_names_the_database_it_used_and_warns_when_that_database_is_new(tmp_path: Path) -> None:
    database = f"the SQLite database {(tmp_path / '.paysim' / 'paysim.db').resolve()}"
    first = admin_create(tmp_path, "--email", "Admin@Example.test", "--password-stdin")
    assert first.code == 0, first.stderr
    assert first.stdout == f"created admin admin@example.test in {database}\n"
    assert first.stderr == (
        "warning: that database did not exist before: a server sees this admin only with the same"
        " --data-dir (PAYSIM_DATA_DIR) or --database-url\n"
    )
    second = admin_create(tmp_path, "--email", "second@example.test", "--password-stdin")
    assert (second.code, second.stdout, second.stderr) == (0, f"created admin second@example.test in {database}\n", "")

    again = admin_create(tmp_path, "--email", "admin@example.test", "--password-stdin")
    assert (again.code, again.stdout) == (1, "")
    assert again.stderr == f"error: an account with the email admin@example.test already exists in {database}\n"


def test_refusals_are_error_lines(tmp_path: Path) -> None:
    invalid = admin_create(tmp_path, "--email", "not-an-email", "--password-stdin", input="short\n")
    assert invalid.code == 1
    assert invalid.stderr.splitlines() == [
        "error: invalid request (reason INVALID_ARGUMENT)",
        "  email: must be an email address such as name@example.com [INVALID_EMAIL]",
        "  password: must be at least 8 characters [PASSWORD_TOO_SHORT]",
    ]
    assert not (tmp_path / ".paysim").exists()  # refused before any database was made

    no_terminal = admin_create(tmp_path, "--email", "admin@example.test", input=None)
    assert (no_terminal.code, no_terminal.stderr) == (
        2,
        "error: there is no terminal to ask for the password: pipe it in with --password-stdin\n",
    )


def test_ctrl_d_at_the_password_prompt_is_no_password(tmp_path: Path) -> None:
    result = at_a_terminal_prompt(
        [PAYSIM, "admin", "create", "--data-dir", str(tmp_path / "data"), "--email", "admin@example.test"],
        _env(tmp_path),
        "Password for admin@example.test: ",
        b"\x04",
    )
    assert result.code == 2
    assert result.stderr.splitlines()[-1] == "error: no password given (the input ended)"
    assert not (tmp_path / "data").exists()

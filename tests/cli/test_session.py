"""``paysim login``/``logout``/``whoami``: the configuration file (where, 0600), the session kept
fresh with its rotated tokens saved back, API keys, and what a person sees when a login is over."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from paysim_cli.config import tokens_to_json
from paysim_proto.v1 import auth_pb2

from tests.cli.conftest import Cli, clean_env
from tests.support.factories import PASSWORD, MerchantAccount, login, register_merchant
from tests.support.harness import ServerHandle

JSON_ERROR = "Expecting property name enclosed in double quotes"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_remembers_the_target_and_session_in_a_private_file(
    cli: Cli, server: ServerHandle, merchant: MerchantAccount
) -> None:
    result = cli.ok(
        "login", "--target", server.target, "--email", merchant.email, "--password-stdin", input=PASSWORD + "\n"
    )
    assert result.stdout.strip() == (
        f"logged in to {server.target} as {merchant.email} (merchant, merchant {merchant.merchant_id})"
    )
    assert _mode(cli.config) == 0o600 and _mode(cli.config.parent) == 0o700
    saved = cli.saved()
    assert saved["current_target"] == server.target
    entry = saved["targets"][server.target]
    assert entry["email"] == merchant.email and "api_key" not in entry
    assert entry["tokens"]["refresh_token"].startswith("rt_")
    assert PASSWORD not in cli.config.read_text()

    # No --target and no credentials from now on: the saved ones are used.
    me = cli.json("whoami")
    assert me["user"]["email"] == merchant.email
    assert me["credential_kind"] == "CREDENTIAL_KIND_ACCESS_TOKEN"
    assert f"target       {server.target}" in cli.ok("whoami").stdout


def test_logout_revokes_the_session_on_the_server_and_forgets_it(
    cli: Cli, server: ServerHandle, logged_in: MerchantAccount
) -> None:
    refresh_token = cli.saved()["targets"][server.target]["tokens"]["refresh_token"]
    assert cli.ok("logout").stdout.strip() == f"logged out of {server.target}"
    assert cli.saved().get("targets") == {} and "current_target" not in cli.saved()
    with pytest.raises(grpc.RpcError) as refused:
        server.stubs().auth.RefreshToken(auth_pb2.RefreshTokenRequest(refresh_token=refresh_token))
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

    after = cli("payments", "list", "--target", server.target)
    assert after.code == 1
    assert "(reason CREDENTIALS_MISSING, request id " in after.stderr
    assert f"not logged in to {server.target}: run `paysim login`, or pass --api-key" in after.stderr
    assert cli.ok("logout", "--target", server.target).stdout.strip() == f"not logged in to {server.target}"


def test_a_wrong_password_is_refused_and_nothing_is_saved(
    cli: Cli, server: ServerHandle, merchant: MerchantAccount
) -> None:
    result = cli("login", "--target", server.target, "--email", merchant.email, "--password-stdin", input="nope\n")
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        "error: the email or password is not correct (reason INVALID_CREDENTIALS, request id "
    )
    assert not cli.config.exists() or not cli.saved().get("targets")

    no_terminal = cli("login", "--target", server.target, "--email", merchant.email)
    assert no_terminal.code == 2
    assert "no terminal to ask for the password: pipe it in with --password-stdin" in no_terminal.stderr


def test_an_api_key_login_and_the_api_key_option(cli: Cli, server: ServerHandle, merchant: MerchantAccount) -> None:
    assert (
        cli.ok("login", "--target", server.target, "--api-key", merchant.api_key)
        .stdout.strip()
        .endswith(f"as API key {merchant.api_key_id} (merchant, merchant {merchant.merchant_id})")
    )
    assert cli.saved()["targets"][server.target] == {"api_key": merchant.api_key}
    assert cli.json("whoami")["credential_kind"] == "CREDENTIAL_KIND_API_KEY"

    # --api-key (or PAYSIM_API_KEY) on any command wins over the saved login.
    other = register_merchant(server.stubs())
    assert cli.json("whoami", "--api-key", other.api_key)["merchant_id"] == other.merchant_id
    by_env = cli("whoami", "--json", env={"PAYSIM_API_KEY": other.api_key})
    assert by_env.json()["merchant_id"] == other.merchant_id

    not_a_key = cli("login", "--api-key", "sk_test_forged")
    assert not_a_key.code == 1
    assert not_a_key.stderr.startswith("error: the API key is not valid (reason INVALID_API_KEY, request id ")
    assert cli.saved()["targets"][server.target] == {"api_key": merchant.api_key}  # the good one stays
    assert cli.ok("logout").stdout.strip() == f"logged out of {server.target}"


def test_the_file_lives_under_the_xdg_config_directory_by_default(
    tmp_path: Path, server: ServerHandle, merchant: MerchantAccount
) -> None:
    xdg = tmp_path / "xdg"
    cli = Cli(xdg / "paysim" / "cli.json", clean_env(XDG_CONFIG_HOME=str(xdg), HOME=str(tmp_path / "home")))
    cli.ok("login", "--target", server.target, "--api-key", merchant.api_key)
    assert cli.config.exists() and _mode(cli.config) == 0o600

    home = Cli(tmp_path / "home2" / ".config" / "paysim" / "cli.json", clean_env(HOME=str(tmp_path / "home2")))
    home.ok("login", "--target", server.target, "--api-key", merchant.api_key)
    assert home.config.exists()


def test_the_session_is_refreshed_when_it_expires_and_the_rotated_tokens_are_saved(
    cli: Cli, make_server: Callable[..., ServerHandle]
) -> None:
    server = make_server()
    account = register_merchant(server.stubs())
    cli.ok("login", "--target", server.target, "--email", account.email, "--password-stdin", input=PASSWORD + "\n")
    # Make it a login of an hour ago, whose access token has expired by now.
    server.clock.advance(timedelta(hours=-1))
    try:
        old = login(server.stubs(), account.email).tokens
    finally:
        server.clock.advance(timedelta(hours=1))
    saved = cli.saved()
    saved["targets"][server.target]["tokens"] = tokens_to_json(old)
    cli.config.write_text(json.dumps(saved))
    first = cli.saved()["targets"][server.target]["tokens"]

    assert cli.json("whoami")["user"]["email"] == account.email
    second = cli.saved()["targets"][server.target]["tokens"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert _mode(cli.config) == 0o600
    # The saved pair is the live one: the next command uses it as it is.
    cli.ok("payments", "list")
    assert cli.saved()["targets"][server.target]["tokens"] == second

    # The refresh token revoked, and the access token no longer accepted (as after a server
    # restart with a new signing key): the login is over, and the command says so.
    server.stubs().auth.Logout(auth_pb2.LogoutRequest(refresh_token=second["refresh_token"]))
    saved = cli.saved()
    saved["targets"][server.target]["tokens"]["access_token"] = second["access_token"][:-4] + "AAAA"
    cli.config.write_text(json.dumps(saved))
    over = cli("payments", "list")
    assert over.code == 1
    assert over.stderr.startswith("error: ")
    assert "request id " in over.stderr
    assert f"the saved login for {server.target} is no longer valid: run `paysim login` again" in over.stderr


def test_a_broken_configuration_file_is_one_line_not_a_traceback(cli: Cli, server: ServerHandle) -> None:
    cli.config.parent.mkdir(parents=True)
    cli.config.write_text("{not json")
    result = cli("whoami", "--target", server.target)
    assert result.code == 1
    assert result.stderr == f"error: {cli.config} is not valid JSON ({JSON_ERROR}): fix or delete it\n"

"""``paysim login``, ``logout`` and ``whoami``: the saved credentials of a target."""

from __future__ import annotations

import argparse
from typing import Any

from paysim_client import errors
from paysim_client.types import CredentialKind, GetCurrentUserResponse, Role

from paysim_cli.commands._common import read_password
from paysim_cli.config import set_entry
from paysim_cli.context import Context
from paysim_cli.failures import UsageError
from paysim_cli.output import enum_label, fields
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    login_parser = registrar.command(
        "login",
        "log in to a paysim server and remember it (with --email, or an API key)",
        login,
        description=(
            "Log in and remember the target and the session (or the API key) in the configuration\n"
            "file, so that later commands need neither. The session's tokens are refreshed as they\n"
            "expire and saved back; `paysim logout` ends it.\n\n"
            "  paysim login --target localhost:50051 --email owner@acme.test     # asks for the password\n"
            '  echo "$PASSWORD" | paysim login --email owner@acme.test --password-stdin\n'
            "  paysim login --api-key sk_test_…"
        ),
    )
    login_parser.add_argument("--email", help="log in as this user (the password is asked for)")
    login_parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    registrar.command(
        "logout", "end the saved session on the server and forget it (or forget the saved API key)", logout
    )
    registrar.command("whoami", "who the credentials in use belong to", whoami)


def _describe(me: GetCurrentUserResponse) -> str:
    who = me.user.email or f"API key {me.api_key_id}"
    role = enum_label(Role, me.role)
    return f"{who} ({role}{', merchant ' + me.merchant_id if me.merchant_id else ''})"


def remember(ctx: Context, entry: dict[str, Any], *, keep_tokens: bool) -> None:
    """Save ``entry`` as the target's login and make the target the current one."""

    def change(data: dict[str, Any]) -> None:
        old = data.get("targets", {}).get(ctx.target, {})
        if keep_tokens and "tokens" in old:  # saved by the login that just happened
            entry["tokens"] = old["tokens"]
        set_entry(data, ctx.target, entry)
        data["current_target"] = ctx.target

    ctx.config.update(change)


def login(ctx: Context, args: argparse.Namespace) -> None:
    if args.email:
        password = read_password(args.password_stdin, prompt=f"Password for {args.email}: ")
        me = ctx.login(args.email, password).auth.me()  # the login itself saved the tokens
        remember(ctx, {"email": args.email}, keep_tokens=True)
    elif ctx.api_key:
        me = ctx.client().auth.me()
        if me.credential_kind != CredentialKind.CREDENTIAL_KIND_API_KEY:
            raise UsageError("that is not an API key (sk_test_…); log in with --email instead")
        remember(ctx, {"api_key": ctx.api_key}, keep_tokens=False)
    else:
        raise UsageError("give --email (the password is asked for) or --api-key")
    ctx.out.result(me, lambda: [f"logged in to {ctx.target} as {_describe(me)}"])


def logout(ctx: Context, args: argparse.Namespace) -> None:
    entry = ctx.config.entry(ctx.target)
    if not entry:
        ctx.out.result({"target": ctx.target, "logged_out": False}, lambda: [f"not logged in to {ctx.target}"])
        return
    if entry.get("tokens"):
        try:
            ctx.saved_session().auth.logout()  # revokes the refresh token; clears the saved tokens
        except errors.RpcError as error:
            ctx.out.warn(f"warning: the server was not told ({error.message}); the saved login is forgotten anyway")
    ctx.config.update(lambda data: set_entry(data, ctx.target, None))
    ctx.out.result({"target": ctx.target, "logged_out": True}, lambda: [f"logged out of {ctx.target}"])


def whoami(ctx: Context, args: argparse.Namespace) -> None:
    me = ctx.client().auth.me()
    kind = {
        CredentialKind.CREDENTIAL_KIND_ACCESS_TOKEN: "a login session",
        CredentialKind.CREDENTIAL_KIND_API_KEY: f"API key {me.api_key_id}",
    }.get(me.credential_kind, "none")
    ctx.out.result(
        me,
        lambda: fields(
            [
                ("user", me.user.email),
                ("name", me.user.full_name),
                ("role", enum_label(Role, me.role)),
                ("merchant", me.merchant_id),
                ("credentials", kind),
                ("target", ctx.target),
            ]
        ),
    )

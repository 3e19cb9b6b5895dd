"""``paysim api-keys …``: a merchant's API keys (the secret is shown once, at creation)."""

from __future__ import annotations

import argparse

from paysim_client.types import ApiKey
from paysim_proto.v1.merchant_pb2 import ListApiKeysResponse

from paysim_cli.commands._common import add_list_options, add_merchant_option, collect, more
from paysim_cli.context import Context
from paysim_cli.output import fields, table, when
from paysim_cli.registrar import Registrar


def register(registrar: Registrar) -> None:
    group = registrar.group("api-keys", "create, list and revoke API keys (a logged-in merchant user or an admin)")
    parser = group.command("create", "create an API key; its secret is printed this once", create)
    parser.add_argument("name", metavar="NAME", help="what the key is for, e.g. 'local tests' (unique)")
    add_merchant_option(parser)
    parser = group.command("list", "the merchant's keys (prefixes only)", list_keys)
    add_merchant_option(parser)
    add_list_options(parser)
    parser = group.command("revoke", "revoke a key at once", revoke)
    parser.add_argument("api_key_id", metavar="API_KEY_ID", help="key_…")


def _state(key: ApiKey) -> str:
    return f"revoked {when(key.revoke_time)}" if key.HasField("revoke_time") else "active"


def key_lines(key: ApiKey, secret: str = "") -> list[str]:
    return fields(
        [
            ("secret", secret),
            ("api key", key.id),
            ("name", key.name),
            ("prefix", key.prefix),
            ("state", _state(key)),
            ("last used", when(key.last_use_time)),
            ("created", when(key.create_time)),
        ]
    )


def create(ctx: Context, args: argparse.Namespace) -> None:
    reply = ctx.client().merchants.api_keys.create(args.name, merchant_id=args.merchant)
    ctx.out.result(
        reply,
        lambda: [
            *key_lines(reply.api_key, reply.secret),
            "",
            "The secret is shown only now: paysim keeps a hash of it. Use it with --api-key or",
            f"`paysim login --api-key {reply.secret[:16]}…`, or in code: connect(api_key=…).",
        ],
    )


def list_keys(ctx: Context, args: argparse.Namespace) -> None:
    client = ctx.client()
    keys, token = collect(
        lambda size, page_token: client.merchants.api_keys.list(
            merchant_id=args.merchant, page_size=size, page_token=page_token
        ),
        args.limit,
        args.page_token,
    )
    rows = [[k.id, k.name, k.prefix, _state(k), when(k.last_use_time), when(k.create_time)] for k in keys]
    ctx.out.result(
        ListApiKeysResponse(api_keys=keys, next_page_token=token),
        lambda: [*table(["API KEY", "NAME", "PREFIX", "STATE", "LAST USED", "CREATED"], rows), *more(token)],
    )


def revoke(ctx: Context, args: argparse.Namespace) -> None:
    key = ctx.client().merchants.api_keys.revoke(args.api_key_id)
    ctx.out.result(key, lambda: key_lines(key))

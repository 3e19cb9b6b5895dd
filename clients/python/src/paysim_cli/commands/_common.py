"""Options and helpers several commands share: amounts, key=value pairs, listings, merchants."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from paysim_client import Page, Pager

from paysim_cli.failures import UsageError
from paysim_cli.money import AmountError, parse_amount

T = TypeVar("T")
MAX_PAGE = 500  # the server's cap on page_size
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def duration(text: str) -> float:
    """``90s``, ``5m``, ``1h``, ``2d`` or plain seconds → seconds (an argparse ``type``)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90s, 5m or 1h")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def add_merchant_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merchant", default="", metavar="MERCHANT_ID", help="admins: the merchant to act on (mer_…)")


def add_amount_options(parser: argparse.ArgumentParser, what: str, *, required: bool = False) -> None:
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--amount", metavar="AMOUNT", help=f"{what} in major units, e.g. 19.99 (USD) or 1050 (JPY)")
    group.add_argument("--amount-minor", type=int, metavar="N", help=f"{what} in minor units, e.g. 1999")


def amount_from(args: argparse.Namespace, currency: Callable[[], str]) -> int:
    """The amount the options give, in minor units (0 when neither is given). ``currency`` is
    asked only for a decimal ``--amount``."""
    if args.amount_minor is not None:
        return int(args.amount_minor)
    if args.amount is None:
        return 0
    try:
        return parse_amount(args.amount, currency())
    except AmountError as error:
        raise UsageError(str(error)) from None


def key_values(pairs: Sequence[str] | None, option: str) -> dict[str, str]:
    """``["a=1", "b=2"]`` → ``{"a": "1", "b": "2"}``."""
    result: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} takes KEY=VALUE, not {pair!r}")
        result[key] = value
    return result


def add_list_options(parser: argparse.ArgumentParser, default_limit: int = 20) -> None:
    parser.add_argument(
        "--limit", type=int, default=default_limit, help=f"at most this many (default {default_limit}; 0: all)"
    )
    parser.add_argument("--page-token", default="", help="continue a listing where a previous one stopped")


def collect(listing: Callable[[int, str], Pager[T]], limit: int, page_token: str) -> tuple[list[T], str]:
    """Up to ``limit`` items (0: all) of a paged listing, and the token to continue from.

    ``listing(page_size, page_token)`` opens the SDK's pager; each page asks for no more than is
    still wanted, so the returned token resumes exactly after the last item shown.
    """
    if limit < 0:
        raise UsageError("--limit must not be negative")
    items: list[T] = []
    token = page_token
    while True:
        wanted = MAX_PAGE if limit == 0 else min(limit - len(items), MAX_PAGE)
        pages = listing(wanted, token).pages()
        try:
            page: Page[T] = next(pages)
        finally:
            close = getattr(pages, "close", None)  # release the pager's stream of pages now
            if close is not None:
                close()
        items.extend(page.items)
        token = page.next_page_token
        if not token or (limit and len(items) >= limit):
            return items, token


def more(token: str) -> list[str]:
    """The line under a listing that stopped before the end."""
    return [f"(more: --page-token {token})"] if token else []


def read_password(from_stdin: bool, *, confirm: bool = False, prompt: str = "Password: ") -> str:
    """The password from standard input's first line, or asked for at the terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise UsageError("there is no terminal to ask for the password: pipe it in with --password-stdin")
    else:
        try:
            password = getpass.getpass(prompt)
            if confirm and getpass.getpass("Repeat it: ") != password:
                raise UsageError("the passwords differ")
        except EOFError:  # Ctrl-D at the prompt
            sys.stderr.write("\n")  # getpass leaves the cursor on the prompt's line
            raise UsageError("no password given (the input ended)") from None
    if not password:
        raise UsageError("the password is empty")
    return password

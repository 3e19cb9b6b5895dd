"""Failures as one line a person can act on, and the exit code a script can switch on.

``error: <message> (reason REASON, request id …)``, then one line per bad field. Exit codes:
1 the server refused the request, 2 the command line itself is wrong (argparse uses 2 as well),
3 the server could not be reached, 130 interrupted (Ctrl-C). Never a traceback.
"""

from __future__ import annotations

import grpc
from paysim_client import errors

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERRUPTED = 130
# The gateway that takes each payment method besides cards: a new merchant routes to the
# simulator alone, which takes cards only.
GATEWAY_FOR_METHOD = {"upi": "razorpay", "paypal_wallet": "paypal"}


class UsageError(Exception):
    """The command line asks for something that cannot be sent (a bad amount, no credentials…)."""


class Interrupted(Exception):
    """Ctrl-C ended a command that has already said where it stopped: exit 130, nothing more."""


def unreachable(error: errors.RpcError) -> bool:
    """A failure of the connection rather than an answer from paysim (which always gives a reason)."""
    return not error.reason and error.code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


def describe_rpc_error(error: errors.RpcError, target: str, *, session: bool) -> tuple[list[str], int]:
    """The lines to print for ``error`` and the exit code. ``session``: credentials came from a
    saved login, so an UNAUTHENTICATED answer means that login is over."""
    if unreachable(error):
        what = "no answer in time from" if error.code is grpc.StatusCode.DEADLINE_EXCEEDED else "cannot reach"
        return [f"error: {what} the paysim server at {target}: {error.message}"], EXIT_UNREACHABLE
    details = [f"reason {error.reason or error.code.name}"]
    if error.request_id:
        details.append(f"request id {error.request_id}")
    message = "invalid request" if error.field_violations else error.message
    lines = [f"error: {message} ({', '.join(details)})"]
    lines += [f"  {v.field}: {v.description}" + (f" [{v.reason}]" if v.reason else "") for v in error.field_violations]
    lines += [f"  {v.subject}: {v.description}" for v in error.quota_violations]
    if error.retry_delay:
        lines.append(f"  retry after {error.retry_delay:g}s")
    if error.reason == "PAYMENT_METHOD_NOT_AVAILABLE":
        gateway = GATEWAY_FOR_METHOD.get(error.metadata.get("method_type", ""))
        if gateway:
            lines.append(f"  add a gateway that takes it, e.g. `paysim gateways set {gateway} --priority 1`")
    if isinstance(error, errors.Unauthenticated):
        if error.reason == "CREDENTIALS_MISSING":
            lines.append(f"  not logged in to {target}: run `paysim login`, or pass --api-key")
        elif session:
            lines.append(f"  the saved login for {target} is no longer valid: run `paysim login` again")
    return lines, EXIT_REFUSED

"""The server's interceptor: every call goes through three stages, in this order.

1. Observability (outermost): request id, one JSON access-log line per call, the mapping of every
   error beneath it to a deliberate gRPC status, and the count of calls in flight that a shutdown
   drains.
2. Admission (``Admission``): authentication (JWT or API key), authorization against the policy
   table, and the per-caller rate limit.
3. Validation (innermost): refuses request values no handler can use.

One interceptor rather than three: grpc.aio awaits every interceptor for every call, and each
wrapped layer adds a coroutine and a context manager to every call; one wrapper around each
method's handler runs the three stages in one scope.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import grpc

from paysim.api import call_context
from paysim.api.request_metadata import REPLAYED_TRAILER, client_address, metadata_values
from paysim.app.calls_in_flight import CallsInFlight
from paysim.app.error_mapping import internal_status_proto, to_grpc_status, to_status_proto
from paysim.app.handler_wrapping import client_gave_up_code, finish_before_cancel, wrap_handler
from paysim.app.policy import Policy, policy_for
from paysim.app.rate_limit import RateLimiter
from paysim.app.request_validation import request_violations
from paysim.domain.errors import DomainError, InvalidArgument, PermissionDenied, ResourceExhausted, Unauthenticated
from paysim.domain.principal import Principal
from paysim.observability import metrics, tracing
from paysim.services.authentication import Authenticator, bearer_credential

access_log = logging.getLogger("paysim.access")
error_log = logging.getLogger("paysim.errors")

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable["grpc.RpcMethodHandler[Any, Any]"]]
Context = grpc.aio.ServicerContext[Any, Any]

if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:  # the runtime class is not generic; only its type stubs are
    _ServerInterceptor = grpc.aio.ServerInterceptor


def _status_code_name(context: Context) -> str:
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "OK" if code in (None, 0) else str(code)


def _ms_since(started: float, until: float | None = None) -> float:
    return round(((time.perf_counter() if until is None else until) - started) * 1000, 3)


def _outcome(code: str, context: Context, started: float, *, handler_cancelled: bool) -> dict[str, object]:
    """The access line's account of how the call ended: ``code`` is the status the client saw,
    ``cancelled`` whether it stopped waiting first; for work finished after that, ``server_code``
    is what the work itself came to and ``cancelled_after_ms`` when the client gave up."""
    if handler_cancelled:
        return {"code": client_gave_up_code(context), "cancelled": True}
    wait = call_context.client_wait.get()
    if wait is None or wait.gave_up is None:
        return {"code": code, "cancelled": False}
    return {
        "code": wait.gave_up,
        "cancelled": True,
        "server_code": code,
        "cancelled_after_ms": _ms_since(started, wait.gave_up_at),
    }


class CallInterceptor(_ServerInterceptor):
    """Wraps each method's handler once and reuses the wrapper for every later call."""

    def __init__(self, calls: CallsInFlight, admission: Admission) -> None:
        self._calls = calls
        self._admission = admission
        self._wrapped: dict[str, tuple[Any, grpc.RpcMethodHandler[Any, Any]]] = {}

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = self._wrap(method, handler)
        if handler is not None:
            self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, method: str, handler: grpc.RpcMethodHandler[Any, Any]) -> grpc.RpcMethodHandler[Any, Any]:
        admission = self._admission

        async def admit(context: Context) -> None:
            # Looked up per call (a dict read): the table is the one source of truth, even for a
            # handler wrapped long ago.
            call_context.principal.set(await admission.admit(method, policy_for(method), context))

        @asynccontextmanager
        async def call_scope(context: Context) -> AsyncIterator[None]:
            # A client's id is used only if it sent exactly one, well formed; else the server
            # makes one (the trailer says which).
            supplied = metadata_values(context, REQUEST_ID_HEADER)
            rid = supplied[0] if len(supplied) == 1 and _REQUEST_ID_RE.match(supplied[0]) else uuid.uuid4().hex
            call_context.request_id.set(rid)
            context.set_trailing_metadata(((REQUEST_ID_HEADER, rid),))
            started = time.perf_counter()
            code = "OK"
            handler_cancelled = False
            span = tracing.start_server_span(method, context)  # None while tracing is off
            metrics.rpc_started(method)
            try:
                with self._calls.call(method, context):
                    yield
            except DomainError as error:
                code = error.code_name
                status = to_grpc_status(to_status_proto(error, rid))
                trailers = (*status.trailing_metadata, (REQUEST_ID_HEADER, rid))
                if error.replayed:
                    trailers = (*trailers, (REPLAYED_TRAILER, "true"))
                await context.abort(status.code, status.details, trailers)
            except asyncio.CancelledError:
                # A stream whose client left (unary calls finish first, see finish_before_cancel):
                # the server stops with the call.
                handler_cancelled = True
                raise
            except grpc.aio.AbortError:
                code = _status_code_name(context)
                raise
            except Exception:
                code = "INTERNAL"
                error_log.exception("unhandled error", extra={"fields": {"request_id": rid, "method": method}})
                status = to_grpc_status(internal_status_proto(rid))
                await context.abort(status.code, status.details, (*status.trailing_metadata, (REQUEST_ID_HEADER, rid)))
            finally:
                if code == "OK":
                    code = _status_code_name(context)
                metrics.rpc_finished(method, code, time.perf_counter() - started)
                trace_fields = tracing.end_server_span(span, code)
                principal = call_context.principal.get()
                access_log.info(
                    "rpc",
                    extra={
                        "fields": {
                            "method": method,
                            **_outcome(code, context, started, handler_cancelled=handler_cancelled),
                            "duration_ms": _ms_since(started),
                            "request_id": rid,
                            "principal": principal.subject if principal else None,
                            "role": principal.role.value if principal else None,
                            "peer": context.peer(),
                            **trace_fields,
                        }
                    },
                )

        # Validation runs after admission: a caller learns nothing of a method it may not call.
        return finish_before_cancel(wrap_handler(handler, call_scope, _check_request, admit))


class Admission:
    """Who the caller is, whether it may call the method, and whether it must slow down."""

    def __init__(self, authenticator: Authenticator, limiter: RateLimiter) -> None:
        self._authenticator = authenticator
        self._limiter = limiter

    async def admit(self, method: str, policy: Policy | None, context: Context) -> Principal | None:
        if policy is None:
            raise PermissionDenied(f"{method} has no access policy", reason="NO_POLICY")
        credential = bearer_credential(metadata_values(context, "authorization")) if policy.reads_credentials else None
        principal: Principal | None = None
        if credential is not None:
            principal = await self._authenticator.authenticate(credential)
        elif not policy.public:
            raise Unauthenticated(
                "this call needs credentials: authorization: Bearer <token>", reason="CREDENTIALS_MISSING"
            )
        if policy.rate_limited:
            await self._throttle(principal, context)
        if principal is None or policy.public:
            return principal
        if policy.admin_only and not principal.is_admin:
            raise PermissionDenied("this call is for admins", reason="ADMIN_ONLY")
        if policy.permission is not None and not principal.can(policy.permission):
            raise PermissionDenied(
                f"the caller lacks the {policy.permission.value} permission",
                reason="PERMISSION_MISSING",
                metadata={"permission": policy.permission.value},
            )
        return principal

    async def _throttle(self, principal: Principal | None, context: Context) -> None:
        key = principal.subject if principal else "peer:" + client_address(context)
        wait = await self._limiter.hit(key)
        if wait is not None:
            raise ResourceExhausted(
                "too many requests; slow down",
                retry_after_seconds=wait,
                reason="RATE_LIMITED",
                quota_subject=key,
            )


def _check_request(request: Any) -> None:
    violations = request_violations(request)
    if violations:
        raise InvalidArgument(violations)

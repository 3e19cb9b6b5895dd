"""The HTTP server of the dashboard: its files, gRPC-Web calls, and the browser-facing rules.

- Same origin only: a call or preflight whose ``Origin`` is not the dashboard's own is refused
  (no ``Access-Control-Allow-Origin: *``, nor any other site); the ``Host`` must be one this
  server listens as, so a rebound DNS name cannot make another site "own".
- Content-Security-Policy ``default-src 'self'``: no inline script, nothing from another host.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from paysim.app.listen_address import ListenError, split
from paysim.web.bridge import GrpcWebBridge

log = logging.getLogger("paysim.web")

STATIC = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ALLOWED_REQUEST_HEADERS = "authorization, content-type, grpc-timeout, idempotency-key, x-grpc-web, x-user-agent"
NOT_BUILT = """<!doctype html><title>paysim dashboard</title>
<p>The dashboard's files are not built. <code>python3 server/dev.py serve</code> builds them
(or run <code>npm ci &amp;&amp; npm run build</code> in <code>clients/dashboard</code>).</p>
"""
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_wildcard(host: str) -> bool:
    return host in ("0.0.0.0", "::")  # noqa: S104 - compared, not bound


class Origins:
    """The ``Host`` values this server answers to, and so its own origins."""

    def __init__(self, host: str, port: int) -> None:
        self.any_host = _is_wildcard(host)
        names = _LOOPBACK_NAMES if _is_loopback(host) else (f"[{host}]" if ":" in host else host,)
        self.hosts = frozenset(f"{name}:{port}" for name in names)

    def host_allowed(self, host: str) -> bool:
        return self.any_host or host.lower() in self.hosts

    def is_own(self, origin: str, host: str) -> bool:
        return origin.lower() == f"http://{host.lower()}"


def _file(root: Path, relative: str) -> Path | None:
    """``relative`` inside ``root``, or None: nothing outside the directory is ever served."""
    candidate = (root / relative).resolve()
    if not candidate.is_relative_to(root.resolve()) or not candidate.is_file():
        return None
    return candidate


def build_app(bridge: GrpcWebBridge, origins: Origins, root: Path, max_message_bytes: int) -> web.Application:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not origins.host_allowed(request.host):
            response: web.StreamResponse = web.Response(status=421, text="unknown host\n")
        else:
            origin = request.headers.get("Origin")
            if origin is not None and not origins.is_own(origin, request.host):
                response = web.Response(status=403, text="cross-origin calls are not allowed\n")
            else:
                response = await handler(request)
        if not response.prepared:
            response.headers.update(SECURITY_HEADERS)
        return response

    async def preflight(request: web.Request) -> web.Response:
        # Reached only from the dashboard's own origin (guard refused the others).
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Origin": request.headers.get("Origin", ""),
                "Access-Control-Allow-Methods": "POST",
                "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS,
                "Access-Control-Expose-Headers": "grpc-status, grpc-message, grpc-status-details-bin",
                "Vary": "Origin",
            },
        )

    async def index(request: web.Request) -> web.StreamResponse:
        page = _file(root, "index.html")
        if page is None:
            return web.Response(status=503, text=NOT_BUILT, content_type="text/html")
        return web.FileResponse(page, headers={"Cache-Control": "no-cache"})

    async def asset(request: web.Request) -> web.StreamResponse:
        found = _file(root / "assets", request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        # Built names carry a hash of their content: they never change under the same name.
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Content-Type": kind}
        return web.FileResponse(found, headers=headers)

    app = web.Application(middlewares=[guard], client_max_size=max_message_bytes + 5)
    app.router.add_get("/", index)
    app.router.add_get("/assets/{name:[A-Za-z0-9._-]+}", asset)
    app.router.add_route("OPTIONS", "/{service}/{method}", preflight)
    app.router.add_post("/{service}/{method}", bridge.handle)
    return app


# The web server stops after the gRPC calls' grace and after every event stream was told to end:
# a handler still relaying then is stuck (e.g. behind a browser that stopped reading), and is
# cancelled after this long rather than holding the server's stop (aiohttp's default is 60 s).
_HANDLERS_FINISH_SECONDS = 5.0


class WebServer:
    """Serves ``listen`` until stopped; ``bridge`` relays the calls."""

    def __init__(self, listen: str, bridge: GrpcWebBridge, root: Path, *, max_bytes: int) -> None:
        self._host, self._port = split(listen)
        self._listen = listen
        self._bridge = bridge
        self._root = root
        self._max_bytes = max_bytes
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> int:
        await self._bridge.start()
        # The port is known only once bound (port 0): the origins are worked out after.
        origins = Origins(self._host, self._port)
        app = build_app(self._bridge, origins, self._root, self._max_bytes)
        # A browser that closes its tab ends its handler, and so its relayed stream, at once.
        runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=_HANDLERS_FINISH_SECONDS
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            await self._bridge.close()
            reason = "the address is in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
            message = f"cannot serve the dashboard on {self._listen} ({reason}); choose another with --http"
            raise ListenError(message) from None
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        if self._port == 0:
            origins.hosts = Origins(self._host, self.port).hosts
        log.info("serving the dashboard", extra={"fields": {"address": self._listen, "port": self.port}})
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self._bridge.close()

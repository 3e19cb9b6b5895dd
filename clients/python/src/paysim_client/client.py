"""The clients: :class:`AsyncClient` (asyncio) and :class:`Client` (blocking), one surface.

For asyncio code::

    async with paysim_client.connect("localhost:50051", api_key=KEY) as client:
        payment = await client.payments.create(amount_minor=1999, card=card)

For blocking code::

    with paysim_client.Client.connect("localhost:50051", email=EMAIL, password=PASSWORD) as client:
        payment = client.payments.create(amount_minor=1999, card=card)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, ParamSpec

import grpc

from paysim_client._auth import ApiKeyCredentials, Session
from paysim_client._loop_thread import LoopThread
from paysim_client._transport import Transport
from paysim_client._version import __version__
from paysim_client.config import DEFAULT_RETRY, DEFAULT_TARGET, DEFAULT_TIMEOUT_SECONDS, RetryPolicy, TLSConfig
from paysim_client.resources.analytics import Analytics, AsyncAnalytics
from paysim_client.resources.auth import AsyncAuth, Auth
from paysim_client.resources.customers import AsyncCustomers, Customers
from paysim_client.resources.disputes import AsyncDisputes, Disputes
from paysim_client.resources.merchants import AsyncMerchants, Merchants
from paysim_client.resources.payments import AsyncPayments, Payments
from paysim_client.resources.simulator import AsyncSimulator, Simulator
from paysim_client.resources.test_clocks import AsyncTestClocks, TestClocks
from paysim_client.resources.three_ds import AsyncThreeDS, ThreeDS
from paysim_client.resources.webhooks import AsyncWebhooks, Webhooks
from paysim_client.token_store import TokenStore

P = ParamSpec("P")

USER_AGENT = f"paysim-python/{__version__}"


def _check_credentials(
    api_key: str | None, email: str | None, password: str | None, token_store: TokenStore | None
) -> None:
    if api_key is not None and (email is not None or password is not None or token_store is not None):
        raise ValueError("give either api_key, or email and password (and/or token_store), not both")
    if (email is None) != (password is None):
        raise ValueError("email and password go together")


def _channel(target: str, tls: bool | TLSConfig, options: Sequence[tuple[str, Any]]) -> grpc.aio.Channel:
    opts: list[tuple[str, Any]] = [("grpc.primary_user_agent", USER_AGENT), *options]
    if tls is False:
        return grpc.aio.insecure_channel(target, options=opts)
    config = TLSConfig() if tls is True else tls
    if config.server_name_override:
        opts.append(("grpc.ssl_target_name_override", config.server_name_override))
    credentials = grpc.ssl_channel_credentials(
        root_certificates=config.root_certificates,
        private_key=config.client_private_key,
        certificate_chain=config.client_certificate_chain,
    )
    return grpc.aio.secure_channel(target, credentials, options=opts)


class AsyncClient:
    """A connection to paysim for asyncio code.

    Open it with :func:`paysim_client.connect` (or ``AsyncClient.connect``); close it with
    :meth:`close` or ``async with``. The resource namespaces are ``auth``, ``merchants``
    (with ``merchants.api_keys`` and ``merchants.gateway_configs``), ``customers``,
    ``payments`` (with ``payments.watch()``), ``disputes``, ``three_ds``, ``simulator``, ``test_clocks``,
    ``webhooks`` and ``analytics``.
    """

    def __init__(self, transport: Transport, target: str, session: Session | None = None) -> None:
        self._transport = transport
        self.target = target
        self.auth = AsyncAuth(transport, session)
        self.merchants = AsyncMerchants(transport)
        self.customers = AsyncCustomers(transport)
        self.payments = AsyncPayments(transport)
        self.disputes = AsyncDisputes(transport)
        self.simulator = AsyncSimulator(transport)
        self.test_clocks = AsyncTestClocks(transport)
        self.three_ds = AsyncThreeDS(transport)
        self.webhooks = AsyncWebhooks(transport)
        self.analytics = AsyncAnalytics(transport)

    @staticmethod
    def connect(
        target: str = DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        email: str | None = None,
        password: str | None = None,
        token_store: TokenStore | None = None,
        tls: bool | TLSConfig = False,
        timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
        retry: RetryPolicy = DEFAULT_RETRY,
        metadata: Sequence[tuple[str, str]] = (),
        channel_options: Sequence[tuple[str, Any]] = (),
    ) -> Connecting:
        """Connect to the paysim server at ``target`` (``host:port``).

        Authenticate with a merchant ``api_key`` (``sk_test_…``), or with ``email`` and
        ``password`` (logs in now, then keeps the session valid by itself), or with neither
        (only the public calls work: ``merchants.register``, ``auth.register``, ``auth.login``).
        ``token_store`` (a :class:`~paysim_client.token_store.TokenStore`) keeps the session's
        tokens between processes: with ``email``/``password`` the login is saved there; alone,
        the session saved there is resumed (ValueError if there is none), and ends with
        ``Unauthenticated`` once its refresh token is no longer accepted.
        ``tls``: False for plaintext (a local server), True for TLS with the system's roots, or a
        :class:`TLSConfig`. ``timeout`` (seconds, None for none) and ``retry`` are the defaults of
        every call, each of which can override them; ``metadata`` is sent with every call.

        Await the result (``client = await connect(...)``) or use it as an async context
        manager (``async with connect(...) as client``), which closes the client at the end.
        """
        _check_credentials(api_key, email, password, token_store)
        return Connecting(
            target=target,
            api_key=api_key,
            email=email,
            password=password,
            token_store=token_store,
            tls=tls,
            timeout=timeout,
            retry=retry,
            metadata=tuple(metadata),
            channel_options=tuple(channel_options),
        )

    async def close(self) -> None:
        """Close the channel; calls in flight are cancelled."""
        await self._transport.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


@dataclass(kw_only=True, repr=False, eq=False)
class Connecting:
    """What :func:`connect` returns: await it for the client, or ``async with`` it."""

    target: str
    api_key: str | None
    email: str | None
    password: str | None
    token_store: TokenStore | None
    tls: bool | TLSConfig
    timeout: float | None
    retry: RetryPolicy
    metadata: tuple[tuple[str, str], ...]
    channel_options: tuple[tuple[str, Any], ...]
    _client: AsyncClient | None = field(default=None, init=False)

    def __repr__(self) -> str:
        return f"Connecting(target={self.target!r})"

    async def _open(self) -> AsyncClient:
        # The channel is made here, inside the running loop that will use it.
        channel = _channel(self.target, self.tls, self.channel_options)
        transport = Transport(channel, timeout=self.timeout, retry=self.retry, metadata=self.metadata)
        session: Session | None = None
        try:
            if self.api_key is not None:
                transport.credentials = ApiKeyCredentials(self.api_key)
            elif self.email is not None and self.password is not None:
                session = Session(transport, self.email, self.password, store=self.token_store)
                await session.login()
                transport.credentials = session
            elif self.token_store is not None:
                session = Session(transport, None, None, store=self.token_store)
                session.resume()
                transport.credentials = session
        except BaseException:
            await transport.close()
            raise
        return AsyncClient(transport, self.target, session)

    def __await__(self) -> Generator[Any, None, AsyncClient]:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncClient:
        self._client = await self._open()
        return self._client

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.close()


# One function, two names: ``paysim_client.connect(...)`` and ``AsyncClient.connect(...)``.
connect = AsyncClient.connect


class _BlockingConnect(Generic[P]):
    """``Client.connect``: :meth:`AsyncClient.connect`'s options, the connection opened on a
    private loop thread, a :class:`Client` returned."""

    def __init__(self, connect: Callable[P, Connecting]) -> None:
        self._connect = connect
        self.__doc__ = "Connect to the paysim server at ``target``; the options are :meth:`AsyncClient.connect`'s."

    def __get__(self, obj: Client | None, owner: type[Client]) -> Callable[P, Client]:
        async_connect = self._connect

        def connect(*args: P.args, **kwargs: P.kwargs) -> Client:
            connecting = async_connect(*args, **kwargs)
            runner = LoopThread()
            try:
                client = runner.run(connecting._open())
            except BaseException:
                runner.close()
                raise
            return owner(runner, client)

        connect.__doc__ = self.__doc__
        # help() and inspect show the options rather than ``*args, **kwargs``.
        connect.__signature__ = inspect.signature(async_connect).replace(return_annotation="Client")  # type: ignore[attr-defined]
        connect.__qualname__ = f"{owner.__qualname__}.connect"
        return connect


class Client:
    """A connection to paysim for blocking code; the same surface as :class:`AsyncClient`.

    It drives an :class:`AsyncClient` on a private event-loop thread, so it behaves exactly
    like it (retries, session renewal, errors) and may be shared between threads. Close it with
    :meth:`close` or ``with``.
    """

    def __init__(self, runner: LoopThread, client: AsyncClient) -> None:
        self._runner = runner
        self._client = client
        self.target = client.target
        self.auth = Auth(runner, client.auth)
        self.merchants = Merchants(runner, client.merchants)
        self.customers = Customers(runner, client.customers)
        self.payments = Payments(runner, client.payments)
        self.disputes = Disputes(runner, client.disputes)
        self.simulator = Simulator(runner, client.simulator)
        self.test_clocks = TestClocks(runner, client.test_clocks)
        self.three_ds = ThreeDS(runner, client.three_ds)
        self.webhooks = Webhooks(runner, client.webhooks)
        self.analytics = Analytics(runner, client.analytics)

    connect = _BlockingConnect(AsyncClient.connect)

    def close(self) -> None:
        """Close the channel and stop the client's loop thread."""
        if self._runner.closed:
            return
        try:
            self._runner.run(self._client.close())
        finally:
            self._runner.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

"""Client configuration: small frozen dataclasses, passed to :func:`paysim_client.connect`."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TARGET = "localhost:50051"
DEFAULT_TIMEOUT_SECONDS = 30.0

# The one ABORTED reason that means "the same request is still being processed": retrying it with
# the same idempotency key returns the first request's result once it is there. Other ABORTED
# reasons (PAYMENT_BUSY: *another* operation is in flight) need the caller to decide.
IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often the client retries a call by itself.

    Only failures that cannot have changed anything twice are retried: ``UNAVAILABLE`` for calls
    that are safe to repeat (reads, naturally idempotent updates, and payment mutations, which
    always carry an idempotency key), and ``ABORTED`` whose reason is in ``aborted_reasons``.
    Attempt *n* waits ``initial_backoff * multiplier**(n-1)`` seconds (capped at
    ``max_backoff``), reduced at random by up to ``jitter`` of itself, and never less than the
    server's ``RetryInfo`` delay. Nothing is retried past the call's overall deadline: a wait
    that would end after it raises the error at once.
    """

    max_attempts: int = 8
    initial_backoff: float = 0.1
    max_backoff: float = 3.0
    multiplier: float = 2.0
    jitter: float = 0.2
    aborted_reasons: frozenset[str] = field(default_factory=lambda: frozenset({IDEMPOTENCY_KEY_IN_USE}))

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("backoffs must not be negative and multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """One attempt only: every error reaches the caller as it is."""
        return cls(max_attempts=1)


DEFAULT_RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """How ``payments.watch()`` reconnects when its stream ends with a transient error.

    Failed attempt *n* in a row waits ``initial_backoff * multiplier**(n-1)`` seconds (capped at
    ``max_backoff``), or the server's ``RetryInfo`` delay if that is longer, then up to
    ``jitter`` of that again at random: the jitter is added rather than taken off so that
    thousands of watchers told "one second" by a restarting server do not all come back in the
    same millisecond, and never earlier than the server asked. A stream that opens resets the
    count. ``max_attempts``: failed attempts in a row before the last error is raised; None (the
    default) keeps trying for as long as the watcher is open.
    """

    initial_backoff: float = 0.1
    max_backoff: float = 10.0
    multiplier: float = 2.0
    jitter: float = 0.5
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1, or None")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("backoffs must not be negative and multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")

    def delay(self, attempt: int, server_delay: float | None, random: float) -> float:
        """The wait after failed attempt number ``attempt`` (1-based) in a row; ``random`` in [0, 1)."""
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        base = max(base, server_delay or 0.0)
        return base * (1.0 + self.jitter * random)


DEFAULT_RECONNECT = ReconnectPolicy()


@dataclass(frozen=True, slots=True)
class TLSConfig:
    """TLS for the channel. ``TLSConfig()`` trusts the system's root certificates.

    ``root_certificates`` (PEM) replaces them, e.g. with a private CA; ``client_certificate_chain``
    and ``client_private_key`` (PEM) present a client certificate (mutual TLS);
    ``server_name_override`` checks the certificate against another name than the target's host
    (for tests with self-signed certificates only).
    """

    root_certificates: bytes | None = None
    client_certificate_chain: bytes | None = None
    client_private_key: bytes | None = None
    server_name_override: str | None = None

    def __post_init__(self) -> None:
        if (self.client_certificate_chain is None) != (self.client_private_key is None):
            raise ValueError("client_certificate_chain and client_private_key go together")

    def __repr__(self) -> str:  # never print a private key
        parts = [
            f"root_certificates={'<pem>' if self.root_certificates else None}",
            f"client_certificate={'<pem>' if self.client_certificate_chain else None}",
            f"server_name_override={self.server_name_override!r}",
        ]
        return f"TLSConfig({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class SimulationOverride:
    """Per-request simulation knobs for ``payments.create`` (sent as request metadata).

    ``outcome``: ``"approve"``, ``"decline"``, ``"decline:<code>"`` (e.g.
    ``"decline:insufficient_funds"``) or ``"error"``, whatever the card says to the gateway (a
    payment blocked by a fraud rule, or waiting for 3-D Secure, has not reached it). ``latency_ms``:
    how long the gateway takes to answer (0 to 30000). They act on that one request only.
    """

    outcome: str | None = None
    latency_ms: int | None = None

    def metadata(self) -> tuple[tuple[str, str], ...]:
        items: list[tuple[str, str]] = []
        if self.outcome is not None:
            items.append(("paysim-force-outcome", self.outcome))
        if self.latency_ms is not None:
            items.append(("paysim-latency-ms", str(self.latency_ms)))
        return tuple(items)

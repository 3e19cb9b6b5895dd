"""What every command gets: the target, the credentials to use, a client, and the output.

The target is ``--target``, else ``$PAYSIM_TARGET``, else the target of the last login, else
``localhost:50051``. The credentials are ``--api-key`` (or ``$PAYSIM_API_KEY``), else what
``paysim login`` saved for that target (a session resumed and kept fresh through the SDK, its
rotated tokens saved back, or an API key), else none: the server then says what is missing.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from paysim_client import Client, RetryPolicy, TLSConfig

from paysim_cli.config import ConfigFile, FileTokenStore, default_path
from paysim_cli.failures import UsageError
from paysim_cli.output import Output

DEFAULT_TARGET = "localhost:50051"
DEFAULT_TIMEOUT_SECONDS = 30.0
# Fewer attempts than the SDK's default: a person waiting on a server that is down wants to know
# within a second, not after the whole backoff schedule.
CLI_RETRY = RetryPolicy(max_attempts=4)


@dataclass
class Context:
    target: str
    api_key: str | None
    timeout: float
    config: ConfigFile
    out: Output
    _clients: list[Client] = field(default_factory=list)
    _default: Client | None = None
    uses_session: bool = False
    tls: bool | TLSConfig = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        config = ConfigFile(default_path())
        target = getattr(args, "target", None) or os.environ.get("PAYSIM_TARGET") or config.current_target()
        api_key = getattr(args, "api_key", None) or os.environ.get("PAYSIM_API_KEY") or None
        return cls(
            target=target or DEFAULT_TARGET,
            api_key=api_key,
            timeout=getattr(args, "timeout", None) or DEFAULT_TIMEOUT_SECONDS,
            config=config,
            out=Output(json_mode=bool(getattr(args, "json", False))),
            tls=_tls(args),
        )

    def client(self) -> Client:
        """The command's client, with the resolved credentials (anonymous when there are none)."""
        if self._default is None:
            entry = self.config.entry(self.target) if not self.api_key else {}
            saved_key = entry.get("api_key")
            if self.api_key:
                self._default = self.connect(api_key=self.api_key)
            elif isinstance(saved_key, str) and saved_key:
                self._default = self.connect(api_key=saved_key)
            elif entry.get("tokens"):
                self._default = self.saved_session()
            else:
                self._default = self.anonymous()
        return self._default

    def saved_session(self) -> Client:
        """A client on the session ``paysim login`` saved for the target, whatever else is given."""
        self.uses_session = True
        return self.connect(token_store=FileTokenStore(self.config, self.target))

    def anonymous(self) -> Client:
        """A client without credentials (registering, logging in)."""
        return self.connect()

    def login(self, email: str, password: str) -> Client:
        """Log in now and keep the session in the configuration file."""
        return self.connect(email=email, password=password, token_store=FileTokenStore(self.config, self.target))

    def connect(
        self,
        *,
        api_key: str | None = None,
        email: str | None = None,
        password: str | None = None,
        token_store: FileTokenStore | None = None,
    ) -> Client:
        client = Client.connect(
            self.target,
            api_key=api_key,
            email=email,
            password=password,
            token_store=token_store,
            timeout=self.timeout,
            retry=CLI_RETRY,
            tls=self.tls,
        )
        self._clients.append(client)
        return client

    def close(self) -> None:
        while self._clients:
            self._clients.pop().close()


def _read_pem(path: str, flag: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise UsageError(f"{flag} {path}: {error.strerror}") from None


def _tls(args: argparse.Namespace) -> bool | TLSConfig:
    """``--tls-ca`` / ``--tls-cert`` + ``--tls-key`` as the SDK's TLSConfig; False (plaintext) without them."""
    ca, cert, key = (getattr(args, name, None) for name in ("tls_ca", "tls_cert", "tls_key"))
    if (cert is None) != (key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if ca is None and cert is None:
        return False
    return TLSConfig(
        root_certificates=_read_pem(ca, "--tls-ca") if ca else None,
        client_certificate_chain=_read_pem(cert, "--tls-cert") if cert else None,
        client_private_key=_read_pem(key, "--tls-key") if key else None,
    )

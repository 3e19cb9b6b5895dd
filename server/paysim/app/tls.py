"""The server's transport security: TLS material read from files and re-read while serving, and
the refusal to serve plaintext where other machines can reach it.

gRPC asks :meth:`CertificateReloader.fetch` for the certificate at every new connection's
handshake; it answers "unchanged" unless the files changed (their size or modification time) or
SIGHUP asked for a reload. Connections already open keep the certificate they were made with, so
a reload drops nothing. Material that does not load (a half-written file, a key that does not
match the certificate) is logged and the previous certificate stays in use.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from paysim.app.listen_address import ListenError, resolve
from paysim.config import Settings

log = logging.getLogger("paysim.tls")

_PUBLIC_DER = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


class TransportError(RuntimeError):
    """The server cannot serve with the transport security it was given."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert: Path
    key: Path
    client_ca: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> TlsFiles | None:
        """The files ``settings`` name, or None for plaintext; raise if they are given by halves."""
        if bool(settings.tls_cert) != bool(settings.tls_key):
            raise TransportError("--tls-cert and --tls-key (PAYSIM_TLS_CERT, PAYSIM_TLS_KEY) go together")
        if not settings.tls_cert:
            if settings.tls_client_ca:
                raise TransportError("--tls-client-ca (PAYSIM_TLS_CLIENT_CA) needs --tls-cert and --tls-key")
            return None
        client_ca = Path(settings.tls_client_ca) if settings.tls_client_ca else None
        return cls(Path(settings.tls_cert), Path(settings.tls_key), client_ca)

    def paths(self) -> tuple[Path, ...]:
        return (self.cert, self.key) if self.client_ca is None else (self.cert, self.key, self.client_ca)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TransportError(f"cannot read the TLS {what} {path}: {error.strerror}") from None


@dataclass(frozen=True, slots=True)
class Material:
    """What the files held when last read, checked."""

    cert_pem: bytes
    key_pem: bytes
    client_ca_pem: bytes | None

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        # A fresh one each time: gRPC takes ownership of a configuration it is given.
        return grpc.ssl_server_certificate_configuration(
            [(self.key_pem, self.cert_pem)], root_certificates=self.client_ca_pem
        )


def load(files: TlsFiles) -> Material:
    """The files' material, checked: PEM that parses, a key that matches the certificate. Raise
    TransportError with a sentence otherwise."""
    cert_pem, key_pem = _read(files.cert, "certificate"), _read(files.key, "key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise TransportError(f"the TLS certificate {files.cert} holds no PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise TransportError(f"the TLS key {files.key} is not an unencrypted PEM private key ({error})") from None
    if chain[0].public_key().public_bytes(*_PUBLIC_DER) != key.public_key().public_bytes(*_PUBLIC_DER):
        raise TransportError(f"the TLS key {files.key} is not the key of the certificate {files.cert}")
    ca_pem = None
    if files.client_ca is not None:
        ca_pem = _read(files.client_ca, "client CA")
        try:
            x509.load_pem_x509_certificates(ca_pem)
        except ValueError:
            raise TransportError(f"the TLS client CA {files.client_ca} holds no PEM certificate") from None
    return Material(cert_pem, key_pem, ca_pem)


def _stamp(files: TlsFiles) -> tuple[tuple[int, int], ...]:
    """What tells that a file changed: size and modification time (of the target of a link, so a
    Kubernetes secret's swapped symlink counts)."""
    stamps = []
    for path in files.paths():
        try:
            status = os.stat(path)
        except OSError:
            stamps.append((-1, -1))
        else:
            stamps.append((status.st_size, status.st_mtime_ns))
    return tuple(stamps)


Fetch = Callable[[], grpc.ServerCertificateConfiguration | None]


class CertificateReloader:
    """The server's TLS credentials, with the certificate re-read when its files change or on
    :meth:`reload` (SIGHUP).

    Each listening address has credentials of its own, each asking on its own; a generation
    number tells each one whether what it serves is still the newest material."""

    def __init__(self, files: TlsFiles) -> None:
        self.files = files
        self._lock = threading.Lock()  # fetches run on gRPC's threads, reload on the event loop
        self._stamp = _stamp(files)
        self._material = load(files)
        self._generation = 0

    def credentials(self) -> grpc.ServerCredentials:
        """Credentials for one listening address."""
        initial, fetch = self.fetcher()
        # grpc-stubs says the fetcher never returns None; gRPC documents None as "unchanged".
        fetcher = cast("Callable[[], grpc.ServerCertificateConfiguration]", fetch)
        return grpc.dynamic_ssl_server_credentials(
            initial, fetcher, require_client_authentication=self.files.client_ca is not None
        )

    def fetcher(self) -> tuple[grpc.ServerCertificateConfiguration, Fetch]:
        """One listening address's first configuration, and gRPC's question at each of its
        handshakes: a newer configuration, or None for "unchanged"."""
        with self._lock:
            served = [self._generation]
            initial = self._material.configuration()

        def fetch() -> grpc.ServerCertificateConfiguration | None:
            self.reload_if_changed()
            with self._lock:
                if served[0] == self._generation:
                    return None
                served[0] = self._generation
                return self._material.configuration()

        return initial, fetch

    def reload(self) -> bool:
        """Read the files now; the next connection gets what they hold. False (and the previous
        certificate kept) if they do not load."""
        with self._lock:
            self._stamp = _stamp(self.files)
            try:
                material = load(self.files)
            except TransportError as error:
                log.warning("TLS certificate not reloaded", extra={"fields": {"reason": str(error)}})
                return False
            self._material = material
            self._generation += 1
        log.info("TLS certificate reloaded", extra={"fields": {"cert": str(self.files.cert)}})
        return True

    def reload_if_changed(self) -> bool:
        """Reload when the files changed since last read; whether the new material was taken."""
        return _stamp(self.files) != self._stamp and self.reload()


def server_credentials(settings: Settings) -> CertificateReloader | None:
    """The reloader for the TLS files ``settings`` name, None for plaintext; raise
    TransportError when they do not load or plaintext is not allowed where it would listen."""
    files = TlsFiles.from_settings(settings)
    if files is None:
        refuse_exposed_plaintext(settings)
        return None
    return CertificateReloader(files)


def refuse_exposed_plaintext(settings: Settings) -> None:
    """Plaintext only on loopback addresses, unless ``insecure`` says otherwise."""
    if settings.insecure:
        return
    try:
        endpoints = resolve(settings.listen)
    except ListenError:
        return  # not an address at all: the listener reports that in its own words
    exposed = [e for e in endpoints if not ipaddress.ip_address(e.ip).is_loopback]
    if exposed:
        raise TransportError(
            f"refusing to serve plaintext on {settings.listen}, which other machines can reach: give --tls-cert and "
            "--tls-key (PAYSIM_TLS_CERT, PAYSIM_TLS_KEY) to serve TLS, or --insecure (PAYSIM_INSECURE=true) to "
            "serve plaintext anyway (e.g. behind a proxy that terminates TLS)"
        )

"""The TLS module's decisions without a server: which addresses may serve plaintext, which files
make a certificate, and when a listening address is handed a new one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from paysim.app.tls import CertificateReloader, TlsFiles, TransportError, load, refuse_exposed_plaintext
from paysim.config import Settings
from tests.support.certificates import CertificateAuthority, Issued


@pytest.mark.parametrize("listen", ["127.0.0.1:50051", "localhost:50051", "[::1]:50051", "127.0.0.2:0", "bad"])
def test_plaintext_is_allowed_on_loopback(listen: str) -> None:
    refuse_exposed_plaintext(Settings(listen=listen))  # "bad" is the listener's to report


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[::]:50051", "192.0.2.10:50051"])
def test_plaintext_elsewhere_needs_insecure(listen: str) -> None:
    with pytest.raises(TransportError, match=r"refusing to serve plaintext on .* --insecure"):
        refuse_exposed_plaintext(Settings(listen=listen))
    refuse_exposed_plaintext(Settings(listen=listen, insecure=True))


def test_files_come_in_pairs() -> None:
    assert TlsFiles.from_settings(Settings()) is None
    with pytest.raises(TransportError, match="go together"):
        TlsFiles.from_settings(Settings(tls_cert="a.crt"))
    with pytest.raises(TransportError, match="needs --tls-cert"):
        TlsFiles.from_settings(Settings(tls_client_ca="ca.crt"))
    files = TlsFiles.from_settings(Settings(tls_cert="a.crt", tls_key="a.key", tls_client_ca="ca.crt"))
    assert files == TlsFiles(Path("a.crt"), Path("a.key"), Path("ca.crt"))


def _files(tmp_path: Path, issued: Issued) -> TlsFiles:
    cert, key = issued.write(tmp_path, "server")
    return TlsFiles(cert, key, None)


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    ca = CertificateAuthority("unit CA")
    mixed = Issued(ca.issue_server().cert_pem, ca.issue_server().key_pem)
    with pytest.raises(TransportError, match="is not the key of the certificate"):
        load(_files(tmp_path, mixed))


def test_each_address_gets_a_reload_once_and_a_bad_one_keeps_the_last_good(tmp_path: Path) -> None:
    ca = CertificateAuthority("unit CA")
    files = _files(tmp_path, ca.issue_server())
    reloader = CertificateReloader(files)
    (_, first), (_, second) = reloader.fetcher(), reloader.fetcher()  # two listening addresses
    assert first() is None and second() is None  # nothing new yet

    assert reloader.reload()  # SIGHUP
    assert first() is not None and first() is None  # handed over once
    assert second() is not None and second() is None

    Issued(ca.issue_server().cert_pem, ca.issue_server().key_pem).write(tmp_path, "server")
    assert not reloader.reload()  # a key of another certificate: the last good one stays
    assert first() is None and second() is None

    ca.issue_server().write(tmp_path, "server")
    os.utime(files.cert, ns=(1, 1))  # a change the stamp sees whatever the clock's resolution
    assert first() is not None  # no signal: the files changing is enough
    assert second() is not None
    assert not reloader.reload_if_changed()

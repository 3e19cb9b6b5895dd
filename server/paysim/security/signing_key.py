"""Server secrets (the JWT signing key, the fingerprint key, the webhook secrets' key): from
configuration, or a development key generated once and kept in the data directory (readable by
its owner only). Never a secret written into the code."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from paysim.security.private_files import private_directory, restrict_to_owner

KEY_FILE = "jwt-signing.key"
FINGERPRINT_KEY_FILE = "fingerprint.key"
WEBHOOK_KEY_FILE = "webhook-secrets.key"


def load_or_create(configured: str, data_dir: Path, filename: str = KEY_FILE) -> bytes:
    if configured:
        return configured.encode("utf-8")
    path = data_dir / filename
    private_directory(data_dir, warn_if_shared=True)
    if path.exists():
        restrict_to_owner(path)
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
    key = secrets.token_urlsafe(48).encode()
    # Create with 0600 and write atomically so a concurrent start never reads half a key.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    try:
        os.link(tmp, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        key = path.read_bytes().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return key

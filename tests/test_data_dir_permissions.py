"""What ``paysim`` keeps on disk is its owner's alone: the data directory 0700, the SQLite database
and the -wal/-shm files beside it 0600, like the keys; whatever the umask (run here with the usual
022, under which SQLite alone would make the database 0644). Files an older version left readable
are tightened; a directory it left open is reported, not changed."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

from paysim_proto.v1 import merchant_pb2, merchant_pb2_grpc

from tests.support.factories import PASSWORD, unique, unique_email
from tests.support.streams import wait_for
from tests.test_serve_process import PAYSIM, STARTUP_SECONDS, ServerProcess, Target, paysim_env

SQLITE = Target("sqlite", "", "")
USUAL_UMASK = 0o022
KEYS = ("jwt-signing.key", "fingerprint.key", "webhook-secrets.key")


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def paysim(data_dir: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PAYSIM), *args],
        env=paysim_env(SQLITE, data_dir),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
        umask=USUAL_UMASK,
    )


class PrivateServer(ServerProcess):
    """``paysim serve`` started under the usual umask, with a data directory it creates itself
    (ServerProcess's own directory holds the server's output)."""

    def __init__(self, run_dir: Path, data_dir: Path) -> None:
        previous = os.umask(USUAL_UMASK)  # the child inherits it; ServerProcess starts it at once
        try:
            super().__init__(SQLITE, run_dir, PAYSIM_DATA_DIR=str(data_dir))
        finally:
            os.umask(previous)


def test_a_new_data_directory_and_database_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh" / ".paysim"
    server = PrivateServer(tmp_path, data_dir)
    try:
        server.wait_serving()
        merchant_pb2_grpc.MerchantServiceStub(server.channel).RegisterMerchant(
            merchant_pb2.RegisterMerchantRequest(
                name=unique("Shop"), owner_email=unique_email(), owner_password=PASSWORD
            ),
            timeout=30,
        )
        database = data_dir / "paysim.db"
        side_files = [data_dir / "paysim.db-wal", data_dir / "paysim.db-shm"]
        wait_for(lambda: all(f.exists() for f in side_files), what="SQLite's -wal and -shm files")
        assert mode(data_dir) == "0700"
        assert {p.name: mode(p) for p in (database, *side_files)} == {
            "paysim.db": "0600",
            "paysim.db-wal": "0600",
            "paysim.db-shm": "0600",
        }
        assert {name: mode(data_dir / name) for name in KEYS} == dict.fromkeys(KEYS, "0600")
        assert "data directory accessible to other users" not in server.output()
    finally:
        server.stop()


def test_what_an_older_version_left_open_is_tightened_or_reported(tmp_path: Path) -> None:
    data_dir = tmp_path / ".paysim"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    database = data_dir / "paysim.db"
    key = data_dir / "jwt-signing.key"
    key.write_text("k" * 64)
    key.chmod(0o644)
    # An older version's database, still open elsewhere: its -wal and -shm files exist, 0644 all.
    older = sqlite3.connect(database)
    try:
        older.execute("PRAGMA journal_mode=WAL")
        older.execute("CREATE TABLE older_version (id INTEGER)")
        older.commit()
        for path in (database, data_dir / "paysim.db-wal", data_dir / "paysim.db-shm"):
            path.chmod(0o644)

        created = paysim(
            data_dir, "admin", "create", "--email", unique_email("admin"), "--password-stdin", stdin=PASSWORD
        )
        assert created.returncode == 0, created.stdout + created.stderr
        for path in (database, data_dir / "paysim.db-wal", data_dir / "paysim.db-shm", key):
            assert mode(path) == "0600", path.name
    finally:
        older.close()
    assert key.read_text() == "k" * 64  # tightened, not replaced
    # The directory is the user's to change: left as it is, and reported once.
    assert mode(data_dir) == "0755"
    assert created.stderr.count("data directory accessible to other users") == 1, created.stderr
    assert f"chmod 700 {data_dir}" in created.stderr
    assert "now by its owner only" in created.stderr


def test_a_database_elsewhere_is_private_too(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere" / "shop.db"
    migrated = paysim(tmp_path / ".paysim", "migrate", "--database-url", f"sqlite:///{database}")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert (mode(database.parent), mode(database)) == ("0700", "0600")

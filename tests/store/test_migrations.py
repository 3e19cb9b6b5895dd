"""Migrations keep the data that is there: each is run from the revision before it on a database
with rows (SQLite, the default)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from paysim.store.migrate import MIGRATIONS


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            cfg.attributes["connection"] = connection
            (command.downgrade if down else command.upgrade)(cfg, revision)
    finally:
        engine.dispose()


def _columns(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute("PRAGMA table_info(idempotency_keys)")]


def test_idempotency_keys_keep_their_rows_when_merchant_id_becomes_owner(tmp_path: Path) -> None:
    path = tmp_path / "paysim.db"
    url = f"sqlite:///{path}"
    _migrate(url, "0007_webhooks")
    at = datetime(2026, 1, 2, tzinfo=UTC).isoformat()
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO idempotency_keys (merchant_id, key, method, fingerprint, state, payment_id,"
            " created_at, updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ("adm:usr_1", "k1", "Create", "fp", "completed", "pay_1", at, at, at),
        )
    _migrate(url, "head")
    columns = _columns(path)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT owner, key, fingerprint, payment_id FROM idempotency_keys").fetchall()
        primary_key = [row[1] for row in db.execute("PRAGMA table_info(idempotency_keys)") if row[5]]
    assert "owner" in columns and "merchant_id" not in columns
    assert rows == [("adm:usr_1", "k1", "fp", "pay_1")]
    assert primary_key == ["owner", "key"]


def test_the_owner_rename_is_undone_by_its_downgrade(tmp_path: Path) -> None:
    path = tmp_path / "paysim.db"
    url = f"sqlite:///{path}"
    _migrate(url, "head")
    _migrate(url, "0007_webhooks", down=True)
    assert "merchant_id" in _columns(path) and "owner" not in _columns(path)

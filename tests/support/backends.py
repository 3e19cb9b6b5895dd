"""The databases the suite runs against: SQLite always, PostgreSQL (+ Redis) when
PAYSIM_TEST_DATABASE_URL (and PAYSIM_TEST_REDIS_URL) are set. Each PostgreSQL run gets a
schema of its own, dropped at the end, so runs never see each other's rows."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy.engine import make_url

from paysim.store.database import create_engine
from paysim.store.migrate import upgrade


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    redis_url: str


def available() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("PAYSIM_TEST_DATABASE_URL"):
        names.append("postgres")
    return names


def _plain_conninfo(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def provision(name: str, tmp: Path) -> Iterator[Backend]:
    if name == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp / 'paysim.db'}", "")
        return
    base = os.environ["PAYSIM_TEST_DATABASE_URL"]
    schema = "paysim_test_" + secrets.token_hex(6)
    conninfo = _plain_conninfo(base)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        yield Backend("postgres", url, os.environ.get("PAYSIM_TEST_REDIS_URL", ""))
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def migrated(name: str, tmp: Path) -> Iterator[str]:
    """A provisioned database of backend ``name`` with paysim's schema applied; its URL."""

    async def migrate(database_url: str) -> None:
        engine = create_engine(database_url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    with provision(name, tmp) as provisioned:
        asyncio.run(migrate(provisioned.database_url))
        yield provisioned.database_url

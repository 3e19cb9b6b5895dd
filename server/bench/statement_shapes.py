"""What the shape of a payment's SQL costs the server's driver: today's statements, one statement
per phase, and several payments' writes in one transaction (group commit).

    .venv/bin/python server/bench/statement_shapes.py \
        --database-url postgresql://postgres@127.0.0.1:5432/paysim_shapes [--payments 1500] [--rounds 3]

It creates scratch tables shaped like paysim's (a payment row with its ~1.5 KB state, three events,
an idempotency key with its stored answer, one webhook endpoint whose deliveries are written with
the events, the routing state read before the gateway) in a schema of its own, which it drops at
the end, and writes ``--payments`` payments one after another on one psycopg connection (as
paysim's payment path does: prepared statements, writes pipelined with their COMMIT), in each of
three shapes:

- ``today``: the key's claim and the routing read, one round trip each, then the payment, its
  events, their webhook deliveries and the key's completion in one pipeline with the COMMIT;
- ``one_statement_per_phase``: the claim and the routing read as one statement, then every write as
  one data-modifying ``WITH`` statement, with the COMMIT;
- ``group_commit_8``: today's statements, but the writes of 8 payments share one transaction and
  one COMMIT.

It prints the client's CPU time and the wall time per payment (medians of ``--rounds``), and each
shape's CPU against today's: the most that shape could take off a payment's server CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

SETUP = """
CREATE SCHEMA {schema};
SET search_path TO {schema};
CREATE TABLE payments (id text PRIMARY KEY, merchant_id text NOT NULL, status text NOT NULL,
    amount bigint NOT NULL, currency text NOT NULL, version integer NOT NULL, created_at timestamptz NOT NULL,
    state_json text NOT NULL, test_clock_id text);
CREATE TABLE payment_events (seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, aggregate_id text NOT NULL,
    version integer NOT NULL, type text NOT NULL, merchant_id text NOT NULL, data_json text NOT NULL,
    created_at timestamptz NOT NULL, UNIQUE (aggregate_id, version));
CREATE TABLE idempotency_keys (owner text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,
    state text NOT NULL, response_blob bytea, created_at timestamptz NOT NULL, PRIMARY KEY (owner, key));
CREATE TABLE webhook_endpoints (id text PRIMARY KEY, merchant_id text NOT NULL, enabled boolean NOT NULL,
    event_types text NOT NULL);
CREATE TABLE webhook_deliveries (id text PRIMARY KEY, endpoint_id text NOT NULL, event_id text NOT NULL,
    event_type text NOT NULL, seq bigint NOT NULL, test_clock_id text);
CREATE TABLE circuit_breakers (scope text, gateway text, state_json text, PRIMARY KEY (scope, gateway));
CREATE TABLE gateway_faults (scope text, gateway text, faults_json text, PRIMARY KEY (scope, gateway));
INSERT INTO webhook_endpoints VALUES ('whe_bench', 'mer_bench', true, '*');
"""
MERCHANT = "mer_bench"
NOW = "2026-12-07T12:00:00+00:00"
STATE = json.dumps({"id": "pay", "card": {"brand": "visa", "last4": "4242"}, "history": "x" * 1400})
EVENT = json.dumps({"amount": 1999, "currency": "USD", "card": {"brand": "visa"}, "detail": "y" * 300})
EVENTS = ("payment.created", "payment.authorized", "payment.captured")

CLAIM = (
    "INSERT INTO idempotency_keys (owner, key, fingerprint, state, created_at) VALUES (%s, %s, %s, 'in_flight', %s)"
    " ON CONFLICT (owner, key) DO NOTHING RETURNING key"
)
ROUTING = (
    "SELECT 'b', gateway, state_json FROM circuit_breakers WHERE scope = %s"
    " UNION ALL SELECT 'f', gateway, faults_json FROM gateway_faults WHERE scope IN (%s, 'platform')"
)
INSERT_PAYMENT = "INSERT INTO payments VALUES (%s, %s, 'captured', 1999, 'USD', 3, %s, %s, NULL)"
INSERT_EVENTS = (
    "INSERT INTO payment_events (id, aggregate_id, version, type, merchant_id, data_json, created_at) VALUES "
    + ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(EVENTS))
    + " RETURNING version, seq"
)
ENQUEUE = (
    "INSERT INTO webhook_deliveries SELECT 'whd_' || e.id, w.id, e.id, e.type, e.seq,"
    " (SELECT p.test_clock_id FROM payments p WHERE p.id = e.aggregate_id)"
    " FROM webhook_endpoints w JOIN payment_events e ON e.aggregate_id = %s AND e.version > 0 AND e.version <= 3"
    " WHERE w.merchant_id = %s AND w.enabled"
)
COMPLETE = "UPDATE idempotency_keys SET state = 'completed', response_blob = %s WHERE owner = %s AND key = %s"

CLAIM_AND_ROUTING = "WITH k AS (" + CLAIM + ") SELECT 'k', key, '' FROM k UNION ALL " + ROUTING
ALL_WRITES = (
    "WITH p AS (" + INSERT_PAYMENT + " RETURNING id, test_clock_id),"
    " e AS (" + INSERT_EVENTS.replace("RETURNING version, seq", "RETURNING id, aggregate_id, type, version, seq") + "),"
    " d AS (INSERT INTO webhook_deliveries SELECT 'whd_' || e.id, w.id, e.id, e.type, e.seq, p.test_clock_id"
    " FROM webhook_endpoints w JOIN e ON true JOIN p ON p.id = e.aggregate_id WHERE w.merchant_id = %s AND w.enabled"
    " RETURNING 1),"
    " c AS (" + COMPLETE + " RETURNING 1)"
    " SELECT e.version, e.seq, (SELECT count(*) FROM d), (SELECT count(*) FROM c) FROM e"
)

Conn = psycopg.AsyncConnection[Any]


def event_params(payment_id: str) -> list[Any]:
    return [
        value
        for version, kind in enumerate(EVENTS, start=1)
        for value in (f"evt_{payment_id}_{version}", payment_id, version, kind, MERCHANT, EVENT, NOW)
    ]


async def claim_and_route(conn: Conn, key: str) -> None:
    cur = await conn.execute(CLAIM, (MERCHANT, key, "f" * 64, NOW))
    assert await cur.fetchone() is not None
    await (await conn.execute(ROUTING, (MERCHANT, MERCHANT))).fetchall()


async def queue_writes(conn: Conn, payment_id: str, key: str) -> None:
    await conn.execute(INSERT_PAYMENT, (payment_id, MERCHANT, NOW, STATE))
    await conn.execute(INSERT_EVENTS, event_params(payment_id))
    await conn.execute(ENQUEUE, (payment_id, MERCHANT))
    await conn.execute(COMPLETE, (STATE.encode(), MERCHANT, key))


async def today(conn: Conn, ids: list[str]) -> None:
    for payment_id in ids:
        await claim_and_route(conn, payment_id)
        async with conn.pipeline():
            await queue_writes(conn, payment_id, payment_id)
            await conn.commit()


async def one_statement_per_phase(conn: Conn, ids: list[str]) -> None:
    for payment_id in ids:
        rows = await (
            await conn.execute(CLAIM_AND_ROUTING, (MERCHANT, payment_id, "f" * 64, NOW, MERCHANT, MERCHANT))
        ).fetchall()
        assert rows and rows[0][0] == "k"
        params = [
            payment_id,
            MERCHANT,
            NOW,
            STATE,
            *event_params(payment_id),
            MERCHANT,
            STATE.encode(),
            MERCHANT,
            payment_id,
        ]
        async with conn.pipeline():
            await conn.execute(ALL_WRITES, params)
            await conn.commit()


async def group_commit_8(conn: Conn, ids: list[str]) -> None:
    for start in range(0, len(ids), 8):
        group = ids[start : start + 8]
        for payment_id in group:
            await claim_and_route(conn, payment_id)
        async with conn.pipeline():
            for payment_id in group:
                await queue_writes(conn, payment_id, payment_id)
            await conn.commit()


SHAPES: dict[str, Callable[[Conn, list[str]], Awaitable[None]]] = {
    "today": today,
    "one_statement_per_phase": one_statement_per_phase,
    "group_commit_8": group_commit_8,
}


async def measure(database_url: str, payments: int, rounds: int) -> dict[str, tuple[float, float]]:
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        schema = f"paysim_statement_shapes_{secrets.token_hex(4)}"
        await conn.execute(SETUP.format(schema=schema))
        await conn.commit()
        try:
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in SHAPES}
            for _ in range(rounds):
                for name, shape in SHAPES.items():
                    await shape(conn, [f"pay_{secrets.token_hex(8)}" for _ in range(50)])  # warm: prepared
                    ids = [f"pay_{secrets.token_hex(8)}" for _ in range(payments)]
                    cpu, wall = time.process_time(), time.perf_counter()
                    await shape(conn, ids)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    samples[name].append((cpu / payments * 1e6, wall / payments * 1e6))
            await check_rows(conn, rounds * len(SHAPES) * (payments + 50))
        finally:
            await conn.rollback()
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
            await conn.commit()
    return {
        name: (statistics.median(c for c, _ in found), statistics.median(w for _, w in found))
        for name, found in samples.items()
    }


async def check_rows(conn: Conn, expected: int) -> None:
    """Every shape wrote the same rows: a payment, its three events and deliveries, its completed key."""
    counts = await (
        await conn.execute(
            "SELECT (SELECT count(*) FROM payments), (SELECT count(*) FROM payment_events),"
            " (SELECT count(*) FROM webhook_deliveries),"
            " (SELECT count(*) FROM idempotency_keys WHERE state = 'completed')"
        )
    ).fetchone()
    want = (expected, 3 * expected, 3 * expected, expected)
    if counts != want:
        raise SystemExit(f"the shapes did not write the same rows: {counts} instead of {want}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="a PostgreSQL database to create the scratch schema in")
    parser.add_argument("--payments", type=int, default=1500, help="payments per shape and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(measure(args.database_url, args.payments, args.rounds))
    base_cpu = results["today"][0]
    print(f"{'shape':<26}{'client CPU µs/payment':>23}{'wall µs/payment':>17}{'CPU saved':>11}")
    for name, (cpu, wall) in results.items():
        print(f"{name:<26}{cpu:>23.0f}{wall:>17.0f}{base_cpu - cpu:>9.0f}µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

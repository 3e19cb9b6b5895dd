"""``server/bench/statement_shapes.py`` in CI, small: it writes the same rows in every shape (it
checks that itself and fails otherwise), prints one line per shape and leaves no schema behind.
Figures are printed, never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "server" / "bench" / "statement_shapes.py"
DATABASE_URL = os.environ.get("PAYSIM_TEST_DATABASE_URL", "")


@pytest.mark.skipif(not DATABASE_URL, reason="the script measures PostgreSQL (PAYSIM_TEST_DATABASE_URL)")
def test_every_shape_writes_the_same_rows_and_is_printed() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--database-url", DATABASE_URL, "--payments", "20", "--rounds", "1"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    shapes = [line.split()[0] for line in done.stdout.splitlines()[1:]]
    assert shapes == ["today", "one_statement_per_phase", "group_commit_8"]
    with psycopg.connect(DATABASE_URL) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'paysim\\_statement\\_shapes\\_%%'"
        ).fetchone()
    assert left == (0,)

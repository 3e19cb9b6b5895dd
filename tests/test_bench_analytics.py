"""``paysim bench-analytics`` in CI with a few thousand payments instead of a million: it fills a
scratch read model, queries it through the RPC and checks every answer. Its timings are printed,
never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PAYSIM = str(Path(sys.executable).with_name("paysim"))


def test_the_bench_answers_correctly() -> None:
    done = subprocess.run(
        [PAYSIM, "bench-analytics", "--payments", "3000", "--merchants", "3", "--days", "35", "--queries", "3"],
        capture_output=True, text=True, timeout=600, check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PAYSIM_")},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report, summary_at = json.JSONDecoder().raw_decode(done.stdout)
    print(done.stdout[summary_at:])
    assert report["correct"] is True
    assert report["payments_in_window"]["platform"] == report["expected"]["platform"] > 2000
    assert "30-day hourly metrics over 3000 payments: one merchant p50" in done.stdout

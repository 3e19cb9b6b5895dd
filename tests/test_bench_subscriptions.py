"""``paysim bench-subscriptions`` in CI: a burst of 1,500 streams opened at once against a real
server, 100 of them cut and reopened from their cursor halfway: every stream opens and every
event reaches every subscriber exactly once. Figures are printed, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.harness import ServerHandle

PAYSIM = str(Path(sys.executable).with_name("paysim"))


def test_a_burst_of_streams_all_open_and_get_every_event_once(server: ServerHandle) -> None:
    done = subprocess.run(
        [PAYSIM, "bench-subscriptions", "--target", server.target, "--subscribers", "1500", "--events", "6",
         "--reconnects", "100", "--timeout", "120", "--no-echo"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report, table_at = json.JSONDecoder().raw_decode(done.stdout)
    print(done.stdout[table_at:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["opened"] == 1500 and report["failed_subscribes"] == {}
    assert report["events"] == report["delivered_to_all"] == 6
    assert report["gaps"] == 0 and report["duplicates"] == 0 and report["reconnects"] == 100


def test_the_bare_grpc_fan_out_is_measured_beside_paysim(server: ServerHandle) -> None:
    """The yardstick: the same streams and messages on a bare grpc.aio server, with CPU figures
    (both servers run on this machine)."""
    done = subprocess.run(
        [PAYSIM, "bench-subscriptions", "--target", server.target, "--subscribers", "60", "--events", "3",
         "--reconnects", "10", "--timeout", "120"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    report, table_at = json.JSONDecoder().raw_decode(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    bare = report["bare_grpc_fan_out"]
    assert bare["opened"] == 60 and bare["delivered_to_all"] == 3
    # Read from /proc in clock ticks (10 ms): a small run's share may round to 0, never be missing.
    for figures in (bare, report):
        assert figures["server_cpu_ms_per_subscribe"] is not None and figures["server_cpu_us_per_message"] is not None
        assert figures["client_cpu_ms_per_subscribe"] is not None and figures["client_cpu_us_per_message"] is not None
    assert "paysim / bare: subscribes/s" in done.stdout[table_at:]

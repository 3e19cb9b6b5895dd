"""paysim beside localstripe, a fake Stripe server that teams use today, on this machine in one run.

    .venv/bin/python server/bench/compare_localstripe.py [--concurrency 64] [--duration 10]
        [--database-url postgresql://postgres@127.0.0.1:5432/paysim_compare]

It installs localstripe from PyPI into a scratch virtual environment (kept in
``.paysim-bench/localstripe-venv`` for the next run), starts it, and drives PaymentIntent
create + confirm (two HTTP requests, automatic capture) with ``--concurrency`` clients for
``--duration`` seconds. Then it starts ``paysim serve`` (SQLite in a scratch data directory, or
``--database-url``) and runs ``paysim bench`` against it with the same concurrency, and prints both
rates and their ratio: paysim's ``create_auto_capture`` (one CreatePayment that authorizes and
captures) per localstripe create + confirm.

localstripe is only the yardstick here; nothing of it is used by paysim.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCALSTRIPE = "localstripe==1.15.10"
SECRET = "sk_test_paysimbench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(ready: object, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {seconds:.0f}s")
        time.sleep(0.1)


def localstripe_python(cache: Path) -> Path:
    venv = cache / "localstripe-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing {LOCALSTRIPE} into {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", LOCALSTRIPE], check=True)
    return python


@contextmanager
def running(argv: list[str], env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _post(connection: http.client.HTTPConnection, path: str, form: dict[str, str]) -> dict[str, object]:
    body = urllib.parse.urlencode(form)
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/x-www-form-urlencoded"}
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    data: dict[str, object] = json.loads(response.read())
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {data}")
    return data


def localstripe_rate(port: int, concurrency: int, duration: float, warmup: float) -> float:
    """PaymentIntent create + confirm pairs per second, ``concurrency`` keep-alive clients."""
    setup = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    method = _post(
        setup,
        "/v1/payment_methods",
        {
            "type": "card",
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2035",
            "card[cvc]": "123",
        },
    )
    counted: list[int] = []
    start_measuring = time.monotonic() + warmup
    stop_at = start_measuring + duration

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        done = 0
        while time.monotonic() < stop_at:
            intent = _post(
                connection,
                "/v1/payment_intents",
                {"amount": "1999", "currency": "usd", "payment_method": str(method["id"])},
            )
            confirmed = _post(connection, f"/v1/payment_intents/{intent['id']}/confirm", {})
            if confirmed["status"] != "succeeded":
                raise RuntimeError(f"confirm: {confirmed['status']}")
            if time.monotonic() >= start_measuring:
                done += 1
        counted.append(done)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counted) / duration


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def measure_localstripe(args: argparse.Namespace) -> float:
    python = localstripe_python(args.cache)
    port = free_port()
    with running([str(python), "-m", "localstripe", "--port", str(port), "--from-scratch"]):
        wait_until(lambda: _answers(port), "localstripe")
        return localstripe_rate(port, args.concurrency, args.duration, args.warmup)


def measure_paysim(args: argparse.Namespace) -> dict[str, object]:
    paysim = str(Path(sys.executable).with_name("paysim"))
    address = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PAYSIM_DATA_DIR": data, "PAYSIM_LISTEN": address}
        if args.database_url:
            env["PAYSIM_DATABASE_URL"] = args.database_url
        with running([paysim, "serve"], env):
            wait_until(lambda: _answers(int(address.rsplit(":", 1)[1])), "paysim serve")
            bench = subprocess.run(
                [paysim, "bench", "--target", address, "--concurrency", str(args.concurrency),
                 "--duration", str(args.duration), "--warmup", str(args.warmup), "--no-echo"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
    report, table_at = json.JSONDecoder().raw_decode(bench.stdout)
    print(bench.stdout[table_at:].strip())
    return {r["scenario"]: r for r in report["results"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--database-url", default="", help="paysim's database (default: SQLite, scratch)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".paysim-bench", help="where the scratch venv is kept")
    args = parser.parse_args()
    localstripe = measure_localstripe(args)
    paysim = measure_paysim(args)
    create = float(paysim["create_auto_capture"]["per_second"])  # type: ignore[index]
    print(f"localstripe PaymentIntent create+confirm   {localstripe:10.1f} /s")
    print(f"paysim create_auto_capture                 {create:10.1f} /s")
    print(f"paysim / localstripe = {create / localstripe:.1f}x" if localstripe else "localstripe completed nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())

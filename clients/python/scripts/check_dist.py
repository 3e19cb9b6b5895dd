"""Check the client distribution the way a user gets it: built and installed alone.

Creates a throwaway virtual environment, installs ``clients/python`` into it with the contract's
Python distribution it depends on (``proto/python``; no server, no dev tools), checks that the
public surface imports there, that nothing of the server came along and that the command line
(``python -m paysim_cli``) runs, then type-checks a small usage file against the installed package
with ``mypy --strict`` (mypy from the calling environment, pointed at the throwaway one's
interpreter).

    python clients/python/scripts/check_dist.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLIENT = Path(__file__).resolve().parents[1]
PROTO = CLIENT.parents[1] / "proto" / "python"
USAGE = CLIENT / "typecheck" / "usage.py"
# Packages only the server needs: none may be installed with the client.
SERVER_ONLY = ("paysim", "sqlalchemy", "alembic", "psycopg", "aiosqlite", "bcrypt", "jwt", "redis")
IMPORT_CHECK = f"""
import importlib.util, sys
import paysim_client
from paysim_client import AsyncClient, Client, RetryPolicy, TLSConfig, connect, errors, types, webhooks
from paysim_proto.v1 import payment_pb2_grpc
import paysim_cli
from paysim_cli import main
assert paysim_client.__version__
leaked = [name for name in {SERVER_ONLY!r} if importlib.util.find_spec(name) is not None]
assert not leaked, f"server packages installed with the client: {{leaked}}"
print("public surface imports; no server packages")
"""
MYPY_CONFIG = "[mypy]\nstrict = True\nwarn_unused_ignores = True\n"


def _run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]  # noqa: S603 - fixed argv


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="paysim-client-dist-") as raw:
        tmp = Path(raw)
        venv = tmp / "venv"
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
        python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        # This environment's pip installs into the new interpreter; a copy of the sources keeps
        # the build's by-products out of the repository.
        ignore = shutil.ignore_patterns("*.egg-info", "build", "__pycache__")
        client, proto = tmp / "client", tmp / "proto"
        shutil.copytree(CLIENT, client, ignore=ignore)
        shutil.copytree(PROTO, proto, ignore=ignore)
        env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
        # Both in one command, so the client's "paysim-proto" requirement is met by the one here,
        # never by a package of that name from an index.
        _run(
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(proto), str(client)],
            env=env,
        )
        _run([str(python), "-c", IMPORT_CHECK], cwd=tmp)
        # The command line comes with the client: `python -m paysim_cli` where the server is absent.
        _run([str(python), "-m", "paysim_cli", "payments", "create", "--help"], cwd=tmp, stdout=subprocess.DEVNULL)
        shutil.copy(USAGE, tmp / "usage.py")
        (tmp / "mypy.ini").write_text(MYPY_CONFIG)
        _run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                str(tmp / "mypy.ini"),
                "--python-executable",
                str(python),
                "--no-incremental",
                "usage.py",
            ],
            cwd=tmp,
        )
    print(f"client distribution ok ({time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as error:
        print(f"failed: {' '.join(map(str, error.cmd))} (exit {error.returncode})", file=sys.stderr)
        sys.exit(1)

#!/usr/bin/env python3
"""The commands for a fresh machine that has only Python 3.11+:

    python3 server/dev.py serve  [paysim serve args...]  # run the server (SQLite in the repository's .paysim)
                                                         # and the dashboard on http://127.0.0.1:8080
    python3 server/dev.py paysim COMMAND [args...]       # any paysim command, on the same data directory
    python3 server/dev.py test   [pytest args...]        # every check CI runs, then the test suite

All create ``.venv`` in the repository root on first use and install the client and the server
(with its ``[dev]`` tools) into it, again whenever either ``pyproject.toml`` changes. Standard
library only: this file runs before any dependency exists.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
STAMP = VENV / ".paysim-dev-stamp"
# Files whose change means "reinstall". The install command is part of the hash too.
INSTALL_INPUTS = (
    ROOT / "pyproject.toml",
    ROOT / "clients" / "python" / "pyproject.toml",
    ROOT / "proto" / "python" / "pyproject.toml",
)
INSTALL_ARGS = ("-e", "proto/python", "-e", "clients/python", "-e", ".[dev]")
MIN_PYTHON = (3, 11)
# Images of the released contract (`buf build --exclude-source-info -o proto/releases/v1-<n>.binpb`);
# `buf breaking` compares the working contract with the newest one.
RELEASES = ROOT / "proto" / "releases"
# The TypeScript client: `npm ci` installs its lockfile's packages, protoc-gen-es among them, which
# the freshness check needs; its build and `node --test` run after pytest.
TS_CLIENT = ROOT / "clients" / "typescript"
# The browser dashboard (README, Dashboard): its sources and lockfile, and where its build goes,
# which `paysim serve --http` serves. Built here on first use and whenever its inputs change.
DASHBOARD = ROOT / "clients" / "dashboard"
DASHBOARD_BUILD = ROOT / "server" / "paysim" / "web" / "static"
DASHBOARD_STAMP = DASHBOARD_BUILD / ".build-stamp"
DASHBOARD_INPUTS = (DASHBOARD / "src", TS_CLIENT / "src" / "gen")
DASHBOARD_FILES = ("index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts")
DASHBOARD_HTTP = "127.0.0.1:8080"
# The suite starts hundreds of Python processes (the command line, servers): compiled once before it
# runs, they read bytecode instead of compiling every module again, which they do each time when
# PYTHONDONTWRITEBYTECODE is set or nothing was imported yet (a third of a command's start-up).
BYTECODE_SOURCES = ("server", "clients/python/src", "proto/python/src", "tests")
# The browser test drives Debian's Chromium; CI's fresh machines get it from apt.
CHROMIUM = Path("/usr/bin/chromium")


def _bin_dir() -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin")


def _venv_tool(name: str) -> Path:
    suffix = ".exe" if os.name == "nt" else ""
    return _bin_dir() / f"{name}{suffix}"


def _say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def _fail(message: str, code: int = 1) -> int:
    _say(f"error: {message}")
    return code


def _banner(text: str) -> None:
    line = "=" * 72
    print(f"\n{line}\n==> {text}\n{line}", flush=True)


def _install_hash() -> str:
    digest = hashlib.sha256()
    digest.update(" ".join(INSTALL_ARGS).encode())
    for path in INSTALL_INPUTS:
        digest.update(b"\0" + path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _venv_python_works() -> bool:
    python = _venv_tool("python")
    if not python.exists():
        return False
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv
            [str(python), "-c", "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0


def ensure_venv() -> int:
    """Create .venv if needed and (re)install when the inputs changed. Returns an exit code."""
    created = False
    if not _venv_python_works():
        action = "recreating the broken" if VENV.exists() else "creating"
        _say(f"{action} virtual environment in {VENV}")
        result = subprocess.run(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "venv", "--clear", str(VENV)], check=False
        )
        if result.returncode != 0 or not _venv_python_works():
            return _fail(
                "could not create the virtual environment with "
                f"`{sys.executable} -m venv`; on Debian/Ubuntu install the python3-venv package"
            )
        created = True

    wanted = _install_hash()
    current = STAMP.read_text().strip() if STAMP.exists() else ""
    if not created and current == wanted:
        return 0

    reason = "new environment" if created else "dependencies changed since the last install"
    _say(f"installing paysim and its development tools ({reason}); this takes about two minutes the first time")
    STAMP.unlink(missing_ok=True)
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    command = [str(_venv_tool("python")), "-m", "pip", "install"]
    if os.environ.get("CI"):
        command += ["--progress-bar", "off"]
    command += list(INSTALL_ARGS)
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 - fixed argv
    if result.returncode != 0:
        return _fail(f"`pip install {' '.join(INSTALL_ARGS)}` failed (exit {result.returncode})", result.returncode)
    STAMP.write_text(wanted + "\n")
    _say(f"installed in {time.monotonic() - started:.0f}s")
    return 0


def _tool_env() -> dict[str, str]:
    """The environment for tools run from the venv, as if it were activated."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = os.pathsep.join([str(_bin_dir()), env.get("PATH", "")])
    env.pop("PYTHONHOME", None)
    return env


def paysim_env() -> dict[str, str]:
    """The environment of ``paysim`` run through this script."""
    env = _tool_env()
    # The default data directory is the repository's .paysim, wherever this is run from, so that
    # `serve`, `admin create`, `migrate` and `verify` all work on the same database;
    # PAYSIM_DATA_DIR or --data-dir still choose another.
    env.setdefault("PAYSIM_DATA_DIR", str(ROOT / ".paysim"))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def paysim(args: Sequence[str]) -> int:
    """``paysim ARGS…`` from the venv, on the repository's data directory."""
    console_script = _venv_tool("paysim")
    if not console_script.exists():
        return _fail(f"{console_script} is missing; delete {VENV} and try again")
    env = paysim_env()
    argv = [str(console_script), *args]
    if os.name == "nt":  # no exec on Windows: run and pass the exit code on
        return subprocess.run(argv, env=env, check=False).returncode  # noqa: S603
    os.execve(argv[0], argv, env)  # noqa: S606 - replaces this process with paysim
    return 0  # not reached


def _npm() -> str:
    return "npm.cmd" if os.name == "nt" else "npm"


def _dashboard_hash() -> str:
    digest = hashlib.sha256()
    files = [DASHBOARD / name for name in DASHBOARD_FILES]
    for directory in DASHBOARD_INPUTS:
        files += sorted(path for path in directory.rglob("*") if path.is_file())
    for path in files:
        digest.update(b"\0" + path.relative_to(ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_dashboard() -> int:
    """``npm ci`` and ``npm run build`` in clients/dashboard unless its build is current. One
    build at a time: tests may start servers through this script side by side."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks, builds are not run side by side there
        return _build_dashboard()
    with (DASHBOARD / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build_dashboard()


def _build_dashboard() -> int:
    wanted = _dashboard_hash()
    if DASHBOARD_STAMP.exists() and DASHBOARD_STAMP.read_text().strip() == wanted:
        return 0
    _say("building the dashboard (clients/dashboard: npm ci, then npm run build)")
    for command in (
        [_npm(), "ci", "--prefix", str(DASHBOARD), "--no-audit", "--no-fund"],
        [_npm(), "run", "build", "--prefix", str(DASHBOARD)],
    ):
        try:
            code = subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603 - fixed argv
        except OSError as error:
            _say(f"cannot run {command[0]} ({error}): install Node.js 20+ and npm to build the dashboard")
            return 127
        if code != 0:
            return _fail(f"`{' '.join(command[:2])}` for the dashboard failed (exit {code})", code)
    DASHBOARD_STAMP.write_text(wanted + "\n")
    return 0


def serve_args(args: Sequence[str]) -> list[str]:
    """``paysim serve`` with the dashboard on 127.0.0.1:8080 unless the caller chose its address."""
    chosen = any(a == "--http" or a.startswith("--http=") for a in args) or "PAYSIM_HTTP_LISTEN" in os.environ
    return ["serve", *args] if chosen else ["serve", "--http", DASHBOARD_HTTP, *args]


def ensure_chromium() -> int:
    """Debian's chromium and chromium-driver, for the browser test, installed when missing."""
    if CHROMIUM.exists():
        return 0
    if not Path("/usr/bin/apt-get").exists() or not hasattr(os, "geteuid") or os.geteuid() != 0:
        _say(f"{CHROMIUM} is missing: install Debian's chromium and chromium-driver for the browser test")
        return 1
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium", "chromium-driver"]):
        code = subprocess.run(command, check=False, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive")).returncode  # noqa: S603
        if code != 0:
            return _fail(f"`{' '.join(command)}` failed (exit {code})", code)
    return 0


def _pytest_args(args: Sequence[str], cwd: Path) -> list[str]:
    """Paths given relative to the caller's directory keep working after the chdir to ROOT."""
    if cwd == ROOT:
        return list(args)
    fixed: list[str] = []
    for arg in args:
        path, sep, rest = arg.partition("::")
        if not arg.startswith("-") and path and (cwd / path).exists():
            arg = str((cwd / path).resolve()) + sep + rest
        fixed.append(arg)
    return fixed


# Most tests wait on servers, sockets and subprocesses rather than compute, so even two cores
# run several at once; a file's tests stay together (they share its servers).
PARALLEL = ["-n", "4", "--dist", "loadfile"]


def _parallel(args: Sequence[str]) -> list[str]:
    """xdist's workers unless the caller chose (``-n``, ``-p no:xdist``) or picked single tests."""
    chosen = any(a in ("-n", "--numprocesses", "no:xdist") or a.startswith(("-n", "--numprocesses=")) for a in args)
    return [] if chosen else PARALLEL


def _release_number(image: Path) -> int:
    _, _, number = image.stem.rpartition("-")
    return int(number) if number.isdigit() else -1


def latest_release() -> Path | None:
    """The newest released contract image: the highest ``<n>`` of ``proto/releases/v1-<n>.binpb``."""
    images = [image for image in RELEASES.glob("v1-*.binpb") if _release_number(image) >= 0]
    return max(images, key=_release_number, default=None)


def test(args: Sequence[str]) -> int:
    python = str(_venv_tool("python"))
    release = latest_release()
    if release is None:
        return _fail(f"no released contract image in {RELEASES.relative_to(ROOT)} to run `buf breaking` against")
    npm = "npm.cmd" if os.name == "nt" else "npm"
    npm_ci = [npm, "ci", "--prefix", str(TS_CLIENT), "--no-audit", "--no-fund"]
    steps: list[tuple[str, list[str]]] = [
        ("npm ci (clients/typescript)", npm_ci),
        (
            "dashboard: npm ci, type check and build (clients/dashboard)",
            [sys.executable, str(Path(__file__).resolve()), "build-dashboard"],
        ),
        (
            "Chromium for the browser test (apt-get install chromium chromium-driver when missing)",
            [sys.executable, str(Path(__file__).resolve()), "install-chromium"],
        ),
        ("buf lint", [str(_venv_tool("buf")), "lint"]),
        ("buf format --diff --exit-code", [str(_venv_tool("buf")), "format", "--diff", "--exit-code"]),
        (
            f"buf breaking against the last released contract ({release.relative_to(ROOT).as_posix()})",
            [str(_venv_tool("buf")), "breaking", "--against", str(release.relative_to(ROOT))],
        ),
        (
            "generated code is fresh (gen_protos.py --check)",
            [python, "proto/scripts/gen_protos.py", "--check"],
        ),
        ("ruff check .", [str(_venv_tool("ruff")), "check", "."]),
        ("ruff format --check .", [str(_venv_tool("ruff")), "format", "--check", "."]),
        ("mypy", [str(_venv_tool("mypy"))]),
        (
            "client distribution installs alone and type-checks (check_dist.py)",
            [python, "clients/python/scripts/check_dist.py"],
        ),
        ("hadolint Dockerfile", [str(_venv_tool("hadolint")), "Dockerfile"]),
        (
            "the image's steps, command and health check without Docker (check_image.py)",
            [python, "server/check_image.py"],
        ),
        (
            "bytecode for the sources, read by every process the suite starts (compileall)",
            [python, "-m", "compileall", "-q", "-j", "0", *BYTECODE_SOURCES],
        ),
        ("pytest", [python, "-m", "pytest", *_parallel(args), *_pytest_args(args, Path.cwd().resolve())]),
        ("TypeScript client: tsc, then node --test", [npm, "test", "--prefix", str(TS_CLIENT)]),
    ]
    env = _tool_env()
    total = len(steps)
    started = time.monotonic()
    for number, (title, command) in enumerate(steps, start=1):
        _banner(f"[{number}/{total}] {title}")
        step_started = time.monotonic()
        try:
            result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603 - fixed argv
            code = result.returncode
        except OSError as error:
            print(f"cannot run {command[0]}: {error}", file=sys.stderr)
            code = 127
        if code != 0:
            _banner(f"FAILED: step {number}/{total} `{title}` (exit {code})")
            return code if code > 0 else 1
        print(f"--> {title}: ok ({time.monotonic() - step_started:.1f}s)", flush=True)
    _banner(f"all {total} steps passed ({time.monotonic() - started:.0f}s)")
    return 0


USAGE = """usage: python3 server/dev.py serve  [paysim serve args...]
       python3 server/dev.py paysim COMMAND [args...]
       python3 server/dev.py test   [pytest args...]

serve   run the gRPC server (default: 127.0.0.1:50051, SQLite in the repository's .paysim) and
        the browser dashboard on http://127.0.0.1:8080 (built from clients/dashboard on first use;
        --http HOST:PORT elsewhere)
paysim  any paysim command on the same data directory, e.g. `paysim admin create --email E`
test    npm ci for the TypeScript client, the dashboard's build (with its type check), Chromium
        for the browser test (apt-get, when missing), buf lint, buf format, buf breaking against the last
        released contract, generated-code freshness (Python and TypeScript), ruff, ruff format,
        mypy, the client distribution in a fresh venv, hadolint and the Dockerfile's steps
        (check_image.py), bytecode for the sources, pytest, then the TypeScript build and tests

All create .venv in the repository root on first use and keep it installed."""


def main(argv: Sequence[str]) -> int:
    if sys.version_info < MIN_PYTHON:
        return _fail(f"Python {'.'.join(map(str, MIN_PYTHON))}+ is required, this is {sys.version.split()[0]}")
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "build-dashboard":  # a step of `test`; needs no venv
        DASHBOARD_STAMP.unlink(missing_ok=True)
        return ensure_dashboard()
    if command == "install-chromium":  # a step of `test`
        return ensure_chromium()
    if command not in {"serve", "paysim", "test"}:
        print(USAGE, file=sys.stderr)
        return _fail(f"unknown command {command!r}", 2)
    code = ensure_venv()
    if code != 0:
        return code
    if command == "test":
        return test(rest)
    if command == "serve":
        if ensure_dashboard() != 0:
            _say("serving without the dashboard's files: its page says how to build them")
        return paysim(serve_args(rest))
    return paysim(rest)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)

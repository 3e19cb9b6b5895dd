#!/usr/bin/env python3
"""Perform the Dockerfile's steps without a Docker engine, then run the image's exact command and
health check: a step that would fail in ``docker build`` (a COPY of a file the context lacks or
.dockerignore leaves out, a RUN that fails) or a server that would not become healthy fails here.

    python server/check_image.py [--dockerfile FILE] [--keep]

Each stage gets a scratch directory standing for its root file system and a fresh virtual
environment standing for the base image's Python (this interpreter's version); absolute paths
of the Dockerfile (``/src``, ``/wheels``, ``/data``) are mapped into the stage's directory.
What needs root inside an image and would change this machine (``groupadd``, ``useradd``,
``chown``) is left out, and the server runs as the user running this script.
Standard library only.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Commands that manage the image's users: they need root and would change this machine.
USER_MANAGEMENT = ("groupadd", "useradd", "chown")
HEALTHY_WITHIN_SECONDS = 60.0


class StepFailed(Exception):
    """A Dockerfile step that would fail in ``docker build`` or ``docker run``."""


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    flags: dict[str, str]
    args: str

    def __str__(self) -> str:
        text = f"{self.keyword} {self.args}"
        return f"line {self.line}: `{text if len(text) < 90 else text[:87] + '...'}`"


@dataclass
class Stage:
    name: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    exposed: list[str] = field(default_factory=list)
    stop_signal: str = "SIGTERM"

    @property
    def venv(self) -> Path:
        return self.root / "usr" / "local" / "venv"

    def host(self, path: str) -> Path:
        """Where an absolute path of the image lies in this stage's scratch directory."""
        absolute = path if path.startswith("/") else f"{self.workdir.rstrip('/')}/{path}"
        return self.root / absolute.lstrip("/")

    def path_env(self) -> str:
        return os.pathsep.join([str(self.venv / "bin"), str(self.host("/usr/local/bin")), os.environ.get("PATH", "")])


def parse(text: str) -> list[Instruction]:
    """The instructions, continuation lines joined, comments (and parser directives) dropped."""
    found: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        start = start or number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).strip().partition(" ")
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        found.append(Instruction(start, keyword.upper(), flags, rest))
        pending, start = "", 0
    return found


def dockerignore(context: Path) -> list[str]:
    path = context / ".dockerignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _matches(glob: str, parts: list[str]) -> bool:
    """Whether ``glob`` matches the path of ``parts`` or one of its parents (``**/`` any depth)."""
    if glob.startswith("**/"):
        tail = glob[3:]
        return any(fnmatch.fnmatch("/".join(parts[j : k + 1]), tail) for k in range(len(parts)) for j in range(k + 1))
    return any(fnmatch.fnmatch("/".join(parts[: k + 1]), glob) for k in range(len(parts)))


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents decides."""
    parts = relative.strip("/").split("/")
    verdict = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _matches(pattern.removeprefix("!").strip("/"), parts):
            verdict = not negated
    return verdict


def _json_list(instruction: Instruction) -> list[str]:
    try:
        value = json.loads(instruction.args)
    except json.JSONDecodeError:
        raise StepFailed(f'{instruction}: only the exec form (["..."]) is checked') from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise StepFailed(f"{instruction}: expected a JSON list of strings")
    return value


class ImageSteps:
    def __init__(self, dockerfile: Path, context: Path, scratch: Path) -> None:
        self.instructions = parse(dockerfile.read_text())
        self.context = context
        self.patterns = dockerignore(context)
        self.scratch = scratch
        self.stages: dict[str, Stage] = {}
        self.stage: Stage | None = None

    def build(self) -> Stage:
        for number, instruction in enumerate(self.instructions, start=1):
            print(f"check_image: [{number}/{len(self.instructions)}] {instruction}", flush=True)
            handler = getattr(self, f"_{instruction.keyword.lower()}", None)
            if handler is None:
                raise StepFailed(f"{instruction}: this script does not know {instruction.keyword}")
            handler(instruction)
        if self.stage is None:
            raise StepFailed("the Dockerfile has no FROM")
        return self.stage

    def _current(self, instruction: Instruction) -> Stage:
        if self.stage is None:
            raise StepFailed(f"{instruction}: before any FROM")
        return self.stage

    def _from(self, instruction: Instruction) -> None:
        image, _, name = instruction.args.partition(" AS ")
        if not re.fullmatch(r"[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}", image.strip()):
            raise StepFailed(f"{instruction}: the base image is not pinned by digest (NAME:TAG@sha256:…)")
        name = name.strip() or f"stage{len(self.stages)}"
        stage = Stage(name, self.scratch / name)
        stage.root.mkdir(parents=True)
        subprocess.run([sys.executable, "-m", "venv", str(stage.venv)], check=True)  # noqa: S603
        self.stages[name] = self.stage = stage

    def _env(self, instruction: Instruction) -> None:
        stage = self._current(instruction)
        for pair in shlex.split(instruction.args):
            key, _, value = pair.partition("=")
            stage.env[key] = value

    def _arg(self, instruction: Instruction) -> None:
        pass  # build arguments with defaults only: nothing to do before their use

    def _workdir(self, instruction: Instruction) -> None:
        stage = self._current(instruction)
        stage.workdir = instruction.args if instruction.args.startswith("/") else str(stage.host(instruction.args))
        stage.host(stage.workdir).mkdir(parents=True, exist_ok=True)

    def _copy(self, instruction: Instruction) -> None:
        stage = self._current(instruction)
        *sources, dest = shlex.split(instruction.args)
        origin = self.stages[instruction.flags["from"]].root if "from" in instruction.flags else self.context
        target = stage.host(dest)
        for source in sources:
            path = origin / source.lstrip("/")
            relative = source.strip("/").removeprefix("./")
            if not path.exists() or ("from" not in instruction.flags and ignored(relative, self.patterns)):
                raise StepFailed(
                    f"{instruction}: {source} is not in the build context (or .dockerignore leaves it out)"
                )
            into = target / path.name if (dest.endswith("/") and path.is_file()) else target
            if path.is_dir():
                shutil.copytree(path, into, dirs_exist_ok=True, ignore=self._ignore_in(path, origin, instruction))
            else:
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, into)

    def _ignore_in(
        self, directory: Path, origin: Path, instruction: Instruction
    ) -> Callable[[str, list[str]], list[str]] | None:
        if "from" in instruction.flags:
            return None

        def leave_out(folder: str, names: list[str]) -> list[str]:
            base = Path(folder).relative_to(origin).as_posix()
            return [n for n in names if ignored(f"{base}/{n}".removeprefix("./"), self.patterns)]

        return leave_out

    def _run(self, instruction: Instruction) -> None:
        stage = self._current(instruction)
        mounts = self._mounts(stage, instruction)
        try:
            for command in instruction.args.split(" && "):
                self._run_one(stage, instruction, command.strip())
        finally:
            for link in mounts:
                link.unlink()

    def _mounts(self, stage: Stage, instruction: Instruction) -> list[Path]:
        """``--mount=type=bind,from=STAGE,source=S,target=T``: T is a link to that stage's S."""
        spec = instruction.flags.get("mount")
        if not spec:
            return []
        options = dict(part.partition("=")[::2] for part in spec.split(","))
        if options.get("type") != "bind" or options.get("from") not in self.stages:
            raise StepFailed(f"{instruction}: only bind mounts from an earlier stage are checked")
        link = stage.host(options["target"])
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(self.stages[options["from"]].host(options["source"]))
        return [link]

    def _run_one(self, stage: Stage, instruction: Instruction, command: str) -> None:
        if command.split()[0] in USER_MANAGEMENT:
            print(f"check_image:   left out (needs root in the image): {command}", flush=True)
            return
        mapped = re.sub(r"(?<![\w./-])(/[A-Za-z][\w./-]*)", lambda m: str(stage.host(m.group(1))), command)
        env = {**os.environ, **stage.env, "PATH": stage.path_env(), "VIRTUAL_ENV": str(stage.venv)}
        done = subprocess.run(["/bin/sh", "-ec", mapped], cwd=stage.host(stage.workdir), env=env, check=False)  # noqa: S603
        if done.returncode != 0:
            raise StepFailed(f"{instruction}: `{command}` exited with {done.returncode}")

    def _user(self, instruction: Instruction) -> None:
        self._current(instruction)

    def _volume(self, instruction: Instruction) -> None:
        stage = self._current(instruction)
        for path in _json_list(instruction):
            stage.host(path).mkdir(parents=True, exist_ok=True)

    def _expose(self, instruction: Instruction) -> None:
        self._current(instruction).exposed += instruction.args.split()

    def _healthcheck(self, instruction: Instruction) -> None:
        keyword, _, rest = instruction.args.partition(" ")
        if keyword != "CMD":
            raise StepFailed(f"{instruction}: expected HEALTHCHECK [OPTIONS] CMD [...]")
        self._current(instruction).healthcheck = _json_list(Instruction(instruction.line, "CMD", {}, rest))

    def _stopsignal(self, instruction: Instruction) -> None:
        self._current(instruction).stop_signal = instruction.args

    def _entrypoint(self, instruction: Instruction) -> None:
        self._current(instruction).entrypoint = _json_list(instruction)

    def _cmd(self, instruction: Instruction) -> None:
        self._current(instruction).cmd = _json_list(instruction)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_env(stage: Stage) -> dict[str, str]:
    """The image's environment: its ENV (absolute paths mapped), the port moved to a free one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYSIM_")}
    for key, value in stage.env.items():
        env[key] = str(stage.host(value)) if value.startswith("/") else value
    listen = stage.env.get("PAYSIM_LISTEN", "")
    if listen:
        host, _, port = listen.rpartition(":")
        if stage.exposed and port not in [p.split("/")[0] for p in stage.exposed]:
            raise StepFailed(f"PAYSIM_LISTEN {listen} is not on the port the image EXPOSEs ({stage.exposed})")
        env["PAYSIM_LISTEN"] = f"{host}:{_free_port()}"
    env["PATH"] = stage.path_env()
    return env


def serve_and_check_health(stage: Stage) -> None:
    """Start ENTRYPOINT + CMD as ``docker run`` would, run HEALTHCHECK until it passes, stop it with
    STOPSIGNAL: it must exit 0."""
    if not stage.cmd or not stage.healthcheck:
        raise StepFailed("the image has no CMD or no HEALTHCHECK")
    env = run_env(stage)
    argv = [*stage.entrypoint, *stage.cmd]
    print(f"check_image: docker run: {' '.join(argv)} (PAYSIM_LISTEN={env.get('PAYSIM_LISTEN')})", flush=True)
    executable = shutil.which(argv[0], path=env["PATH"]) or argv[0]
    server = subprocess.Popen([executable, *argv[1:]], cwd=stage.host(stage.workdir), env=env)  # noqa: S603
    try:
        _wait_healthy(stage, server, env)
    finally:
        if server.poll() is None:
            server.send_signal(signal.Signals[stage.stop_signal])
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
                raise StepFailed(f"the server did not stop within 30 s of {stage.stop_signal}") from None
    if server.returncode != 0:
        raise StepFailed(f"the server exited with {server.returncode} on {stage.stop_signal}, not 0")
    print("check_image: the server stopped cleanly on", stage.stop_signal, flush=True)


def _wait_healthy(stage: Stage, server: subprocess.Popen[bytes], env: dict[str, str]) -> None:
    executable = shutil.which(stage.healthcheck[0], path=env["PATH"]) or stage.healthcheck[0]
    deadline = time.monotonic() + HEALTHY_WITHIN_SECONDS
    while True:
        if server.poll() is not None:
            raise StepFailed(f"the image's command exited with {server.returncode} before it was healthy")
        check = subprocess.run(  # noqa: S603
            [executable, *stage.healthcheck[1:]],
            env=env,
            cwd=stage.host(stage.workdir),
            capture_output=True,
            check=False,
        )
        if check.returncode == 0:
            print("check_image: HEALTHCHECK passed", flush=True)
            return
        if time.monotonic() > deadline:
            raise StepFailed(f"HEALTHCHECK still failing after {HEALTHY_WITHIN_SECONDS:.0f}s: {check.stderr.decode()}")
        time.sleep(0.5)  # the healthcheck's own interval, shortened


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dockerfile", type=Path, default=ROOT / "Dockerfile")
    parser.add_argument("--context", type=Path, default=ROOT)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory and print where it is")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="paysim-image-"))
    try:
        runtime = ImageSteps(args.dockerfile, args.context.resolve(), scratch).build()
        serve_and_check_health(runtime)
    except StepFailed as error:
        print(f"check_image: FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"check_image: scratch directory kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("check_image: every step passed; the image's command served and its health check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""CPU time and memory of the server processes a bench drives, read from ``/proc`` (Linux).

The bench runs beside the server on one machine: it finds the processes that listen on the
target's port (every worker of ``serve --workers N`` has a socket of its own) and reads their
user + system time, or their resident memory, before and after a scenario. Elsewhere, or for a
server on another machine, there are no figures rather than wrong ones.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listening_pids(port: int) -> list[int]:
    """The processes holding a listening socket on ``port`` (those this user may inspect)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not wanted:
        return []
    found: list[int] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                found.append(int(entry.name))
        except OSError:  # gone, or not ours to read
            continue
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of ``pids`` (all their threads); None if one cannot be read."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            return None
        # The command name may hold spaces: the fields that follow start after its ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def resident_bytes(pids: list[int]) -> int | None:
    """Resident memory (VmRSS) of ``pids`` together; None if one cannot be read."""
    total = 0
    for pid in pids:
        try:
            status = (PROC / str(pid) / "status").read_text()
        except OSError:
            return None
        rss = next((line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), None)
        if rss is None:
            return None
        total += int(rss) * 1024
    return total


def local_port(target: str) -> int | None:
    """The port of ``target`` when it is this machine, else None."""
    host, _, port = target.rpartition(":")
    if host.strip("[]") not in {"127.0.0.1", "localhost", "::1", "0.0.0.0"} or not port.isdigit():  # noqa: S104
        return None
    return int(port)


class CpuMeter:
    """CPU seconds spent by the server's processes (when they run here) and by this process,
    between marks."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._server, self._client = self._read()

    def _read(self) -> tuple[float | None, float]:
        return (cpu_seconds(self._pids) if self._pids else None), time.process_time()

    def lap(self) -> tuple[float | None, float]:
        """Server and client CPU seconds since the previous lap (server None: unreadable)."""
        server, client = self._read()
        spent = (
            server - self._server if server is not None and self._server is not None else None,
            client - self._client,
        )
        self._server, self._client = server, client
        return spent


def per(spent: float | None, count: int, unit: float) -> float | None:
    """``spent`` seconds per one of ``count``, in ``unit`` (1e3: ms, 1e6: µs)."""
    return round(spent * unit / count, 3) if spent is not None and count else None

"""server/dev.py's dashboard wiring: `serve` turns the dashboard on at 127.0.0.1:8080 unless the
caller chose, and the build is redone exactly when one of its inputs changed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev() -> Any:
    spec = importlib.util.spec_from_file_location("paysim_dev_unit", ROOT / "server" / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serve_adds_the_dashboard_unless_the_caller_chose(dev: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAYSIM_HTTP_LISTEN", raising=False)
    assert dev.serve_args([]) == ["serve", "--http", "127.0.0.1:8080"]
    assert dev.serve_args(["--listen", "127.0.0.1:6000"]) == [
        "serve",
        "--http",
        "127.0.0.1:8080",
        "--listen",
        "127.0.0.1:6000",
    ]
    assert dev.serve_args(["--http", "127.0.0.1:9000"]) == ["serve", "--http", "127.0.0.1:9000"]
    assert dev.serve_args(["--http=[::1]:9000"]) == ["serve", "--http=[::1]:9000"]
    monkeypatch.setenv("PAYSIM_HTTP_LISTEN", "127.0.0.1:9001")
    assert dev.serve_args([]) == ["serve"]


def test_the_build_hash_follows_every_input(dev: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dashboard, generated = tmp_path / "clients" / "dashboard", tmp_path / "clients" / "typescript" / "src" / "gen"
    (dashboard / "src").mkdir(parents=True)
    generated.mkdir(parents=True)
    for name in dev.DASHBOARD_FILES:
        (dashboard / name).write_text(name)
    (dashboard / "src" / "main.ts").write_text("one")
    (generated / "payment_pb.ts").write_text("gen")
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    monkeypatch.setattr(dev, "DASHBOARD", dashboard)
    monkeypatch.setattr(dev, "DASHBOARD_INPUTS", (dashboard / "src", generated))
    first = dev._dashboard_hash()
    assert dev._dashboard_hash() == first
    for changed in (dashboard / "src" / "main.ts", generated / "payment_pb.ts", dashboard / "package-lock.json"):
        before = dev._dashboard_hash()
        changed.write_text(changed.read_text() + "!")
        assert dev._dashboard_hash() != before, changed
    (dashboard / "src" / "new.ts").write_text("")
    assert dev._dashboard_hash() != first

"""Breaking the contract fails the codegen freshness check for both SDKs.

The check (``proto/scripts/gen_protos.py --check``) regenerates everything into scratch
directories and compares it with the checked-in code; the TypeScript half runs ``buf generate``
with the repository's ``buf.gen.yaml``, which reads the repository's ``proto/``. So the check is
run here as a developer would meet it: in a copy of the repository's contract, generator and
checked-in outputs, first untouched (fresh), then with a field of the contract renamed (stale
in Python and in TypeScript alike).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TS_CLIENT = ROOT / "clients" / "typescript"
PLUGIN = TS_CLIENT / "node_modules" / ".bin" / "protoc-gen-es"
# What --check reads and compares, relative to the repository root.
COPIED = (
    "buf.yaml",
    "buf.gen.yaml",
    "proto",
    "clients/python/src/paysim_client/_generated",
    "clients/typescript/src/gen",
    "clients/typescript/src/derived",
)
RENAMED_FIELD = ("int64 fee_amount_minor = ", "int64 processing_fee_minor = ")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PLUGIN.exists(), reason="protoc-gen-es is not installed: run `npm ci` in clients/typescript first"
    ),
]


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of what the freshness check reads, with the TypeScript client's node_modules linked."""
    for relative in COPIED:
        source, target = ROOT / relative, tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copyfile(source, target)
    (tmp_path / "clients" / "typescript" / "node_modules").symlink_to(TS_CLIENT / "node_modules")
    return tmp_path


def check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "proto" / "scripts" / "gen_protos.py"), "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )


def test_renaming_a_field_makes_both_sdks_stale(checkout: Path) -> None:
    untouched = check(checkout)
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    assert "generated code is fresh" in untouched.stdout

    contract = checkout / "proto" / "paysim" / "v1" / "payment.proto"
    text = contract.read_text()
    assert RENAMED_FIELD[0] in text
    contract.write_text(text.replace(*RENAMED_FIELD, 1))

    broken = check(checkout)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    stale = broken.stdout.split()
    assert "proto/python/src/paysim_proto/v1/payment_pb2.py" in stale, broken.stdout
    assert "clients/typescript/src/gen/paysim/v1/payment_pb.ts" in stale, broken.stdout

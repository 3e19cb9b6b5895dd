"""Regenerate the Python messages, gRPC stubs and type stubs from proto/.

The generated modules live in ``paysim_client.v1``. protoc writes them under
``paysim/v1`` with absolute ``paysim.v1`` imports; this script moves them into the
client package and rewrites those imports, so generated code is never hand-edited.

    python clients/python/scripts/gen_protos.py           # regenerate
    python clients/python/scripts/gen_protos.py --check   # exit 1 if stale
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROTO_ROOT = ROOT / "proto"
TARGET = ROOT / "clients" / "python" / "src" / "paysim_client" / "v1"
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
IMPORT_RE = re.compile(r"^(from|import) paysim\.v1\b", re.MULTILINE)
INIT_TEXT = '"""Generated protobuf messages and gRPC stubs of the paysim.v1 contract."""\n'


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def generate(out_dir: Path) -> None:
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as raw:
        cmd = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTO_ROOT}",
            f"--plugin=protoc-gen-mypy={_bin('protoc-gen-mypy')}",
            f"--plugin=protoc-gen-mypy_grpc={_bin('protoc-gen-mypy_grpc')}",
            f"--python_out={raw}",
            f"--grpc_python_out={raw}",
            f"--mypy_out={raw}",
            f"--mypy_grpc_out={raw}",
            *protos,
        ]
        subprocess.run(cmd, check=True)  # noqa: S603 - fixed argv, no shell
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted((Path(raw) / "paysim" / "v1").iterdir()):
            if not path.name.endswith(GENERATED_SUFFIXES):
                continue
            text = IMPORT_RE.sub(lambda m: f"{m.group(1)} paysim_client.v1", path.read_text())
            (out_dir / path.name).write_text(text)
        (out_dir / "__init__.py").write_text(INIT_TEXT)
        (out_dir / "py.typed").write_text("")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in code is stale")
    args = parser.parse_args()
    if not args.check:
        shutil.rmtree(TARGET, ignore_errors=True)
        generate(TARGET)
        print(f"generated {TARGET.relative_to(ROOT)}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "v1"
        generate(fresh)
        cmp = filecmp.dircmp(fresh, TARGET)
        stale = cmp.left_only + cmp.right_only + cmp.diff_files
        if stale:
            print("generated code is stale, run clients/python/scripts/gen_protos.py:", *stale)
            return 1
    print("generated code is fresh")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Comparing freshly generated code with the checked-in copy, for gen_protos.py --check."""

from __future__ import annotations

import filecmp
from pathlib import Path


def differences(fresh: Path, current: Path, root: Path) -> list[str]:
    """The files that differ between two trees, subdirectories included."""
    if not current.exists():
        return [f"{current.relative_to(root)}/ (missing)"]
    found: list[str] = []
    pending = [filecmp.dircmp(fresh, current, ignore=["__pycache__"])]
    while pending:
        comparison = pending.pop()
        where = Path(comparison.right).relative_to(root)
        names = (*comparison.left_only, *comparison.right_only, *comparison.diff_files)
        found += [f"{where / name}" for name in names]
        pending += comparison.subdirs.values()
    return found

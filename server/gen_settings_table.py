"""Rewrite README.md's settings table from the declarations in server/paysim/config.py.

Run after adding or changing a setting: ``.venv/bin/python server/gen_settings_table.py``;
``--check`` only reports whether the README's table is stale (exit 1) and changes nothing.
Nothing runs this at runtime; tests/unit/test_settings.py runs ``--check``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from paysim.config import Settings
from paysim.config_values import settings_table

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- settings table: written by server/gen_settings_table.py from server/paysim/config.py -->\n"
END = "<!-- end of settings table -->\n"


def with_table(readme: str, table: str) -> str:
    """``readme`` with the text between the markers replaced by ``table``."""
    head, begin, rest = readme.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"{README}: the settings table's markers are missing")
    return head + BEGIN + table + END + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's table is stale; write nothing")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = with_table(current, settings_table(Settings))
    if wanted == current:
        return 0
    if args.check:
        print(f"{README}: the settings table is stale; run server/gen_settings_table.py", file=sys.stderr)
        return 1
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's table of cards by country and funding is the catalogue's, row for row."""

from __future__ import annotations

import re
from pathlib import Path

from paysim.domain.card_issuers import COUNTRY_CARDS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_readme_lists_every_card_by_country_as_the_catalogue_has_it() -> None:
    section = README.split("### Cards by country and funding", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| ([^|]+) \| `([A-Z]{2})` \| ([^|]+) \| `(\d+)` \| (\w+) \|$", section, re.MULTILINE)
    assert rows == [(name, country, brand, pan, funding.value) for pan, brand, country, name, funding in COUNTRY_CARDS]

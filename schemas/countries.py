"""The assigned ISO 3166-1 alpha-2 country codes an event's `country` may carry, and their names.

Bundled with the package (countries.tsv, from the tz database's public-domain iso3166.tab): no network.
"""

from __future__ import annotations

from importlib import resources


def _load() -> dict[str, str]:
    text = (resources.files("schemas") / "countries.tsv").read_text(encoding="utf-8")
    rows = (line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {code: name for code, name in rows}


COUNTRY_NAMES: dict[str, str] = _load()  # upper-case code -> usual English name
COUNTRIES = frozenset(COUNTRY_NAMES)

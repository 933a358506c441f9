"""Languages: everything the builder needs to know about a language tag, worked out
once per tag (`language()`), from Babel's data and three small tables.

A language's script comes from Babel's likely-subtags data (ar -> Arab,
zh-Hans -> Hans, de -> Latn), so adding a language needs no code: only a script the
builder has no fonts for does. Its direction comes from Babel's character order.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.core import Locale, get_global

LATIN = ("NotoSans-Regular.ttf",)


@dataclass(frozen=True)
class Script:
    code: str                 # ISO 15924
    stylesheet: str | None    # loaded after the base, paper and format stylesheets
    fonts: tuple[str, ...]    # regular faces, in the order the stylesheet falls back
    cost: float = 1.0         # layout time of a page against a Latin one (balances shards)


SCRIPTS = {
    "Latn": Script("Latn", None, LATIN),
    "Cyrl": Script("Cyrl", None, LATIN),  # Noto Sans covers Cyrillic and Greek
    "Grek": Script("Grek", None, LATIN),
    "Arab": Script("Arab", "styles/script-arab.css", ("NotoNaskhArabic-Regular.ttf",) + LATIN, 1.2),
    "Hans": Script("Hans", "styles/script-hans.css", ("NotoSansCJKsc-Regular.otf",) + LATIN, 1.5),
}


@dataclass(frozen=True)
class Formula:
    """A readability formula of textstat's: its name, textstat's function and arguments."""

    name: str
    function: str
    args: tuple = ()


# Only English is held to a limit (the formats' max_grade); the others are reported.
FORMULAS = {
    "en": Formula("Flesch-Kincaid grade", "flesch_kincaid_grade"),
    "es": Formula("Szigriszt-Pazos (INFLESZ)", "szigriszt_pazos"),
    "fr": Formula("Flesch reading ease (Kandel-Moles)", "flesch_reading_ease"),
    "de": Formula("Wiener Sachtextformel 1", "wiener_sachtextformel", (1,)),
}


@dataclass(frozen=True)
class Language:
    tag: str                  # BCP 47, as the folder is named: en, zh-Hans
    locale: Locale            # Babel's: dates, names
    script: Script
    direction: str            # "ltr" or "rtl"
    formula: Formula | None   # readability, where textstat has one


@lru_cache(maxsize=None)
def language(tag: str) -> Language:
    """The language a tag names; ValueError or babel's UnknownLocaleError if Babel
    does not know it."""
    locale = Locale.parse(tag, sep="-")
    code = locale.script
    if code is None:
        likely = get_global("likely_subtags").get(locale.language, "")
        code = next((part for part in likely.split("_") if len(part) == 4), "Latn")
    direction = "rtl" if locale.character_order == "right-to-left" else "ltr"
    return Language(tag, locale, SCRIPTS.get(code, SCRIPTS["Latn"]), direction, FORMULAS.get(locale.language))


@lru_cache
def coverage(fonts_dir: Path, fonts: tuple[str, ...]) -> frozenset[int]:
    """Every code point the given font files have a glyph for."""
    from fontTools.ttLib import TTFont
    points = set()
    for name in fonts:
        with TTFont(fonts_dir / name, lazy=True) as font:
            points.update(font.getBestCmap())
    return frozenset(points)

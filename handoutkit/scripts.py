"""Writing systems: which stylesheet and which shipped fonts a language needs.

A language's script comes from Babel's likely-subtags data (ar -> Arab,
zh-Hans -> Hans, de -> Latn), so adding a language needs no code: only a script
the builder has no fonts for does.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.core import Locale, get_global
from fontTools.ttLib import TTFont

LATIN = ("NotoSans-Regular.ttf",)


@dataclass(frozen=True)
class Script:
    code: str                 # ISO 15924
    stylesheet: str | None    # loaded after the base, paper and format stylesheets
    fonts: tuple[str, ...]    # regular faces, in the order the stylesheet falls back


SCRIPTS = {
    "Latn": Script("Latn", None, LATIN),
    "Cyrl": Script("Cyrl", None, LATIN),  # Noto Sans covers Cyrillic and Greek
    "Grek": Script("Grek", None, LATIN),
    "Arab": Script("Arab", "styles/script-arab.css", ("NotoNaskhArabic-Regular.ttf",) + LATIN),
    "Hans": Script("Hans", "styles/script-hans.css", ("NotoSansCJKsc-Regular.otf",) + LATIN),
}


def script_of(lang: str) -> Script:
    """The script a language is written in, by Babel's likely subtags."""
    locale = Locale.parse(lang, sep="-")
    code = locale.script
    if code is None:
        likely = get_global("likely_subtags").get(locale.language, "")
        code = next((part for part in likely.split("_") if len(part) == 4), "Latn")
    return SCRIPTS.get(code, SCRIPTS["Latn"])


@lru_cache
def coverage(fonts_dir: Path, fonts: tuple[str, ...]) -> frozenset[int]:
    """Every code point the given font files have a glyph for."""
    points = set()
    for name in fonts:
        with TTFont(fonts_dir / name, lazy=True) as font:
            points.update(font.getBestCmap())
    return frozenset(points)

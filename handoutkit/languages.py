"""Languages: everything the builder needs to know about a language tag, worked out
once per tag (`language()`), from Babel's data and a small table.

A language's script comes from Babel's likely-subtags data (ar -> Arab,
zh-Hans -> Hans, de -> Latn), so adding a language needs no code; the fonts of each
script are the project's settings (settings.py, [scripts.X] in handoutkit.toml). Its
direction comes from Babel's character order.
"""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from babel.core import Locale, get_global

from .files import is_regular_input


@dataclass(frozen=True)
class Formula:
    """A readability formula of textstat's: its name, textstat's function and arguments."""

    name: str
    function: str
    args: tuple = ()


# Only English is held to a limit (the formats' max_grade and max_smog); the others are reported.
FORMULAS = {
    "en": Formula("Flesch-Kincaid grade", "flesch_kincaid_grade"),
    "es": Formula("Szigriszt-Pazos (INFLESZ)", "szigriszt_pazos"),
    "fr": Formula("Flesch reading ease (Kandel-Moles)", "flesch_reading_ease"),
    "de": Formula("Wiener Sachtextformel 1", "wiener_sachtextformel", (1,)),
}

# Reported beside a language's formula under these keys: SMOG is held to a format's
# max_smog, Dale-Chall only reported. English only: SMOG's grades were fitted to English
# readers and Dale-Chall counts words missing from its English list of familiar words.
MEASURES = {
    "en": (Formula("smog", "smog_index"), Formula("dale_chall", "dale_chall_readability_score")),
}


def readability_measures(score: dict, max_grade: float | None, max_smog: float | None) -> list[tuple]:
    """(name, value, limit) of each measure of a readability score, in the order they are
    reported. The limits hold for English only (see FORMULAS): the one place that says so,
    for the check (checks.check_readability) and the report (report.describe_readability)."""
    english = score["formula"] == FORMULAS["en"].name
    return [(score["formula"], score["score"], max_grade if english else None),
            ("SMOG", score.get("smog"), max_smog if english else None),
            ("Dale-Chall", score.get("dale_chall"), None)]


@dataclass(frozen=True)
class Language:
    tag: str                  # BCP 47, as the folder is named: en, zh-Hans
    locale: Locale            # Babel's: dates, names
    script: str               # ISO 15924 code: Latn, Arab, Hans
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
    return Language(tag, locale, code, direction, FORMULAS.get(locale.language))


@lru_cache
def coverage(fonts_dirs: Path | tuple[Path, ...], fonts: tuple[str, ...]) -> frozenset[int]:
    """Every code point the given font files have a glyph for; each file is taken from
    the first of the folders that has it (a project's styles/fonts, then the builder's)."""
    from fontTools.ttLib import TTFont
    folders = (fonts_dirs,) if isinstance(fonts_dirs, Path) else fonts_dirs
    points = set()
    for name in fonts:
        # Only a regular file inside its folder: a FIFO there would block the build.
        path = next((folder / name for folder in folders if is_regular_input(folder / name, folder)), None)
        if path is None:
            raise FileNotFoundError(f"no font file {name} in {', '.join(map(str, folders))}")
        with TTFont(path, lazy=True) as font:
            points.update(font.getBestCmap())
    return frozenset(points)

"""The catalog's interface text, from the catalog_ keys of templates/strings/<lang>.toml.

Handouts never need these keys (render.REQUIRED_STRINGS does not list them): a
language gets a catalog page of its own only when its file has every catalog key
English has; otherwise it simply has none. A count's words are either one string for
every count or a table of CLDR plural forms ("one", "few", ..., "other"), chosen with
Babel's plural rules here and with the browser's Intl.PluralRules in the page's script.
"""

import tomllib
from functools import lru_cache
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from markupsafe import Markup, escape

from .assets import bases
from .files import read_input
from .languages import language
from .render import PLACEHOLDER_RE

PREFIX = "catalog_"
DEFAULT_LANGUAGE = "en"  # the reference for which keys exist, and the page index.html is in
STRINGS_DIR = "templates/strings"


class CatalogText:
    """One language's catalog strings, with its locale for plural forms and dates."""

    def __init__(self, lang: str, values: dict):
        self.lang, self.values = lang, values
        self.locale: Locale = language(lang).locale

    def __call__(self, key: str, **fill) -> str:
        return fill_in(self.form(key, fill.get("count")), fill)

    def plural(self, key: str, count: int, **fill) -> str:
        return fill_in(self.form(key, count), {"count": count, **fill})

    def markup(self, key: str, **fill) -> Markup:
        """The string as HTML: its own text escaped, Markup values (a <strong>) kept."""
        return Markup(PLACEHOLDER_RE.sub(lambda m: str(escape(fill.get(m[1], m[0]))), str(escape(self(key)))))

    def form(self, key: str, count: int | None) -> str:
        value = self.values[PREFIX + key]
        if isinstance(value, str):
            return value
        category = self.locale.plural_form(count) if count is not None else "other"
        return value.get(category, value["other"])

    def for_script(self, *keys: str) -> dict:
        """Strings the page's script writes itself (the status line), plural tables whole."""
        return {key: self.values[PREFIX + key] for key in keys}


def fill_in(text: str, fill: dict) -> str:
    # Only {name} placeholders, as in render.Strings: str.format would reach attributes.
    return PLACEHOLDER_RE.sub(lambda m: str(fill.get(m[1], m[0])), text)


def read_catalog_strings(root: Path, lang: str) -> dict:
    """The catalog_ keys of a language: the builder's file, then the project's on top,
    key by key, so a project that overrides en.toml for its handouts keeps the catalog's."""
    values = {}
    for base in reversed(bases(root)):
        path = base / STRINGS_DIR / f"{lang}.toml"
        values.update(read_prefixed(path) if path.is_file() else {})
    return values


@lru_cache(maxsize=64)
def read_prefixed_cached(path: Path, mtime_ns: int) -> dict:
    data = tomllib.loads(read_input(path, path.parent).decode("utf-8-sig"))  # a regular file, never a FIFO; a BOM is no text
    return {k: v for k, v in data.items() if k.startswith(PREFIX)}


def read_prefixed(path: Path) -> dict:
    """A broken file (the handout build reports it) gives no catalog strings."""
    try:
        return read_prefixed_cached(path, path.stat().st_mtime_ns)
    except (OSError, ValueError):  # TOMLDecodeError and UnicodeDecodeError are ValueErrors
        return {}


def is_complete(values: dict, reference: dict) -> bool:
    """Every key of the reference, each a string or a plural table with "other"."""
    return all(isinstance(values.get(key), str) or "other" in (values.get(key) or {})
               for key in reference)


def catalog_languages(root: Path) -> list[CatalogText]:
    """The languages with complete catalog strings, English first, then by tag."""
    tags = {path.stem for base in bases(root) for path in (base / STRINGS_DIR).glob("*.toml")}
    reference = read_catalog_strings(root, DEFAULT_LANGUAGE)
    texts = []
    for tag in sorted(tags, key=lambda t: (t != DEFAULT_LANGUAGE, t)):
        values = read_catalog_strings(root, tag)
        if reference and is_complete(values, reference) and knows(tag):
            texts.append(CatalogText(tag, values))
    return texts


def knows(tag: str) -> bool:
    try:
        language(tag)
    except (ValueError, UnknownLocaleError):  # a tag Babel does not know gets no page
        return False
    return True


def page_name(lang: str) -> str:
    """index.html for English (the address people already have), index.<lang>.html otherwise."""
    return "index.html" if lang == DEFAULT_LANGUAGE else f"index.{lang}.html"

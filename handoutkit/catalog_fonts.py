"""The shipped fonts, embedded in each catalog page: every script shows, even on a
machine without an Arabic or CJK font (where 中文 would otherwise be boxes).

Each page carries @font-face rules whose src is a data: URI (the page stays one file
and fetches nothing; its CSP allows `font-src data:` only) of a WOFF2 subset holding
exactly the characters that page can show. Each character goes to the first family
of FAMILIES with a glyph for it, the order of catalog.css's font stack, so no two
subsets carry the same character.

Cutting is slow (about 5 s for six pages, most of it Noto Sans CJK, a 16 MB font), and
every build, even one with nothing to do, writes the catalog: each subset is kept in the
user's cache folder (catalog-fonts/ beside fitcache's fit-sizes.json), named by a digest
of the font file's bytes and of its characters, and made again only when one of those
changes. The cache serves every output folder, so a fresh `dist/` (every CI run) does
not cut them again. The big fonts are read and cut once, to the characters of all
pages together; each page's subset is cut from that small font.
"""

import base64
import hashlib
import io
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .assets import bases
from .files import is_regular_input, write_atomically
from .fitcache import cache_dir

FONT_CACHE = "catalog-fonts"  # in the user's cache folder (fitcache.cache_dir)
MAX_SUBSET_BYTES = 4_000_000  # a page's subset is 5-200 KB; anything bigger there is not one
MAX_CACHED = 300  # subsets kept; the least recently used go first
# The page's script writes counts ("3 files") that need not appear in the page as built.
ALWAYS = frozenset("0123456789")


@dataclass(frozen=True)
class Family:
    name: str      # the CSS family name; catalog.css names it in its font stack
    files: dict    # CSS font-weight -> file in styles/fonts/


# The order of catalog.css's font-family stack: the first with a glyph gets the character.
# Named apart from any installed "Noto Sans", so the subset is what the page uses.
FAMILIES = (
    Family("Catalog Noto Sans", {400: "NotoSans-Regular.ttf", 700: "NotoSans-Bold.ttf"}),
    Family("Catalog Noto Naskh Arabic", {400: "NotoNaskhArabic-Regular.ttf", 700: "NotoNaskhArabic-Bold.ttf"}),
    Family("Catalog Noto Sans CJK SC", {400: "NotoSansCJKsc-Regular.otf", 700: "NotoSansCJKsc-Bold.otf"}),
)


def font_faces_css(root: Path, pages: list[frozenset[str]]) -> list[str]:
    """For each page's characters, its @font-face rules (CSS text)."""
    fonts = {name: font_file(root, name) for family in FAMILIES for name in family.files.values()}
    shares = [assign_characters(chars | ALWAYS, fonts) for chars in pages]
    # All pages' characters of a family together: the large file is cut once.
    union = {family.name: frozenset().union(*(share[family.name] for share in shares)) for family in FAMILIES}
    subsets = Subsets(cache_dir() / FONT_CACHE, fonts, union)
    rules = [make_rules(share, subsets) for share in shares]
    subsets.prune()
    return rules


def font_file(root: Path, name: str) -> Path:
    """The project's font file, or the builder's where the project's is missing or is not
    a regular file inside its folder (a FIFO there would block the catalog)."""
    folders = [base / "styles/fonts" for base in bases(root)]
    return next((folder / name for folder in folders if is_regular_input(folder / name, folder)), folders[-1] / name)


def assign_characters(chars: frozenset[str], fonts: dict) -> dict[str, frozenset[str]]:
    """Which family draws each character: the first in FAMILIES whose regular face
    has it. Characters none has are left to the browser's own fonts."""
    left, share = set(chars), {}
    for family in FAMILIES:
        covered = cmap_of(fonts[family.files[400]])
        share[family.name] = frozenset(c for c in left if ord(c) in covered)
        left -= share[family.name]
    return share


class Subsets:
    """WOFF2 subsets, from the cache folder of those already made or cut anew."""

    def __init__(self, folder: Path, fonts: dict, union: dict):
        self.folder, self.fonts, self.union = folder, fonts, union

    def woff2(self, family: Family, name: str, chars: frozenset[str]) -> bytes:
        path = self.folder / f"{self.digest(name, chars)}.woff2"
        if (data := read_cached(path)) is not None:
            return data
        font = self.fonts[name]
        data = cut_to_woff2(cut_from_file(font, modified(font), self.union[family.name]), chars)
        try:
            write_atomically(path, data)
        except OSError:
            pass  # a read-only cache folder: the next catalog cuts it again
        return data

    def digest(self, name: str, chars: frozenset[str]) -> str:
        """Of the font's bytes, not its date: a fresh clone (a CI run) has new dates."""
        font = self.fonts[name]
        key = f"{name}\0{file_digest(font, modified(font))}\0{''.join(sorted(chars))}"
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def prune(self) -> None:
        """Keep the MAX_CACHED subsets used last (read_cached marks a use)."""
        try:
            files = sorted(self.folder.glob("*.woff2"), key=lambda path: path.lstat().st_mtime_ns)
            for path in files[:-MAX_CACHED]:
                path.unlink()
        except OSError:
            pass  # another build pruned it first, or the folder is read-only: only space is lost


def read_cached(path: Path) -> bytes | None:
    """A subset from the cache, if one is there: a regular file of a subset's size (never a
    link, FIFO or device, which could block the catalog or put someone else's file in it)."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SUBSET_BYTES:
            return None
        data = path.read_bytes()
        os.utime(path)  # used: pruned last
    except OSError:
        return None
    return data


@lru_cache(maxsize=32)
def file_digest(path: Path, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def make_rules(share: dict, subsets: Subsets) -> str:
    rules = []
    for family in FAMILIES:
        chars = share[family.name]
        if not chars:
            continue
        for weight, name in family.files.items():
            rules.append(font_face(family.name, weight, subsets.woff2(family, name, chars), chars))
    return "\n".join(rules)


def font_face(family: str, weight: int, woff2: bytes, chars: frozenset[str]) -> str:
    data = base64.b64encode(woff2).decode("ascii")
    return (f'@font-face {{ font-family: "{family}"; font-style: normal; font-weight: {weight}; '
            f'src: url(data:font/woff2;base64,{data}) format("woff2"); '
            f'unicode-range: {unicode_range(chars)}; }}')


def unicode_range(chars: frozenset[str]) -> str:
    """U+20-7E, U+4E2D, ...: the subset's characters as CSS ranges, so the browser
    asks this face only for what it holds."""
    points, ranges = sorted(ord(c) for c in chars), []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return ", ".join(f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}" for a, b in ranges)


def modified(path: Path) -> int:
    return path.stat().st_mtime_ns


@lru_cache(maxsize=32)
def cmap_of(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont
    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())


@lru_cache(maxsize=16)
def cut_from_file(path: Path, mtime_ns: int, chars: frozenset[str]) -> bytes:
    """The font file cut to chars, as an uncompressed font (quick to cut again).
    Cached by modification time: `serve` rewrites the catalog on every change."""
    from fontTools.ttLib import TTFont
    with TTFont(path) as font:
        return cut(font, chars, flavor=None)


def cut_to_woff2(base: bytes, chars: frozenset[str]) -> bytes:
    from fontTools.ttLib import TTFont
    with TTFont(io.BytesIO(base)) as font:
        return cut(font, chars, flavor="woff2")


def cut(font, chars: frozenset[str], flavor: str | None) -> bytes:
    """Subset with the shaping features fontTools keeps by default (Arabic joining
    forms, CJK and Latin ligatures), which the browser needs to lay the text out."""
    from fontTools import subset

    options = subset.Options()
    options.flavor = flavor
    options.desubroutinize = True  # CFF (the CJK font) compresses better in WOFF2 this way
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars])
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.flavor = flavor
    font.recalcTimestamp = False  # the font's own date, not today's: the same subset is the same bytes
    font.save(buffer)
    return buffer.getvalue()

"""The catalog: dist/index.html, one page listing every PDF of the manifest, and the
same page in each language whose strings file has the catalog's text (index.de.html,
index.ar.html ...; catalog_text.py), linked to each other.

Clinicians open it to find, download and print a handout; authors see it live
with `python build.py serve`. The page is one self-contained file (CSS and a
little JavaScript inline) plus a PNG thumbnail of each PDF's first page under
thumbnails/, so it works from file://, from any static host, and when dist/ is
copied elsewhere. It never asks for anything outside its folder: even its fonts are
inside, cut to the characters the page shows (catalog_fonts.py).
"""

import csv
import io
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from urllib.parse import quote

import pypdfium2
from babel.core import UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup

from . import PROJECT_ROOT
from .assets import find
from .settings import DEFAULTS
from .files import write_atomically
from .outdir import check_manifest, check_no_links, is_ours, read_record, remove_written, write_output, write_written
from .languages import language
from .catalog_fonts import font_faces_css
from .catalog_text import CatalogText, catalog_languages, page_name
from .render import make_environment

INDEX = "index.html"
INDEX_CSV = "index.csv"  # the same list as a table
THUMBNAILS = "thumbnails"
# Where font subsets were kept until December 2026 (now the user's cache: catalog_fonts).
# The files the record names there go as stale; an earlier builder's are adopted first.
OLD_FONT_CACHE = ".handoutkit-catalog-fonts"
THUMBNAIL_WIDTH = 240  # pixels: shown about 110 CSS px wide, so still sharp on 2x screens

NO_CLINIC = "-"  # filter value of a handout for no particular clinic; "" means "any"

# The filters, in the order they are shown; each has catalog_filter_<key> (its legend)
# and catalog_any_<key> (its "any" choice) in the strings. A filter is shown only when
# the manifest has more than one value for it.
FILTERS = ("lang", "format", "paper", "large-print", "clinic")
# Words of the status line, which the page's script rewrites as filters change.
SCRIPT_STRINGS = ("handouts", "files", "summary", "matches", "no_match")


@dataclass(frozen=True)
class Language:
    tag: str
    native: str   # the language named in itself, e.g. "العربية"
    english: str  # and in English, e.g. "Arabic"
    direction: str  # "ltr" or "rtl"
    local: str = ""  # and in the reader's language (the page's), e.g. "Arabisch"


@dataclass(frozen=True)
class Thumbnail:
    src: str  # relative URL from index.html
    width: int
    height: int


def write_catalog(out_dir: Path, manifest: dict, *, root: Path = PROJECT_ROOT,
                  today: date | None = None) -> Path:
    """Render the thumbnails and write out_dir/index.html and a page per language
    with catalog strings (index.de.html ...); return the path of index.html.

    root is the project whose templates/catalog.html, styles/catalog.css, strings
    and fonts are used; today decides which reviews are overdue (default: the real today).

    What it wrote is recorded (outdir.WRITTEN); what it recorded earlier and did not write
    again is deleted: the picture of a PDF gone from the manifest, the page of a language
    whose strings lost a catalog key, a font subset an older builder kept here. Nothing else is deleted.
    """
    # Only valid entries (a manifest is data: outdir.check_manifest), each with its PDF.
    manifest = check_manifest(manifest or {}, "manifest").manifest
    entries = [e for e in manifest["targets"] if (out_dir / e["path"]).is_file()]
    record = read_record(out_dir)  # its bad entries: the build warned at its start
    recorded = record.files
    # A file someone else put at a picture's name is neither read nor overwritten
    # (the build claimed its own targets' names: outdir.claim; these are the others').
    ours = recorded if record.found else None
    thumbnails = {e["path"]: make_thumbnail(out_dir, e["path"], ours) for e in entries}
    texts = catalog_languages(root)
    # One Jinja environment for every page: a new one compiles the template again (12 pages: 0.9 s).
    render = partial(render_catalog, entries, manifest.get("failed", []), thumbnails, root,
                     today or date.today(), languages=texts, env=make_environment(root / "templates"))
    # Rendered once to learn each page's characters, then again with fonts cut to them.
    fonts = font_faces_css(root, [page_characters(render(text), text) for text in texts])
    for text, font_css in zip(texts, fonts):
        write_output(out_dir, page_name(text.lang), render(text, fonts=font_css).encode("utf-8"))
    write_output(out_dir, INDEX_CSV, catalog_csv(entries))
    written = {page_name(text.lang) for text in texts} | {INDEX_CSV} | {
        thumbnail_relpath(path) for path, thumbnail in thumbnails.items() if thumbnail}
    gone = remove_written(out_dir, recorded - written - belonging_to(entries))
    with suppress(OSError):  # the old subsets' folder, once its recorded files are gone
        (out_dir / OLD_FONT_CACHE).rmdir()
    write_written(out_dir, (recorded | written) - gone, record.pdfs)
    return out_dir / INDEX


def belonging_to(entries: list[dict]) -> set[str]:
    """The files the record may name that stay while their PDF does: its picture (kept
    even when it could not be made again this time) and its --html file."""
    return {name for e in entries for name in (thumbnail_relpath(e["path"]), html_relpath(e["path"]))}


def catalog_outputs(root: Path, pdf_relpaths) -> set[str]:
    """The files write_catalog may write for these PDFs: pages, table, pictures."""
    return ({page_name(text.lang) for text in catalog_languages(root)} | {INDEX_CSV}
            | {thumbnail_relpath(path) for path in pdf_relpaths})


def html_relpath(pdf_relpath: str) -> str:
    return pdf_relpath.removesuffix(".pdf") + ".html"  # workers.html_path


def page_characters(html: str, text: CatalogText) -> frozenset[str]:
    """Every character the page can show: its own, and those of the words its script
    writes (which the page holds as JSON escapes, so they are not in the HTML as such)."""
    words = [form for value in text.for_script(*SCRIPT_STRINGS).values()
             for form in ([value] if isinstance(value, str) else value.values())]
    return frozenset(html).union(*words)


CSV_COLUMNS = ("title", "lang", "format", "paper", "variant", "version", "status", "next_review", "path")


def catalog_csv(entries: list[dict]) -> bytes:
    """The catalog as a table (index.csv), for intranets and EHR content loaders: one row per
    PDF, UTF-8 with a byte-order mark so that Excel reads the accents and scripts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        row = {**entry, "variant": ", ".join(variants(entry)) or "regular"}
        writer.writerow([spreadsheet_safe(str(row.get(column) or "")) for column in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def spreadsheet_safe(cell: str) -> str:
    """A title is an author's text: one starting with = + - @ would be a formula in a
    spreadsheet (CSV injection), so it is quoted as text."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


# --- thumbnails ----------------------------------------------------------------------

def thumbnail_relpath(pdf_relpath: str) -> str:
    return f"{THUMBNAILS}/{pdf_relpath.removesuffix('.pdf')}.png"


def thumbnail_path(out_dir: Path, pdf_relpath: str) -> Path:
    return out_dir / thumbnail_relpath(pdf_relpath)


def make_thumbnail(out_dir: Path, pdf_relpath: str, ours: set | None = None) -> Thumbnail | None:
    """The first page as a PNG, rendered only when the PDF is newer than the PNG:
    a build that rewrote one PDF re-renders one picture, not all of them. A PNG at its
    name that the record does not name (ours) is someone else's: no picture then."""
    pdf, png = out_dir / pdf_relpath, thumbnail_path(out_dir, pdf_relpath)
    if not is_ours(out_dir, thumbnail_relpath(pdf_relpath), ours):
        return None
    try:
        check_no_links(out_dir, png)  # a linked thumbnails/ is not the builder's: no picture, nothing overwritten
        if not png.is_file() or png.stat().st_mtime_ns <= pdf.stat().st_mtime_ns:
            write_atomically(png, render_first_page(pdf))
        width, height = png_size(png)
    except (OSError, ValueError, pypdfium2.PdfiumError):  # an unreadable PDF loses its picture, not the catalog
        return None
    return Thumbnail(quote(png.relative_to(out_dir).as_posix()), width, height)


def render_first_page(pdf: Path) -> bytes:
    document = pypdfium2.PdfDocument(pdf)
    try:
        page = document[0]
        # Encoded before the document is closed: the image may share PDFium's memory.
        return encode_thumbnail(page.render(scale=THUMBNAIL_WIDTH / page.get_width()).to_pil())
    finally:
        document.close()


def thumbnail_png(first_page) -> bytes:
    """The picture of a PDF just built, from the first page the audit rendered
    (target.build_target): the PDF is not opened and rendered again. Written after
    the PDF (workers.save), so it is newer than it."""
    from PIL import Image
    height = round(first_page.height * THUMBNAIL_WIDTH / first_page.width)
    image = first_page.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
    return encode_thumbnail(image)


def encode_thumbnail(image) -> bytes:
    """64 colours look the same at this size and make the file a third as big. The fast
    octree palette looks the same as the median cut and is smaller still (13 KB against
    22 KB for a booklet's cover), in 3 ms instead of 19 (24 ms a target before)."""
    from PIL import Image
    buffer = io.BytesIO()
    image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG")
    return buffer.getvalue()


def png_size(png: Path) -> tuple[int, int]:
    """Width and height from the PNG header, so the page can reserve the space."""
    with png.open("rb") as stream:
        header = stream.read(24)
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


# --- what the page shows ---------------------------------------------------------------

@lru_cache(maxsize=None)
def describe_language(tag: str, reader: str = "en") -> Language:
    """Name a BCP 47 tag in itself, in English and in the reader's language, with its
    writing direction."""
    try:
        known = language(tag)
    except (ValueError, UnknownLocaleError):
        return Language(tag, tag, tag, "ltr", tag)  # still listed, under its tag
    # get_display_name(tag) would parse "zh-Hans" with "_" and fail: pass the Locale.
    native = known.locale.get_display_name(known.locale) or tag
    english = known.locale.get_display_name("en") or tag
    local = known.locale.get_display_name(language(reader).locale) or english
    return Language(tag, native, english, known.direction, local)


@lru_cache(maxsize=1)
def english_text() -> CatalogText:
    """The builder's English catalog strings: for callers that name no language."""
    from . import ASSETS_ROOT
    return next(text for text in catalog_languages(ASSETS_ROOT) if text.lang == "en")


def filter_values(entry: dict) -> dict[str, str]:
    """The value of each filter for one PDF, as written in its data- attributes.
    stale, large_print and clinic are optional in the manifest: missing = false/none."""
    return {
        "lang": entry["lang"],
        "format": entry["format"],
        "paper": entry["paper"],
        "large-print": "yes" if entry.get("large_print") else "no",
        "clinic": entry.get("clinic") or NO_CLINIC,
    }


def make_filters(entries: list[dict], text: CatalogText | None = None) -> list[dict]:
    """The filters worth showing (more than one value), each with its choices, in the
    language of text (default English)."""
    text = text or english_text()
    filters = []
    for key in FILTERS:
        values = {filter_values(e)[key] for e in entries}
        if len(values) > 1:
            choices = [choice(key, v, text) for v in sort_values(key, values, text.lang)]
            name = key.replace("-", "_")
            filters.append({"key": key, "legend": text(f"filter_{name}"), "any": text(f"any_{name}"),
                            "choices": choices})
    return filters


def sort_values(key: str, values: set[str], reader: str) -> list[str]:
    order = {"format": list(DEFAULTS.formats), "paper": list(DEFAULTS.papers), "large-print": ["no", "yes"]}.get(key)
    if order:
        return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))
    if key == "lang":
        return sorted(values, key=lambda v: describe_language(v, reader).local.casefold())
    return sorted(values, key=lambda v: (v == NO_CLINIC, v.casefold()))


def choice(key: str, value: str, text: CatalogText) -> dict:
    """One radio button: its value, label, and the label's language when it names one."""
    if key == "lang":
        return {"value": value, "language": describe_language(value, text.lang), "label": ""}
    labels = {
        "format": lambda: format_label(value, text),
        "paper": lambda: paper_label(value, text),
        "large-print": lambda: text("large_print" if value == "yes" else "regular_print"),
        "clinic": lambda: text("no_clinic") if value == NO_CLINIC else value,
    }
    return {"value": value, "language": None, "label": labels[key]()}


def format_label(name: str, text: CatalogText) -> str:
    """A project's own format (handoutkit.toml) has no string: it is shown by its name."""
    return text(f"format_{name}") if f"catalog_format_{name}" in text.values else name.capitalize()


def paper_label(name: str, text: CatalogText, *, in_heading: bool = False) -> str:
    # "Wallet card, 85.6 × 54 mm" reads better than "Wallet card, Card, ..." in a heading.
    if in_heading and name == "card":
        return text("card_size")
    return text(f"paper_{name}") if f"catalog_paper_{name}" in text.values else name.upper()


def describe_target(entry: dict, thumbnail: Thumbnail | None, failed: dict, today: date,
                    text: CatalogText) -> dict:
    """Everything one PDF's card shows, as plain data for the template."""
    next_review = parse_date(entry.get("next_review"))
    readability = entry.get("readability")
    return {
        "href": quote(entry["path"]),
        "filename": entry["path"].rsplit("/", 1)[-1],
        "title": entry["title"],
        "language": describe_language(entry["lang"], text.lang),
        "format": format_label(entry["format"], text),
        "paper": paper_label(entry["paper"], text, in_heading=True),
        "pages": entry["pages"],
        "size": format_size(entry["bytes"], text),
        "version": entry.get("version", ""),
        "draft": entry.get("status") != "approved",
        "next_review": next_review,
        "next_review_text": format_date(next_review, "long", locale=text.locale) if next_review else "",
        # The build's own verdict when the manifest has one, else today's.
        "overdue": bool(entry.get("overdue") or (next_review and next_review < today)),
        "stale": bool(entry.get("stale")),
        "layout_warnings": list(entry.get("layout_warnings") or []),
        "variants": [text(f"variant_{key}") for key in variant_keys(entry)],
        "clinic": entry.get("clinic") or "",
        "readability": (f"{readability['formula']} {readability['score']}" if readability else ""),
        "problems": failed.get(entry["path"], []),
        "thumbnail": thumbnail,
        "filters": filter_values(entry),
        # A project's own formats and papers (handoutkit.toml) come after the builder's.
        "order": (order_of(entry["format"], DEFAULTS.formats), order_of(entry["paper"], DEFAULTS.papers),
                  len(variants(entry)),
                  entry["path"]),
    }


VARIANTS = (("large_print", "large print"), ("fillable", "fillable"), ("print_shop", "for a print shop"))


def variant_keys(entry: dict) -> list[str]:
    """What tells apart PDFs of the same format, paper and language; named in the
    card's heading and link text (catalog_variant_<key>), so every link says which file it is."""
    return [key for key, _ in VARIANTS if entry.get(key)]


def variants(entry: dict) -> list[str]:
    """The variants in English, as index.csv names them."""
    return [label for key, label in VARIANTS if entry.get(key)]


def order_of(value: str, known) -> int:
    known = list(known)
    return known.index(value) if value in known else len(known)


def group_by_handout(targets: list[dict], entries: list[dict], reader: str) -> list[dict]:
    """Handouts by id; in each, its languages by name in the reader's language; in each,
    its PDFs by format then paper. Each handout and language is headed by its usual title."""
    handouts: dict[str, dict[str, list]] = {}
    for target, entry in zip(targets, entries):
        handouts.setdefault(entry["handout"], {}).setdefault(entry["lang"], []).append(target)
    groups = []
    for handout_id in sorted(handouts):
        languages = []
        for tag, items in handouts[handout_id].items():
            items.sort(key=lambda t: t["order"])
            # Formats may carry their own title (the card does): the most common is the handout's.
            title = Counter(t["title"] for t in items).most_common(1)[0][0]
            languages.append({"language": describe_language(tag, reader), "title": title, "targets": items})
        languages.sort(key=lambda lang: lang["language"].local.casefold())
        heading = next((lang for lang in languages if lang["language"].tag == "en"), languages[0])
        groups.append({"id": handout_id, "title": heading["title"], "language": heading["language"],
                       "languages": languages})
    return groups


def parse_date(text) -> date | None:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def format_size(size: int, text: CatalogText) -> str:
    """1.2 MB, 1,2 MB: the number in the reader's locale; KB and MB are understood everywhere."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{format_decimal(round(size / (1024 * 1024), 1), '0.0', locale=text.locale)} MB"


def count_label(handouts: int, files: int, text: CatalogText) -> str:
    """The sentence under the filters; the page's script writes the same words."""
    return text("summary", handouts=text.plural("handouts", handouts), files=text.plural("files", files))


def render_catalog(entries: list[dict], failed: list[dict], thumbnails: dict, root: Path,
                   today: date, text: CatalogText, *, languages: list[CatalogText], env, fonts: str = "") -> str:
    """One language's page; fonts is its @font-face CSS (catalog_fonts.py)."""
    problems = {f["path"]: f.get("problems", []) for f in failed}
    targets = [describe_target(e, thumbnails.get(e["path"]), problems, today, text) for e in entries]
    handouts = group_by_handout(targets, entries, text.lang)
    css = find(root, "styles/catalog.css").read_text(encoding="utf-8")
    return env.get_template("catalog.html").render(
        t=text,
        page=describe_language(text.lang, text.lang),
        languages=[{"language": describe_language(other.lang, text.lang), "href": page_name(other.lang),
                    "current": other is text} for other in languages],
        handouts=handouts,
        filters=make_filters(entries, text),
        failed=failed,
        summary=count_label(len(handouts), len(targets), text),
        script_strings=text.for_script(*SCRIPT_STRINGS),
        # Our own stylesheet and fonts, inlined so the page needs no other file to look right.
        css=Markup(fonts + "\n" + css),
    )

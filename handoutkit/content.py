"""Load and validate handout content: TOML metadata and Markdown text.

Every reader here appends to a list of problems instead of raising, so one run
reports everything that is wrong with the inputs, each with file and line.

A format's Markdown file looks like this:

    # Optional title for this format only
    Intro paragraph.
    ## A section heading {#section-id}
    @include warning-signs        <- the text of partials/warning-signs.md
    @include car-t-lupus/warning-signs  <- another handout's partial, same language
    @sources                      <- the numbered list of handout.toml's sources
"""

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, replace
from datetime import date
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import markdown
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

from .cards import card_labels, parse_card_fields
from .errors import Problem, line_of  # line_of: also imported from here by other modules
from .files import check_input, read_input, unreadable
from .figures import figure_words, parse_figures, parse_pictograms
from .images import MAX_IMAGE_PIXELS, raster_problem, svg_problem  # noqa: F401 (MAX_IMAGE_PIXELS: for importers)
from .invisible import check_markdown_lines, check_toml_text, text_lines
from .model import Control, Handout, Section, Source, Text, id_problem, is_allowed_link, partial_path

MARKDOWN_EXTENSIONS = ["attr_list", "def_list", "tables", "sane_lists"]
HANDOUT_KEYS = {"id", "source_lang", "version", "last_reviewed", "next_review", "status",
                "approver", "approved_on", "formats", "sources", "safety_partials", "roles",
                "card", "figures", "pictograms"}
# What a section can be for; templates and styles address sections by role, never by id.
ROLES = {
    "key-points": "the key points: set in a box at the start",
    "steps": "the main steps: a numbered list of short lines (two columns in the brief)",
    "help": "when to get help: gets the clinic's contact block and the emergency box",
    "warnings": "the warning signs: set apart on the card",
    "glossary": "the glossary: terms and definitions",
    "references": "the full references (other formats then say where they are)",
    "learn-more": "where to learn more: the clinic's QR code goes beside it",
}
SOURCE_KEYS = {"short", "authors", "title", "journal", "year", "doi", "pmid", "url"}
META_KEYS = {"title", "subtitle", "keywords", "translation", "card", "figures"}  # card labels, figure words
MAX_KEYWORDS = 12  # topic words for the PDF's Keywords: what a library search finds it by
STATUSES = ("draft", "approved")

SECTION_RE = re.compile(r"^##\s+(?P<heading>.+?)\s*\{#(?P<id>[a-z0-9-]+)\}\s*$")
DIRECTIVE_RE = re.compile(r"^@(?P<name>[a-z]+)(?:\s+(?P<arg>\S+))?\s*$")
DIRECTIVE_WORD_RE = re.compile(r"^\s*@(include|sources)\b")
# A partial of the handout itself, or `other-handout/name`: another handout's partial in
# the same language, so shared safety text is written (and translated) in one place.
PARTIAL_NAME_RE = re.compile(r"^([a-z0-9-]+/)?[a-z0-9-]+$")
MAX_IMAGE_BYTES = 5_000_000
# A booklet's text is about 20 KB; far bigger input is a mistake, and would only meet
# the time limit after minutes of layout.
MAX_TEXT_BYTES = 500_000
# Python-Markdown parses nested lists and quotes recursively: 500 levels exhaust
# Python's stack. No leaflet needs more than a few.
MAX_NESTING = 8
NESTED_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<quotes>(?:>\s*)*)(?P<marker>[-*+]|\d+[.)])?\s")


@dataclass(frozen=True)
class Line:
    """A line of Markdown and where it came from (partials keep their own file)."""

    text: str
    path: Path
    number: int


# --- TOML -------------------------------------------------------------------

def read_toml(path: Path, problems: list, root: Path | None = None, joiners: bool = True) -> dict | None:
    """Parse a TOML file (a regular file inside root, by default its own folder:
    files.check_input); a syntax error becomes a problem with its line. `joiners`: may
    its text hold ZWJ and ZWNJ (invisible.py; true where no one language is known)."""
    try:
        text = read_input(path, root or path.parent).decode("utf-8-sig")  # a leading BOM is no text
        data = tomllib.loads(text)
        check_toml_text(path, text, data, joiners, problems)
        return data
    except UnicodeDecodeError:
        problems.append(Problem(path, "file is not UTF-8 text", "save it as UTF-8"))
    except OSError as error:  # missing, a folder, a FIFO, a link out of root, no permission, ...
        problems.append(unreadable(path, error))
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"\(at line (\d+)", str(error))
        message = re.sub(r"\s*\(at line.*\)", "", str(error))
        problems.append(Problem(path, f"TOML syntax error: {message}",
                                "see https://toml.io for the syntax",
                                int(found.group(1)) if found else None))
    return None


def check_keys(data: dict, allowed: set, path: Path, where: str, problems: list) -> None:
    """Report every key the schema does not know (a typo would be ignored otherwise)."""
    for key in sorted(set(data) - allowed):
        problems.append(Problem(path, f"unknown key '{key}'{where}", did_you_mean(key, allowed), line_of(path, key)))


def did_you_mean(key: str, allowed) -> str:
    """The fix for a misspelt key: the nearest allowed one, then all of them."""
    close = difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
    return (f"did you mean '{close[0]}'? " if close else "") + f"allowed keys: {', '.join(sorted(allowed))}"


def require(data: dict, key: str, kind: type, path: Path, problems: list, where: str = ""):
    """Return data[key] when it is present and of the right type, else report it."""
    value = data.get(key)
    if value is None:
        problems.append(Problem(path, f"missing required key '{key}'{where}",
                                f"add `{key} = ...`"))
    elif kind is str and isinstance(value, str) and not value.strip():
        problems.append(Problem(path, f"'{key}'{where} is empty", "fill it in", line_of(path, key)))
        return None
    elif not isinstance(value, kind):
        problems.append(Problem(path, f"'{key}'{where} must be a {kind.__name__}, got {value!r}",
                                line=line_of(path, key)))
        return None
    return value


# --- handout.toml -------------------------------------------------------------

def load_handout(folder: Path, problems: list, known_formats: tuple[str, ...]) -> Handout | None:
    """Read a handout's handout.toml and list its languages; its formats must be
    among the project's (settings.py)."""
    path = folder / "handout.toml"
    data = read_toml(path, problems, folder.parent)  # a link may point anywhere in handouts/
    if data is None:
        return None
    check_keys(data, HANDOUT_KEYS, path, "", problems)
    handout_id = require(data, "id", str, path, problems)
    if wrong := id_problem(folder.name):  # it names the handout's output folder and files
        problems.append(Problem(folder, f"handout folder name {wrong}", "rename the folder and its id"))
        return None
    if handout_id and handout_id != folder.name:
        problems.append(Problem(path, f"id '{handout_id}' differs from the folder name '{folder.name}'",
                                "make them the same", line_of(path, "id")))
    source_lang = require(data, "source_lang", str, path, problems)
    control = parse_control(data, path, problems)
    sections = parse_format_sections(data, path, problems, known_formats)
    roles = parse_roles(data, sections, path, problems)
    languages = tuple(sorted(p.name for p in folder.iterdir() if os.path.lexists(p / "meta.toml")))
    safety = parse_safety_partials(data, path, problems)
    card_fields = parse_card_fields(data, sections, path, problems)
    figures = parse_figures(data, sections, path, problems)
    pictograms = parse_pictograms(data, path, problems)
    if source_lang and source_lang not in languages:
        problems.append(Problem(path, f"source language '{source_lang}' has no folder {source_lang}/ with a meta.toml",
                                line=line_of(path, "source_lang")))
    # Problems are already recorded; go on with what can be read, so the texts
    # are checked too and the author sees every problem in one run.
    if handout_id is None or control is None or source_lang not in languages:
        return None
    return Handout(handout_id, folder, source_lang, control, sections, languages, safety, roles, card_fields, figures,
                   pictograms)


def parse_roles(data: dict, sections: dict, path: Path, problems: list) -> dict[str, str]:
    """[roles]: role -> the id of the section that plays it. `help` is required: it is
    where the clinic's numbers are printed, and a handout without it would lose them."""
    roles = data.get("roles", {})
    example = '[roles] help = "when-to-call" (the id of your "when to get help" section)'
    if not isinstance(roles, dict):
        problems.append(Problem(path, "roles must be a table", example, line_of(path, "roles")))
        return {}
    ids = {i for listed in sections.values() for i in listed}
    found = {}
    for role, section in roles.items():
        if role not in ROLES:
            problems.append(Problem(path, f"unknown role '{role}'", "roles: " + "; ".join(f"{k} ({v})" for k, v in ROLES.items()),
                                    line_of(path, role)))
        elif not isinstance(section, str) or (sections and section not in ids):
            problems.append(Problem(path, f"role {role} = {section!r} names no section of [formats.*] sections",
                                    f"use one of: {', '.join(sorted(ids))}", line_of(path, role)))
        else:
            found[role] = section
    if "help" not in roles:
        problems.append(Problem(path, "no help section: the clinic's numbers would have no place", f"add {example}",
                                line_of(path, "roles")))
    return found


def parse_safety_partials(data: dict, path: Path, problems: list) -> tuple[str, ...]:
    """`safety_partials`: the partials whose every paragraph and list item the audit
    must find in each PDF (warning signs, whom to call). Required: a handout without
    safety text says so with an empty list."""
    example = 'e.g. safety_partials = ["warning-signs", "when-to-call"], or [] for none'
    if "safety_partials" not in data:
        problems.append(Problem(path, "no safety_partials: the audit would not know which text must print", example))
        return ()
    names = data["safety_partials"]
    if not isinstance(names, list) or not all(isinstance(n, str) and PARTIAL_NAME_RE.match(n) for n in names):
        problems.append(Problem(path, "safety_partials must be a list of partial names", example,
                                line_of(path, "safety_partials")))
        return ()
    return tuple(dict.fromkeys(names))


def parse_control(data: dict, path: Path, problems: list) -> Control | None:
    """Version, review dates, status and sources: the document control block."""
    version = require(data, "version", str, path, problems)
    reviewed = require(data, "last_reviewed", date, path, problems)
    next_review = require(data, "next_review", date, path, problems)
    status = require(data, "status", str, path, problems)
    if reviewed and next_review and next_review <= reviewed:
        problems.append(Problem(path, "next_review must be after last_reviewed",
                                line=line_of(path, "next_review")))
    if status and status not in STATUSES:
        problems.append(Problem(path, f"status '{status}' is not one of {', '.join(STATUSES)}",
                                line=line_of(path, "status")))
    approver, approved_on = data.get("approver", ""), data.get("approved_on")
    if status == "approved":
        approver = require(data, "approver", str, path, problems, " (an approved handout names its reviewer)")
        approved_on = require(data, "approved_on", date, path, problems, " (the date of approval)")
    sources = parse_sources(data.get("sources", []), path, problems)
    if None in (version, reviewed, next_review, status):
        return None
    return Control(version, reviewed, next_review, status, approver or "", approved_on, sources)


def parse_sources(items, path: Path, problems: list) -> tuple[Source, ...]:
    """Each [[sources]] entry needs a label, authors (or, while they are being confirmed,
    a title to lead the citation) and a DOI, PMID or URL."""
    if not isinstance(items, list) or not items:
        problems.append(Problem(path, "no [[sources]] listed", "every handout names its sources"))
        return ()
    sources = []
    for number, item in enumerate(items, 1):
        where = f" in [[sources]] entry {number}"
        check_keys(item, SOURCE_KEYS, path, where, problems)
        short = require(item, "short", str, path, problems, where)
        authors = (require(item, "authors", str, path, problems, where)
                   if "authors" in item or "title" not in item else True)
        if not any(item.get(k) for k in ("doi", "pmid", "url")):
            problems.append(Problem(path, f"no doi, pmid or url{where}", "readers must be able to find it"))
        if short and authors:
            sources.append(Source(**{k: item[k] for k in SOURCE_KEYS if k in item}))
    return tuple(sources)


def parse_format_sections(data: dict, path: Path, problems: list,
                          known: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """[formats.<name>] sections = [...]: which formats exist and what they must contain."""
    formats = data.get("formats")
    hint = f"known formats: {', '.join(known)} (more are defined in handoutkit.toml)"
    if not isinstance(formats, dict) or not formats:
        problems.append(Problem(path, "no [formats.<name>] tables", hint))
        return {}
    result = {}
    for name, table in formats.items():
        if name not in known:
            problems.append(Problem(path, f"unknown format '{name}'", hint, line_of(path, f"formats.{name}")))
            continue
        ids = table.get("sections") if isinstance(table, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            problems.append(Problem(path, f"[formats.{name}] needs `sections = [\"id\", ...]`",
                                    line=line_of(path, f"formats.{name}")))
            continue
        result[name] = tuple(ids)
    return result


# --- <lang>/meta.toml and <lang>/<format>.md ------------------------------------

def load_meta(folder: Path, problems: list, joiners: bool = False) -> dict:
    """A language's title and subtitle (joiners: its script may use ZWJ and ZWNJ)."""
    path = folder / "meta.toml"
    data = read_toml(path, problems, folder.parent.parent, joiners)
    if data is None:
        return {}
    check_keys(data, META_KEYS, path, "", problems)
    require(data, "title", str, path, problems)
    check_keywords(data.get("keywords"), path, problems)
    return data


def check_keywords(keywords, path: Path, problems: list) -> None:
    """Optional topic words, in the language's own words: a short list of short texts."""
    if keywords is None:
        return
    if not (isinstance(keywords, list) and 0 < len(keywords) <= MAX_KEYWORDS
            and all(isinstance(k, str) and k.strip() and len(k) <= 60 and "," not in k for k in keywords)):
        problems.append(Problem(path, "'keywords' must be a list of 1 to 12 short words or phrases without commas",
                                'write e.g. keywords = ["lupus", "CAR-T cell therapy", "clinical trial"]',
                                line_of(path, "keywords")))


def load_text(handout: Handout, lang: str, fmt: str, meta: dict, problems: list,
              glyphs: frozenset[int] = frozenset(), joiners: bool = False) -> Text | None:
    """Read one format's Markdown, expand directives, split it into sections; with
    glyphs, also check that the shipped fonts can show every character (joiners: the
    language's script may use ZWJ and ZWNJ)."""
    folder = handout.path / lang
    path = folder / f"{fmt}.md"
    if not path.exists():
        problems.append(Problem(path, f"the {fmt} text for '{lang}' is missing",
                                f"write {fmt}.md or remove [formats.{fmt}] from handout.toml"))
        return None
    partials: dict[str, str] = {}
    before = len(problems)
    lines = read_lines(path, problems, handout.path.parent)
    if len(problems) > before:  # unreadable: its sections would only be reported missing too
        return None
    check_markdown_lines(lines, joiners, problems)  # here, not after @sources: handout.toml's own check says those
    lines = expand_directives(lines, folder, handout.control, partials, problems, joiners)
    if glyphs:
        check_glyphs(lines, glyphs, problems)
    if check_nesting(lines, problems):  # not parsed: a list 500 deep would exhaust the stack
        return None
    title, intro, sections = split_sections(lines, handout.path.parent.parent, problems)
    unreadable = len(problems) > before or "title" not in meta
    # A text that lacks a required section is still returned, so that a translation
    # is also compared with its source and every difference is reported at once.
    check_sections(path, sections, handout.sections.get(fmt, ()), problems)
    if unreadable:
        return None
    sections = [replace(s, role=handout.role_of(s.id)) for s in sections]
    return Text(path, lang, fmt, title or meta["title"], meta.get("subtitle", ""),
                intro, tuple(sections), partials, card_labels(meta), figure_words(meta),
                tuple(meta.get("keywords") or ()))


def read_lines(path: Path, problems: list, root: Path | None = None) -> list[Line]:
    """The lines of a UTF-8 text file (a regular file inside root, by default its own
    folder: files.check_input), numbered from 1."""
    try:
        size = check_input(path, root or path.parent).stat().st_size
        if size > MAX_TEXT_BYTES:
            problems.append(Problem(path, f"file is {size // 1000:,} KB, more than a handout's "
                                    f"limit of {MAX_TEXT_BYTES // 1000} KB", "shorten it or split it into handouts"))
            return []
        text = read_input(path, root or path.parent).decode("utf-8-sig")  # a leading BOM is no text
    except UnicodeDecodeError as error:
        problems.append(Problem(path, f"file is not UTF-8 text (byte {error.start})", "save it as UTF-8"))
        return []
    except OSError as error:
        problems.append(unreadable(path, error))
        return []
    return [Line(t, path, n) for n, t in enumerate(text_lines(text), 1)]


class FindAddresses(HTMLParser):
    """Every link address and image in some HTML, character references decoded, as
    WeasyPrint will read them: whatever Markdown syntax made an element (inline,
    reference, autolink, angle brackets, several lines), this is what reaches the PDF."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[tuple[str, str]] = []  # (src, alt)
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "img":
            self.images.append((values.get("src") or "", values.get("alt") or ""))
        self.links += [value or "" for name, value in attrs if name == "href" or (name == "src" and tag != "img")]


def markdown_html(lines: list[Line], root: Path, problems: list) -> Markup:
    """The lines' Markdown as HTML, every link and image in it checked (root: the project)."""
    html = to_html("\n".join(line.text for line in lines))
    found = FindAddresses(html)
    for href in found.links:
        if not is_allowed_link(href):
            report_address(problems, lines, href, f"link {href!r} is not allowed",
                           "use https://, mailto: or tel: links, or #section-id")
    for src, alt in found.images:
        if not alt.strip():
            report_address(problems, lines, src, f"image {src!r} has no alt text", "describe it: ![what it shows](path)")
        if message := image_problem(src, root):
            report_address(problems, lines, src, f"image {src!r} {message}")
    return html


def report_address(problems: list, lines: list[Line], address: str, message: str, hint: str = "") -> None:
    """A problem at the first line that holds the address (as written, or with character
    references, in any case); at the first line's file if none does (e.g. an obfuscated
    e-mail address)."""
    wanted = address.lower()
    line = next((line for line in lines if wanted in unescape(line.text).lower()), None)
    where = line or lines[0]
    problems.append(Problem(where.path, message, hint, line.number if line else None))


def image_problem(src: str, root: Path) -> str | None:
    """What is wrong with an image path (relative to the project root), if anything."""
    path = (root / src).resolve()
    if re.match(r"^[a-z]+:", src, re.I) or not path.is_relative_to((root / "handouts").resolve()):
        return "must be a file inside handouts/ (no web addresses, no other folders)"
    if re.search(r"[%?#\\]", src):  # WeasyPrint would decode it and could load another file
        return "must be a plain path (no %-escapes, ?, # or \\)"
    try:
        check_input(path, root / "handouts")  # a FIFO or device is never opened
    except FileNotFoundError:
        return "does not exist"
    except OSError as error:
        return getattr(error, "reason", None) or f"cannot be read: {error.strerror}"
    if path.stat().st_size > MAX_IMAGE_BYTES:
        return f"is larger than {MAX_IMAGE_BYTES // 1_000_000} MB"
    if path.suffix.lower() == ".svg":
        return svg_problem(path.read_bytes(), path.parent, root / "handouts")
    return raster_problem(path)


def check_nesting(lines, problems: list) -> bool:
    """Lists and quotes at most MAX_NESTING levels deep (4 spaces or one `>` a level);
    True if one is deeper."""
    for line in lines:
        match = NESTED_RE.match(line.text)
        if not match or not (match["marker"] or match["quotes"]):
            continue
        depth = len(match["indent"].expandtabs(4)) // 4 + match["quotes"].count(">") + 1
        if depth > MAX_NESTING:
            problems.append(Problem(line.path, f"a list or quote nested {depth} levels deep (at most {MAX_NESTING})",
                                    "flatten it: a leaflet reads best with one or two levels", line.number))
            return True  # one line says it; the next hundred would say the same
    return False


def check_glyphs(lines, glyphs: frozenset[int], problems: list) -> None:
    """Every character must be in the shipped fonts for the language's script:
    caught here with its file and line, not as a box in a printed leaflet."""
    reported = set()
    for line in lines:
        for column, char in enumerate(line.text, 1):
            if ord(char) in glyphs or char in "\t\r\n" or (line.path, char) in reported:
                continue
            reported.add((line.path, char))
            problems.append(Problem(line.path, f"character '{char}' (U+{ord(char):04X}, column {column}) "
                                    "is not in the shipped fonts for this language",
                                    "use another character, or add a font that has it to styles/fonts",
                                    line.number))


def expand_directives(lines, folder, control, partials, problems, joiners=False, depth=0) -> list[Line]:
    """Replace `@include name` and `@sources` lines by the text they stand for."""
    result = []
    for line in lines:
        match = DIRECTIVE_RE.match(line.text)
        if DIRECTIVE_WORD_RE.match(line.text) and not line.text.startswith("@"):
            # Indented, it would be printed as the words "@include warning-signs"
            # in place of the safety text it names.
            problems.append(Problem(line.path, f"'{line.text.strip()}' is not at the start of the line, "
                                    "so it would be printed as text", "remove the spaces before it", line.number))
        elif not line.text.startswith("@"):
            result.append(line)
        elif match and match["name"] == "include" and match["arg"]:
            result += include_partial(line, match["arg"], folder, control, partials, problems, joiners, depth)
        elif match and match["name"] == "sources" and not match["arg"]:
            result += [Line(text, line.path, line.number) for text in format_sources(control)]
        else:
            problems.append(Problem(line.path, f"unknown directive '{line.text.strip()}'",
                                    "use `@include <partial>` or `@sources` alone on a line", line.number))
    return result


def include_partial(line, name, folder, control, partials, problems, joiners, depth) -> list[Line]:
    """The lines of partials/<name>.md (or another handout's, for `handout/name`),
    themselves expanded (one level of nesting is plenty)."""
    path = partial_path(folder.parent, folder.name, name) if PARTIAL_NAME_RE.match(name) else None
    if path is None or not os.path.lexists(path):  # a link or a FIFO is found, and read_lines refuses it
        problems.append(Problem(line.path, f"@include '{name}': no file {shown_partial(folder, name)}",
                                f"available: {', '.join(available_partials(folder, name)) or 'none'}", line.number))
        return []
    if depth >= 2:
        problems.append(Problem(line.path, f"@include '{name}' is nested too deeply", line=line.number))
        return []
    included = read_lines(path, problems, folder.parent.parent)  # handouts/
    check_markdown_lines(included, joiners, problems)  # the including text's language
    partials[name] = "\n".join(item.text for item in included)
    # Blank lines around the partial keep it a separate Markdown block. A shared
    # partial's own @include lines name partials of its own handout.
    blank = [Line("", line.path, line.number)]
    return blank + expand_directives(included, path.parent.parent, control, partials, problems, joiners,
                                     depth + 1) + blank


def shown_partial(folder: Path, name: str) -> str:
    """A partial's file as an author finds it: partials/x.md, or handouts/other/<lang>/partials/x.md."""
    if "/" not in name:
        return f"partials/{name}.md"
    other, _, stem = name.partition("/")
    return f"handouts/{other}/{folder.name}/partials/{stem}.md"


def available_partials(folder: Path, name: str) -> list[str]:
    """The names an @include could use instead, in the folder the name points to."""
    other = name.partition("/")[0] if "/" in name else ""
    where = folder.parent.parent / other / folder.name if other else folder
    return sorted(f"{other}/{p.stem}" if other else p.stem for p in (where / "partials").glob("*.md"))


def format_sources(control: Control) -> list[str]:
    """Markdown for the numbered reference list: authors, title, journal, year, DOI/PMID."""
    lines = []
    for number, source in enumerate(control.sources, 1):
        parts = [source.authors, source.title, f"*{source.journal}*" if source.journal else "",
                 str(source.year or ""), f"doi:{source.doi}" if source.doi else "",
                 f"PMID {source.pmid}" if source.pmid else "", source.url]
        lines.append(f"{number}. " + ". ".join(p.rstrip(".") for p in parts if p) + ".")
    return [""] + lines + [""]


def split_sections(lines: list[Line], root: Path, problems: list) -> tuple[str, Markup, list[Section]]:
    """Split at `## Heading {#id}` lines: (title from `# ...`, intro HTML, sections), their
    links and images checked (markdown_html; root: the project)."""
    title, chunks, current = "", [], None
    intro: list[Line] = []
    for line in lines:
        if line.text.startswith("# ") and current is None and not "".join(item.text for item in intro).strip():
            title = line.text[2:].strip()
        elif line.text.startswith("## "):
            match = SECTION_RE.match(line.text)
            if not match:
                problems.append(Problem(line.path, f"section heading without an id: '{line.text}'",
                                        "end it with {#some-id}, e.g. ## Risks {#risks}", line.number))
                continue
            current = (match["id"], match["heading"], [line])
            chunks.append(current)
        elif line.text.startswith("# ") or re.match(r"^#{4,}\s", line.text):
            problems.append(Problem(line.path, "only one `# title` (first line) and `##`/`###` headings are allowed",
                                    line=line.number))
        else:
            (current[2] if current else intro).append(line)
    sections = [Section(id_, heading, markdown_html(body, root, problems)) for id_, heading, body in chunks]
    return title, markdown_html(intro, root, problems), sections


def check_sections(path: Path, sections: list[Section], required: tuple[str, ...], problems: list) -> None:
    """Every required section present, none twice."""
    ids = [s.id for s in sections]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(Problem(path, f"section id '{dup}' is used twice", "ids must be unique"))
    for missing in [i for i in required if i not in ids]:
        problems.append(Problem(path, f"required section '{missing}' is missing",
                                f"add a heading `## ... {{#{missing}}}` (handout.toml lists the required sections)"))


class KeepSafeAttributes(Treeprocessor):
    """attr_list lets an author write {: style=... onclick=... rel=attachment}; only
    the attributes Markdown itself needs reach WeasyPrint (heading ids for sections,
    link and image addresses, table cell alignment)."""

    ALLOWED = {"id", "href", "src", "alt", "title", "align"}
    ALIGN_RE = re.compile(r"^text-align: (left|right|center);$")

    def run(self, root):
        for element in root.iter():
            for name in list(element.attrib):
                safe = name in self.ALLOWED or (name == "style" and self.ALIGN_RE.match(element.attrib[name]))
                if not safe:
                    del element.attrib[name]


def to_html(text: str) -> Markup:
    """Markdown to HTML. Raw HTML in content is shown as text, never interpreted."""
    md = markdown.Markdown(extensions=MARKDOWN_EXTENSIONS, output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(KeepSafeAttributes(md), "keep_safe_attributes", 1)  # after attr_list (8)
    return Markup(md.convert(text))

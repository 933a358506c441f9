"""The project file, `handoutkit.toml`: formats, papers, scripts and build defaults.

The builder's own settings (defaults.toml, beside this module) are read first; a
project's handoutkit.toml, at its root, changes any key of any table and adds formats,
papers and scripts of its own, so a team adds an A5 leaflet, a grade-6 limit or a
new script without Python. Every key is checked, and every problem is reported at
once with its file and line, as for the content files.
"""

import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .assets import find
from .errors import ContentError, Problem
from .files import read_input

PROJECT_FILE = "handoutkit.toml"
DEFAULTS_FILE = Path(__file__).with_name("defaults.toml")
FILE_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # no folder, no ..
STYLESHEET_RE = re.compile(r"^styles/[A-Za-z0-9][A-Za-z0-9._-]*\.css$")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")  # a format's or paper's name: file names are made of it
SCRIPT_RE = re.compile(r"^[A-Z][a-z]{3}$")       # ISO 15924: Latn, Arab, Hans, Deva
# A CSS page size: a named size (with an orientation) or a width and a height.
LENGTH = r"\d+(\.\d+)?(mm|cm|in|pt|pc|px|q)"
PAGE_SIZE_RE = re.compile(rf"^((a[3-5]|b[45]|jis-b[45]|letter|legal|ledger)( (portrait|landscape))?|{LENGTH} {LENGTH})$",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Paper:
    name: str
    size: str  # CSS `@page { size }`


@dataclass(frozen=True)
class Format:
    """A length of handout: its template and stylesheet, and its page limit, a hard
    check on every PDF written."""

    name: str
    max_pages: int
    papers: tuple[str, ...]
    max_grade: float | None = None  # readability ceiling (US school grade), None = report only
    max_smog: float | None = None   # SMOG ceiling of its English text, None = report only
    # Body sizes (pt) to try, in order, when a text does not fit at the stylesheet's
    # size: long translations shrink, but never below the last one (the floor).
    smaller_sizes: tuple[float, ...] = (11.5, 11)
    large_max_pages: int | None = None  # page limit of the large-print variant; None = no such variant
    template: str = ""      # in templates/
    stylesheet: str = ""    # from the project's root
    cost: float = 2.0       # layout time of a page against a card's (balances shards)

    def page_limit(self, large_print: bool) -> int:
        return self.large_max_pages if large_print else self.max_pages

    def sizes_to_try(self, large_print: bool) -> tuple[float | None, ...]:
        """None = the stylesheet's own size; large print never shrinks below 16 pt."""
        return (None,) if large_print else (None, *self.smaller_sizes)


@dataclass(frozen=True)
class Script:
    code: str                 # ISO 15924
    stylesheet: str | None    # loaded after the base, paper and format stylesheets
    fonts: tuple[str, ...]    # regular faces in styles/fonts/, in the order the stylesheet falls back
    cost: float = 1.0         # layout time of a page against a Latin one (balances shards)
    audit_marks: bool = True  # false: the audit reads base letters and digits only (audit.squash)
    joiners: bool = False     # its texts may use ZWJ and ZWNJ (invisible.py)


@dataclass(frozen=True)
class BuildDefaults:
    """What a build makes when the command line does not say."""

    clinic: str = ""          # a clinic profile, from the project's root
    large_print: bool = False
    fillable: bool = False
    print_shop: bool = False


@dataclass(frozen=True)
class Settings:
    formats: dict = field(default_factory=dict)   # name -> Format, in the order targets are listed
    papers: dict = field(default_factory=dict)    # name -> Paper
    scripts: dict = field(default_factory=dict)   # ISO 15924 code -> Script
    build: BuildDefaults = BuildDefaults()

    def script(self, code: str) -> Script | None:
        return self.scripts.get(code)


# --- the schema: each table's keys, their kinds, and which a new entry must set -----------

KINDS = {
    "text": (lambda v: isinstance(v, str) and v.strip() != "", 'a text in quotes, e.g. "A5"'),
    # Files the layout loads stay in the project's (or the builder's) own folders: WeasyPrint
    # may load nothing else, so a path out of them would only fail later, less clearly.
    "template": (lambda v: isinstance(v, str) and FILE_NAME_RE.match(v) is not None,
                 'a file name in templates/, e.g. "leaflet.html"'),
    "stylesheet": (lambda v: isinstance(v, str) and STYLESHEET_RE.match(v) is not None,
                   'a file in styles/, e.g. "styles/leaflet.css"'),
    "fonts": (lambda v: isinstance(v, list) and v != [] and all(isinstance(x, str) and FILE_NAME_RE.match(x)
                                                                for x in v),
              'a list of file names in styles/fonts/, e.g. ["NotoSansHebrew-Regular.ttf"]'),
    "path": (lambda v: isinstance(v, str), 'a path in quotes, from the project root, or ""'),
    "flag": (lambda v: isinstance(v, bool), "true or false"),
    "count": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "a whole number, 1 or more"),
    "number": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, "a number above 0"),
    "names": (lambda v: isinstance(v, list) and v != [] and all(isinstance(x, str) and x for x in v),
              'a list of names, e.g. ["a4", "letter"]'),
    "sizes": (lambda v: isinstance(v, list) and v != [] and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                                and x > 0 for x in v) and v == sorted(v, reverse=True),
              "a list of type sizes in points, largest first, e.g. [11.5, 11]"),
}
SCHEMA = {
    "build": {"clinic": "path", "large_print": "flag", "fillable": "flag", "print_shop": "flag"},
    "papers": {"size": "text"},
    "formats": {"template": "template", "stylesheet": "stylesheet", "max_pages": "count", "papers": "names",
                "smaller_sizes": "sizes", "large_print_max_pages": "count", "max_grade": "number", "max_smog": "number",
                "cost": "number"},
    "scripts": {"stylesheet": "stylesheet", "fonts": "fonts", "cost": "number", "audit_marks": "flag",
                "joiners": "flag"},
}
REQUIRED = {"papers": ("size",), "formats": ("max_pages", "papers"), "scripts": ("fonts",)}


# --- reading -------------------------------------------------------------------------------

def load_settings(root: Path, problems: list) -> Settings:
    """The builder's defaults with the project's handoutkit.toml over them. Problems
    are added to `problems`; what is wrong falls back to the default."""
    tables = default_tables()
    path = root / PROJECT_FILE
    own = read_tables(path, problems) if path.exists() else {}
    for kind, entries in own.items():
        if kind == "build":
            tables["build"] = {**tables["build"], **entries}
            continue
        for name, keys in entries.items():
            tables[kind][name] = {**tables[kind].get(name, {}), **keys}
    settings = make_settings(tables)
    problems += check_settings(own, settings, root, path)
    return settings


@lru_cache(maxsize=8)
def settings_of(root: Path) -> Settings:
    """The settings of a project known to be valid (the build loaded it first)."""
    problems: list = []
    settings = load_settings(root, problems)
    if problems:
        raise ContentError(problems)
    return settings


def build_defaults(root: Path) -> BuildDefaults:
    """The project file's [build] table, for the command line's defaults: read without
    the content modules, so a no-op rebuild stays light. A broken file gives the
    builder's defaults here; the build reports its problems (load_settings)."""
    try:
        data = tomllib.loads(read_input(root / PROJECT_FILE, root).decode("utf-8-sig"))
    except (OSError, ValueError):
        return BuildDefaults()
    table = data.get("build")
    return BuildDefaults(**checked_keys(table, "build", "build", root / PROJECT_FILE, [])) \
        if isinstance(table, dict) else BuildDefaults()


def read_tables(path: Path, problems: list, data: dict | None = None) -> dict:
    """The file's tables (`data`, if already parsed), with every key checked against
    the schema; a wrong key or value is reported and left out."""
    if data is None:
        from .content import read_toml  # Markdown and the content checks: not for a no-op rebuild
        data = read_toml(path, problems)
    if data is None:
        return {kind: {} for kind in SCHEMA}
    tables = {kind: {} for kind in SCHEMA}
    for kind in sorted(set(data) - set(SCHEMA)):
        problems.append(Problem(path, f"unknown table [{kind}]", f"the tables are {', '.join(f'[{k}]' for k in SCHEMA)}",
                                line_of(path, kind)))
    for kind in SCHEMA:
        entries = data.get(kind, {})
        if not isinstance(entries, dict):
            problems.append(Problem(path, f"{kind} must be a table", f"write [{kind}] on a line of its own",
                                    line_of(path, kind)))
        elif kind == "build":
            tables[kind] = checked_keys(entries, kind, kind, path, problems)
        else:
            tables[kind] = {name: checked_keys(keys, kind, f"{kind}.{name}", path, problems)
                            for name, keys in entries.items() if check_entry(kind, name, keys, path, problems)}
    return tables


def check_entry(kind: str, name: str, keys, path: Path, problems: list) -> bool:
    pattern, example = (SCRIPT_RE, "an ISO 15924 code such as Deva or Hebr") if kind == "scripts" else \
        (NAME_RE, "lower-case letters, digits and hyphens, e.g. a5-leaflet")
    if not pattern.match(name):
        problems.append(Problem(path, f"[{kind}.{name}]: '{name}' is not a valid name", f"use {example}",
                                line_of(path, f"{kind}.{name}")))
        return False
    if not isinstance(keys, dict):
        problems.append(Problem(path, f"{kind}.{name} must be a table", f"write [{kind}.{name}] and its keys below it",
                                line_of(path, f"{kind}.{name}")))
        return False
    return True


def checked_keys(keys: dict, kind: str, table: str, path: Path, problems: list) -> dict:
    """The keys of one table whose names and values are right; each wrong one reported."""
    kept = {}
    for key, value in keys.items():
        where = key_line(path, table, key)
        if key not in SCHEMA[kind]:
            from .content import did_you_mean  # only when there is a problem: not for a no-op
            problems.append(Problem(path, f"unknown key '{key}' in [{table}]", did_you_mean(key, SCHEMA[kind]), where))
            continue
        valid, expected = KINDS[SCHEMA[kind][key]]
        if not valid(value):
            problems.append(Problem(path, f"[{table}] {key} = {value!r} is not valid", f"write {expected}", where))
            continue
        kept[key] = value
    return kept


def make_settings(tables: dict) -> Settings:
    """Settings from checked tables; an entry missing a required key is left out (the
    check reports it)."""
    formats = {name: Format(name, keys["max_pages"], tuple(keys["papers"]), keys.get("max_grade"), keys.get("max_smog"),
                            tuple(keys.get("smaller_sizes", (11.5, 11))), keys.get("large_print_max_pages"),
                            keys.get("template", f"{name}.html"), keys.get("stylesheet", f"styles/{name}.css"),
                            keys.get("cost", 2.0))
               for name, keys in tables["formats"].items() if complete("formats", keys)}
    papers = {name: Paper(name, keys["size"]) for name, keys in tables["papers"].items() if complete("papers", keys)}
    scripts = {code: Script(code, keys.get("stylesheet"), tuple(keys["fonts"]), keys.get("cost", 1.0),
                      keys.get("audit_marks", True), keys.get("joiners", False))
               for code, keys in tables["scripts"].items() if complete("scripts", keys)}
    return Settings(formats, papers, scripts, BuildDefaults(**tables["build"]))


def complete(kind: str, keys: dict) -> bool:
    return all(key in keys for key in REQUIRED[kind])


def check_settings(own: dict, settings: Settings, root: Path, path: Path) -> list[Problem]:
    """What the project file asks for must exist: required keys, papers, files."""
    problems = []
    for kind in REQUIRED:
        for name in own.get(kind, {}):
            missing = [key for key in REQUIRED[kind] if name not in getattr(settings, kind)]
            if missing:
                problems.append(Problem(path, f"[{kind}.{name}] needs {' and '.join(REQUIRED[kind])}",
                                        f"add them, e.g. {example_of(kind)}", line_of(path, f"{kind}.{name}")))
    for name, fmt in settings.formats.items():
        table = f"formats.{name}"
        for paper in fmt.papers:
            if paper not in settings.papers:
                problems.append(Problem(path, f"[{table}] papers: no paper '{paper}'",
                                        f"known papers: {', '.join(settings.papers)}; or add [papers.{paper}]",
                                        key_line(path, table, "papers")))
        if name in own.get("formats", {}):
            problems += missing_files(path, table, {"template": find(root, f"templates/{fmt.template}"),
                                                    "stylesheet": find(root, fmt.stylesheet)})
    for code, script in settings.scripts.items():
        if code in own.get("scripts", {}):
            files = {"fonts": find(root, f"styles/fonts/{font}") for font in script.fonts}
            files |= {"stylesheet": find(root, script.stylesheet)} if script.stylesheet else {}
            problems += missing_files(path, f"scripts.{code}", files)
    for paper in settings.papers.values():
        if not PAGE_SIZE_RE.match(paper.size.strip()):
            problems.append(Problem(path, f"[papers.{paper.name}] size '{paper.size}' is not a CSS page size",
                                    'write a name such as "A5" or "A4 landscape", or "148mm 210mm"',
                                    key_line(path, f"papers.{paper.name}", "size")))
    if settings.build.clinic and not (root / settings.build.clinic).is_file():
        problems.append(Problem(path, f"[build] clinic: no file {settings.build.clinic}",
                                "give the path of a clinic profile from the project root, or \"\"",
                                key_line(path, "build", "clinic")))
    return problems


def missing_files(path: Path, table: str, files: dict) -> list[Problem]:
    return [Problem(path, f"[{table}] {key}: no file {file}", "create it, or correct the name",
                    key_line(path, table, key)) for key, file in files.items() if not file.is_file()]


def example_of(kind: str) -> str:
    return {"formats": 'max_pages = 2 and papers = ["a4"]', "papers": 'size = "A5"',
            "scripts": 'fonts = ["NotoSansDevanagari-Regular.ttf"]'}[kind]


def key_line(path: Path, table: str, key: str) -> int | None:
    """The line of `key = ...` under the header [table], else the header's line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    start = next((n for n, text in enumerate(lines) if header.match(text)), None)
    if start is None:
        return line_of(path, table)
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number in range(start + 1, len(lines)):
        if lines[number].lstrip().startswith("["):
            break
        if pattern.match(lines[number]):
            return number + 1
    return start + 1


def line_of(path: Path, table: str) -> int | None:
    """The line of the header [table] (content.line_of, imported only when a problem
    is reported: the content modules are not for a no-op rebuild)."""
    from .content import line_of as first_line
    return first_line(path, table)


def default_tables() -> dict:
    """The builder's own settings, as tables (a new copy: load_settings changes it)."""
    return read_tables(DEFAULTS_FILE, [], tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8")))


DEFAULTS = make_settings(default_tables())

"""Incremental rebuilds: a target is built again only when one of its inputs changed.

A target's *inputs digest* (recorded as `inputs` in its manifest entry) is a
SHA-256 over everything its PDF depends on:

- its content, precisely: handout.toml, the language's meta.toml, the format's
  Markdown and the partials it includes, the language's interface strings and,
  for a translation, the source-language files its staleness is computed from
  (so a change to the English brief never rebuilds the German card);
- shared files, conservatively: everything under templates/ (but the other
  languages' strings) and styles/ (fonts too), every non-text file under
  handouts/ (images), the builder's own code, the settings (handoutkit.toml and
  the builder's defaults.toml), and any file an option names
  (a clinic profile) with the files that file names (its logo);
- the target itself, the options that change output, whether the review is
  overdue, and the versions of WeasyPrint, its libraries, Pango and HarfBuzz.

Hashing is kept cheap by a stat cache beside the manifest (`CACHE`): a file whose
size and mtime are unchanged is not read again. The same cache records each
target's content files and the target list of each selection, so a no-op rebuild
(`survey`) needs neither to load the project nor to import WeasyPrint.
Deleting the output folder or `--force` rebuilds everything.
"""

import ctypes
import hashlib
import json
import os
import sys
import time
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from stat import S_ISREG

from . import __version__
from .assets import find, search_path
from .files import is_regular_input, read_input, write_atomically
from .model import Result, Target, partial_path
from .outdir import read_manifest

CACHE = ".handoutkit-inputs.json"  # beside manifest.json; hidden, so it is not mistaken for output
MANIFEST = "manifest.json"  # report.MANIFEST, repeated so a no-op never imports WeasyPrint
SHARED_DIRS = ("templates", "styles")  # every target depends on all of their files...
CATALOG_FILES = ("templates/catalog.html", "styles/catalog.css")  # ...but the catalog page's own
SKELETONS = ("templates/new-handout/", "templates/new-project/")  # and `build.py new`'s (scaffold.py)
TEXT_SUFFIXES = (".md", ".toml")  # content, hashed per target; anything else in handouts/ is shared
# The builder's modules that only schedule, present or serve builds: a change to them
# cannot change a PDF, so it does not rebuild everything (every other module does).
NOT_BUILDER = {"bench.py", "catalog.py", "catalog_fonts.py", "catalog_text.py", "cli.py", "outdir.py", "progress.py", "serve.py", "shards.py"}
LIBRARIES = ("weasyprint", "pydyf", "fonttools", "tinycss2", "cssselect2", "pyphen",
             "jinja2", "markdown", "babel", "textstat", "nltk")
RACY_NS = 2_000_000_000  # a file modified this close to the last check is read again


# --- file hashes ---------------------------------------------------------------------

@dataclass
class FileHashes:
    """SHA-256 of input files, read again only when their size or mtime changed."""

    known: dict = field(default_factory=dict)  # absolute path -> [size, mtime_ns, sha256]
    checked_ns: int = 0  # when `known` was recorded
    seen: dict = field(default_factory=dict)  # this run's answers

    def digest(self, path: Path) -> str:
        name = str(path)
        if name not in self.seen:
            self.seen[name] = self.read(name)
        return self.seen[name][2]

    def read(self, name: str) -> list:
        try:
            stat = os.stat(name)
        except OSError:
            return [0, 0, "missing"]
        if not S_ISREG(stat.st_mode):  # a FIFO would block the hash forever, /dev/zero never end
            return [0, 0, "not a regular file"]
        old = self.known.get(name)
        # A file changed within the racy window may have kept its mtime: read it.
        if old and old[:2] == [stat.st_size, stat.st_mtime_ns] and stat.st_mtime_ns < self.checked_ns - RACY_NS:
            return old
        try:
            with open(os.open(name, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
                return [stat.st_size, stat.st_mtime_ns, hashlib.file_digest(stream, "sha256").hexdigest()]
        except OSError:  # unreadable: the build that reads it says why
            return [stat.st_size, stat.st_mtime_ns, "unreadable"]


def label(path: Path, root: Path) -> str:
    """A path as recorded in a key: relative to the project, so keys do not depend on
    where the project is checked out (shards built on other machines merge)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return f"outside/{path.name}"


def digest_of(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


# --- what every target depends on ------------------------------------------------------

def shared_files(root: Path) -> list[Path]:
    """Files every target depends on: templates, styles, fonts, images and the builder's
    code (Inputs adds the files an option brings: a clinic profile and its logo, as the
    loaded Clinic lists them). Listed anew each run, so an added file counts."""
    files = [p for d in SHARED_DIRS for folder in search_path(root, d) for p in walk(folder)
             if not is_strings(p) and label(p, folder.parent) not in CATALOG_FILES
             and not label(p, folder.parent).startswith(SKELETONS)]
    files += [p for p in walk(root / "handouts") if p.suffix not in TEXT_SUFFIXES]
    files += sorted(p for p in Path(__file__).parent.glob("*.py") if p.name not in NOT_BUILDER)
    # The settings: formats, papers and scripts (settings.py). A missing project file
    # is hashed as "missing", so adding one rebuilds.
    return files + [Path(__file__).with_name("defaults.toml"), root / "handoutkit.toml"]


def walk(folder: Path) -> list[Path]:
    """Every file under folder but hidden files and editors' backups, which an editor
    writes and removes while one works and which no build reads, and but what no build
    may read: links out of folder, FIFOs, devices (files.check_input)."""
    found = []
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        found += [Path(parent, n) for n in sorted(names)
                  if not n.startswith((".", "#")) and not n.endswith(("~", ".swp", ".tmp", ".bak"))
                  and is_regular_input(Path(parent, n), folder)]
    return found


def is_strings(path: Path) -> bool:
    """Interface strings are per language: each target depends on its own only."""
    return path.parent.name == "strings" and path.parent.parent.name == "templates"


def content_files(target: Target, project) -> list[Path]:
    """The content files of one target, from the loaded project."""
    handout = project.handouts[target.handout]
    files = text_files(handout.path, target.lang, project.texts[target.key])
    files.append(find(project.root, f"templates/strings/{target.lang}.toml"))
    source = project.texts.get((target.handout, handout.source_lang, target.format))
    if target.lang != handout.source_lang and source:
        files += text_files(handout.path, handout.source_lang, source)  # what "stale" is computed from
    return [handout.path / "handout.toml"] + files


def text_files(folder: Path, lang: str, text) -> list[Path]:
    # A shared partial (`other/name`) lives in the other handout: a change there rebuilds both.
    partials = [partial_path(folder, lang, name) for name in sorted(text.partials)]
    return [folder / lang / "meta.toml", text.path] + partials


# --- everything else a PDF depends on ------------------------------------------------

def output_options(options) -> dict:
    """The options that change a target's PDF (options.Options says which); a file is
    recorded by its content."""
    return {name: describe_value(value) for name, value in options.values("output").items()}


def plan_options(options) -> dict:
    """The options that change the PDFs or which targets there are."""
    return {name: describe_value(value) for name, value in options.values("output", "plan").items()}


def describe_value(value):
    if isinstance(value, Path):
        return "file " + (hashlib.sha256(value.read_bytes()).hexdigest() if value.is_file() else "missing")
    return value.isoformat() if isinstance(value, date) else value


def overdue(handout_toml: Path, options) -> bool | None:
    """Whether the handout's review is overdue today: it is printed and recorded."""
    try:
        next_review = tomllib.loads(read_input(handout_toml, handout_toml.parent.parent).decode()).get("next_review")
    except (OSError, ValueError):
        return None
    today = getattr(options, "today", None) or date.today()
    return next_review < today if isinstance(next_review, date) else None


@lru_cache
def builder_version() -> dict:
    """The builder's release, Python, and every library that shapes a PDF."""
    versions = {"handoutkit": __version__, "python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions | native_versions()


def native_versions() -> dict:
    """Pango's and HarfBuzz's versions, through ctypes: without importing WeasyPrint."""
    found = {}
    for name, library, function in (("pango", "libpango-1.0.so.0", "pango_version_string"),
                                    ("harfbuzz", "libharfbuzz.so.0", "hb_version_string")):
        try:
            call = getattr(ctypes.CDLL(library), function)
            call.restype = ctypes.c_char_p
            found[name] = call().decode()
        except (OSError, AttributeError):
            found[name] = None
    return found


# --- keys ---------------------------------------------------------------------------------

@dataclass
class Inputs:
    """This run's view of the inputs: file hashes and the parts shared by every target."""

    root: Path
    options: object
    hashes: FileHashes
    option_files: list = field(default_factory=list)  # e.g. Clinic.files
    shared: str = ""
    fit_shared: str = ""  # the part of `shared` that can change how much fits on a page
    overdue: dict = field(default_factory=dict)  # handout id -> overdue today?

    def __post_init__(self):
        # Not the clinic, not the options, in the fit: contact blocks and form fields have
        # one size, filled or blank (templates/contact.html), so they cannot change it.
        fit_files = [(label(p, self.root), self.hashes.digest(p)) for p in shared_files(self.root)]
        files = fit_files + [(label(p, self.root), self.hashes.digest(p)) for p in self.option_files]
        self.shared = digest_of({"files": files, "options": output_options(self.options), "builder": builder_version()})
        self.fit_shared = digest_of({"files": fit_files, "builder": builder_version()})

    def key(self, target: Target, files: list[Path]) -> str:
        """The inputs digest of one target from its content files."""
        content = [(label(p, self.root), self.hashes.digest(p)) for p in dict.fromkeys(files)]
        if target.handout not in self.overdue:
            handout_toml = self.root / "handouts" / target.handout / "handout.toml"
            self.overdue[target.handout] = overdue(handout_toml, self.options)
        return digest_of({"target": asdict(target), "content": content, "shared": self.shared,
                          "overdue": self.overdue[target.handout]})

    def fit_key(self, target: Target, files: list[Path]) -> str:
        """What decides the body size a target fits at: its content and interface
        strings, templates, styles, fonts, the builder, its format, paper and print
        size, and whether it is for a print shop."""
        content = [(label(p, self.root), self.hashes.digest(p)) for p in dict.fromkeys(files)]
        shape = (target.handout, target.lang, target.format, target.paper, target.large_print, target.print_shop)
        return digest_of({"shape": shape, "content": content, "shared": self.fit_shared})

    def plan(self) -> str:
        """What the target list depends on: options, handouts, languages, builder."""
        handouts = self.root / "handouts"
        tomls = sorted(handouts.glob("*/handout.toml"))
        languages = sorted(label(p, self.root) for p in handouts.glob("*/*/meta.toml"))
        return digest_of({"options": plan_options(self.options), "languages": languages,
                          "handouts": [(label(p, self.root), self.hashes.digest(p)) for p in tomls],
                          "shared": self.shared})


# --- the cache beside the manifest ------------------------------------------------------------

@dataclass
class Cache:
    files: dict = field(default_factory=dict)    # FileHashes.known
    checked_ns: int = 0
    plans: dict = field(default_factory=dict)    # plan digest -> [target relpaths]
    option_files: list = field(default_factory=list)  # the last build's Inputs.option_files
    targets: dict = field(default_factory=dict)  # relpath -> {"target": {...}, "files": [labels]}


def read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_cache(out_dir: Path) -> Cache:
    """The cache as the last build (or a shard) wrote it; one with a field of the wrong
    type is not used (it is data in the output folder, anyone may have edited it)."""
    data, empty = read_json(out_dir / CACHE), Cache()
    values = {f.name: data[f.name] for f in fields(Cache) if f.name in data}
    if any(type(value) is not type(getattr(empty, name)) for name, value in values.items()):
        return empty
    return Cache(**values)


def write_cache(out_dir: Path, cache: Cache) -> None:
    """Replace the cache in one step."""
    cache.plans = dict(list(cache.plans.items())[-16:])  # the last selections are enough
    write_atomically(out_dir / CACHE, json.dumps(asdict(cache), sort_keys=True).encode())


def manifest_entries(out_dir: Path) -> dict[str, dict]:
    """The previous build's entries by path; only the valid ones (outdir.read_manifest)."""
    return {e["path"]: e for e in read_manifest(out_dir / MANIFEST).manifest["targets"]}


# --- up to date? ------------------------------------------------------------------------------

def outputs_exist(out_dir: Path, relpath: str, options) -> bool:
    pdf = out_dir / relpath
    return pdf.is_file() and (not options.html or pdf.with_suffix(".html").is_file())


def current(entry: dict | None, key: str, out_dir: Path, relpath: str, options) -> bool:
    return bool(entry) and entry.get("inputs") == key and outputs_exist(out_dir, relpath, options)


@dataclass
class Survey:
    """What the cache alone tells before the content is loaded."""

    current: list | None = None  # every selected target, when all of them are up to date
    stale: int | None = None     # how many are not (None: the cache cannot tell)


def survey(options) -> Survey:
    """Are the selected targets up to date? Answered from the cache alone: no content
    is parsed and WeasyPrint is not imported."""
    out_dir = options.out_dir
    cache, entries = read_cache(out_dir), manifest_entries(out_dir)
    if options.force or not cache.plans or not entries:
        return Survey()
    # The option files the last build found (its clinic's profile and logo): if the
    # profile changed, the options' digest differs anyway and the content is loaded.
    inputs = Inputs(options.root, options, FileHashes(cache.files, cache.checked_ns),
                    [Path(p) for p in cache.option_files])
    relpaths = cache.plans.get(inputs.plan())
    records = [cache.targets.get(r) for r in relpaths or ()]
    if relpaths is None or None in records:
        return Survey()
    found = [up_to_date(relpath, record, inputs, entries, options) for relpath, record in zip(relpaths, records)]
    stale = found.count(None)
    return Survey(None if stale else found, stale)


def up_to_date(relpath: str, record: dict, inputs: Inputs, entries: dict, options) -> Result | None:
    target = Target(**record["target"])
    key = inputs.key(target, [options.root / f for f in record["files"]])
    if target.relpath != relpath or not current(entries.get(relpath), key, options.out_dir, relpath, options):
        return None
    return Result.from_entry(target, entries[relpath])


@dataclass
class Plan:
    """Which targets to build and which are current, with every target's key."""

    keys: dict            # Target -> inputs digest
    files: dict           # Target -> content files
    fit_keys: dict        # Target -> fit digest (fitcache.py), of those to build
    to_build: list        # [Target]
    current: list         # [Result], up to date
    inputs: Inputs
    cache: Cache
    targets: list = field(default_factory=list)  # [Target]: every selected one, blocked included
    blocked: list = field(default_factory=list)  # [Target] whose content has problems: neither built nor current


def plan(project, targets: list[Target], options) -> Plan:
    """Split the targets into those to build, those whose PDF is current, and those
    whose content has problems (project.blocked: their texts may not even be loaded)."""
    out_dir = options.out_dir
    cache, entries = read_cache(out_dir), manifest_entries(out_dir)
    inputs = Inputs(project.root, options, FileHashes(cache.files, cache.checked_ns),
                    project.clinic.files if project.clinic else [])
    blocked = [t for t in targets if t.key in project.blocked]
    buildable = [t for t in targets if t.key not in project.blocked]
    files = {t: content_files(t, project) for t in buildable}
    keys = {t: inputs.key(t, files[t]) for t in buildable}
    up_to_date = [] if options.force else [
        Result.from_entry(t, entries[t.relpath]) for t in buildable
        if current(entries.get(t.relpath), keys[t], out_dir, t.relpath, options)]
    fresh = {u.target for u in up_to_date}
    to_build = [t for t in buildable if t not in fresh]
    fit_keys = {t: inputs.fit_key(t, files[t]) for t in to_build}
    return Plan(keys, files, fit_keys, to_build, up_to_date, inputs, cache, targets, blocked)


def remember(plan_: Plan, out_dir: Path, complete: bool = True) -> None:
    """Record this run in the cache: file hashes, the target list, each target's files.
    A failed target is recorded too: its manifest entry (the last good PDF) keeps the
    old inputs digest, so it is built again next time. A build stopped midway records
    no target list: the next build of the selection is not a no-op (survey), and
    writes the catalog page this one left out."""
    cache, root = plan_.cache, plan_.inputs.root
    # Only the files this run looked at: a renamed or deleted file does not linger.
    cache.files = {k: v for k, v in plan_.inputs.hashes.seen.items() if v[2] != "missing"}
    cache.checked_ns = time.time_ns()
    cache.option_files = [str(p) for p in plan_.inputs.option_files]
    cache.plans.pop(plan_.inputs.plan(), None)
    if complete:
        cache.plans[plan_.inputs.plan()] = [t.relpath for t in plan_.targets or plan_.keys]
    for target, files in plan_.files.items():
        cache.targets[target.relpath] = {"target": asdict(target), "files": [label(p, root) for p in files]}
    for target in plan_.blocked:
        # No record: survey() cannot call a selection holding it current, so the next
        # run loads the content again, reports the problems again, or builds it once fixed.
        cache.targets.pop(target.relpath, None)
    write_cache(out_dir, cache)

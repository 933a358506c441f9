"""Discover the targets and load and validate everything they need (stages 1-2).

Nothing here renders or imports WeasyPrint, so `build.py --check` stays fast.
"""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from babel.core import UnknownLocaleError
from jinja2 import TemplateSyntaxError

from . import PROJECT_ROOT
from .clinics import Clinic, load_clinic
from .content import check_glyphs, load_handout, load_meta, load_text, read_lines
from .discover import Selection, Variants, check_selection, find_handout_folders, plan_targets
from .errors import ContentError, Problem, UsageError
from .model import Handout, Target, Text
from .render import Strings, check_locale, load_strings, make_environment
from .scripts import coverage, script_of
from .translations import changed_sources, check_parity, check_translation_meta


@dataclass(frozen=True)
class Options:
    root: Path = PROJECT_ROOT
    out: Path | None = None
    selection: Selection = Selection()
    strict: bool = False          # stale translations and overdue reviews fail their targets
    clinic_file: Path | None = None
    large_print: bool = False
    fillable: bool = False
    print_shop: bool = False
    release: bool = False         # refuse drafts and handouts past their review date
    today: date | None = None     # for review dates; None = the real date
    # Batch builds (batch.py): none of these changes a PDF.
    jobs: int | None = None       # worker processes; None = one per CPU, 1 = in this process
    force: bool = False           # rebuild even what is up to date
    shard: tuple[int, int] | None = None  # (K, N): build only shard K of N
    html: bool = False            # also write each target's final HTML beside its PDF
    timeout: float | None = 300   # seconds one target may take before it fails alone
    memory_limit: int | None = 2048  # MB of address space a worker may use while building a target

    @property
    def out_dir(self) -> Path:
        return self.out or self.root / "dist"


@dataclass
class Project:
    """Everything read and validated before the first file is written."""

    root: Path
    handouts: dict[str, Handout]
    texts: dict[tuple[str, str, str], Text]
    strings: dict[str, Strings]
    targets: list[Target]
    stale: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # key -> changed source files
    clinic: Clinic | None = None
    overdue: dict[str, date] = field(default_factory=dict)  # handout id -> next review date, if past


def load_project(options: Options) -> Project:
    """Discover the targets and read every input they need; raise ContentError listing
    every problem at once, so nothing is written from half-valid content."""
    problems: list = []
    # 1. Discover: the handouts, then the targets the command line selects.
    handouts_dir = options.root / "handouts"
    folders = find_handout_folders(handouts_dir)
    if not folders:
        raise ContentError([Problem(handouts_dir, "no handouts found", "each handout is a folder with a handout.toml")])
    handouts = {h.id: h for h in (load_handout(f, problems) for f in folders) if h}
    if wrong := check_selection(list(handouts.values()), options.selection, handouts_dir):
        raise UsageError(wrong)
    problems += check_templates(options.root / "templates")
    clinic = load_clinic(options.clinic_file, problems) if options.clinic_file else None
    variants = Variants(clinic.id if clinic else None, options.large_print, options.fillable, options.print_shop)
    targets = plan_targets(list(handouts.values()), options.selection, variants)
    # 2. Load every text the targets need, and the source-language texts they translate.
    keys = list(dict.fromkeys(k for t in targets for k in (t.key, (t.handout, handouts[t.handout].source_lang, t.format))))
    languages = list(dict.fromkeys((h, lang) for h, lang, _ in keys))
    metas = {(h, lang): load_language(handouts[h], lang, options.root, problems) for h, lang in languages}
    texts = {(h, lang, fmt): load_text(handouts[h], lang, fmt, metas[h, lang], problems, glyphs_for(options.root, lang))
             for h, lang, fmt in keys}
    strings = {lang: load_strings(options.root / "templates", lang, problems)
               for lang in dict.fromkeys(lang for _, lang in languages)}
    # 3. Check translations against their source: same sections, and whether they are stale.
    stale = {}
    for h, lang, fmt in keys:
        source = texts.get((h, handouts[h].source_lang, fmt))
        if lang != handouts[h].source_lang and source and texts.get((h, lang, fmt)):
            check_parity(source, texts[h, lang, fmt], problems)
            stale[h, lang, fmt] = changed_sources(source, metas[h, lang])
    # 4. Document control: what is overdue, and what --release refuses.
    today = options.today or date.today()
    overdue = {h.id: h.control.next_review for h in handouts.values() if h.control.next_review < today}
    if options.release:
        problems += release_problems(handouts, metas, overdue)
    if problems:
        raise ContentError(problems)
    return Project(options.root, handouts, texts, strings, targets, stale, clinic, overdue)


def release_problems(handouts: dict[str, Handout], metas: dict, overdue: dict) -> list[Problem]:
    """--release publishes only approved texts whose review is not overdue."""
    problems = []
    for handout in handouts.values():
        path = handout.path / "handout.toml"
        if handout.control.status != "approved":
            problems.append(Problem(path, f"{handout.id} is a draft: --release refuses it",
                                    "a named clinical reviewer must approve it (status, approver, approved_on)"))
        if handout.id in overdue:
            problems.append(Problem(path, f"{handout.id} was due for review on {overdue[handout.id]}: "
                                    "--release refuses it", "review it, then update last_reviewed and next_review"))
    for (handout_id, lang), meta in metas.items():
        translation = meta.get("translation") or {}
        if translation and translation.get("status") != "approved":
            problems.append(Problem(handouts[handout_id].path / lang / "meta.toml",
                                    f"the {lang} translation is a draft: --release refuses it",
                                    "a named reviewer must approve it ([translation] status, approver, approved_on)"))
    return problems


def check_templates(templates_dir: Path) -> list[Problem]:
    """Compile every template, so a syntax error is reported with its file and line
    before anything is rendered, not as the same failure in every target."""
    env = make_environment(templates_dir)
    problems = []
    for path in sorted(templates_dir.glob("*.html")):
        try:
            env.get_template(path.name)
        except TemplateSyntaxError as error:
            problems.append(Problem(path, f"template syntax error: {error.message}",
                                    "see https://jinja.palletsprojects.com/templates/", error.lineno))
    return problems


def load_language(handout: Handout, lang: str, root: Path, problems: list) -> dict:
    """A language's meta.toml and interface strings: valid, and showable with the shipped fonts."""
    folder = handout.path / lang
    check_locale(lang, folder, problems)
    meta = load_meta(folder, problems)
    check_translation_meta(meta, folder / "meta.toml", lang == handout.source_lang, problems)
    glyphs = glyphs_for(root, lang)
    for path in (folder / "meta.toml", root / "templates" / "strings" / f"{lang}.toml"):
        if path.is_file() and glyphs:
            check_glyphs(read_lines(path, problems), glyphs, problems)
    return meta


def glyphs_for(root: Path, lang: str) -> frozenset[int]:
    """The code points the shipped fonts can show for a language (empty if Babel does not know it)."""
    try:
        return coverage(root / "styles" / "fonts", script_of(lang).fonts)
    except (ValueError, UnknownLocaleError, FileNotFoundError):
        return frozenset()

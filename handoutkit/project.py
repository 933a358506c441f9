"""Discover the targets and load and validate everything they need (stages 1-2).

Nothing here renders or imports WeasyPrint, so `build.py --check` stays fast.
"""

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from babel.core import UnknownLocaleError
from jinja2 import TemplateSyntaxError

from .assets import find, search_path
from .cards import check_card_labels
from .clinics import Clinic, load_clinic
from .content import check_glyphs, load_handout, load_meta, load_text, read_lines, read_toml
from .discover import Variants, check_selection, find_handout_folders, plan_targets
from .errors import ContentError, Problem, UsageError
from .figures import check_figure_words
from .files import check_input, unreadable
from .model import Handout, Target, Text
from .options import Options
from .render import Strings, check_locale, load_strings, make_environment
from .languages import coverage, language
from .settings import DEFAULTS, Settings, load_settings
from .translations import changed_sources, check_parity, check_translation_meta


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
    # With load_project(partial=True): the targets that must not be built, by content key
    # (target.key), with the problem lines that stop them; their texts may be missing.
    blocked: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # every problem found, in the order found
    # (handout, lang) -> the [translation] status of a translation's meta.toml
    translation_status: dict[tuple[str, str], str] = field(default_factory=dict)
    # Target -> the body size it fitted at last time (fitcache.py), set by the build's plan
    fit_hints: dict = field(default_factory=dict)
    settings: Settings = DEFAULTS  # formats, papers, scripts (handoutkit.toml)

    def status_of(self, target: Target) -> str:
        """What the PDF may claim: approved only when the handout is approved and, for a
        translation, the translation is approved too; anything else is a draft."""
        handout = self.handouts[target.handout]
        translation = self.translation_status.get((target.handout, target.lang))
        approved = handout.control.status == "approved" and translation in (None, "approved")
        return "approved" if approved else "draft"


def load_project(options: Options, partial: bool = False) -> Project:
    """Discover the targets and read every input they need; raise ContentError listing
    every problem at once, so nothing is written from half-valid content.

    partial=True (a build): a problem confined to some targets' content (a text, a
    language's meta.toml, a handout.toml, a language's interface strings) only blocks
    those targets (Project.blocked), so the others can still be built. ContentError is
    still raised when a problem concerns everything (a template, the clinic profile,
    a handout that could not be read) or blocks every selected target."""
    problems: list = []
    # 1. Discover: the project's settings and handouts, then the targets the command line selects.
    settings = load_settings(options.root, problems)
    handouts_dir = options.root / "handouts"
    folders = find_handout_folders(handouts_dir)
    if not folders:
        raise ContentError([Problem(handouts_dir, "no handouts found", "each handout is a folder with a handout.toml")])
    handouts = {h.id: h for h in (load_handout(f, problems, tuple(settings.formats)) for f in folders) if h}
    if wrong := check_selection(list(handouts.values()), options.selection, handouts_dir, settings):
        raise UsageError(wrong)
    problems += check_templates(options.root / "templates")
    clinic = load_clinic(options.clinic_file, problems) if options.clinic_file else None
    variants = Variants(clinic.id if clinic else None, options.large_print, options.fillable, options.print_shop)
    targets = plan_targets(list(handouts.values()), options.selection, settings.formats, variants)
    # 2. Load every text the targets need, and the source-language texts they translate.
    keys = list(dict.fromkeys(k for t in targets for k in (t.key, (t.handout, handouts[t.handout].source_lang, t.format))))
    languages = list(dict.fromkeys((h, lang) for h, lang, _ in keys))
    metas = {(h, lang): load_language(handouts[h], lang, options.root, settings, problems) for h, lang in languages}
    texts = {(h, lang, fmt): load_text(handouts[h], lang, fmt, metas[h, lang], problems,
                                       glyphs_for(options.root, lang, settings), joiners_for(lang, settings))
             for h, lang, fmt in keys}
    texts = {key: text for key, text in texts.items() if text}  # a text that failed to load has problems
    strings = {lang: load_strings(options.root / "templates", lang, problems, joiners_for(lang, settings))
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
    if options.release:  # judged on the selected targets' handouts and languages only
        problems += release_problems({t.handout: handouts[t.handout] for t in targets},
                                     {(t.handout, t.lang): metas[t.handout, t.lang] for t in targets}, overdue)
    blocked = {}
    if problems:
        blocked = block_targets(problems, targets, handouts, options.root) if partial else None
        if not can_build_some(blocked, targets, texts, strings):
            raise ContentError(problems)
    translation_status = {(h, lang): str((meta.get("translation") or {}).get("status", "draft"))
                          for (h, lang), meta in metas.items() if lang != handouts[h].source_lang}
    return Project(options.root, handouts, texts, strings, targets, stale, clinic, overdue, blocked, problems,
                   translation_status, settings=settings)


# --- which targets a problem stops ---------------------------------------------------

def block_targets(problems: list[Problem], targets: list[Target], handouts: dict[str, Handout],
                  root: Path) -> dict | None:
    """Each selected target's key -> the lines of the problems that touch it; None when a
    problem cannot be pinned to selected targets (then nothing may be built)."""
    blocked: dict = {}
    for problem in problems:
        scope = scope_of(problem, handouts, root)
        touched = [t.key for t in targets if scope and in_scope(t.key, scope)]
        if not touched:  # outside any one handout, or about content no selected target uses
            return None   # never dropped in silence: it stops the build as it always did
        for key in dict.fromkeys(touched):
            blocked.setdefault(key, []).append(str(problem))
    return blocked


def scope_of(problem: Problem, handouts: dict[str, Handout], root: Path) -> tuple | None:
    """The content a problem is in, as a (handout, lang, format) pattern where None
    matches anything; None when it is not within one handout or language."""
    root = Path(os.path.abspath(root))
    path = Path(os.path.abspath(root / problem.path))  # relative paths are the project's; no symlinks followed
    if path.parent.name == "strings" and path.parent.parent.name == "templates":
        return (None, path.stem, None)  # a language's interface strings: every target in it
    try:
        parts = path.relative_to(root / "handouts").parts
    except ValueError:
        return None  # templates, styles, the clinic profile: shared by every target
    handout = next((h for h in handouts.values() if parts and h.path.name == parts[0]), None)
    if handout is None:
        return None  # handouts/ itself, or a handout that could not be read: its targets are unknown
    if len(parts) < 2 or parts[1] not in handout.languages:
        return (handout.id, None, None)  # handout.toml, shared images: the whole handout
    lang, fmt = parts[1], format_of(parts[2:])
    if lang == handout.source_lang:
        # Translations are checked against the source (parity), so a bad source text
        # stops its translations too; a bad source meta.toml or partial, all of them.
        return (handout.id, None, fmt)
    return (handout.id, lang, fmt)


def format_of(parts: tuple[str, ...]) -> str | None:
    """The format whose text a file in a language folder is (`brief.md`), or None for
    anything shared by the language's formats (meta.toml, partials/, images)."""
    name = parts[0] if len(parts) == 1 else ""
    return name.removesuffix(".md") if name.endswith(".md") else None  # only format texts are read


def in_scope(key: tuple[str, str, str], scope: tuple) -> bool:
    return all(wanted is None or wanted == value for value, wanted in zip(key, scope))


def can_build_some(blocked: dict | None, targets: list[Target], texts: dict, strings: dict) -> bool:
    """Whether a partial build makes sense: no problem concerns everything, some target
    is not blocked, and every target that is not has its content loaded (a safety net:
    a problem attributed too narrowly would otherwise crash a worker, not fail cleanly)."""
    if blocked is None:
        return False
    free = [t for t in targets if t.key not in blocked]
    return bool(free) and all(t.key in texts and strings.get(t.lang) for t in free)


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
    found = {p.name: p for folder in reversed(search_path(templates_dir.parent, "templates")) for p in folder.glob("*.html")}
    for path in sorted(found.values(), key=lambda p: p.name):  # the project's, where it has its own
        try:
            check_input(path, path.parent)  # Jinja would open a FIFO, or a link out of templates/
            env.get_template(path.name)
        except OSError as error:
            problems.append(unreadable(path, error))
        except TemplateSyntaxError as error:
            problems.append(Problem(path, f"template syntax error: {error.message}",
                                    "see https://jinja.palletsprojects.com/templates/", error.lineno))
    return problems


def load_language(handout: Handout, lang: str, root: Path, settings: Settings, problems: list) -> dict:
    """A language's meta.toml and interface strings: valid, and showable with the shipped fonts."""
    folder = handout.path / lang
    check_locale(lang, folder, problems)
    check_script(lang, folder, settings, problems)
    meta = load_meta(folder, problems, joiners_for(lang, settings))
    check_translation_meta(meta, folder / "meta.toml", lang == handout.source_lang, problems)
    check_handout_words(handout, lang, meta, problems)
    glyphs = glyphs_for(root, lang, settings)
    strings = find(root, f"templates/strings/{lang}.toml")
    for path, within in ((folder / "meta.toml", handout.path.parent), (strings, strings.parent)):
        if path.is_file() and glyphs:  # unreadable: load_meta and load_strings say so, once
            check_glyphs(read_lines(path, [], within), glyphs, problems)
    return meta


def check_handout_words(handout: Handout, lang: str, meta: dict, problems: list) -> None:
    """The handout's own words in this language's meta.toml: its card's labels and its
    figures' words (a translation's figures have as many labels as the source's)."""
    path = handout.path / lang / "meta.toml"
    if not meta:
        return  # unreadable: load_meta said why
    check_card_labels(handout.card_fields, meta, path, problems)
    source = None
    if lang != handout.source_lang and handout.figures:
        source = read_toml(handout.path / handout.source_lang / "meta.toml", [], handout.path.parent) or {}
    check_figure_words(handout.figures, meta, path, problems, source)


def glyphs_for(root: Path, lang: str, settings: Settings) -> frozenset[int]:
    """The code points the shipped fonts can show for a language (empty if Babel does
    not know it, or the project has no fonts for its script: check_script says so)."""
    try:
        return coverage(tuple(search_path(root, "styles/fonts")), settings.scripts[language(lang).script].fonts)
    except (ValueError, UnknownLocaleError, FileNotFoundError, KeyError):
        return frozenset()


def joiners_for(lang: str, settings: Settings) -> bool:
    """Whether the language's script may use ZWJ and ZWNJ ([scripts.X] joiners); not if
    Babel or the settings do not know it (check_locale and check_script say so)."""
    try:
        script = settings.scripts.get(language(lang).script)
    except (ValueError, UnknownLocaleError):
        return False
    return script is not None and script.joiners


def check_script(lang: str, folder: Path, settings: Settings, problems: list) -> None:
    """The language's script needs fonts, named in the settings: said once, not as a
    missing glyph for every character."""
    try:
        code = language(lang).script
    except (ValueError, UnknownLocaleError):
        return  # check_locale says so
    if code not in settings.scripts:
        problems.append(Problem(folder, f"'{lang}' is written in the {code} script, which has no fonts in this project",
                                f"add [scripts.{code}] with its font files to handoutkit.toml and put the fonts in "
                                "styles/fonts (README: Adding a script)"))

"""One target, start to finish: render, lay out (smaller type if it does not fit),
check, audit the PDF; the main process writes it atomically (workers.save). The last
good PDF stays if anything fails.

`pipeline.build()` decides which targets to build; `workers.py` runs this module's
`build_target()` for each of them, in this process or in worker processes.
"""

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from weasyprint.text.fonts import FontConfiguration

from . import audit, checks
from .assets import search_path
from .cards import required_on_card
from .catalog import thumbnail_png
from .content import MAX_IMAGE_PIXELS
from .layout import AssetFetcher, lay_out
from .model import FAILED, Result, Target, Text
from .languages import language
from .render import make_environment, render_html

@dataclass
class Tools:
    """What every target of one process shares, made once: templates are compiled,
    @font-face files registered and images decoded only once. `lay_out` is
    layout.lay_out, or a workers.LayoutHook that shares layouts between variants."""

    env: object  # jinja2.Environment
    fetcher: AssetFetcher
    fonts: FontConfiguration
    images: dict  # WeasyPrint's image cache
    lay_out: Callable = lay_out


def make_tools(project, lay_out_with: Callable = lay_out) -> Tools:
    """Made per build: a file edited between builds of `serve` is read again."""
    styles = search_path(project.root, "styles")  # the project's, then the builder's (assets.py)
    fetcher = AssetFetcher(styles + [project.root / "handouts"] + ([project.clinic.folder] if project.clinic else []),
                           fallbacks=dict(zip(styles, styles[1:])))
    return Tools(make_environment(project.root / "templates"), fetcher, FontConfiguration(), {}, lay_out_with)


def build_target(target: Target, project, tools: Tools, options) -> Result:
    """One PDF: render, lay out, check, audit; the PDF and its thumbnail come back in
    result.files and result.thumbnail, for the main process to write."""
    start = time.perf_counter()
    handout, text = project.handouts[target.handout], project.texts[target.key]
    result = Result(target, handout=handout, title=text.title, stale=bool(project.stale.get(target.key)),
                    overdue=target.handout in project.overdue, approval=project.status_of(target),
                    translation_status=project.translation_status.get((target.handout, target.lang)))
    try:
        layout, result.body_size, result.layouts = lay_out_to_fit(target, project, tools)
    except MemoryError:  # the worker's memory limit: said as such by workers.build_one
        raise
    except Exception as error:  # a template or layout failure fails this target only
        return Result.failed(target, project, [f"{type(error).__name__}: {error}"], time.perf_counter() - start)
    words = checks.plain_text(section_html(text))
    result.readability = checks.readability(words, target.lang)
    fmt = project.settings.formats[target.format]
    result.page_limit = fmt.page_limit(target.large_print)
    result.max_grade, result.max_smog = fmt.max_grade, fmt.max_smog
    result.problems = check_target(layout, target, fmt, result.readability, words, project.root)
    # The last check reads the PDF itself: what the patient gets.
    findings = audit.audit(layout.pdf, expectations(target, project, result.approval))
    result.problems += findings.problems + strict_problems(result, findings.warnings, project, options)
    result.layout_warnings = findings.warnings
    result.pages, result.size = layout.pages, len(layout.pdf)
    result.sha256 = hashlib.sha256(layout.pdf).hexdigest()
    if result.problems:
        result.status = FAILED
    else:  # written by the main process (workers.save): a worker writes nothing
        result.files[target.relpath] = layout.pdf
        result.thumbnail = thumbnail_png(findings.first_page)
    result.seconds = time.perf_counter() - start
    return result


def strict_problems(result: Result, warnings: list[str], project, options) -> list[str]:
    """--strict: stale translations, overdue reviews and poor layout fail the target."""
    if not options.strict:
        return []
    problems = [f"{warning} (--strict)" for warning in warnings]
    if result.stale:
        problems.append("stale translation (--strict): the source changed in "
                        + ", ".join(project.stale[result.target.key]))
    if result.overdue:
        problems.append(f"review overdue since {project.overdue[result.target.handout]} (--strict)")
    return problems


def lay_out_to_fit(target: Target, project, tools: Tools):
    """Lay out at the stylesheet's type size; if the format's page limit is exceeded,
    step the body size down to its floor. A size this target's unchanged content
    fitted at before (project.fit_hints) is tried first: one layout confirms it.
    Returns the layout, the size used (None = the stylesheet's own) and how many
    layouts it took."""
    fmt = project.settings.formats[target.format]
    handout, text = project.handouts[target.handout], project.texts[target.key]
    sizes, limit = fmt.sizes_to_try(target.large_print), fmt.page_limit(target.large_print)
    hint = project.fit_hints.get(target, "none")
    if hint in sizes:  # if it no longer fits (it should), every size is tried, largest first
        sizes = (hint, *(s for s in sizes if s != hint))
    for tries, size in enumerate(sizes, 1):
        html = render_html(tools.env, target, handout, text, project.strings[target.lang], size, project.clinic,
                           project.status_of(target), project.settings)
        last_try = tries == len(sizes)
        layout = tools.lay_out(html, project.root, tools.fetcher, tools.fonts, target.fillable, target.print_shop,
                               page_limit=None if last_try else limit, images=tools.images,
                               right_to_left=language(target.lang).direction == "rtl")
        if layout.pages <= limit:
            break
    return layout, size, tries


def section_html(text: Text) -> str:
    """The handout's own words: intro and sections, without interface text."""
    return str(text.intro) + "".join(str(s.html) for s in text.sections)


def check_target(layout, target: Target, fmt, readability, words: str, root: Path) -> list[str]:
    """words: the text readability was scored on (its hardest sentences are quoted on failure)."""
    return (checks.check_pages(layout.pages, fmt, target.large_print)
            + checks.check_log(layout.messages)
            + checks.check_fonts(layout.pdf, frozenset().union(*map(checks.shipped_font_names,
                                                                     search_path(root, "styles/fonts"))))
            + checks.check_readability(readability, fmt, words))


def expectations(target: Target, project, approval: str) -> audit.Expectations:
    """What the audit must find in this target's PDF."""
    handout, strings = project.handouts[target.handout], project.strings[target.lang]
    literal = " ".join(map(str, strings.values.values())) + " " + " ".join(clinic_values(project.clinic))
    draft_notice = strings("draft_notice") if approval != "approved" else None
    lang = language(target.lang)
    script = project.settings.script(lang.script)
    return audit.expect(project.texts[target.key], handout.sections.get(target.format, ()),
                        handout.safety_partials, lang.direction == "rtl", draft_notice, literal,
                        MAX_IMAGE_PIXELS, contacts(target, project, strings),
                        base_letters=script is not None and not script.audit_marks)


def contacts(target: Target, project, strings) -> tuple[audit.Required, ...]:
    """Whom to call must be printed: the card's fields with the clinic's values in them
    (its 24-hour number), and on any other format
    that carries safety text or a help section the contact block (the clinic's three
    numbers, or its heading over the blanks). The templates put the block in the
    section with the role `help` (handout.toml [roles])."""
    clinic, text = project.clinic, project.texts[target.key]
    if target.format == "card":  # its fields, in the language's own words, and the clinic's values in them
        handout = project.handouts[target.handout]
        return tuple(audit.Required(what, words) for what, words in
                     required_on_card(handout.card_fields, text.card_labels, clinic))
    handout = project.handouts[target.handout]
    safety = set(handout.safety_partials) & set(text.partials)
    if not safety and not any(s.role == "help" for s in text.sections):
        return ()
    where = f"(the contact block goes in the help section, {handout.roles.get('help', 'none')}: [roles] in handout.toml)"
    if clinic is None:
        return (audit.Required(f"the contact block {where}", strings("contact_heading")),)
    return tuple(audit.Required(f"the clinic's {key} number {where}", getattr(clinic, key))
                 for key in ("phone", "phone_after_hours", "emergency"))


def clinic_values(clinic) -> list[str]:
    if clinic is None:
        return []
    return [clinic.name, clinic.department, clinic.address, clinic.url, clinic.phone, clinic.phone_after_hours]

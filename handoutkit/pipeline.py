"""The build, start to finish: discover, load and validate, render, lay out, check, report."""

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from weasyprint.text.fonts import FontConfiguration

from . import audit, checks
from .content import MAX_IMAGE_PIXELS
from .formats import FORMATS
from .files import write_atomically
from .layout import AssetFetcher, lay_out
from .model import Handout, Target, Text
from .project import Options, Project, load_project  # noqa: F401 (the pipeline's first stages)
from .render import make_environment, render_html


@dataclass
class Result:
    target: Target
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    size: int = 0
    sha256: str = ""
    readability: dict | None = None
    seconds: float = 0.0
    handout: Handout | None = None
    title: str = ""
    stale: bool = False
    overdue: bool = False
    body_size: float | None = None  # pt, when shrunk to fit
    inputs: str = ""  # digest of everything the PDF depends on (incremental rebuilds)
    blocked: bool = False  # not built: a content problem (reported once, above) touches it
    status: str = "draft"  # the handout's status combined with its translation's
    translation_status: str | None = None  # a translation's own [translation] status
    layout_warnings: list[str] = field(default_factory=list)  # poor layout (audit.check_layout)
    up_to_date = False  # incremental.UpToDate stands in for a target that was not rebuilt

    @property
    def ok(self) -> bool:
        return not self.problems


def build(options: Options, on_result=lambda result: None) -> list[Result]:
    """Build every selected target whose inputs changed, on options.jobs worker
    processes; each result is passed to on_result as it is done. Targets whose PDF is
    current are returned (and passed on) as incremental.UpToDate records."""
    # Discover and validate all content before writing anything, skip what is up to
    # date, build the rest (render, lay out, check, write atomically: build_target),
    # then record the manifest. See batch.py, workers.py and incremental.py.
    from .batch import run
    return run(options, on_result)


def make_tools(project: Project) -> tuple:
    """One Jinja environment, fetcher, font configuration and image cache serve every
    target of a build's process, so templates are compiled, @font-face files registered
    and images decoded only once. (Made per build: a file edited between builds of
    `serve` is read again.)"""
    env = make_environment(project.root / "templates")
    assets = [project.root / "styles", project.root / "handouts"]
    fetcher = AssetFetcher(assets + ([project.clinic.folder] if project.clinic else []))
    return env, fetcher, FontConfiguration(), {}


def build_target(target, project, env, fetcher, fonts, images, options: Options) -> Result:
    """One PDF: render, lay out (smaller type if it does not fit), check; the last good
    PDF stays if anything fails."""
    start = time.perf_counter()
    handout, text = project.handouts[target.handout], project.texts[target.key]
    result = Result(target, handout=handout, title=text.title, stale=bool(project.stale.get(target.key)),
                    overdue=target.handout in project.overdue, status=project.status_of(target),
                    translation_status=project.translation_status.get((target.handout, target.lang)))
    try:
        layout, result.body_size = lay_out_to_fit(target, project, env, fetcher, fonts, images)
    except MemoryError:  # the worker's memory limit: said as such by workers.build_one
        raise
    except Exception as error:  # a template or layout failure fails this target only
        result.problems.append(f"{type(error).__name__}: {error}")
        result.seconds = time.perf_counter() - start
        return result
    result.readability = checks.readability(checks.plain_text(section_html(text)), target.lang)
    result.problems = check_target(layout, target, result.readability, project.root)
    # The last check reads the PDF itself: what the patient gets.
    findings = audit.audit(layout.pdf, expectations(target, project, result.status))
    result.problems += findings.problems
    result.layout_warnings = findings.warnings
    if options.strict:
        result.problems += [f"{warning} (--strict)" for warning in findings.warnings]
    if options.strict and result.stale:
        result.problems.append("stale translation (--strict): the source changed in "
                               + ", ".join(project.stale[target.key]))
    if options.strict and result.overdue:
        result.problems.append(f"review overdue since {project.overdue[target.handout]} (--strict)")
    result.pages, result.size = layout.pages, len(layout.pdf)
    result.sha256 = hashlib.sha256(layout.pdf).hexdigest()
    if result.ok:
        write_atomically(options.out_dir / target.relpath, layout.pdf)
    result.seconds = time.perf_counter() - start
    return result


def lay_out_to_fit(target, project, env, fetcher, fonts, images=None):
    """Lay out at the stylesheet's type size; if the format's page limit is exceeded,
    step the body size down to its floor. Returns the layout and the size used
    (None = the stylesheet's own)."""
    fmt = FORMATS[target.format]
    handout, text = project.handouts[target.handout], project.texts[target.key]
    sizes, limit = fmt.sizes_to_try(target.large_print), fmt.page_limit(target.large_print)
    for size in sizes:
        html = render_html(env, target, handout, text, project.strings[target.lang], size, project.clinic,
                           project.status_of(target))
        last_try = size == sizes[-1]
        layout = lay_out(html, project.root, fetcher, fonts, target.fillable, target.print_shop,
                         page_limit=None if last_try else limit, images=images)
        if layout.pages <= limit:
            break
    return layout, size


def expectations(target: Target, project: Project, status: str) -> audit.Expectations:
    """What the audit must find in this target's PDF."""
    from .render import direction_of
    handout, strings = project.handouts[target.handout], project.strings[target.lang]
    literal = " ".join(map(str, strings.values.values())) + " " + " ".join(clinic_values(project.clinic))
    draft_notice = strings("draft_notice") if status != "approved" else None
    return audit.expect(project.texts[target.key], handout.sections.get(target.format, ()),
                        handout.safety_partials, direction_of(target.lang) == "rtl", draft_notice, literal,
                        MAX_IMAGE_PIXELS)


def clinic_values(clinic) -> list[str]:
    if clinic is None:
        return []
    return [clinic.name, clinic.department, clinic.address, clinic.url, clinic.phone, clinic.phone_after_hours]


def section_html(text: Text) -> str:
    """The handout's own words: intro and sections, without interface text."""
    return str(text.intro) + "".join(str(s.html) for s in text.sections)


def check_target(layout, target: Target, readability, root: Path) -> list[str]:
    fmt = FORMATS[target.format]
    return (checks.check_pages(layout.pages, fmt, target.large_print)
            + checks.check_log(layout.messages)
            + checks.check_fonts(layout.pdf, checks.shipped_font_names(root / "styles" / "fonts"))
            + checks.check_readability(readability, fmt))

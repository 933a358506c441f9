"""The build, start to finish: discover, load and validate, render, lay out, check, report."""

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from weasyprint.text.fonts import FontConfiguration

from . import PROJECT_ROOT, checks
from .content import load_handout, load_meta, load_text
from .discover import Selection, check_selection, find_handout_folders, plan_targets
from .errors import ContentError, Problem, UsageError
from .formats import FORMATS
from .layout import AssetFetcher, lay_out, write_atomically
from .model import Handout, Target, Text
from .render import Strings, check_locale, load_strings, make_environment, render_html
from .report import update_manifest


@dataclass(frozen=True)
class Options:
    root: Path = PROJECT_ROOT
    out: Path | None = None
    selection: Selection = Selection()

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

    @property
    def ok(self) -> bool:
        return not self.problems


def load_project(options: Options) -> Project:
    """Discover the targets and read every input they need; raise ContentError listing
    every problem at once, so nothing is written from half-valid content."""
    problems: list = []
    handouts_dir = options.root / "handouts"
    folders = find_handout_folders(handouts_dir)
    handouts = [h for h in (load_handout(f, problems) for f in folders) if h]
    if wrong := check_selection(handouts, options.selection, handouts_dir):
        raise UsageError(wrong)
    targets = plan_targets(handouts, options.selection)
    by_id = {h.id: h for h in handouts}
    metas = {(h, lang): load_meta(by_id[h].path / lang, problems)
             for h, lang in dict.fromkeys((t.handout, t.lang) for t in targets)}
    texts = {(h, lang, fmt): load_text(by_id[h], lang, fmt, metas[h, lang], problems)
             for h, lang, fmt in dict.fromkeys(t.key for t in targets)}
    for handout_id, lang in dict.fromkeys((t.handout, t.lang) for t in targets):
        check_locale(lang, by_id[handout_id].path / lang, problems)
    strings = {lang: load_strings(options.root / "templates", lang, problems)
               for lang in dict.fromkeys(t.lang for t in targets)}
    if not folders:
        problems.append(Problem(handouts_dir, "no handouts found", "each handout is a folder with a handout.toml"))
    if problems:
        raise ContentError(problems)
    return Project(options.root, by_id, texts, strings, targets)


def build(options: Options, on_result=lambda result: None) -> list[Result]:
    """Build every selected target; each result is passed to on_result as it is done."""
    # 1-2. Discover the targets, then load and validate all content before writing anything.
    project = load_project(options)
    # One Jinja environment, one fetcher and one font configuration serve every target,
    # so templates are compiled and @font-face files registered only once.
    env = make_environment(project.root / "templates")
    fetcher = AssetFetcher([project.root / "styles", project.root / "handouts"])
    fonts = FontConfiguration()
    results = []
    for target in project.targets:
        # 3-5. Render the HTML, lay it out, check the PDF, and write it only if it passed.
        result = build_target(target, project, env, fetcher, fonts, options.out_dir)
        on_result(result)
        results.append(result)
    # 6. Record what was built (and what failed) in the manifest.
    update_manifest(options.out_dir, results)
    return results


def build_target(target, project, env, fetcher, fonts, out_dir: Path) -> Result:
    """One PDF: render, lay out, check; the last good PDF stays if anything fails."""
    start = time.perf_counter()
    handout, text = project.handouts[target.handout], project.texts[target.key]
    result = Result(target, handout=handout, title=text.title)
    try:
        html = render_html(env, target, handout, text, project.strings[target.lang])
        layout = lay_out(html, project.root, fetcher, fonts)
    except Exception as error:  # a template or layout failure fails this target only
        result.problems.append(f"{type(error).__name__}: {error}")
        result.seconds = time.perf_counter() - start
        return result
    result.readability = checks.readability(checks.plain_text(section_html(text)), target.lang)
    result.problems = check_target(layout, target, result.readability, project.root)
    result.pages, result.size = layout.pages, len(layout.pdf)
    result.sha256 = hashlib.sha256(layout.pdf).hexdigest()
    if result.ok:
        write_atomically(out_dir / target.relpath, layout.pdf)
    result.seconds = time.perf_counter() - start
    return result


def section_html(text: Text) -> str:
    """The handout's own words: intro and sections, without interface text."""
    return str(text.intro) + "".join(str(s.html) for s in text.sections)


def check_target(layout, target: Target, readability, root: Path) -> list[str]:
    fmt = FORMATS[target.format]
    return (checks.check_pages(layout.pages, fmt)
            + checks.check_log(layout.messages)
            + checks.check_fonts(layout.pdf, checks.shipped_font_names(root / "styles" / "fonts"))
            + checks.check_readability(readability, fmt))

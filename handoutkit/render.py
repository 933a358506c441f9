"""Render one target's HTML from its content with Jinja2.

Handout text is data, never code: templates autoescape, every name must exist
(StrictUndefined), and interface strings come from templates/strings/<lang>.toml,
where a missing key is an error naming the language and key.
"""

import re
from dataclasses import replace
from pathlib import Path

from babel.core import UnknownLocaleError
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from . import __version__
from .assets import find, search_path
from .cards import card_rows
from .clinics import WORST_CASE, Clinic
from .content import read_toml
from .errors import Problem
from .figures import figures_by_section
from .model import Handout, Target, Text
from .languages import language
from .settings import DEFAULTS, Settings

PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")
TAG_RE = re.compile(r"(<[^>]*>)")
# A run that starts and ends with a Latin letter, digit, sign or bracket and may hold
# spaces and punctuation between (\u00b0 is the degree sign, \u2013 the en dash).
LATIN = "A-Za-z0-9\u00c0-\u024f"  # Latin letters with accents (Müller), digits
LTR_RUN_RE = re.compile(rf"[+(]?[{LATIN}][{LATIN}\u00b0%.,:;/()+\-\u2013 ]*[{LATIN}\u00b0%)]|[{LATIN}]")
REQUIRED_STRINGS = ("page_x_of_y", "draft_notice", "version", "last_reviewed", "next_review",
                    "status", "status_draft", "status_approved", "sources", "full_references",
                    "contact_heading", "contact_day", "contact_after_hours", "contact_emergency",
                    "contact_qr", "logo_alt", "qr_alt", "colon")
IMG_RE = re.compile(r"<img\b[^>]*>")
ALT_RE = re.compile(r'\balt="([^"]*)"')


class MissingString(KeyError):
    """A template asked for an interface string the language does not have."""


class Strings:
    """Interface text of one language (footer, labels, field names)."""

    def __init__(self, lang: str, values: dict, path: Path):
        self.lang, self.values, self.path = lang, values, path

    def __call__(self, key: str, **fill) -> str:
        if key not in self.values:
            raise MissingString(f"{self.path}: no interface string '{key}' for language '{self.lang}'")
        # Only {name} placeholders: str.format would let a string reach attributes.
        return PLACEHOLDER_RE.sub(lambda m: str(fill.get(m[1], m[0])), self.values[key])


def load_strings(templates_dir: Path, lang: str, problems: list, joiners: bool = False) -> Strings | None:
    """Read and check a language's interface strings (joiners: its script may use ZWJ and ZWNJ)."""
    path = find(templates_dir.parent, f"templates/strings/{lang}.toml")
    if not path.exists() and not path.is_symlink():  # a FIFO or a link is refused by read_toml
        problems.append(Problem(path, f"no interface strings for language '{lang}'",
                                "copy templates/strings/en.toml and translate the values"))
        return None
    values = read_toml(path, problems, joiners=joiners)
    if values is None:
        return None
    for key in REQUIRED_STRINGS:
        if not isinstance(values.get(key), str):
            problems.append(Problem(path, f"missing interface string '{key}' for language '{lang}'",
                                    f"add `{key} = \"...\"`"))
    return Strings(lang, values, path)


def check_locale(lang: str, path: Path, problems: list) -> None:
    """The folder's name must be a BCP 47 tag that Babel knows (for dates and numbers),
    written as Babel writes it: one language has one folder and one output name (not
    en, EN and en-gb-oxendict side by side)."""
    try:
        written = str(language(lang).locale).replace("_", "-")
    except (ValueError, UnknownLocaleError):
        written = None
    if written != lang:
        known = f", which Babel writes '{written}'" if written else ""
        problems.append(Problem(path, f"language folder {lang!r} is not a BCP 47 tag Babel knows{known}",
                                "name the folder with a tag such as en, es, zh-Hans or pt-BR: language in lower "
                                "case, then an optional Script and REGION"))


def make_environment(templates_dir: Path) -> Environment:
    """The Jinja2 environment every target is rendered with: the project's templates,
    then the builder's (assets.py), so a project replaces one template at a time."""
    return Environment(
        loader=FileSystemLoader(search_path(templates_dir.parent, "templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def stylesheets(target: Target, settings: Settings) -> list[str]:
    """Shared base, then the format, the direction, the script and the variants: later
    files win. (The paper's size is a rule of its own, after the base: render_html.)
    Mirroring is the direction's, not a script's: Arabic and Hebrew share styles/rtl.css."""
    lang = language(target.lang)
    script = settings.scripts.get(lang.script)
    sheets = ["styles/base.css", settings.formats[target.format].stylesheet,
              "styles/rtl.css" if lang.direction == "rtl" else None, script.stylesheet if script else None]
    sheets += ["styles/large-print.css" if target.large_print else None,
               "styles/print-shop.css" if target.print_shop else None]
    return [sheet for sheet in sheets if sheet]


def qr_data_uri(url: str) -> str:
    """The URL as a QR code, in vector form (SVG), inline so no file is fetched."""
    import segno  # here, not at the top: a no-op rebuild imports this module and never needs it

    return segno.make_qr(url, error="m").svg_data_uri(scale=4, border=0)


def check_alt_text(html: str) -> None:
    """Every image needs alt text (PDF/UA, and screen readers); fail the target otherwise."""
    for tag in IMG_RE.findall(html):
        alt = ALT_RE.search(tag)
        if not alt or not alt[1].strip():
            raise ValueError(f"image without alt text: {tag[:120]} (describe the image in its alt text)")


def isolate_ltr(html: str) -> Markup:
    """Wrap Latin words, numbers and phone numbers in right-to-left text in
    <span dir="ltr">, so the bidi algorithm cannot scramble "+1 (555) 123-4567"
    or "38 °C (100.4 °F)". Only text between tags is touched."""
    parts = TAG_RE.split(str(html))
    for i in range(0, len(parts), 2):  # even items are text, odd items are tags
        parts[i] = LTR_RUN_RE.sub(wrap_ltr_run, parts[i])
    return Markup("".join(parts))


def wrap_ltr_run(match) -> str:
    """One run as an isolated LTR span. A bracket whose partner lies outside the run
    belongs to the Arabic text around it and stays outside; a short run (a name, a
    number) is kept on one line, since a Latin phrase broken across RTL lines reads
    in the wrong order."""
    run, before, after = match[0], "", ""
    if run.endswith(")") and run.count(")") > run.count("("):
        run, after = run[:-1], ")"
    if run.startswith("(") and run.count("(") > run.count(")"):
        run, before = run[1:], "("
    short = ' class="nobreak"' if len(run) <= 40 else ""
    return f'{before}<span dir="ltr"{short}>{run}</span>{after}'


def prepare_text(text: Text, direction: str) -> Text:
    """The text as the template needs it for this direction."""
    if direction != "rtl":
        return text
    sections = tuple(replace(s, html=isolate_ltr(s.html)) for s in text.sections)
    return replace(text, intro=isolate_ltr(text.intro), sections=sections)


def page_label(strings: Strings) -> tuple[str, str, str]:
    """'Page {page} of {pages}' cut around the two numbers, for CSS counters."""
    text = strings("page_x_of_y", page="\0", pages="\1")
    before, rest = text.split("\0")
    middle, after = rest.split("\1")
    return before, middle, after


def references_elsewhere(handout: Handout, fmt: str) -> bool:
    """Whether another format of the handout prints the full references (its section
    with the role `references`): only then does this one say where they are."""
    section = handout.roles.get("references")
    return any(section in ids for name, ids in handout.sections.items() if name != fmt)


def split_heading(html: Markup) -> tuple[Markup, Markup]:
    """A section's heading and the rest, so a figure can go between them (a section's
    HTML always starts with its <h2>: content.split_sections)."""
    head, found, rest = str(html).partition("</h2>")
    return (Markup(head + found), Markup(rest)) if found else (Markup(""), Markup(html))


def render_html(env: Environment, target: Target, handout: Handout, text: Text, strings: Strings,
                body_size: float | None = None, clinic: Clinic | None = None, status: str | None = None,
                settings: Settings = DEFAULTS) -> str:
    """The complete HTML of one target; body_size (pt) overrides the stylesheet's when
    a long translation must shrink to fit; without a clinic, contacts are blanks.
    `status` is the target's own (Project.status_of: a draft translation of an
    approved handout is a draft); None takes the handout's."""
    locale, direction = language(target.lang).locale, language(target.lang).direction
    control = handout.control
    context = {
        "lang": target.lang,
        "direction": direction,
        "body_size": body_size,
        "handout_id": handout.id,
        "format": target.format,
        "paper": target.paper,
        "text": prepare_text(text, direction),
        "control": control,
        "draft": (status or control.status) != "approved",
        "reviewed": format_date(control.last_reviewed, "long", locale=locale),
        "next_review": format_date(control.next_review, "long", locale=locale),
        "approved_on": format_date(control.approved_on, "long", locale=locale) if control.approved_on else "",
        "page_label": page_label(strings),
        "stylesheets": stylesheets(target, settings),
        "page_size": settings.papers[target.paper].size,
        "references_elsewhere": references_elsewhere(handout, target.format),
        "t": strings,
        "clinic": clinic,
        "worst_case": WORST_CASE,
        "card_fields": card_rows(handout.card_fields, text.card_labels, clinic, WORST_CASE),
        "figures": figures_by_section(handout, text),
        "pictograms": handout.pictograms,
        "split_heading": split_heading,
        "logo": clinic.logo.as_uri() if clinic and clinic.logo else "",
        "qr": qr_data_uri(clinic.url) if clinic and clinic.url and target.format != "card" else "",
        "fillable": target.fillable,
        "large_print": target.large_print,
        "created": control.last_reviewed.isoformat(),
        "generator": f"handoutkit {__version__}",
    }
    html = env.get_template(settings.formats[target.format].template).render(context)
    check_alt_text(html)
    return html

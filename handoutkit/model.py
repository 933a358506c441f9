"""Plain data passed between the stages."""

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from markupsafe import Markup

# A handout's or clinic's id names a folder at the top of the output folder: lower-case
# letters, digits and dashes only (no dots, so never manifest.json or index.html), and
# none of the builder's own folders there.
ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
RESERVED_IDS = ("thumbnails",)
# The only addresses a link in a handout may have, in its Markdown (content.py) and in its
# PDF (audit.py): web, e-mail and phone, and "#id" jumps inside the document.
LINK_SCHEMES = ("https:", "http:", "mailto:", "tel:")


def is_allowed_link(address: str) -> bool:
    """Whether a link may go to `address` (entities already decoded; any case)."""
    return address.lower().startswith(LINK_SCHEMES) or address.startswith("#")
ID_RULE = "lower-case letters, digits and dashes, starting with a letter or digit, at most 64 characters"


def id_problem(value: str) -> str | None:
    """Why `value` cannot be a handout or clinic id, if it cannot (ID_RE, full match:
    a trailing newline is refused too)."""
    if not ID_RE.fullmatch(value):
        return f"{value!r} must be {ID_RULE}"
    if value in RESERVED_IDS:
        return f"{value!r} is the name of one of the builder's own output folders: choose another"
    return None


@dataclass(frozen=True)
class Source:
    short: str
    authors: str = ""   # empty only where the authors are not yet confirmed: the title leads
    title: str = ""
    journal: str = ""
    year: int | None = None
    doi: str = ""
    pmid: str = ""
    url: str = ""


@dataclass(frozen=True)
class Control:
    """Document control printed on every handout."""

    version: str
    last_reviewed: date
    next_review: date
    status: str  # "draft" or "approved"
    approver: str = ""
    approved_on: date | None = None
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True)
class CardField:
    """A blank on the wallet card, declared by the handout (handout.toml [[card.fields]]);
    its label is in each language's meta.toml [card.labels], keyed by id."""

    id: str
    kind: str                # text, date or phone: a date or phone reads left to right in any script
    clinic: str = ""         # the clinic profile's key whose value fills it (e.g. phone_after_hours)
    side: str = "front"      # front or back of the card


@dataclass(frozen=True)
class Figure:
    """A diagram the templates draw from words in each language's meta.toml
    [figures.<id>] (handout.toml [figures.<id>]): text, so it is translated, mirrored
    and set in the script's font."""

    id: str
    kind: str                      # "steps": numbered steps in a row, with arrows
    section: str                   # drawn under this section's heading
    formats: tuple[str, ...]       # in these formats only


@dataclass(frozen=True)
class FigureWords:
    """A figure's words in one language: what it shows, for screen readers, and its labels."""

    alt: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Handout:
    id: str
    path: Path
    source_lang: str
    control: Control
    sections: dict[str, tuple[str, ...]]  # format name -> required section ids
    languages: tuple[str, ...]
    # Partials whose every paragraph and list item the audit finds in each PDF.
    safety_partials: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)  # role (content.ROLES) -> section id
    card_fields: tuple[CardField, ...] = ()
    figures: tuple[Figure, ...] = ()
    pictograms: tuple[str, ...] = ()  # drawn in the help box (figures.PICTOGRAMS)

    def role_of(self, section_id: str) -> str:
        return next((role for role, id_ in self.roles.items() if id_ == section_id), "")


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    html: Markup
    role: str = ""  # what the section is for (content.ROLES), from handout.toml [roles]


@dataclass(frozen=True)
class Text:
    """One format of a handout in one language, ready for a template."""

    path: Path
    lang: str
    format: str
    title: str
    subtitle: str
    intro: Markup
    sections: tuple[Section, ...]
    partials: dict[str, str] = field(default_factory=dict)  # name -> Markdown, as included
    card_labels: dict[str, str] = field(default_factory=dict)  # card field id -> label (meta.toml)
    figures: dict[str, FigureWords] = field(default_factory=dict)  # figure id -> words (meta.toml)
    keywords: tuple[str, ...] = ()  # topic words for the PDF's Keywords (meta.toml)


def partial_path(handout_dir: Path, lang: str, name: str) -> Path:
    """Where `@include name` reads from: the handout's own partials/<name>.md, or, for
    `other/name`, the same language's partial of the handout `other` beside it."""
    other, _, stem = name.rpartition("/")
    folder = handout_dir.parent / other if other else handout_dir
    return folder / lang / "partials" / f"{stem}.md"


@dataclass(frozen=True)
class Target:
    handout: str
    lang: str
    format: str
    paper: str
    large_print: bool = False
    clinic: str | None = None   # clinic profile id
    fillable: bool = False      # blanks are PDF form fields
    print_shop: bool = False    # PDF/X-4 with bleed and crop marks

    @property
    def relpath(self) -> str:
        """Where the PDF goes, relative to the output folder."""
        suffix = "".join(tag for flag, tag in ((self.large_print, "-large"), (self.fillable, "-fillable"),
                                                (self.print_shop, "-print")) if flag)
        name = f"{self.handout}/{self.lang}/{self.handout}-{self.format}-{self.paper}{suffix}.pdf"
        return f"{self.clinic}/{name}" if self.clinic else name

    @property
    def key(self) -> tuple[str, str, str]:
        """The content this target needs: papers of one format share it."""
        return (self.handout, self.lang, self.format)


BUILT, UP_TO_DATE, FAILED, BLOCKED = "built", "up-to-date", "failed", "blocked"


@dataclass
class Result:
    """What became of one target. `status` says which of four things happened:
    built (a new PDF was written), up-to-date (the PDF on disk is current: the other
    fields come from its manifest entry), failed (checks or layout; the last good PDF
    stays), blocked (not built: a content problem, reported once, touches it)."""

    target: Target
    problems: list[str] = field(default_factory=list)
    status: str = BUILT
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
    approval: str = "draft"  # the handout's status combined with its translation's
    translation_status: str | None = None  # a translation's own [translation] status
    layout_warnings: list[str] = field(default_factory=list)  # poor layout (audit.check_layout)
    layouts: int = 0  # WeasyPrint layouts this target took (shrink-to-fit tries)
    page_limit: int = 0  # its format's (settings.Format.page_limit)
    max_grade: float | None = None  # its format's readability limit
    max_smog: float | None = None   # its format's SMOG limit
    entry: dict = field(default_factory=dict)  # an up-to-date target's manifest entry
    # What a worker made, for the main process to write (workers.save), then dropped:
    # out_dir-relative path -> bytes, the PDF last; and the first page as a PNG.
    files: dict = field(default_factory=dict, repr=False)
    thumbnail: bytes = field(default=b"", repr=False)

    @property
    def ok(self) -> bool:
        return self.status in (BUILT, UP_TO_DATE)

    @property
    def up_to_date(self) -> bool:
        return self.status == UP_TO_DATE

    @property
    def blocked(self) -> bool:
        return self.status == BLOCKED

    @classmethod
    def failed(cls, target: Target, project, problems: list[str], seconds: float = 0.0,
               status: str = FAILED) -> "Result":
        """A target that was not built (failed or blocked): what the report needs of it."""
        text = project.texts.get(target.key)
        return cls(target, list(problems), status, seconds=seconds, handout=project.handouts.get(target.handout),
                   title=text.title if text else "")

    @classmethod
    def from_entry(cls, target: Target, entry: dict) -> "Result":
        """A target whose PDF is current, described by its manifest entry."""
        return cls(target, status=UP_TO_DATE, pages=entry.get("pages", 0), size=entry.get("bytes", 0),
                   sha256=entry.get("sha256", ""), readability=entry.get("readability"),
                   title=entry.get("title", ""), stale=bool(entry.get("stale")), overdue=bool(entry.get("overdue")),
                   body_size=entry.get("body_size"), inputs=entry.get("inputs", ""),
                   approval=entry.get("status", "draft"), translation_status=entry.get("translation_status"),
                   layout_warnings=list(entry.get("layout_warnings") or []), entry=entry)

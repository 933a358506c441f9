"""Plain data passed between the stages."""

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from markupsafe import Markup


@dataclass(frozen=True)
class Source:
    short: str
    authors: str
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
class Handout:
    id: str
    path: Path
    source_lang: str
    control: Control
    sections: dict[str, tuple[str, ...]]  # format name -> required section ids
    languages: tuple[str, ...]
    # Partials whose every paragraph and list item the audit finds in each PDF.
    safety_partials: tuple[str, ...] = ("warning-signs", "when-to-call")


@dataclass(frozen=True)
class Section:
    id: str
    heading: str
    html: Markup


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

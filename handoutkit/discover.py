"""Find the handouts and plan the targets: handout x language x format x paper."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Problem
from .model import Handout, Target


@dataclass(frozen=True)
class Selection:
    """What the command line asked for; an empty tuple means all."""

    handouts: tuple[str, ...] = ()
    langs: tuple[str, ...] = ()
    formats: tuple[str, ...] = ()
    papers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variants:
    """Output options that add or change targets."""

    clinic: str | None = None   # clinic id; the profile is loaded by the project stage
    large_print: bool = False   # also build large-print variants of the formats that have one
    fillable: bool = False
    print_shop: bool = False


@dataclass
class Plan:
    handouts: list[Handout] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


def find_handout_folders(handouts_dir: Path) -> list[Path]:
    """Every folder under handouts/ that holds a handout.toml, by name."""
    if not handouts_dir.is_dir():
        return []
    # lexists: a handout.toml that is a FIFO or a link is found, and refused when it is read.
    return sorted(p for p in handouts_dir.iterdir() if os.path.lexists(p / "handout.toml"))


def plan_targets(handouts: list[Handout], selection: Selection, formats: dict,
                 variants: Variants = Variants()) -> list[Target]:
    """All targets of the handouts that match the selection, in a stable order (the
    formats' order in the settings)."""
    return [
        Target(h.id, lang, fmt, paper, large, variants.clinic, variants.fillable, variants.print_shop)
        for h in handouts if chosen(h.id, selection.handouts)
        for lang in h.languages if chosen(lang, selection.langs)
        for fmt in formats if fmt in h.sections and chosen(fmt, selection.formats)
        for paper in formats[fmt].papers if chosen(paper, selection.papers)
        for large in large_print_options(formats[fmt], variants)
    ]


def large_print_options(fmt, variants: Variants) -> tuple[bool, ...]:
    """The regular target, and with --large-print its large-print twin where the format has one."""
    return (False, True) if variants.large_print and fmt.large_max_pages else (False,)


def chosen(value: str, wanted: tuple[str, ...]) -> bool:
    return not wanted or value in wanted


def check_selection(handouts: list[Handout], selection: Selection, where: Path, settings) -> list[Problem]:
    """Name every selected value that matches nothing, with the values that exist."""
    known = {
        "--handout": sorted(h.id for h in handouts),
        "--lang": sorted({lang for h in handouts for lang in h.languages}),
        "--format": list(settings.formats),
        "--paper": list(settings.papers),
    }
    asked = dict(zip(known, (selection.handouts, selection.langs, selection.formats, selection.papers)))
    return [
        Problem(where, f"{option} '{value}' matches nothing", f"choose from: {', '.join(known[option])}")
        for option, values in asked.items() for value in values if value not in known[option]
    ]

"""The formats and paper sizes the builder knows.

A format is a length of handout with its own template and stylesheet; its page
limit is a hard check on every PDF written.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    max_pages: int
    papers: tuple[str, ...]
    max_grade: float | None = None  # readability ceiling (US school grade), None = report only
    # Body sizes (pt) to try, in order, when a text does not fit at the stylesheet's
    # size: long translations shrink, but never below the last one (the floor).
    smaller_sizes: tuple[float, ...] = (11.5, 11)


FORMATS = {
    "card": Format("card", 2, ("card",), smaller_sizes=(7.25, 7)),
    "brief": Format("brief", 1, ("a4", "letter"), max_grade=8),
    "standard": Format("standard", 2, ("a4", "letter"), max_grade=8),
    "booklet": Format("booklet", 8, ("a4", "letter")),
}

PAPERS = ("a4", "letter", "card")

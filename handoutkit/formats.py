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


FORMATS = {
    "card": Format("card", 2, ("card",)),
    "brief": Format("brief", 1, ("a4", "letter"), max_grade=8),
    "standard": Format("standard", 2, ("a4", "letter"), max_grade=8),
    "booklet": Format("booklet", 8, ("a4", "letter")),
}

PAPERS = ("a4", "letter", "card")

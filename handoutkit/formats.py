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
    large_max_pages: int | None = None  # page limit of the large-print variant; None = no such variant

    def page_limit(self, large_print: bool) -> int:
        return self.large_max_pages if large_print else self.max_pages

    def sizes_to_try(self, large_print: bool) -> tuple[float | None, ...]:
        """None = the stylesheet's own size; large print never shrinks below 16 pt."""
        return (None,) if large_print else (None, *self.smaller_sizes)


FORMATS = {
    "card": Format("card", 2, ("card",), smaller_sizes=(7.25, 7)),
    "brief": Format("brief", 1, ("a4", "letter"), max_grade=8, large_max_pages=2),
    "standard": Format("standard", 2, ("a4", "letter"), max_grade=8, large_max_pages=4),
    "booklet": Format("booklet", 8, ("a4", "letter"), large_max_pages=16),
}

PAPERS = ("a4", "letter", "card")

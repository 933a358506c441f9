"""Figures: diagrams drawn by the templates in HTML and CSS from each language's words.

A handout declares where a figure goes; each language gives its words, so the figure
is translated, mirrored for right-to-left scripts and set in the script's own font,
and WeasyPrint lays it out like any text (no raster images):

    [figures.steps]                  # handout.toml
    kind = "steps"                   # numbered steps in a row, with arrows
    section = "steps"                # drawn under this section's heading
    formats = ["standard", "booklet"]

    [figures.steps]                  # <lang>/meta.toml
    alt = "The 7 steps of CAR-T cell therapy, in order: ..."
    labels = ["Tests", "Cell collection", ...]

In the PDF each figure is a /Figure structure element with the `alt` text as its /Alt
(layout.tag_html_figures), so a screen reader reads the description.
"""

import re
from pathlib import Path

from .errors import line_of
from .cards import line_in_table
from .errors import Problem
from .model import Figure, FigureWords

KINDS = ("steps",)
# Pictograms a handout may show in its help box (styles/icons/, base.css): decorative.
PICTOGRAMS = {"thermometer": "by the help section's heading", "phone": "by the care team's numbers"}
FIGURE_KEYS = {"kind", "section", "formats"}
WORDS_KEYS = {"alt", "labels"}
MIN_STEPS, MAX_STEPS = 2, 9  # more than 9 boxes in a row leave each too narrow for a word
MAX_LABEL_CHARS = 32        # a step's box is a seventh of the page: a label is a few words
ID_RE = re.compile(r"^[a-z][a-z0-9-]{0,39}$")


def parse_figures(data: dict, sections: dict[str, tuple[str, ...]], path: Path, problems: list) -> tuple[Figure, ...]:
    """handout.toml's [figures.<id>] tables, each checked against the formats' sections."""
    tables = data.get("figures", {})
    if not isinstance(tables, dict):
        problems.append(Problem(path, "figures must be tables", "write [figures.<id>] with kind, section, formats",
                                line_of(path, "figures")))
        return ()
    found = [parse_figure(figure_id, table, sections, path, problems) for figure_id, table in tables.items()]
    return tuple(f for f in found if f)


def parse_pictograms(data: dict, path: Path, problems: list) -> tuple[str, ...]:
    """`pictograms = ["thermometer", "phone"]`: which pictograms the help box shows (none by
    default: a thermometer suits a fever warning, not every handout's help section)."""
    names = data.get("pictograms", [])
    if not isinstance(names, list) or not all(n in PICTOGRAMS for n in names):
        problems.append(Problem(path, f"pictograms must be a list of: {', '.join(PICTOGRAMS)}",
                                "; ".join(f"{k} ({v})" for k, v in PICTOGRAMS.items()), line_of(path, "pictograms")))
        return ()
    return tuple(dict.fromkeys(names))


def parse_figure(figure_id: str, table, sections: dict, path: Path, problems: list) -> Figure | None:
    header = f"[figures.{figure_id}]"

    def report(message, hint, key=None):
        problems.append(Problem(path, f"{header}: {message}", hint, key_line(path, f"figures.{figure_id}", key)))

    if not isinstance(table, dict) or not ID_RE.match(figure_id):
        report("not a figure", "name it with lower-case letters, digits and -, and give kind, section and formats")
        return None
    for key in sorted(set(table) - FIGURE_KEYS):
        report(f"unknown key '{key}'", f"allowed keys: {', '.join(sorted(FIGURE_KEYS))}", key)
    kind, section, formats = table.get("kind"), table.get("section"), table.get("formats")
    if kind not in KINDS:
        report(f"kind {kind!r} is not one of {', '.join(KINDS)}", 'e.g. kind = "steps"', "kind")
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) for f in formats):
        report("formats must list the formats it is printed in", 'e.g. formats = ["standard", "booklet"]', "formats")
        return None
    for fmt in formats:
        if fmt not in sections:
            report(f"format '{fmt}' is not one of this handout's", f"its formats: {', '.join(sections)}", "formats")
        elif section not in sections[fmt]:
            report(f"section {section!r} is not a section of the {fmt} format",
                   f"use one of: {', '.join(sections[fmt])}", "section")
    # A figure with problems is still returned (its words are then not reported as
    # unknown too); the problems keep the handout from being built.
    return Figure(figure_id, kind, section, tuple(formats))


def check_figure_words(figures: tuple[Figure, ...], meta: dict, path: Path, problems: list,
                       source: dict | None = None) -> None:
    """A language's meta.toml [figures.<id>]: alt text and a short label for each step;
    a translation has as many labels as its source language (`source`, its meta.toml)."""
    tables = meta.get("figures", {})
    tables = tables if isinstance(tables, dict) else {}
    declared = {f.id for f in figures}
    for unknown in sorted(set(tables) - declared):
        problems.append(Problem(path, f"[figures.{unknown}] is not a figure of this handout",
                                f"declared: {', '.join(sorted(declared)) or 'none'} (handout.toml [figures.<id>])",
                                line_of(path, f"figures.{unknown}")))
    for figure in figures:
        wanted = len(figure_words(source or {}).get(figure.id, FigureWords("", ())).labels) if source else None
        check_words(figure, tables.get(figure.id), wanted, path, problems)


def check_words(figure: Figure, table, wanted: int | None, path: Path, problems: list) -> None:
    header = f"[figures.{figure.id}]"

    def report(message, hint, key=None):
        problems.append(Problem(path, f"{header}: {message}", hint, key_line(path, f"figures.{figure.id}", key)))

    if not isinstance(table, dict):
        problems.append(Problem(path, f"no words for the figure '{figure.id}'",
                                f'add {header} with alt = "what it shows" and labels = ["...", ...]'))
        return
    for key in sorted(set(table) - WORDS_KEYS):
        report(f"unknown key '{key}'", f"allowed keys: {', '.join(sorted(WORDS_KEYS))}", key)
    alt, labels = table.get("alt"), table.get("labels")
    if not isinstance(alt, str) or not alt.strip():
        report("no alt text", 'add alt = "what the figure shows", read aloud by screen readers', "alt")
    if not isinstance(labels, list) or not all(isinstance(x, str) and x.strip() for x in labels):
        report("labels must be a list of words", 'e.g. labels = ["Tests", "Cell collection"]', "labels")
        return
    if wanted is not None and len(labels) != wanted:
        report(f"{len(labels)} labels, the source language has {wanted}", "translate each label of the source",
               "labels")
    elif not MIN_STEPS <= len(labels) <= MAX_STEPS:
        report(f"{len(labels)} labels; a steps figure has {MIN_STEPS} to {MAX_STEPS}", "merge or split steps",
               "labels")
    for label in (x for x in labels if len(x) > MAX_LABEL_CHARS):
        report(f"the label '{label}' is {len(label)} characters; at most {MAX_LABEL_CHARS} fit a step's box",
               "shorten it", "labels")


def figure_words(meta: dict) -> dict[str, FigureWords]:
    """The words as written (check_figure_words reports what is wrong with them)."""
    tables = meta.get("figures")
    if not isinstance(tables, dict):
        return {}
    return {figure_id: FigureWords(str(t.get("alt", "")), tuple(x for x in t.get("labels", ()) if isinstance(x, str)))
            for figure_id, t in tables.items() if isinstance(t, dict) and isinstance(t.get("labels", ()), list)}


def figures_by_section(handout, text) -> dict[str, list[tuple[Figure, FigureWords]]]:
    """Section id -> the figures drawn under its heading in this text's format."""
    placed: dict = {}
    for figure in handout.figures:
        if text.format in figure.formats and figure.id in text.figures:
            placed.setdefault(figure.section, []).append((figure, text.figures[figure.id]))
    return placed


def key_line(path: Path, table: str, key: str | None) -> int | None:
    """The line where `key` is set in [table], else the table's header line."""
    return line_in_table(path, line_of(path, table), key)

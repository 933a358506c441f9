"""Figures read back from the PDF: the diagram of the steps is tagged /Figure with the
language's alt text as /Alt, prints the language's own labels, runs right to left in
Arabic; its declaration and words are checked with one line per problem."""

import textwrap
import tomllib
from collections import defaultdict
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader

from conftest import CARD_LABELS, GERMAN, HANDOUT_TOML, REPO_TARGETS, write_project
from handoutkit import PROJECT_ROOT, audit
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build
from handoutkit.project import load_project

STEPS = "\n[figures.steps]\nkind = \"steps\"\nsection = \"about\"\nformats = [\"brief\"]\n"
EN_WORDS = ('\n[figures.steps]\nalt = "Three steps: 1 tests, 2 treatment, 3 checkups."\n'
            'labels = ["Tests", "Treatment", "Checkups"]\n')


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_project(Options(root))
    return [str(p) for p in raised.value.problems]


def figures_of(path: Path) -> list[tuple[str, int]]:
    """(/Alt, number of /Figure elements above it) of every /Figure in the structure tree."""
    found = []

    def walk(node, inside):
        node = node.get_object()
        is_figure = node.get("/S") == "/Figure"
        if is_figure:
            found.append((str(node.get("/Alt", "")), inside))
        kids = node.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            if hasattr(kid, "get_object") and hasattr(kid.get_object(), "get"):
                walk(kid, inside + is_figure)

    walk(PdfReader(path).trailer["/Root"]["/StructTreeRoot"], 0)
    return found


def step_numbers(path: Path, count: int) -> list[float]:
    """The x of the numbers 1..count in the steps' circles, in number order: the one text
    line of a page (digits whose feet are within 1.5 pt) that holds each of them once."""
    for page in pdfium.PdfDocument(path):
        text = page.get_textpage()
        digits = []
        for i in range(text.count_chars()):
            char = text.get_text_range(i, 1)
            if char.isdigit() and 1 <= int(char) <= count:
                left, bottom, _, _ = text.get_charbox(i)
                digits.append((bottom, char, left))
        for foot, _, _ in digits:
            row = defaultdict(list)
            for bottom, char, left in digits:
                if abs(bottom - foot) <= 1.5:
                    row[char].append(left)
            if len(row) == count and all(len(xs) == 1 for xs in row.values()):
                return [row[str(n)][0] for n in range(1, count + 1)]
    return []


# --- a tiny project -----------------------------------------------------------------------

def test_every_problem_of_a_figure_is_one_line_at_once(tmp_path):
    toml = HANDOUT_TOML.replace("[[sources]]", STEPS + STEPS.replace("steps]", "timeline]").replace('"about"', '"risks"') +
                                '\n[figures.map]\nkind = "map"\nsection = "about"\nformats = ["booklet"]\n\n[[sources]]', 1)
    root = write_project(tmp_path / "p", {
        **GERMAN, "handouts/demo/handout.toml": toml,
        "handouts/demo/en/meta.toml": 'title = "Demo"\n' + CARD_LABELS["en"] + EN_WORDS +
                                      '\n[figures.other]\nalt = "x"\nlabels = ["a", "b"]\n',
        "handouts/demo/de/meta.toml": 'title = "Demo"\n' + CARD_LABELS["de"] +
                                      '\n[figures.steps]\nalt = ""\nlabels = ["Tests", "Eine viel zu lange Bezeichnung für ein Kästchen"]\n'
                                      '\n[translation]\nsource_version = "1.2.0"\nstatus = "draft"\ntranslator = "T"\n'})
    found = problems_of(root)
    lines = toml.splitlines()
    section, kind = lines.index('section = "risks"') + 1, lines.index('kind = "map"') + 1
    expected = [f"handout.toml:{section}: [figures.timeline]: section 'risks' is not a section of the brief format",
                f"handout.toml:{kind}: [figures.map]: kind 'map' is not one of steps",
                "[figures.map]: format 'booklet' is not one of this handout's"]
    for want in expected:
        assert any(want in problem for problem in found), (want, found)
    assert any("en/meta.toml:" in p and "[figures.other] is not a figure of this handout" in p for p in found), found
    assert any("de/meta.toml:" in p and "[figures.steps]: no alt text" in p for p in found), found
    assert any("de/meta.toml:" in p and "[figures.steps]: 2 labels, the source language has 3" in p for p in found), found
    assert any("de/meta.toml:" in p and "is 47 characters; at most 32 fit a step's box" in p for p in found), found
    assert all("\n" not in p and "Traceback" not in p for p in found)


def test_a_figure_is_tagged_with_its_alt_text_and_prints_its_labels_in_order(tmp_path):
    root = write_project(tmp_path / "p", {
        "handouts/demo/handout.toml": HANDOUT_TOML.replace("[[sources]]", STEPS + "\n[[sources]]", 1),
        "handouts/demo/en/meta.toml": 'title = "Demo"\n' + CARD_LABELS["en"] + EN_WORDS})
    results = {r.target.format: r for r in build(Options(root, tmp_path / "out", jobs=1))}
    brief = tmp_path / "out" / results["brief"].target.relpath
    assert results["brief"].ok, results["brief"].problems
    assert figures_of(brief) == [("Three steps: 1 tests, 2 treatment, 3 checkups.", 0)]
    text = audit.squash(PdfReader(brief).pages[0].extract_text())
    assert text.index("Tests") < text.index("Treatment") < text.index("Checkups")
    xs = step_numbers(brief, 3)
    assert xs == sorted(xs) and len(xs) == 3, xs  # left to right
    card = tmp_path / "out" / results["card"].target.relpath
    assert figures_of(card) == []  # only the formats it is declared for


# --- the repository: the standard and the booklet, in every language ---------------------

FIGURED = [t for t in REPO_TARGETS if t.handout == "car-t-lupus" and t.format in ("standard", "booklet")]


def words(lang: str) -> dict:
    meta = PROJECT_ROOT / "handouts/car-t-lupus" / lang / "meta.toml"
    return tomllib.loads(meta.read_text(encoding="utf-8"))["figures"]["steps"]


@pytest.mark.parametrize("target", FIGURED, ids=lambda t: f"{t.lang}-{t.format}-{t.paper}")
def test_the_steps_figure_is_tagged_translated_and_mirrored(built, target):
    out, results = built
    assert results[target].ok, results[target].problems
    path = out / target.relpath
    expected = words(target.lang)
    assert len(expected["labels"]) == 7
    if target.lang != "en":
        assert expected["alt"] != words("en")["alt"] and expected["labels"] != words("en")["labels"]
    assert figures_of(path) == [(expected["alt"], 0)]  # one figure, not nested, with the language's alt text
    rtl = target.lang == "ar"
    document = pdfium.PdfDocument(path)
    text = audit.squash("".join(p.get_textpage().get_text_range() for p in document), rtl)
    assert all(audit.found(label, text, rtl) for label in expected["labels"]), target
    xs = step_numbers(path, 7)
    assert len(xs) == 7 and xs == sorted(xs, reverse=rtl), xs  # Arabic: right to left


def test_the_brief_has_no_figure(built):
    out, results = built
    briefs = [t for t in REPO_TARGETS if t.handout == "car-t-lupus" and t.format == "brief"]
    assert briefs and all(figures_of(out / t.relpath) == [] for t in briefs)


# --- pictograms: decorative, in the help box, where the handout asks for them -------------

def artifact_drawings(path: Path) -> int:
    """XObjects drawn inside /Artifact marked content (backgrounds), over all pages."""
    from pypdf.generic import ContentStream
    reader, count = PdfReader(path), 0
    for page in reader.pages:
        depth = []
        for operands, operator in ContentStream(page.get_contents(), reader).operations:
            if operator in (b"BMC", b"BDC"):
                depth.append(operands[0] == "/Artifact" or (bool(depth) and depth[-1]))
            elif operator == b"EMC" and depth:
                depth.pop()
            elif operator == b"Do" and depth and depth[-1]:
                count += 1
    return count


def structure_size(path: Path) -> int:
    def walk(node):
        node = node.get_object()
        kids = node.get("/K", [])
        kids = kids if isinstance(kids, list) else [kids]
        return 1 + sum(walk(k) for k in kids if hasattr(k, "get_object") and hasattr(k.get_object(), "get"))
    return walk(PdfReader(path).trailer["/Root"]["/StructTreeRoot"])


def test_pictograms_are_drawn_as_artifacts_only_where_asked(tmp_path):
    with_them = HANDOUT_TOML.replace('safety_partials = ["warning-signs"]\n',
                                     'safety_partials = ["warning-signs"]\npictograms = ["thermometer", "phone"]\n')
    built = {}
    for name, toml in (("plain", HANDOUT_TOML), ("pictograms", with_them)):
        root = write_project(tmp_path / name, {"handouts/demo/handout.toml": toml})
        [brief] = [r for r in build(Options(root, tmp_path / name / "out", jobs=1)) if r.target.paper == "a4"]
        assert brief.ok and brief.pages == 1 and brief.body_size is None, brief.problems
        built[name] = tmp_path / name / "out" / brief.target.relpath
    assert artifact_drawings(built["pictograms"]) == artifact_drawings(built["plain"]) + 2  # thermometer, phone
    assert structure_size(built["pictograms"]) == structure_size(built["plain"])  # nothing for a screen reader


def test_an_unknown_pictogram_is_one_line(tmp_path):
    toml = HANDOUT_TOML.replace('safety_partials = ["warning-signs"]\n',
                                'safety_partials = ["warning-signs"]\npictograms = ["ambulance"]\n')
    root = write_project(tmp_path / "p", {"handouts/demo/handout.toml": toml})
    assert any("handout.toml:8: pictograms must be a list of: thermometer, phone" in p for p in problems_of(root))

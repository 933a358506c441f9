"""The wallet card as printed: every fill-in field has a line to write on, beside its
label, in a left-to-right and a right-to-left language (read from the PDF's drawing)."""

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from conftest import REPO_TARGETS

# The front's blanks, as the handout declares them: name, date of infusion, product or
# study, trial number, treatment center (the 24-hour number is on the back).
FIELDS = 5
CARDS = [t for t in REPO_TARGETS if t.format == "card" and t.lang in ("en", "ar")]


def rules_and_lines(path):
    """The height of each write-on line (a path wider than 15 mm and under 25 pt high:
    WeasyPrint strokes a bottom border inside its box, so the line is the box's foot)
    and the (bottom, top) span of each text line of page 1, in points."""
    document = pdfium.PdfDocument(path)
    page = document[0]
    rules = []
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=8):
        left, bottom, right, top = obj.get_bounds()
        if right - left > 15 / 25.4 * 72 and top - bottom < 25:
            rules.append(bottom)
    textpage = page.get_textpage()
    lines = [textpage.get_rect(i) for i in range(textpage.count_rects())]
    return rules, [(r[1], r[3]) for r in lines], page.get_width()


@pytest.mark.parametrize("target", CARDS, ids=lambda t: t.lang)
def test_every_blank_field_has_a_line_beside_its_label(built, target):
    out, results = built
    assert results[target].ok
    rules, lines, width = rules_and_lines(out / target.relpath)
    assert len(rules) >= FIELDS, (rules, lines)
    for y in sorted(rules)[:FIELDS]:  # the lowest: the masthead's rule is above them
        # at most 4 pt below the foot of a text line: under its label, not a line lower
        assert any(bottom - 4 <= y <= top for bottom, top in lines), (y, lines)

"""The `log` format (handoutkit.toml: a template, a stylesheet and a table, no Python)
and the daily log handout, whose safety text is the CAR-T handout's partials, included
across handouts (`@include car-t-lupus/warning-signs`). Read back from the PDFs."""

import re
import textwrap
import unicodedata

import pytest
import pypdfium2 as pdfium
from pypdf import PdfReader

from conftest import CARD_FIELDS, HANDOUT_TOML, write_project
from handoutkit import PROJECT_ROOT, audit
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build
from handoutkit.project import load_project

LOG = "car-t-lupus-daily-log"
LANGS = ("en", "de", "es", "fr", "ar", "zh-Hans")
DAYS = 28  # templates/log.html: the first 4 weeks after the infusion
TEXT_COLUMNS = ("date", "morning", "evening", "symptoms")
CONTACT_BLANKS = {"phone_day", "phone_24h", "phone_emergency"}  # templates/contact.html, in the help section


def squash(text: str) -> str:
    """Text without white space, hyphens or brackets (lines break, RTL brackets mirror),
    and with ligatures taken apart (the "fi" of "fits" is one glyph in the PDF)."""
    return re.sub(r"[\s\u00ad\u2010\-()（）]", "", unicodedata.normalize("NFKC", text))


def raw_text(path) -> str:
    """The PDF's text as PDFium reads it (as the audit does): right-to-left text in
    logical order, which pypdf does not always give."""
    document = pdfium.PdfDocument(path)
    return "".join(page.get_textpage().get_text_range() for page in document)


def printed_text(path) -> str:
    return squash(raw_text(path))


def list_items(path) -> list[str]:
    """The items of a Markdown list, as the author wrote them."""
    return [line[2:].strip() for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("- ")]


@pytest.fixture(scope="module")
def fillable(tmp_path_factory):
    """The daily log on A4 in every language, with form fields."""
    out = tmp_path_factory.mktemp("log")
    results = build(Options(PROJECT_ROOT, out, Selection(handouts=(LOG,), papers=("a4",)), fillable=True))
    assert {r.target.lang for r in results} == set(LANGS)
    return out, {r.target.lang: r for r in results}


def test_every_day_has_its_fields_and_the_team_has_a_tick_box(fillable):
    out, results = fillable
    result = results["en"]
    assert result.ok, result.problems
    fields = PdfReader(out / result.target.relpath).get_fields()
    wanted = {f"day{day}-{column}" for day in range(1, DAYS + 1) for column in TEXT_COLUMNS}
    ticks = {f"day{day}-called" for day in range(1, DAYS + 1)}
    assert set(fields) == wanted | ticks | CONTACT_BLANKS
    assert {fields[name]["/FT"] for name in wanted | CONTACT_BLANKS} == {"/Tx"}
    assert {fields[name]["/FT"] for name in ticks} == {"/Btn"}  # a check box


@pytest.mark.parametrize("lang", LANGS)
def test_the_warning_signs_print_in_each_languages_own_words(fillable, lang):
    """The items of car-t-lupus's own partial in that language, read back from the log:
    the shared text, not a copy of it."""
    out, results = fillable
    result = results[lang]
    assert result.ok, result.problems
    reader = PdfReader(out / result.target.relpath)
    assert len(reader.pages) <= 2
    printed = printed_text(out / result.target.relpath)
    items = list_items(PROJECT_ROOT / f"handouts/car-t-lupus/{lang}/partials/warning-signs.md")
    assert len(items) >= 5, items
    missing = [item for item in items if squash(item) not in printed]
    if lang == "ar":  # Arabic marks and Latin runs come out reordered: matched word by word, as the audit does
        missing = [item for item in missing if not audit.found(item, audit.squash(raw_text(out / result.target.relpath), True), True)]
    assert not missing, missing
    assert len(reader.get_fields()) == DAYS * 5 + len(CONTACT_BLANKS)


@pytest.mark.parametrize("clinic", ["sample", "maximal"])
def test_the_log_keeps_to_two_pages_with_a_clinics_numbers(tmp_path, clinic):
    profile = PROJECT_ROOT / "clinics" / clinic / "clinic.toml"
    results = build(Options(PROJECT_ROOT, tmp_path, Selection(handouts=(LOG,), langs=("en", "ar")),
                            clinic_file=profile))
    numbers = re.findall(r'^(?:phone|phone_after_hours|emergency)\s*=\s*"([^"]+)"', profile.read_text(), re.M)
    assert len(numbers) == 3
    for result in results:
        assert result.ok and result.pages <= 2, (result.target, result.problems)
        rtl = result.target.lang == "ar"  # a number's "+" is reordered in RTL text: matched as the audit does
        text = audit.squash(raw_text(tmp_path / result.target.relpath), rtl)
        assert all(audit.found(number, text, rtl) for number in numbers), result.target


# --- a partial shared by two handouts, in a tiny project --------------------------------

OTHER = {
    "handouts/other/handout.toml": HANDOUT_TOML.replace('id = "demo"', 'id = "other"').replace('["warning-signs"]', '["demo/warning-signs"]')
    .replace('warnings = "warning-signs"\n', "").replace('[formats.card]\nsections = ["warning-signs", "show-card"]\n\n', "").replace(CARD_FIELDS, ""),
    "handouts/other/en/meta.toml": 'title = "Other handout"\n',
    "handouts/other/en/brief.md": textwrap.dedent("""\
        Intro.

        ## About {#about}
        Short.

        ## When to call {#when-to-call}
        @include demo/warning-signs
        """),
}


def test_a_change_to_a_shared_partial_rebuilds_both_handouts(tmp_path):
    root = write_project(tmp_path / "project", OTHER)
    first = build(Options(root, root / "out", jobs=1))
    assert all(r.ok for r in first) and {r.target.handout for r in first} == {"demo", "other"}
    other_pdf = root / "out/other/en/other-brief-a4.pdf"
    assert "Trouble breathing" in PdfReader(other_pdf).pages[0].extract_text()
    (root / "handouts/demo/en/partials/warning-signs.md").write_text("- Fever\n- Shortness of breath\n")
    again = build(Options(root, root / "out", jobs=1))
    assert {r.target.relpath for r in again if not r.up_to_date} == {r.target.relpath for r in first}
    assert "Shortness of breath" in PdfReader(other_pdf).pages[0].extract_text()
    brief = (root / "handouts/other/en/brief.md").read_text()
    (root / "handouts/other/en/brief.md").write_text(brief.replace("Short.", "Short and clear."))
    third = build(Options(root, root / "out", jobs=1))
    assert {r.target.handout for r in third if not r.up_to_date} == {"other"}


def test_a_shared_partial_that_is_not_there_is_one_line_with_its_file(tmp_path):
    brief = OTHER["handouts/other/en/brief.md"].replace("demo/warning-signs", "demo/warning-sign")
    root = write_project(tmp_path / "project", {**OTHER, "handouts/other/en/brief.md": brief})
    with pytest.raises(ContentError) as raised:
        load_project(Options(root))
    found = [str(p) for p in raised.value.problems]
    line = next(line for line in found if "demo/warning-sign'" in line)
    assert "other/en/brief.md:7: @include 'demo/warning-sign': no file handouts/demo/en/partials/warning-sign.md" \
        in line and "available: demo/warning-signs" in line and "\n" not in line, found

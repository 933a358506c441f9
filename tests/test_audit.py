"""The audit stage: each check is shown to fail on a PDF that has the fault, and the
faults that reached patients unnoticed before (issue 11) are built end to end."""

import json
import textwrap
import tomllib

import pytest
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from conftest import GERMAN, run_main
from pypdf import PdfReader
from handoutkit import PROJECT_ROOT
from handoutkit.audit import Expectations, Required, audit, squash
from handoutkit.errors import ContentError
from handoutkit.layout import AssetFetcher, lay_out
from handoutkit.discover import Selection
from handoutkit.pipeline import build
from handoutkit.project import Options, load_project

FONTS = FontConfiguration()


def pdf_of(body, css="", lang="en"):
    """A real PDF laid out by WeasyPrint with the project's fonts, A4, 20 mm margins."""
    html = (f'<html lang="{lang}" dir="{"rtl" if lang == "ar" else "ltr"}"><head><style>'
            f"@page {{ size: A4; margin: 20mm }} body {{ font-family: 'Noto Sans', 'Noto Naskh Arabic', "
            f"'Noto Sans CJK SC'; font-size: 12pt }} {css}</style></head><body>{body}</body></html>")
    return lay_out(html, PROJECT_ROOT, AssetFetcher([PROJECT_ROOT / "styles"]), FONTS).pdf


def expecting(*required, draft=None, literal="", rtl=False, headings=(), pixels=25_000_000, margin=5.0):
    return Expectations(rtl, tuple(Required("warning-signs item", r) for r in required), tuple(headings),
                        draft, literal, margin, pixels)


# --- required text ------------------------------------------------------------------------

def test_a_missing_safety_item_fails_and_is_named():
    pdf = pdf_of("<ul><li>Fever of 38 °C or higher</li></ul>")
    problems = audit(pdf, expecting("Fever of 38 °C or higher", "Trouble breathing")).problems
    assert problems == ["audit: warning-signs item is not in the printed text: 'Trouble breathing'"]


def test_required_text_is_found_across_line_breaks_and_hyphenation():
    item = "Confusion, trouble speaking or understanding, or unusual sleepiness that does not go away"
    pdf = pdf_of(f'<p style="width: 30mm; hyphens: auto">{item}</p>')
    assert audit(pdf, expecting(item)).problems == []


def test_required_text_is_found_when_a_line_breaks_after_a_hyphen():
    """PDFium gives U+FFFE for the hyphen of CAR-T when a line ends with it."""
    item = "Diga que recibió terapia CAR-T y muestre su tarjeta."
    assert audit(pdf_of(f'<p style="width: 26mm">{item}</p>'), expecting(item)).problems == []


def test_a_cut_item_is_not_found():
    """Latin and Chinese text must be there whole, not word by word."""
    pdf = pdf_of("<p>Trouble breathing. Fever.</p>")
    assert audit(pdf, expecting("Fever breathing")).problems
    zh = pdf_of("<p>发烧38 °C以上</p>", lang="zh-Hans")
    assert audit(zh, expecting("发烧38 °C以上")).problems == []
    assert audit(zh, expecting("发烧39 °C以上")).problems


def test_arabic_items_are_found_word_by_word_and_a_missing_one_fails():
    signs = "حمى 38 °C أو أعلى", "صعوبة التنفس", "اتصل فورًا، ليلًا أو نهارًا"
    pdf = pdf_of("<ul>" + "".join(f"<li>{s}</li>" for s in signs) + "</ul>", lang="ar")
    assert audit(pdf, expecting(*signs, rtl=True)).problems == []
    assert audit(pdf, expecting(*signs, "نزف أو كدمات بسهولة", rtl=True)).problems


# --- markup that reached the paper ------------------------------------------------------------

@pytest.mark.parametrize("printed", ["@include warning-signs", "Take **care", "See [this](https://x.org",
                                     "Risks {#risks}", "{{ clinic.phone }}", "{% if x %}"])
def test_leaked_markup_fails(printed):
    problems = audit(pdf_of(f"<p>Before it. {printed} After it.</p>"), expecting()).problems
    assert len(problems) == 1 and "is printed as text" in problems[0] and "page 1" in problems[0]
    assert f"near 'Before it. {printed}" in problems[0]  # the words as printed, spaces kept


def test_markup_the_author_wrote_as_literal_text_passes():
    assert audit(pdf_of("<p>Type <code>**</code> for bold.</p>"), expecting(literal="**")).problems == []


# --- the draft notice ------------------------------------------------------------------------

def test_a_draft_without_its_notice_on_every_page_fails():
    notice = "Draft - not yet approved for patient use"
    pdf = pdf_of(f"<p>{notice}</p><p style='break-before: page'>Second page.</p>")
    assert audit(pdf, expecting(draft=notice)).problems == [f"audit: page 2: the draft notice '{notice}' is missing"]
    running = pdf_of("<p>One.</p><p style='break-before: page'>Two.</p>",
                     css=f"@page {{ @bottom-center {{ content: '{notice}' }} }}")
    assert audit(running, expecting(draft=notice)).problems == []


# --- geometry --------------------------------------------------------------------------------

def test_ink_in_the_safe_margin_fails_with_the_text_near_it():
    pdf = pdf_of('<p style="position: absolute; top: -18mm; left: 0; margin: 0">Clinic name here</p>')
    problems = audit(pdf, expecting()).problems
    assert len(problems) == 1
    assert "page 1: ink" in problems[0] and "top edge" in problems[0] and "Clinic name" in problems[0]


def test_text_running_off_the_page_fails():
    long_word = "https://example.org/" + "a" * 200
    problems = audit(pdf_of(f"<p>{long_word}</p>"), expecting()).problems
    assert any("text runs past the edge of the page" in p for p in problems), problems
    assert any("right edge" in p for p in problems), problems


def test_print_shop_pages_are_checked_inside_the_trim_box_and_marks_do_not_count():
    css = "@page { bleed: 3mm; marks: crop }"
    assert audit(pdf_of("<p>Body text.</p>", css=css), expecting()).problems == []
    near_trim = pdf_of('<p style="position: absolute; left: -19mm; margin: 0">Cut off</p>', css=css)
    problems = audit(near_trim, expecting()).problems
    assert len(problems) == 1 and "left edge" in problems[0] and "Cut off" in problems[0], problems


def test_a_page_with_ink_only_inside_the_margin_passes():
    pdf = pdf_of('<p style="position: absolute; bottom: -14mm">Footer line</p>')  # 6 mm from the edge
    assert audit(pdf, expecting()).problems == []


# --- links, actions, attachments, images ----------------------------------------------------------

@pytest.mark.parametrize("href", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "ftp://x.org/f"])
def test_a_forbidden_link_in_the_pdf_fails(href):
    problems = audit(pdf_of(f'<p><a href="{href}">click</a></p>'), expecting()).problems
    assert len(problems) == 1 and "a link to" in problems[0] and "page 1" in problems[0], problems


def test_web_mail_phone_and_internal_links_pass():
    pdf = pdf_of('<p id="top"><a href="https://x.org">w</a> <a href="mailto:a@x.org">m</a> '
                 '<a href="tel:+15550100">t</a> <a href="#top">i</a></p>')
    assert audit(pdf, expecting()).problems == []


def test_an_attachment_fails(tmp_path):
    attached = tmp_path / "secret.txt"
    attached.write_text("secret")
    pdf = HTML(string="<p>x</p>").write_pdf(attachments=[str(attached)], font_config=FONTS)
    assert any("embedded files" in p for p in audit(pdf, expecting()).problems)


def test_an_attached_file_link_fails(tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    pdf = HTML(string='<p><a rel="attachment" href="secret.txt">x</a></p>', base_url=f"{tmp_path}/").write_pdf()
    assert audit(pdf, expecting()).problems == [
        "audit: page 1: a fileattachment annotation (only links and form fields are allowed)"]


def test_an_image_over_the_pixel_limit_fails():
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGP4DwQMIAIAOEMH+fF2"
             "xQ8AAAAASUVORK5CYII=")
    pdf = pdf_of(f'<img src="{pixel}" alt="x" style="width: 10mm">')
    assert audit(pdf, expecting(pixels=4)).problems == []
    problems = audit(pdf, expecting(pixels=3)).problems
    assert len(problems) == 1 and "4 pixels, over the limit of 3" in problems[0]


# --- layout warnings ---------------------------------------------------------------------------

def test_a_nearly_empty_last_page_is_a_warning():
    pdf = pdf_of("<p>Page one.</p><p style='break-before: page'>Only this line.</p>")
    findings = audit(pdf, expecting())
    assert findings.problems == []
    assert findings.warnings == ["layout: the last page (page 2) holds only 1 line: 'Only this line.'"]


def test_a_heading_at_the_foot_of_a_page_is_a_warning():
    pdf = pdf_of("<p style='height: 240mm; margin: 0'>Body.</p><h2 style='margin: 0'>Side effects</h2>"
                 + "<p>Text. </p>" * 5, css="h2 { break-after: auto }")
    warnings = audit(pdf, expecting(headings=("Side effects",))).warnings
    assert any("page 1 ends with the heading 'Side effects'" in w for w in warnings), warnings


def test_squash_normalises_presentation_forms_and_hyphens():
    assert squash("ﻻ ﺷﻔﺎء") == squash("لا شفاء")
    assert squash("Fie-\nber\u00ad schub") == "Fieberschub"


# --- end to end: the reproductions of issue 11 --------------------------------------------------

def test_indented_include_is_a_content_error_with_file_and_line(tiny):
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text().replace("@include warning-signs", "  @include warning-signs"))
    with pytest.raises(ContentError) as error:
        load_project(Options(tiny))
    line = next(p for p in map(str, error.value.problems) if "@include" in p)
    assert "brief.md:7:" in line and "not at the start of the line" in line


def test_a_draft_translation_of_an_approved_handout_prints_as_a_draft(tiny, tmp_path):
    toml = tiny / "handouts/demo/handout.toml"
    toml.write_text(toml.read_text().replace('status = "draft"', 'status = "approved"\napprover = "Dr A, reviewer"\n'
                                             "approved_on = 2026-02-01"))
    for name, text in GERMAN.items():
        (tiny / name).parent.mkdir(parents=True, exist_ok=True)
        (tiny / name).write_text(text)
    out = tmp_path / "out"
    completed = run_main("--root", tiny, "--out", out, "--format", "card", "--mark-translated", "de")
    completed = run_main("--root", tiny, "--out", out, "--format", "card")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    entries = {e["lang"]: e for e in json.loads((out / "manifest.json").read_text())["targets"]}
    assert (entries["de"]["status"], entries["de"]["translation_status"]) == ("draft", "draft")
    assert (entries["en"]["status"], entries["en"]["translation_status"]) == ("approved", None)
    from pypdf import PdfReader
    german = [squash(p.extract_text()) for p in PdfReader(out / entries["de"]["path"]).pages]
    assert all("Entwurf" in page for page in german)
    english = "".join(p.extract_text() for p in PdfReader(out / entries["en"]["path"]).pages)
    assert "Draft" not in english
    catalog = (out / "index.html").read_text()
    assert catalog.count("Draft: not approved for patient use") == 1


def test_unclosed_bold_fails_the_target_and_keeps_the_last_good_pdf(tiny, tmp_path):
    out = tmp_path / "out"
    assert run_main("--root", tiny, "--out", out, "--format", "brief", "--paper", "a4").returncode == 0
    good = (out / "demo/en/demo-brief-a4.pdf").read_bytes()
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text().replace("You read this.", "You **must read this."))
    completed = run_main("--root", tiny, "--out", out, "--format", "brief", "--paper", "a4")
    assert completed.returncode == 1
    assert "markup '**' is printed as text" in completed.stderr
    assert (out / "demo/en/demo-brief-a4.pdf").read_bytes() == good


@pytest.mark.parametrize("clinic", [None, PROJECT_ROOT / "clinics/sample/clinic.toml"])
def test_a_handout_whose_help_section_has_another_id_keeps_the_numbers(tiny, tmp_path, clinic):
    """The contact block goes in the section with the role `help` ([roles] in
    handout.toml), whatever its id: a handout that names it otherwise keeps whom to call."""
    for name in ("handouts/demo/handout.toml", "handouts/demo/en/brief.md"):
        path = tiny / name
        path.write_text(path.read_text().replace("when-to-call", "get-help"))
    [result] = build(Options(tiny, tmp_path / "out", selection=Selection(formats=("brief",), papers=("a4",)),
                             clinic_file=clinic, jobs=1))
    assert result.ok, result.problems
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(tmp_path / "out" / result.target.relpath).pages).split())
    if clinic:
        profile = tomllib.loads(clinic.read_text())
        assert all(profile[key] in text for key in ("phone", "phone_after_hours", "emergency"))
    else:
        assert "Your care team" in text


def test_a_help_section_that_prints_no_contact_block_fails(tiny, tmp_path):
    """If the block is missing anyway (a template that drops it), the audit says where it goes."""
    template = tiny / "templates/base.html"
    template.write_text(template.read_text().replace('{% include "contact.html" %}', ""))
    [result] = build(Options(tiny, tmp_path / "out", selection=Selection(formats=("brief",), papers=("a4",)), jobs=1))
    assert not result.ok
    assert any("the contact block (the contact block goes in the help section, when-to-call" in p
               for p in result.problems), result.problems


def test_a_handout_can_declare_more_safety_partials(tiny):
    (tiny / "handouts/demo/en/partials/fever.md").write_text("Take your temperature twice a day.\n")
    toml = tiny / "handouts/demo/handout.toml"
    toml.write_text(toml.read_text().replace('safety_partials = ["warning-signs"]',
                                             'safety_partials = ["warning-signs", "fever"]'))
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text() + "@include fever\n")
    project = load_project(Options(tiny))
    assert project.handouts["demo"].safety_partials == ("warning-signs", "fever")
    from handoutkit.target import expectations
    target = next(t for t in project.targets if t.format == "brief")
    required = [r.text for r in expectations(target, project, "draft").required]
    assert "Take your temperature twice a day." in required and "Trouble breathing" in required


def test_strict_fails_a_poor_layout(tiny, tmp_path):
    toml = tiny / "handouts/demo/handout.toml"
    toml.write_text(toml.read_text() + "\n[formats.booklet]\nsections = [\"about\"]\n")
    (tiny / "handouts/demo/en/booklet.md").write_text(textwrap.dedent("""\
        ## About this {#about}
        """) + "A sentence that fills the page with words.\n\n" * 31)  # page 1 holds 30
    out = tmp_path / "out"
    relaxed = run_main("--root", tiny, "--out", out, "--format", "booklet", "--paper", "a4")
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
    assert "poor layout" in relaxed.stdout
    strict = run_main("--root", tiny, "--out", out, "--format", "booklet", "--paper", "a4", "--strict", "--force")
    assert strict.returncode == 1 and "holds only" in strict.stderr and "(--strict)" in strict.stderr

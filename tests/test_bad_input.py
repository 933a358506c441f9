"""Every kind of bad input gets one clear line naming the file (and line), what is
wrong and how to fix it; never a traceback."""

import json
import shutil

import pytest
from PIL import Image

from conftest import CARD_LABELS, GERMAN, HANDOUT_TOML, run_main, write_project
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.project import Options, load_project

BRIEF = "Intro.\n\n## About this {#about}\nText. IMAGE\n\n## When to call {#when-to-call}\n@include warning-signs\n"


def problems_of(root):
    """The problems load_project reports, as strings. A build loads with partial=True:
    it must find exactly the same problems, whether it raises or blocks targets."""
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    found = [str(p) for p in caught.value.problems]
    try:
        project = load_project(Options(root), partial=True)
        assert project.blocked, "a project with problems must block some targets"
        partial = [str(p) for p in project.problems]
    except ContentError as error:
        partial = [str(p) for p in error.problems]
    assert partial == found
    return found


def with_image(tmp_path, markdown_image, make_image=None):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": BRIEF.replace("IMAGE", markdown_image)})
    if make_image:
        make_image(root / "handouts/demo/en")
    return problems_of(root)


@pytest.mark.parametrize("image, make, message", [
    ("![A chart](handouts/demo/en/none.png)", None, "image 'handouts/demo/en/none.png' does not exist"),
    ("![A chart](/etc/hostname)", None, "image '/etc/hostname' must be a file inside handouts/"),
    ("![A chart](handouts/../styles/fonts/OFL.txt)", None, "must be a file inside handouts/"),
    ("![A chart](https://example.org/x.png)", None, "must be a file inside handouts/ (no web addresses"),
    ("![A chart](handouts/demo/en/fake.png)", lambda d: (d / "fake.png").write_text("not a picture"),
     "image 'handouts/demo/en/fake.png' is not an image Pillow can read"),
    ("![A chart](handouts/demo/en/huge.png)", lambda d: Image.new("1", (20000, 20000)).save(d / "huge.png"),
     "has far more than 25,000,000 pixels"),
    ("![A chart](handouts/demo/en/wide.png)", lambda d: Image.new("1", (9000, 4000)).save(d / "wide.png"),
     "is 9000 x 4000 pixels, more than 25,000,000"),
    ("![A chart](handouts/demo/en/big.png)", lambda d: (d / "big.png").write_bytes(b"\x89PNG" + bytes(6_000_000)),
     "is larger than 5 MB"),
    ("![A chart](handouts/demo/en/x.svg)",
     lambda d: (d / "x.svg").write_text('<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>'),
     "is an SVG with a DTD or entities"),
    ("![](handouts/demo/en/ok.png)", lambda d: Image.new("RGB", (10, 10)).save(d / "ok.png"), "has no alt text"),
])
def test_bad_images_are_named_with_file_and_line(tmp_path, image, make, message):
    found = with_image(tmp_path, image, make)
    assert any("brief.md:4: " in p and message in p for p in found), found


def test_symlink_out_of_the_project_is_refused(tmp_path):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": BRIEF.replace(
        "IMAGE", "![A chart](handouts/demo/en/link.png)")})
    (root / "handouts/demo/en/link.png").symlink_to("/etc/hostname")
    assert any("must be a file inside handouts/" in p for p in problems_of(root))


def test_an_id_that_is_not_its_folder_is_refused(tmp_path):
    root = write_project(tmp_path / "p")
    shutil.copytree(root / "handouts/demo", root / "handouts/demo-copy")
    assert any("demo-copy/handout.toml:1: id 'demo' differs from the folder name 'demo-copy'" in p
               for p in problems_of(root))


def test_unreadable_file_is_named(tmp_path):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": None})
    (root / "handouts/demo/en/brief.md").mkdir()  # a folder where a file should be
    assert any("brief.md: cannot read the file" in p for p in problems_of(root))


def test_missing_translation_file_is_named(tmp_path):
    root = write_project(tmp_path / "p")
    shutil.copytree(root / "handouts/demo/en", root / "handouts/demo/de")
    (root / "handouts/demo/de/meta.toml").write_text(
        'title = "Demo"\n[translation]\nsource_version = "1"\nstatus = "draft"\ntranslator = "t"\n')
    (root / "handouts/demo/de/card.md").unlink()
    shutil.copy(root / "templates/strings/en.toml", root / "templates/strings/de.toml")
    assert any("de/card.md: the card text for 'de' is missing" in p for p in problems_of(root))


@pytest.mark.parametrize("option, value, message", [
    ("--lang", "xx", "--lang 'xx' matches nothing (choose from: en)"),
    ("--handout", "nope", "--handout 'nope' matches nothing (choose from: demo)"),
])
def test_unknown_selection_is_bad_usage(tiny, option, value, message):
    completed = run_main("--root", tiny, option, value)
    assert completed.returncode == 2 and message in completed.stderr and "Traceback" not in completed.stderr


def test_values_that_look_like_code_print_literally(tiny, tmp_path):
    (tiny / "handouts/demo/en/meta.toml").write_text('title = "{{ 7*7 }} <b>x</b> </style>"\n' + CARD_LABELS["en"])
    completed = run_main("--root", tiny, "--out", tmp_path / "out", "--format", "brief", "--paper", "a4", "--html")
    assert completed.returncode == 0, completed.stderr
    html = (tmp_path / "out/demo/en/demo-brief-a4.html").read_text()
    assert "<title>{{ 7*7 }} &lt;b&gt;x&lt;/b&gt; &lt;/style&gt;</title>" in html


def test_template_syntax_error_names_the_template_and_line(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "templates/brief.html").write_text('{% extends "base.html" %}\n{% block header %}{{ oops }\n{% endblock %}\n')
    found = problems_of(root)
    assert any("templates/brief.html:2: template syntax error" in p for p in found), found


# --- one bad input fails only the targets it touches ----------------------------------------

GERMAN_BRIEF = ("Einleitung.\n\n## Worum es geht {#about}\nSie lesen das.IMAGE\n\n"
                "## Wann anrufen {#when-to-call}\n@include warning-signs\n")
EN = {"demo/en/demo-card-card.pdf", "demo/en/demo-brief-a4.pdf", "demo/en/demo-brief-letter.pdf"}
DE_CARD, DE_BRIEFS = "demo/de/demo-card-card.pdf", {"demo/de/demo-brief-a4.pdf", "demo/de/demo-brief-letter.pdf"}


@pytest.fixture
def bilingual(tmp_path):
    """The tiny project in English and German (card and brief)."""
    root = write_project(tmp_path / "p", {**GERMAN, "handouts/demo/de/brief.md": GERMAN_BRIEF.replace("IMAGE", "")})
    shutil.copy(root / "templates/strings/en.toml", root / "templates/strings/de.toml")
    return root


def manifest_of(out):
    manifest = json.loads((out / "manifest.json").read_text())
    return {e["path"] for e in manifest["targets"]}, {f["path"]: f["problems"] for f in manifest["failed"]}


def blocked_paths(root, **options):
    project = load_project(Options(root, **options), partial=True)
    return {t.relpath for t in project.targets if t.key in project.blocked}


def test_a_bad_translation_fails_only_its_targets_and_is_built_once_fixed(bilingual, tmp_path):
    out, brief = tmp_path / "out", bilingual / "handouts/demo/de/brief.md"
    assert run_main("--root", bilingual, "--out", out, "--lang", "de", "--format", "brief").returncode == 0
    good = {path: (out / path).read_bytes() for path in DE_BRIEFS}
    brief.write_text(GERMAN_BRIEF.replace("IMAGE", " ![Ein Bild](handouts/demo/de/none.png)"))
    completed = run_main("--root", bilingual, "--out", out)
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    problem = "de/brief.md:4: image 'handouts/demo/de/none.png' does not exist"
    assert completed.stderr.count("de/brief.md:4") == 1, completed.stderr  # once, not once per paper
    assert any(line.startswith("error: ") and problem in line for line in completed.stderr.splitlines())
    assert "4 built, 2 failed, 0 up to date" in completed.stdout
    for path in DE_BRIEFS:
        assert f"FAIL  {path}: not built" in completed.stderr
        assert (out / path).read_bytes() == good[path]  # the last good PDF stays
    assert all((out / path).is_file() for path in EN | {DE_CARD})
    entries, failed = manifest_of(out)
    assert set(failed) == DE_BRIEFS and all(problem in line for p in failed.values() for line in p)
    assert entries == EN | {DE_CARD} | DE_BRIEFS  # the failed ones keep their last good entries
    # Not recorded as up to date: unchanged, it fails again; fixed, it is built.
    assert run_main("--root", bilingual, "--out", out).returncode == 1
    brief.write_text(GERMAN_BRIEF.replace("IMAGE", " Kurz."))
    fixed = run_main("--root", bilingual, "--out", out)
    assert fixed.returncode == 0, fixed.stderr
    assert "2 built, 0 failed, 4 up to date" in fixed.stdout
    assert manifest_of(out) == (EN | {DE_CARD} | DE_BRIEFS, {})
    assert all((out / path).read_bytes() != good[path] for path in DE_BRIEFS)


def test_a_template_syntax_error_still_stops_everything(bilingual, tmp_path):
    (bilingual / "templates/brief.html").write_text('{% extends "base.html" %}\n{% block header %}{{ oops }\n')
    completed = run_main("--root", bilingual, "--out", tmp_path / "out")
    assert completed.returncode == 1
    assert completed.stderr.count("templates/brief.html:2: template syntax error") == 1, completed.stderr
    assert "1 problem(s) in the content; nothing was built." in completed.stderr
    assert not (tmp_path / "out").exists()


def test_malformed_meta_toml_blocks_only_its_language(bilingual, tmp_path):
    (bilingual / "handouts/demo/de/meta.toml").write_text('title = "Demo-Merkblatt\n')
    completed = run_main("--root", bilingual, "--out", tmp_path / "out", "--json")
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert completed.stderr.count("de/meta.toml:1: TOML syntax error") == 1, completed.stderr
    summary = json.loads(completed.stdout)
    status = {t["path"]: t["status"] for t in summary["targets"]}
    # "blocked": not built because of a content problem (reported once, above), not a failed build
    assert status == {**dict.fromkeys(EN, "built"), **dict.fromkeys(DE_BRIEFS | {DE_CARD}, "blocked")}
    assert summary["failed"] == len(DE_BRIEFS | {DE_CARD})
    assert all(any("de/meta.toml:1: TOML syntax error" in p for p in t["problems"])
               for t in summary["targets"] if t["status"] == "blocked")
    assert manifest_of(tmp_path / "out")[0] == EN


def test_check_still_reports_every_problem(bilingual):
    (bilingual / "handouts/demo/de/brief.md").write_text(GERMAN_BRIEF.replace("IMAGE", " ![Ein Bild](x.png)"))
    (bilingual / "templates/strings/de.toml").write_text("footer = 1\n")
    completed = run_main("--root", bilingual, "--check")
    assert completed.returncode == 1
    assert "de/brief.md:4: image 'x.png'" in completed.stderr and "strings/de.toml" in completed.stderr


@pytest.mark.parametrize("path, text, blocked", [
    # A translation's text: that text's targets only.
    ("handouts/demo/de/brief.md", GERMAN_BRIEF.replace("IMAGE", " ![](handouts/demo/de/none.png)"), DE_BRIEFS),
    # A source text: its translations too (their parity cannot be checked).
    ("handouts/demo/en/brief.md", BRIEF.replace("IMAGE", "![x](nowhere.png)"),
     {"demo/en/demo-brief-a4.pdf", "demo/en/demo-brief-letter.pdf"} | DE_BRIEFS),
    # A translation's partial or meta.toml: that language.
    ("handouts/demo/de/partials/warning-signs.md", "- Fieber\n@include nope\n", DE_BRIEFS | {DE_CARD}),
    ("handouts/demo/de/meta.toml", 'title = "X"\nsubtitel = "Y"\n', DE_BRIEFS | {DE_CARD}),
    # A language's interface strings: every target in it.
    ("templates/strings/de.toml", "footer = 1\n", DE_BRIEFS | {DE_CARD}),
])
def test_a_problem_blocks_the_targets_whose_content_it_is_in(bilingual, path, text, blocked):
    (bilingual / path).write_text(text)
    assert blocked_paths(bilingual) == blocked
    project = load_project(Options(bilingual), partial=True)
    assert all(t.key in project.texts for t in project.targets if t.key not in project.blocked)


def test_a_handout_toml_problem_blocks_only_its_handout(tmp_path):
    root = write_project(tmp_path / "p")
    shutil.copytree(root / "handouts/demo", root / "handouts/other")
    (root / "handouts/other/handout.toml").write_text(
        HANDOUT_TOML.replace('id = "demo"', 'id = "other"') + "colour = 1\n")
    assert blocked_paths(root) == {"other/en/other-card-card.pdf", "other/en/other-brief-a4.pdf",
                                   "other/en/other-brief-letter.pdf"}
    # Not selected: it blocks nothing selected, but is not dropped in silence either.
    with pytest.raises(ContentError, match="unknown key 'colour'"):
        load_project(Options(root, selection=Selection(handouts=("demo",))), partial=True)
    # Unreadable, its targets are unknown: nothing is built, as before.
    (root / "handouts/other/handout.toml").write_text("id = \n")
    with pytest.raises(ContentError, match="other/handout.toml:1: TOML syntax error"):
        load_project(Options(root), partial=True)


def test_a_build_whose_every_target_is_blocked_raises(bilingual):
    (bilingual / "handouts/demo/de/meta.toml").write_text('title = "Demo-Merkblatt\n')
    with pytest.raises(ContentError):  # every selected target is blocked
        load_project(Options(bilingual, selection=Selection(langs=("de",))), partial=True)
    assert blocked_paths(bilingual, selection=Selection(langs=("en", "de"))) == DE_BRIEFS | {DE_CARD}


@pytest.mark.parametrize("value, message", [
    ('""', "handout.toml:2: 'source_lang' is empty (fill it in)"),
    ('"xx"', "handout.toml:2: source language 'xx' has no folder xx/ with a meta.toml"),
])
def test_a_bad_source_language_is_named_not_a_crash(tmp_path, value, message):
    """Found by Hypothesis: an empty source_lang used to end in a TypeError."""
    root = write_project(tmp_path / "p", {"handouts/demo/handout.toml": HANDOUT_TOML.replace('"en"', value, 1)})
    completed = run_main("--root", root, "--out", tmp_path / "out")
    assert completed.returncode == 1 and "Traceback" not in completed.stderr
    assert message in completed.stderr

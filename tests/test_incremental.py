"""Incremental rebuilds: after each kind of change, exactly the targets that depend
on it are built again; everything else is reported up to date."""

import json
import shutil
import subprocess
import sys
from datetime import date

import pytest

from conftest import CARD_LABELS, GERMAN, copy_project, write_project
from handoutkit import incremental
from handoutkit.pipeline import Options, build

CARD, BRIEF_A4, BRIEF_LETTER = "demo/en/demo-card-card.pdf", "demo/en/demo-brief-a4.pdf", "demo/en/demo-brief-letter.pdf"
EVERYTHING = {CARD, BRIEF_A4, BRIEF_LETTER}
BRIEFS = {BRIEF_A4, BRIEF_LETTER}
GERMAN_CARD = "demo/de/demo-card-card.pdf"
# The brief includes a partial of its own, and a German card shares nothing with the English brief.
FILES = {
    "handouts/demo/en/partials/about-more.md": "You can ask us.\n",
    "handouts/demo/en/brief.md": "Intro for you.\n\n## About this {#about}\nYou read this. It is short.\n"
                                 "@include about-more\n\n## When to call {#when-to-call}\n@include warning-signs\n",
    **GERMAN,
    "handouts/demo/de/brief.md": "Einleitung.\n\n## Worum es geht {#about}\nSie lesen das.\n@include about-more\n\n"
                                 "## Wann anrufen {#when-to-call}\n@include warning-signs\n",
    "handouts/demo/de/partials/about-more.md": "Fragen Sie uns.\n",
}


def options(root, **changes):
    return Options(root, root / "out", **{"jobs": 1, **changes})


def rebuilt(results) -> set[str]:
    return {r.target.relpath for r in results if not r.up_to_date}


@pytest.fixture(scope="module")
def first_build(tmp_path_factory):
    """The project built once; each test works on a copy of it and its output."""
    root = write_project(tmp_path_factory.mktemp("incremental") / "project", FILES)
    shutil.copy(root / "templates/strings/en.toml", root / "templates/strings/de.toml")
    results = build(options(root))
    assert all(r.ok for r in results), [r.problems for r in results]
    return root


@pytest.fixture
def project(first_build, tmp_path):
    """A copy of the built project (output included: dist/ sits inside it)."""
    return copy_project(first_build, tmp_path / "copy")  # the fonts shared, not copied


def english(results) -> set[str]:
    return {path for path in rebuilt(results) if "/en/" in path}


def test_a_second_build_rebuilds_nothing_and_keeps_the_manifest(project):
    manifest = (project / "out/manifest.json").read_bytes()
    results = build(options(project))
    assert rebuilt(results) == set() and all(r.ok and r.up_to_date for r in results)
    assert len(results) == 6
    assert (project / "out/manifest.json").read_bytes() == manifest


@pytest.mark.parametrize("path, text, expected", [
    ("handouts/demo/en/brief.md", "Intro.\n\n## About {#about}\nShort.\n@include about-more\n\n"
     "## When {#when-to-call}\n@include warning-signs\n", BRIEFS),                       # a content file
    ("handouts/demo/en/partials/about-more.md", "Ask us anything.\n", BRIEFS),           # a partial of the brief
    ("handouts/demo/en/partials/warning-signs.md", "- Fever\n- Trouble breathing\n", EVERYTHING),  # shared partial
    ("handouts/demo/en/meta.toml", 'title = "Demo"\n' + CARD_LABELS["en"], EVERYTHING),                         # the language's title
    ("templates/strings/de.toml", "+# changed\n", set()),          # another language's interface strings
    ("templates/strings/en.toml", "+# changed\n", EVERYTHING),     # its own
    ("styles/brief.css", "+/* changed */\n", EVERYTHING),          # any style (conservative)
    ("templates/card.html", "+{# changed #}\n", EVERYTHING),       # any template (conservative)
    ("templates/catalog.html", "+{# changed #}\n", set()),          # but the catalog page's own
    ("styles/catalog.css", "+/* changed */\n", set()),
    ("handouts/demo/images/logo.png", "not really a PNG", EVERYTHING),  # an image, wherever it is
])
def test_what_a_change_rebuilds(project, path, text, expected):
    file = project / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(file.read_text() + "\n" + text[1:] if text.startswith("+") else text)
    assert english(build(options(project))) == expected


def test_a_change_to_the_english_brief_does_not_rebuild_the_german_card(project):
    brief = project / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text().replace("It is short.", "It is very short."))
    results = build(options(project))
    assert GERMAN_CARD not in rebuilt(results)
    # The German brief is: it was made from the English brief, so it is now stale.
    assert {"demo/de/demo-brief-a4.pdf", "demo/de/demo-brief-letter.pdf"} <= rebuilt(results)


def test_an_option_that_changes_output_rebuilds_everything(project):
    before_review = date(2026, 2, 1)  # the review is not overdue yet: the manifest says so
    results = build(options(project, today=before_review))
    assert rebuilt(results) == {r.target.relpath for r in results}
    assert not any(e["overdue"] for e in json.loads((project / "out/manifest.json").read_text())["targets"])
    # Options that change no PDF do not.
    assert rebuilt(build(options(project, today=before_review, jobs=2, timeout=99, html=False))) == set()


def test_a_new_builder_version_rebuilds_everything(project, monkeypatch):
    monkeypatch.setattr(incremental, "builder_version", lambda: {"handoutkit": "99.0", "weasyprint": "70.0"})
    assert english(build(options(project))) == EVERYTHING


def test_force_and_a_deleted_output_rebuild(project):
    assert english(build(options(project, force=True))) == EVERYTHING
    (project / "out" / CARD).unlink()
    assert english(build(options(project))) == {CARD}
    shutil.rmtree(project / "out")
    assert english(build(options(project))) == EVERYTHING


def test_without_the_cache_the_manifest_still_knows_what_is_current(project):
    (project / "out" / incremental.CACHE).unlink()
    assert rebuilt(build(options(project))) == set()


def test_a_failed_target_keeps_its_last_good_pdf_and_is_built_again_next_time(project):
    good = (project / "out" / BRIEF_A4).read_bytes()
    (project / "styles/brief.css").write_text("p { colour: red; }\n")  # WeasyPrint warns: the target fails
    results = build(options(project))
    assert {r.target.relpath for r in results if not r.ok} >= BRIEFS
    assert (project / "out" / BRIEF_A4).read_bytes() == good
    assert BRIEFS <= rebuilt(build(options(project)))  # failures are never "up to date"


def test_a_no_op_rebuild_does_not_load_the_content(project, monkeypatch):
    """Nothing changed: the answer comes from the cache, no Markdown is parsed."""
    import handoutkit.project

    def refuse(options):
        raise AssertionError("the content was loaded")

    monkeypatch.setattr(handoutkit.project, "load_project", refuse)
    assert rebuilt(build(options(project))) == set()


def test_a_no_op_rebuild_does_not_import_weasyprint(project):
    code = ("import sys; from handoutkit.cli import main; "
            f"code = main(['--root', {str(project)!r}, '--out', {str(project / 'out')!r}, '--json']); "
            "print('LOADED' if 'weasyprint' in sys.modules else 'CLEAN', file=sys.stderr); "
            "sys.exit(code)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "CLEAN" in completed.stderr
    summary = json.loads(completed.stdout)
    assert (summary["built"], summary["up_to_date"], summary["failed"]) == (0, 6, 0)

"""The project file, handoutkit.toml: formats, papers, scripts and build defaults in a
file, not in Python; roles instead of section ids; --release judged on the selection."""

import math
import shutil
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import run_main
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.model import Target
from handoutkit.pipeline import build
from handoutkit.project import Options, load_project
from handoutkit.render import make_environment, render_html
from handoutkit.settings import DEFAULTS_FILE

MM = 72 / 25.4


def add_files(root: Path, files: dict) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_project(Options(root))
    return [str(p) for p in raised.value.problems]


def test_the_defaults_written_out_in_a_project_file_build_the_same_bytes(tiny, tmp_path):
    """The builder's settings moved from Python to defaults.toml; a project that copies
    them into its own handoutkit.toml gets the very same PDFs as one without the file."""
    plain = build(Options(tiny, tmp_path / "plain", jobs=1))
    shutil.copy(DEFAULTS_FILE, tiny / "handoutkit.toml")
    spelled = build(Options(tiny, tmp_path / "spelled", jobs=1))
    assert [r.target for r in plain] == [r.target for r in spelled] and len(plain) == 3
    for result in plain:
        assert result.ok, result.problems
        path = result.target.relpath
        assert (tmp_path / "plain" / path).read_bytes() == (tmp_path / "spelled" / path).read_bytes()


def test_every_problem_in_the_project_file_is_reported_with_its_line(tiny):
    (tiny / "handoutkit.toml").write_text(textwrap.dedent("""\
        [build]
        clinic = "clinics/none.toml"
        colour = true

        [papers.a5]
        size = "huge"

        [formats.brief]
        max_pages = 0
        max_grade = 6

        [formats.leaflet]
        template = "brief.html"
        stylesheet = "../../etc/passwd"

        [scripts.hebrew]
        fonts = ["x.ttf"]

        [formats.poster]
        max_pages = 1
        papers = ["tabloid"]

        [colours]
        """))
    found = problems_of(tiny)
    expected = [
        "handoutkit.toml:2: [build] clinic: no file clinics/none.toml",
        "handoutkit.toml:3: unknown key 'colour' in [build] (allowed keys: clinic,",
        "handoutkit.toml:6: [papers.a5] size 'huge' is not a CSS page size",
        "handoutkit.toml:9: [formats.brief] max_pages = 0 is not valid",
        "handoutkit.toml:12: [formats.leaflet] needs max_pages and papers",
        "handoutkit.toml:14: [formats.leaflet] stylesheet = '../../etc/passwd' is not valid (write a file in styles/",
        "handoutkit.toml:16: [scripts.hebrew]: 'hebrew' is not a valid name",
        "handoutkit.toml:21: [formats.poster] papers: no paper 'tabloid'",
        "handoutkit.toml:19: [formats.poster] stylesheet: no file",
        "handoutkit.toml:19: [formats.poster] template: no file",
        "handoutkit.toml:23: unknown table [colours]",
    ]
    for text in expected:
        assert any(text in line for line in found), (text, found)
    assert all(line.endswith(")") for line in found if "handoutkit.toml:" in line), "each says how to fix it"


def test_a_project_adds_a_paper_and_puts_a_format_on_it(tiny, tmp_path):
    (tiny / "handoutkit.toml").write_text('[papers.a5]\nsize = "A5"\n\n[formats.brief]\npapers = ["a5"]\n')
    results = build(Options(tiny, tmp_path / "out", selection=Selection(formats=("brief",)), jobs=1))
    assert [r.target.paper for r in results] == ["a5"] and results[0].ok, results[0].problems
    box = PdfReader(tmp_path / "out" / results[0].target.relpath).pages[0].mediabox
    assert (round(float(box.width) / MM), round(float(box.height) / MM)) == (148, 210)


def test_a_new_format_is_a_template_a_stylesheet_and_a_table(tiny, tmp_path):
    """No Python: a one-page poster with its own stylesheet, listed and built."""
    (tiny / "handoutkit.toml").write_text(textwrap.dedent("""\
        [formats.poster]
        template = "poster.html"
        stylesheet = "styles/poster.css"
        max_pages = 1
        papers = ["a4"]
        """))
    (tiny / "templates/poster.html").write_text('{% extends "base.html" %}\n{% block control %}{% endblock %}\n')
    (tiny / "styles/poster.css").write_text("/* Style */\nh1 { font-size: 40pt; }\n")
    toml = tiny / "handouts/demo/handout.toml"
    toml.write_text(toml.read_text() + '\n[formats.poster]\nsections = ["about", "when-to-call"]\n')
    brief = (tiny / "handouts/demo/en/brief.md").read_text()
    (tiny / "handouts/demo/en/poster.md").write_text("# A big title\n" + brief)
    listed = run_main("--root", tiny, "--list")
    assert "demo/en/demo-poster-a4.pdf" in listed.stdout.split(), listed.stderr
    [result] = build(Options(tiny, tmp_path / "out", selection=Selection(formats=("poster",)), jobs=1))
    assert result.ok, result.problems
    page = PdfReader(tmp_path / "out" / result.target.relpath).pages[0]
    sizes = {}

    def visit(text, cm, tm, font, font_size):
        sizes[text.strip()] = round(font_size * math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3]))

    page.extract_text(visitor_text=visit)
    assert sizes.get("A big title") == 40, sizes  # the poster's own stylesheet


def test_a_script_without_fonts_is_one_problem_not_one_per_character(tiny):
    """Bengali: its script (Beng) has no [scripts.Beng] entry and no shipped font."""
    add_files(tiny, {"handouts/demo/bn/meta.toml": 'title = "ডেমো"\n\n[translation]\nsource_version = "1.2.0"\n',
                         "handouts/demo/bn/card.md": "# আমি CAR-T চিকিৎসা পেয়েছি\n\n## {#warning-signs}\n"})
    found = problems_of(tiny)
    script = [line for line in found if "Beng script, which has no fonts" in line]
    assert len(script) == 1 and "[scripts.Beng]" in script[0], found
    assert not [line for line in found if "is not in the shipped fonts" in line]


def test_a_script_is_added_with_a_table_and_a_font(tiny, tmp_path):
    """README "Adding a script", followed for Georgian (Geor), which the builder does not
    ship, with a font it does not ship (DejaVu Sans, from Debian): its text is set in
    that font, embedded, and no other font is in the PDF."""
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not dejavu.is_file():
        pytest.skip("fonts-dejavu-core is not installed")
    shutil.copy(dejavu, tiny / "styles/fonts/DejaVuSans.ttf")
    (tiny / "styles/script-geor.css").write_text(textwrap.dedent("""\
        /* Fonts */
        @font-face { font-family: "DejaVu Sans"; src: url(fonts/DejaVuSans.ttf); }
        /* Style */
        html { font-family: "DejaVu Sans"; }
        """))
    (tiny / "handoutkit.toml").write_text('[scripts.Geor]\nstylesheet = "styles/script-geor.css"\n'
                                          'fonts = ["DejaVuSans.ttf"]\n')
    shutil.copy(tiny / "templates/strings/en.toml", tiny / "templates/strings/ka.toml")
    add_files(tiny, {
        "handouts/demo/ka/meta.toml": 'title = "ბარათი"\n\n[card.labels]\nname = "სახელი"\nteam-phone = "24-საათიანი ტელეფონი"\n'
                                      '\n[translation]\nsource_version = "1.2.0"\n'
                                      'status = "draft"\ntranslator = "Test"\n',
        "handouts/demo/ka/partials/warning-signs.md": "- სიცხე 38 გრადუსი ან მეტი\n- სუნთქვის გაძნელება\n",
        "handouts/demo/ka/card.md": "# მე მივიღე CAR-T მკურნალობა\nმე კვლევაში ვარ.\n\n## დახმარება, თუ მაქვს: {#warning-signs}\n"
                                    "@include warning-signs\n\n## აჩვენეთ ეს ბარათი {#show-card}\nაჩვენეთ ეს ბარათი ექიმს.\n"})
    [result] = build(Options(tiny, tmp_path / "out", selection=Selection(langs=("ka",), formats=("card",)), jobs=1))
    assert result.ok, result.problems
    reader = PdfReader(tmp_path / "out" / result.target.relpath)
    fonts = {font["/BaseFont"].split("+")[-1] for page in reader.pages
             for font in page["/Resources"]["/Font"].values() if "/BaseFont" in font}
    # The script's font for the text; the page footers keep the base's Noto Sans (base.css).
    assert "DejaVu-Sans" in fonts and fonts <= {"DejaVu-Sans", "Handout-Sans", "Handout-Sans-Bold"}, fonts
    assert "სუნთქვის" in " ".join(page.extract_text() for page in reader.pages)


def test_the_help_section_is_named_by_role_and_must_be(tiny):
    toml = tiny / "handouts/demo/handout.toml"
    toml.write_text(toml.read_text().replace('help = "when-to-call"', 'help = "get-help"\nsummary = "about"'))
    found = problems_of(tiny)
    assert any("role help = 'get-help' names no section" in line and "when-to-call" in line for line in found), found
    assert any("unknown role 'summary'" in line for line in found), found
    toml.write_text(toml.read_text().replace('help = "get-help"\n', ""))
    assert any("no help section: the clinic's numbers would have no place" in line for line in problems_of(tiny))


def render_brief(root: Path) -> str:
    project = load_project(Options(root))
    target = Target("demo", "en", "brief", "a4")
    return render_html(make_environment(root / "templates"), target, project.handouts["demo"],
                       project.texts[target.key], project.strings["en"], settings=project.settings)


def test_the_brief_points_to_the_references_only_where_another_format_prints_them(tiny):
    pointer = "Full references are in the booklet."
    assert pointer not in render_brief(tiny)  # the tiny handout has no booklet
    toml = tiny / "handouts/demo/handout.toml"
    toml.write_text(toml.read_text().replace('warnings = "warning-signs"', 'warnings = "warning-signs"\n'
                                             'references = "references"')
                    + '\n[formats.booklet]\nsections = ["about", "when-to-call", "references"]\n')
    brief = (tiny / "handouts/demo/en/brief.md").read_text()
    (tiny / "handouts/demo/en/booklet.md").write_text(brief + "\n## References {#references}\n@sources\n")
    assert pointer in render_brief(tiny)


def test_release_judges_only_the_selected_handout(tiny, tmp_path):
    """An approved, in-date handout is released although another one is still a draft."""
    approved = (tiny / "handouts/demo/handout.toml").read_text().replace('id = "demo"', 'id = "ready"').replace(
        'status = "draft"', 'status = "approved"\napprover = "Dr A. Reviewer, nurse educator"\napproved_on = 2026-01-12')
    files = {"handouts/ready/handout.toml": approved}
    files |= {name.replace("/demo/", "/ready/"): (tiny / name).read_text()
              for name in ("handouts/demo/en/meta.toml", "handouts/demo/en/partials/warning-signs.md",
                           "handouts/demo/en/card.md", "handouts/demo/en/brief.md")}
    add_files(tiny, files)
    released = run_main("--root", tiny, "--out", tmp_path / "out", "--release", "--handout", "ready", "-j", "1")
    assert released.returncode == 0, released.stderr
    assert sorted(p.name for p in (tmp_path / "out/ready/en").glob("*.pdf")) == [
        "ready-brief-a4.pdf", "ready-brief-letter.pdf", "ready-card-card.pdf"]
    refused = run_main("--root", tiny, "--out", tmp_path / "out2", "--release", "-j", "1")
    assert refused.returncode == 1 and "demo is a draft: --release refuses it" in refused.stderr


def test_new_starts_a_handout_that_builds_as_a_draft(tiny, tmp_path):
    """`build.py new ID` copies the project's skeleton (templates/new-handout/); the
    README's "Adding a handout" recipe, followed in a temporary project."""
    made = run_main("new", "--root", tiny, "hydroxychloroquine", "--title", "Hydroxychloroquine for lupus")
    assert made.returncode == 0, made.stderr
    assert run_main("check", "--root", tiny).returncode == 0
    built = run_main("--root", tiny, "--out", tmp_path / "out", "--handout", "hydroxychloroquine", "-j", "1")
    assert built.returncode == 0, built.stdout + built.stderr
    text = " ".join(PdfReader(tmp_path / "out/hydroxychloroquine/en/hydroxychloroquine-brief-a4.pdf").pages[0]
                    .extract_text().split())
    assert "Hydroxychloroquine for lupus" in text and "Your care team" in text
    assert "Draft - not yet approved" in text and "Sources to add" in text  # the placeholder shows
    assert run_main("new", "--root", tiny, "hydroxychloroquine").returncode == 2  # it exists
    assert "is not a handout id" in run_main("new", "--root", tiny, "Bad Id").stderr


def test_new_outside_a_project_makes_one_that_the_installed_command_builds(tmp_path, monkeypatch):
    """`handoutkit new demo && cd demo && handoutkit build`."""
    from handoutkit import cli
    monkeypatch.chdir(tmp_path)
    assert cli.main(["new", "demo"], prog="handoutkit") == 0
    assert (tmp_path / "demo/handoutkit.toml").is_file() and (tmp_path / "demo/clinics/sample/clinic.toml").is_file()
    monkeypatch.chdir(tmp_path / "demo/handouts")  # the project is found from a folder inside it
    assert cli.main(["build", "-j", "1", "--clinic", "../clinics/sample/clinic.toml"], prog="handoutkit") == 0
    assert (tmp_path / "demo/dist/manifest.json").is_file()
    pdf = tmp_path / "demo/dist/sample-clinic/demo/en/demo-brief-a4.pdf"
    assert "+1 555-0199" in PdfReader(pdf).pages[0].extract_text()


def test_commands_are_words_and_options_are_checked(tiny):
    listed = run_main("list", "--root", tiny)
    assert listed.returncode == 0 and "demo/en/demo-card-card.pdf" in listed.stdout.split()
    assert run_main("-q", "-v", "--root", tiny).returncode == 2
    assert "not a number of seconds" in run_main("--timeout", "-5", "--root", tiny).stderr
    version = run_main("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith("handoutkit ")
    assert all(word in run_main("--help").stdout for word in ("serve", "merge", "mark-translated", "new ID"))


def test_python_m_handoutkit_is_the_same_command_line():
    import subprocess
    import sys
    completed = subprocess.run([sys.executable, "-m", "handoutkit", "--version"], capture_output=True, text=True,
                               timeout=60)
    assert completed.returncode == 0 and completed.stdout.startswith("handoutkit ")


LIBRARY = {
    # A medicine handout: a brief and a standard, its help section named otherwise.
    "handouts/hydroxychloroquine/handout.toml": textwrap.dedent("""\
        id = "hydroxychloroquine"
        source_lang = "en"
        version = "0.1.0"
        last_reviewed = 2026-11-01
        next_review = 2027-11-01
        status = "draft"
        safety_partials = ["eye-checks"]

        [roles]
        help = "get-help"

        [formats.brief]
        sections = ["what-it-does", "get-help"]

        [formats.standard]
        sections = ["what-it-does", "eyes", "get-help"]

        [[sources]]
        short = "ACR 2025"
        authors = "American College of Rheumatology"
        title = "Hydroxychloroquine (Plaquenil)"
        year = 2025
        url = "https://rheumatology.org/patients/hydroxychloroquine-plaquenil"
        """),
    "handouts/hydroxychloroquine/en/meta.toml": 'title = "Hydroxychloroquine for lupus"\n',
    "handouts/hydroxychloroquine/en/partials/eye-checks.md": "- Have your eyes checked every year.\n",
    "handouts/hydroxychloroquine/en/brief.md": "It calms your immune system.\n\n## What it does {#what-it-does}\n"
                                                "It lowers flares.\n\n## Who to call {#get-help}\n@include eye-checks\n",
    "handouts/hydroxychloroquine/en/standard.md": "It calms your immune system.\n\n## What it does {#what-it-does}\n"
                                                   "It lowers flares.\n\n## Your eyes {#eyes}\nTell us if you see "
                                                   "less well.\n\n## Who to call {#get-help}\n@include eye-checks\n",
    # A procedure handout in the project's own format only.
    "handouts/kidney-biopsy/handout.toml": textwrap.dedent("""\
        id = "kidney-biopsy"
        source_lang = "en"
        version = "0.1.0"
        last_reviewed = 2026-11-01
        next_review = 2027-11-01
        status = "draft"
        safety_partials = []

        [roles]
        help = "after"

        [formats.sheet]
        sections = ["before", "after"]

        [[sources]]
        short = "NIDDK 2024"
        authors = "National Institute of Diabetes and Digestive and Kidney Diseases"
        title = "Kidney biopsy"
        year = 2024
        url = "https://www.niddk.nih.gov/health-information/diagnostic-tests/kidney-biopsy"
        """),
    "handouts/kidney-biopsy/en/meta.toml": 'title = "Your kidney biopsy"\n',
    "handouts/kidney-biopsy/en/sheet.md": "## Before {#before}\nDo not eat after midnight.\n\n"
                                          "## After {#after}\nRest for a day.\n",
    "handoutkit.toml": '[formats.sheet]\ntemplate = "brief.html"\nstylesheet = "styles/brief.css"\n'
                       'max_pages = 1\npapers = ["a4"]\n',
}


def test_a_library_of_three_handouts_builds_with_one_command_and_each_prints_the_clinic(tiny, tmp_path):
    """Three handouts with different sections, roles and formats (one defined by the
    project file); the clinic's numbers are printed in each one's help section."""
    add_files(tiny, LIBRARY)
    clinic = Path(__file__).parent.parent / "clinics/sample/clinic.toml"
    built = run_main("--root", tiny, "--out", tmp_path / "out", "--clinic", clinic, "-j", "1")
    assert built.returncode == 0, built.stdout + built.stderr
    pdfs = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.pdf"))
    assert len(pdfs) == 3 + 4 + 1, pdfs  # demo: card, brief x2; hydroxychloroquine: brief, standard x2; sheet
    for pdf in pdfs:
        if "-card-" in pdf:
            continue  # the card prints the 24-hour number only (test_card)
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(tmp_path / "out" / pdf).pages).split())
        assert all(number in text for number in ("+1 555-0100", "+1 555-0199", "911")), pdf


def test_mark_translated_marks_only_the_selected_handout(tiny):
    from conftest import GERMAN
    add_files(tiny, GERMAN)
    add_files(tiny, {name.replace("/demo/", "/other/"): (tiny / name).read_text().replace('id = "demo"', 'id = "other"')
                     for name in [*GERMAN, "handouts/demo/handout.toml", "handouts/demo/en/meta.toml",
                                  "handouts/demo/en/partials/warning-signs.md", "handouts/demo/en/card.md",
                                  "handouts/demo/en/brief.md"]})
    add_files(tiny, {"handouts/other/de/brief.md": "Kurz.\n\n## Worum es geht {#about}\nSie lesen das.\n\n"
                                                   "## Wann anrufen {#when-to-call}\n@include warning-signs\n"})
    before = (tiny / "handouts/demo/de/meta.toml").read_text()
    marked = run_main("mark-translated", "de", "--handout", "other", "--root", tiny)
    assert marked.returncode == 0, marked.stderr
    assert "other/de: marked" in marked.stdout and "demo/de" not in marked.stdout
    assert (tiny / "handouts/demo/de/meta.toml").read_text() == before
    assert "source_hashes" in (tiny / "handouts/other/de/meta.toml").read_text()


def test_the_builders_own_defaults_pass_the_checks_a_project_file_gets():
    import tomllib
    from handoutkit.settings import DEFAULTS, read_tables
    problems = []
    tables = read_tables(DEFAULTS_FILE, problems, tomllib.loads(DEFAULTS_FILE.read_text()))
    assert problems == []
    assert list(tables["formats"]) == list(DEFAULTS.formats) == ["card", "brief", "standard", "booklet"]
    assert DEFAULTS.formats["brief"].page_limit(False) == 1 and DEFAULTS.formats["brief"].max_grade == 6
    assert [(f.max_grade, f.max_smog) for f in DEFAULTS.formats.values()] == [(None, None), (6, 7), (6, 7), (None, None)]

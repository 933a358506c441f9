"""A project needs only its handouts: the builder's templates and styles serve the rest,
and the project's own files replace them one at a time."""

from pypdf import PdfReader

from conftest import FILES, run_main
from handoutkit import ASSETS_ROOT


def bare_project(root):
    """Only handouts/: no templates/, no styles/, no fonts."""
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def fonts_of(path) -> set[str]:
    return {font["/BaseFont"].split("+")[-1] for page in PdfReader(path).pages
            for font in page["/Resources"]["/Font"].values() if "/BaseFont" in font}


def test_a_project_of_handouts_only_builds_with_the_builders_templates_and_styles(tmp_path):
    root = bare_project(tmp_path / "project")
    built = run_main("--root", root, "--out", tmp_path / "out", "-j", "1")
    assert built.returncode == 0, built.stdout + built.stderr
    brief = tmp_path / "out/demo/en/demo-brief-a4.pdf"
    assert "Handout-Sans" in fonts_of(brief)  # the builder's Noto Sans, through its styles/base.css
    assert not (root / "styles").exists() and not (root / "templates").exists()


def test_a_project_stylesheet_replaces_the_builders_one_file_only(tmp_path):
    root = bare_project(tmp_path / "project")
    (root / "styles").mkdir()
    (root / "styles/brief.css").write_text("/* Style */\nh2 { color: rgb(0, 128, 0); }\n")
    built = run_main("--root", root, "--out", tmp_path / "out", "-j", "1", "--format", "brief", "--paper", "a4")
    assert built.returncode == 0, built.stdout + built.stderr
    content = PdfReader(tmp_path / "out/demo/en/demo-brief-a4.pdf").pages[0].get_contents().get_data()
    assert b"0 0.501961 0 rg" in content  # the project's green headings: rgb(0, 128, 0)
    assert "Handout-Sans" in fonts_of(tmp_path / "out/demo/en/demo-brief-a4.pdf")  # base.css still the builder's


def test_a_project_template_replaces_the_builders(tmp_path):
    root = bare_project(tmp_path / "project")
    (root / "templates").mkdir()
    text = (ASSETS_ROOT / "templates/brief.html").read_text()
    (root / "templates/brief.html").write_text(text + "{% block content %}<p>Ward 7 copy</p>{{ super() }}{% endblock %}\n")
    built = run_main("--root", root, "--out", tmp_path / "out", "-j", "1", "--format", "brief", "--paper", "a4")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "Ward 7 copy" in PdfReader(tmp_path / "out/demo/en/demo-brief-a4.pdf").pages[0].extract_text()


def test_the_wheel_carries_the_assets_and_builds_a_project_elsewhere(tmp_path):
    """`pip install` of the built wheel gives a builder that needs no checkout: its
    templates, styles and fonts are package data (setup.py copies them in)."""
    import subprocess
    import sys
    from handoutkit import PROJECT_ROOT
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["wheel", "--no-deps", "-w", tmp_path / "wheel", PROJECT_ROOT], check=True, timeout=300)
    wheel = next((tmp_path / "wheel").glob("handoutkit-*.whl"))
    subprocess.run(pip + ["install", "--no-deps", "--target", tmp_path / "site", wheel], check=True, timeout=300)
    assert (tmp_path / "site/handoutkit/assets/styles/fonts/NotoSans-Regular.ttf").is_file()
    assert (tmp_path / "site/handoutkit/assets/schemas/handout.schema.json").is_file()  # for editors (README: Schemas)
    root, env = bare_project(tmp_path / "project"), {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site")}
    where = subprocess.run([sys.executable, "-c", "import handoutkit; print(handoutkit.ASSETS_ROOT)"], cwd=root,
                           env=env, capture_output=True, text=True, timeout=60).stdout.strip()
    assert where == str(tmp_path / "site/handoutkit/assets")  # the installed copy, not this checkout
    completed = subprocess.run([sys.executable, "-m", "handoutkit", "--format", "brief", "--paper", "a4", "-j", "1"],
                               cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Handout-Sans" in fonts_of(root / "dist/demo/en/demo-brief-a4.pdf")

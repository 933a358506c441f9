"""Every kind of bad input gets one clear line naming the file (and line), what is
wrong and how to fix it; never a traceback."""

import shutil

import pytest
from PIL import Image

from conftest import HANDOUT_TOML, run_cli, write_project
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, load_project

BRIEF = "Intro.\n\n## About this {#about}\nText. IMAGE\n\n## When to call {#when-to-call}\n@include warning-signs\n"


def problems_of(root):
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    return [str(p) for p in caught.value.problems]


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
    completed = run_cli("--root", tiny, option, value)
    assert completed.returncode == 2 and message in completed.stderr and "Traceback" not in completed.stderr


def test_values_that_look_like_code_print_literally(tiny, tmp_path):
    (tiny / "handouts/demo/en/meta.toml").write_text('title = "{{ 7*7 }} <b>x</b> </style>"\n')
    completed = run_cli("--root", tiny, "--out", tmp_path / "out", "--format", "brief", "--paper", "a4", "--html")
    assert completed.returncode == 0, completed.stderr
    html = (tmp_path / "out/demo/en/demo-brief-a4.html").read_text()
    assert "<title>{{ 7*7 }} &lt;b&gt;x&lt;/b&gt; &lt;/style&gt;</title>" in html


def test_template_syntax_error_names_the_template_and_line(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "templates/brief.html").write_text('{% extends "base.html" %}\n{% block header %}{{ oops }\n{% endblock %}\n')
    found = problems_of(root)
    assert any("templates/brief.html:2: template syntax error" in p for p in found), found

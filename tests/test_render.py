"""Unit tests of the render stage: strings, escaping, strictness."""

from pathlib import Path

import pytest
from jinja2 import UndefinedError

from conftest import CARD_LABELS
from handoutkit.model import Target
from handoutkit.project import Options, load_project
from handoutkit.render import MissingString, Strings, make_environment, page_label, render_html


def render(root, target=Target("demo", "en", "brief", "a4")):
    project = load_project(Options(root))
    env = make_environment(root / "templates")
    return render_html(env, target, project.handouts["demo"], project.texts[target.key],
                       project.strings["en"])


def test_html_carries_lang_title_and_stylesheets(tiny):
    html = render(tiny)
    assert '<html lang="en" dir="ltr">' in html
    assert "<title>Demo handout</title>" in html
    assert [line.strip() for line in html.splitlines() if "stylesheet" in line] == [
        '<link rel="stylesheet" href="styles/base.css">',
        '<link rel="stylesheet" href="styles/brief.css">']
    assert "<style>@page { size: A4; }</style>" in html  # the paper, from the settings


def test_draft_notice_and_document_control_are_printed(tiny):
    html = render(tiny)
    assert 'data-draft="Draft - not yet approved for patient use"' in html
    assert "Version 1.2.0" in html and "January 10, 2026" in html and "July 10, 2027" in html
    assert "Smith 2020" in html


def test_approved_handout_has_no_draft_notice(tiny):
    path = tiny / "handouts/demo/handout.toml"
    path.write_text(path.read_text().replace('status = "draft"',
                                             'status = "approved"\napprover = "Dr Jane Roe"\napproved_on = 2026-01-12'))
    html = render(tiny)
    assert 'data-draft=""' in html and "draft-banner" not in html
    assert "Approved by Dr Jane Roe on January 12, 2026" in html


def test_content_is_escaped_in_attributes_and_text(tiny):
    (tiny / "handouts/demo/en/meta.toml").write_text('title = "A <b>bold</b> \\"title\\""\n' + CARD_LABELS["en"])
    html = render(tiny)
    assert "<title>A &lt;b&gt;bold&lt;/b&gt; &#34;title&#34;</title>" in html


def test_missing_interface_string_names_language_and_key(tiny):
    strings = Strings("xx", {}, Path("templates/strings/xx.toml"))
    with pytest.raises(MissingString, match="no interface string 'version' for language 'xx'"):
        strings("version")


def test_strings_fill_only_named_placeholders():
    strings = Strings("en", {"k": "{page.__class__} {page}"}, Path("x"))
    assert strings("k", page=3) == "{page.__class__} 3"


def test_page_label_is_cut_around_the_numbers():
    assert page_label(Strings("en", {"page_x_of_y": "Page {page} of {pages}"}, Path("x"))) == ("Page ", " of ", "")
    assert page_label(Strings("zh", {"page_x_of_y": "第 {page} 页，共 {pages} 页"}, Path("x"))) == ("第 ", " 页，共 ", " 页")


def test_templates_refuse_undefined_names(tiny):
    (tiny / "templates/brief.html").write_text('{% extends "base.html" %}{% block header %}{{ handout.titel }}{% endblock %}')
    with pytest.raises(UndefinedError):
        render(tiny)

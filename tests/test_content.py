"""Unit tests of the load-and-validate stage on tiny projects."""

import pytest

from conftest import CARD_LABELS, HANDOUT_TOML, write_project
from handoutkit.content import format_sources, load_handout, load_text, to_html
from handoutkit.errors import ContentError
from handoutkit.project import Options, load_project
from handoutkit.settings import DEFAULTS


def problems_of(root):
    """The problems load_project reports, as strings."""
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    return [str(p) for p in caught.value.problems]


def test_valid_project_loads_sections_in_order(tiny):
    project = load_project(Options(tiny))
    text = project.texts[("demo", "en", "brief")]
    assert [s.id for s in text.sections] == ["about", "when-to-call"]
    assert text.title == "Demo handout"
    assert "Trouble breathing" in text.sections[1].html


def test_card_h1_replaces_the_title(tiny):
    text = load_project(Options(tiny)).texts[("demo", "en", "card")]
    assert text.title == "I have received CAR-T cell therapy"


def test_include_is_replaced_by_the_partial(tiny):
    text = load_project(Options(tiny)).texts[("demo", "en", "card")]
    assert "<li>Fever of 38 °C (100.4 °F) or higher</li>" in text.sections[0].html
    assert "@include" not in text.sections[0].html
    assert text.partials["warning-signs"].startswith("- Fever")


def test_missing_partial_names_file_line_and_choices(tmp_path):
    root = write_project(tmp_path, {"handouts/demo/en/brief.md": "Hi.\n\n## About {#about}\nx\n\n"
                                    "## When {#when-to-call}\n@include warnings\n"})
    [problem] = problems_of(root)
    assert problem.endswith("brief.md:7: @include 'warnings': no file partials/warnings.md "
                            "(available: warning-signs)")


def test_every_problem_is_reported_at_once(tmp_path):
    toml = HANDOUT_TOML.replace('status = "draft"', 'status = "final"\ncolour = "red"')
    root = write_project(tmp_path, {
        "handouts/demo/handout.toml": toml,
        "handouts/demo/en/brief.md": "## About\nno id\n\n@shout loud\n",
    })
    found = problems_of(root)
    assert any("status 'final' is not one of draft, approved" in p and "handout.toml:6" in p for p in found)
    assert any("unknown key 'colour'" in p and "handout.toml:7" in p for p in found)
    assert any("brief.md:1: section heading without an id" in p for p in found)
    assert any("brief.md:4: unknown directive '@shout loud'" in p for p in found)
    assert any("required section 'when-to-call' is missing" in p for p in found)


def test_toml_syntax_error_gives_its_line(tmp_path):
    root = write_project(tmp_path, {"handouts/demo/en/meta.toml": 'title = "Demo"\nsubtitle = "open\n'})
    [problem] = problems_of(root)
    assert "meta.toml:2: TOML syntax error" in problem


def test_approved_needs_approver_and_date(tmp_path):
    root = write_project(tmp_path, {"handouts/demo/handout.toml":
                                    HANDOUT_TOML.replace('"draft"', '"approved"')})
    found = problems_of(root)
    assert any("missing required key 'approver'" in p for p in found)
    assert any("missing required key 'approved_on'" in p for p in found)


def test_next_review_must_follow_last_review(tmp_path):
    root = write_project(tmp_path, {"handouts/demo/handout.toml":
                                    HANDOUT_TOML.replace("2027-07-10", "2025-07-10")})
    assert any("next_review must be after last_reviewed" in p for p in problems_of(root))


def test_source_needs_a_way_to_find_it(tmp_path):
    root = write_project(tmp_path, {"handouts/demo/handout.toml": HANDOUT_TOML.replace('pmid = "123"\n', "")})
    assert any("no doi, pmid or url in [[sources]] entry 1" in p for p in problems_of(root))


def test_source_needs_authors_unless_a_title_leads_it(tmp_path):
    """A first author not yet confirmed is left out, never replaced by a description:
    the title then leads the citation. Without either, readers could not find it."""
    root = write_project(tmp_path, {"handouts/demo/handout.toml": HANDOUT_TOML.replace('authors = "Smith A, et al."\n', "")})
    problems = []
    handout = load_handout(root / "handouts" / "demo", problems, tuple(DEFAULTS.formats))
    assert problems == []
    assert format_sources(handout.control)[1] == "1. A study. *J Test*. 2020. PMID 123."
    bare = HANDOUT_TOML.replace('authors = "Smith A, et al."\n', "").replace('title = "A study"\n', "")
    root = write_project(tmp_path / "bare", {"handouts/demo/handout.toml": bare})
    assert any("missing required key 'authors' in [[sources]] entry 1" in p for p in problems_of(root))


def test_missing_format_text_is_reported(tmp_path):
    root = write_project(tmp_path, {"handouts/demo/en/card.md": None})
    assert any("the card text for 'en' is missing" in p for p in problems_of(root))


def test_raw_html_in_content_is_shown_as_text_not_run():
    html = to_html('Hello <img src="file:///etc/passwd"> <script>x</script>')
    assert "<img" not in html and "<script" not in html
    assert "&lt;img" in html


def test_sources_are_formatted_with_journal_year_and_ids(tiny):
    problems = []
    handout = load_handout(tiny / "handouts" / "demo", problems, tuple(DEFAULTS.formats))
    assert problems == []
    assert format_sources(handout.control)[1] == "1. Smith A, et al. A study. *J Test*. 2020. PMID 123."


def test_unknown_meta_key_is_reported_once(tiny):
    (tiny / "handouts/demo/en/meta.toml").write_text('title = "T"\ntitel = "typo"\n' + CARD_LABELS["en"])
    [problem] = problems_of(tiny)
    assert "meta.toml:2: unknown key 'titel' (did you mean 'title'? allowed keys: card, figures, keywords, subtitle, title, translation)" in problem


def test_load_text_splits_intro_and_sections(tiny):
    problems = []
    handout = load_handout(tiny / "handouts" / "demo", problems, tuple(DEFAULTS.formats))
    text = load_text(handout, "en", "brief", {"title": "T"}, problems)
    assert problems == []
    assert text.intro == "<p>Intro for you.</p>"
    assert [s.heading for s in text.sections] == ["About this", "When to call"]


@pytest.mark.parametrize("value", ['"lupus"', '[]', '["a, b"]', '[""]', '[1]'])
def test_keywords_must_be_a_short_list_of_phrases(tiny, value):
    (tiny / "handouts/demo/en/meta.toml").write_text(f'title = "T"\nkeywords = {value}\n' + CARD_LABELS["en"])
    [problem] = problems_of(tiny)
    assert "meta.toml:2: 'keywords' must be a list of 1 to 12 short words or phrases without commas" in problem

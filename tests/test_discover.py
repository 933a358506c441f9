"""Unit tests of target discovery and selection."""

import pytest

from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.project import Options, load_project


def relpaths(root, **selection):
    return [t.relpath for t in load_project(Options(root, selection=Selection(**selection))).targets]


def test_every_format_on_its_papers(tiny):
    assert relpaths(tiny) == ["demo/en/demo-card-card.pdf", "demo/en/demo-brief-a4.pdf",
                              "demo/en/demo-brief-letter.pdf"]


def test_selection_narrows_the_targets(tiny):
    assert relpaths(tiny, formats=("brief",), papers=("letter",)) == ["demo/en/demo-brief-letter.pdf"]


def test_unknown_selection_is_an_error_with_choices(tiny):
    with pytest.raises(ContentError) as caught:
        load_project(Options(tiny, selection=Selection(formats=("flyer",))))
    assert "--format 'flyer' matches nothing (choose from: card, brief, standard, booklet)" in str(caught.value)


def test_no_handouts_is_an_error(tmp_path):
    with pytest.raises(ContentError, match="no handouts found"):
        load_project(Options(tmp_path))

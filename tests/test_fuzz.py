"""Property-based tests: whatever an author or a clinic writes, the builder loads and
renders it or says what is wrong (ContentError); it never fails otherwise."""

import shutil

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import write_project
from handoutkit.clinics import load_clinic
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, load_project
from handoutkit.render import make_environment, render_html

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
pieces = st.sampled_from(list("ab #*_-[]()!<>{}@:/\n.\\`|=\"'é€") + ["## ", "\n@include ", "{#x}", "![", "<script>"])
markdownish = st.lists(pieces, max_size=80).map("".join)


def load_or_refuse(root):
    """The project, or None if it was refused with a clear ContentError."""
    try:
        return load_project(Options(root))
    except ContentError as error:
        assert error.problems and all(str(p) for p in error.problems)
        return None


@FUZZ
@given(text=markdownish)
def test_any_markdown_is_loaded_and_rendered_or_refused(tmp_path_factory, text):
    root = write_project(tmp_path_factory.mktemp("fuzz") / "p", {
        "handouts/demo/en/brief.md": f"## About {{#about}}\n{text}\n\n## When {{#when-to-call}}\n@include warning-signs\n"})
    project = load_or_refuse(root)
    if project:
        env = make_environment(root / "templates")
        for target in project.targets:
            html = render_html(env, target, project.handouts["demo"], project.texts[target.key], project.strings["en"])
            assert "<script" not in html.lower().replace("&lt;script", "")


@FUZZ
@given(title=st.text(max_size=80))
def test_any_title_is_loaded_or_refused(tmp_path_factory, title):
    escaped = title.replace("\\", "\\\\").replace('"', '\\"')
    root = write_project(tmp_path_factory.mktemp("fuzz") / "p", {"handouts/demo/en/meta.toml": f'title = "{escaped}"\n'})
    load_or_refuse(root)


@FUZZ
@given(key=st.sampled_from(["name", "phone", "emergency", "url", "logo", "id"]), value=st.text(max_size=60))
def test_any_profile_value_is_accepted_or_named(tmp_path_factory, key, value):
    folder = tmp_path_factory.mktemp("clinic")
    shutil.copytree("clinics/sample", folder / "c")
    path = folder / "c" / "clinic.toml"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    text = "\n".join(f'{key} = "{escaped}"' if line.startswith(f"{key} ") else line
                     for line in path.read_text().splitlines())
    path.write_text(text)
    problems = []
    clinic = load_clinic(path, problems)
    assert (clinic is None) == bool(problems)
    assert all(key in str(p) or "TOML" in str(p) for p in problems), problems

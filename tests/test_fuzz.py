"""Property-based tests: whatever an author or a clinic writes, the builder loads and
renders it or says what is wrong (ContentError); it never fails otherwise."""

import shutil

from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import CARD_LABELS, write_project
from handoutkit.clinics import load_clinic
from handoutkit.errors import ContentError
from handoutkit.project import Options, load_project
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
    root = write_project(tmp_path_factory.mktemp("fuzz") / "p", {"handouts/demo/en/meta.toml": f'title = "{escaped}"\n' + CARD_LABELS["en"]})
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
    # Named by its key, or (an invisible character: handoutkit/invisible.py) by line and column.
    assert all(key in str(p) or "TOML" in str(p) or (p.line and p.column) for p in problems), problems


hostile = st.sampled_from(list("ab #*-[]()!<>{}:/\n.") + [
    "[x](javascript:alert(1))", "[x](file:///etc/passwd)", "[x](https://example.org)", "{: onclick=x rel=attachment}",
    "{: style=\"background: url(file:///etc/passwd)\"}", "![a](../../etc/passwd)", "<link rel=attachment href=x>",
    "\n- ", "\n    - ", "\n> ", "[y]: data:text/html,x\n"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.lists(hostile, max_size=40).map("".join))
def test_any_markdown_builds_or_fails_cleanly_and_writes_only_in_its_output_folder(tmp_path_factory, text):
    """The whole pipeline, laid out: a clear error or a PDF whose links are web, mail or
    phone only, with no attachment; no file changes outside the output folder."""
    import hashlib
    import io

    from pypdf import PdfReader

    from handoutkit.model import is_allowed_link
    from handoutkit.discover import Selection
    from handoutkit.pipeline import build

    base = tmp_path_factory.mktemp("fuzz")
    root = write_project(base / "p", {
        "handouts/demo/en/brief.md": f"## About {{#about}}\n{text}\n\n## When {{#when-to-call}}\n@include warning-signs\n"})

    def snapshot():
        return {p: hashlib.sha256(p.read_bytes()).digest() for p in base.rglob("*") if p.is_file() and "out" not in p.parts}

    before = snapshot()
    try:
        results = build(Options(root, base / "out", Selection(formats=("brief",), papers=("a4",)), jobs=1))
    except ContentError as error:
        assert error.problems and all(str(p) for p in error.problems)
        results = []
    assert snapshot() == before
    for result in results:
        assert result.ok or all(isinstance(p, str) and p for p in result.problems)
        if result.ok:
            reader = PdfReader(io.BytesIO((base / "out" / result.target.relpath).read_bytes()))
            assert not reader.attachments
            for page in reader.pages:
                for annotation in page.get("/Annots") or []:
                    uri = (annotation.get_object().get("/A") or {}).get("/URI")
                    assert uri is None or is_allowed_link(str(uri)), uri


@FUZZ
@given(key=st.sampled_from(["version", "status", "last_reviewed", "next_review", "approver", "source_lang"]),
       value=st.one_of(st.text(max_size=40), st.dates().map(str)))
def test_any_front_matter_value_is_loaded_or_named(tmp_path_factory, key, value):
    from conftest import HANDOUT_TOML
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    lines = [line for line in HANDOUT_TOML.splitlines() if not line.startswith(f"{key} ")]
    lines.insert(1, f'{key} = "{escaped}"')
    root = write_project(tmp_path_factory.mktemp("fuzz") / "p", {"handouts/demo/handout.toml": "\n".join(lines) + "\n"})
    load_or_refuse(root)

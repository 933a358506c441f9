"""schemas/*.json: made from the validator's own key sets (handoutkit/schemas.py), every
TOML file of the repository valid against its schema, the manifest of a build valid
against its own, and an author's typical mistakes refused by the schema and the builder
alike."""

import io
import json
import re
import tomllib
from datetime import date, datetime, time
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from conftest import run_main, write_project
from handoutkit import PROJECT_ROOT, __version__, schemas
from handoutkit.clinics import load_clinic
from handoutkit.pipeline import Options, build
from handoutkit.report import MANIFEST
from handoutkit.settings import load_settings
from handoutkit.shards import merge_main

SCHEMAS = PROJECT_ROOT / "schemas"


def as_json(value):
    """A TOML document as an editor's schema checker sees it (Taplo): dates as ISO text."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return value.isoformat() if isinstance(value, (date, datetime, time)) else value


def errors(kind: str, document) -> list[str]:
    schema = json.loads((SCHEMAS / schemas.file_name(kind)).read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def toml_errors(kind: str, path: Path) -> list[str]:
    return errors(kind, as_json(tomllib.loads(path.read_text(encoding="utf-8"))))


def source_lang(meta: Path) -> str:
    return tomllib.loads((meta.parent.parent / "handout.toml").read_text(encoding="utf-8"))["source_lang"]


# Every TOML file an author writes in the repository -> its schema, and whether it names
# it on its first line. A source language's meta.toml does not: its bytes are hashed for
# its translations' freshness ([translation.source_hashes]), so a new line in it would make
# every translation stale (translations.source_files).
def repository_files() -> list[tuple[str, str, bool]]:
    found = [(p, "handout", True) for p in PROJECT_ROOT.glob("handouts/*/handout.toml")]
    found += [(p, "meta", p.parent.name != source_lang(p)) for p in PROJECT_ROOT.glob("handouts/*/*/meta.toml")]
    found += [(p, "clinic", True) for p in PROJECT_ROOT.glob("clinics/*/clinic.toml")]
    found += [(p, "strings", True) for p in PROJECT_ROOT.glob("templates/strings/*.toml")]
    found += [(PROJECT_ROOT / "handoutkit.toml", "handoutkit", True),
              (PROJECT_ROOT / "handoutkit/defaults.toml", "handoutkit", False),
              (PROJECT_ROOT / "templates/new-project/handoutkit.toml", "handoutkit", True),
              (PROJECT_ROOT / "templates/new-project/clinics/sample/clinic.toml", "clinic", True)]
    return [(str(p.relative_to(PROJECT_ROOT)), kind, named) for p, kind, named in sorted(found)]


REPOSITORY_FILES = repository_files()


class TestTheSchemasAreTheValidators:
    def test_the_committed_schemas_are_what_the_module_makes(self):
        assert schemas.outdated(SCHEMAS) == [], "run: python -m handoutkit.schemas"
        assert sorted(p.name for p in SCHEMAS.glob("*.json")) == sorted(schemas.rendered())

    def test_the_check_command_finds_an_outdated_file(self, tmp_path):
        out, err = io.StringIO(), io.StringIO()
        assert schemas.main(["--out", str(tmp_path)], out, err) == 0 and "wrote" in out.getvalue()
        assert schemas.main(["--out", str(tmp_path), "--check"], out, err) == 0
        (tmp_path / "meta.schema.json").write_text("{}")
        assert schemas.main(["--out", str(tmp_path), "--check"], out, err) == 1
        assert "meta.schema.json: out of date" in err.getvalue()

    @pytest.mark.parametrize("name", sorted(schemas.SCHEMAS))
    def test_each_is_a_valid_draft_2020_12_schema(self, name):
        schema = json.loads((SCHEMAS / schemas.file_name(name)).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)

    def test_a_key_the_validator_gains_without_a_type_stops_the_generator(self, monkeypatch):
        from handoutkit import content
        monkeypatch.setattr(content, "HANDOUT_KEYS", content.HANDOUT_KEYS | {"audience"})
        with pytest.raises(KeyError, match="audience"):
            schemas.handout_schema()

    def test_every_kind_of_setting_has_a_schema(self):
        from handoutkit.settings import KINDS
        assert set(schemas.KIND_SCHEMAS) == set(KINDS)

    def test_the_manifest_entry_keys_are_read_from_the_report(self):
        schema = json.loads((SCHEMAS / "manifest.schema.json").read_text())
        entry = schema["properties"]["targets"]["items"]
        assert list(entry["properties"]) == schemas.entry_keys() == entry["required"]
        assert {"path", "sha256", "inputs", "readability", "pdf_variant"} <= set(entry["properties"])


class TestTheRepositoryFiles:
    @pytest.mark.parametrize("relpath, kind, named", REPOSITORY_FILES)
    def test_every_toml_file_is_valid_against_its_schema(self, relpath, kind, named):
        assert toml_errors(kind, PROJECT_ROOT / relpath) == []

    def test_every_kind_of_file_is_there(self):
        assert {kind for _, kind, _ in REPOSITORY_FILES} == set(schemas.SCHEMAS) - {"manifest"}
        assert len([f for f in REPOSITORY_FILES if f[1] == "meta"]) >= 12

    @pytest.mark.parametrize("relpath, kind, named", REPOSITORY_FILES)
    def test_the_first_line_names_the_schema_by_a_relative_path(self, relpath, kind, named):
        first = (PROJECT_ROOT / relpath).read_text(encoding="utf-8").splitlines()[0]
        if not named:
            assert not first.startswith("#:schema")
            return
        where = re.fullmatch(r"#:schema (\S+)", first)
        assert where, first
        target = (PROJECT_ROOT / relpath).parent / where[1]
        if relpath.startswith("templates/new-project/"):  # a new project gets its own schemas/
            target = PROJECT_ROOT / Path(relpath).relative_to("templates/new-project").parent / where[1]
        assert target.resolve() == (SCHEMAS / schemas.file_name(kind)).resolve()

    def test_no_translation_is_stale_although_translations_name_their_schema(self):
        checked = run_main("check")
        assert checked.returncode == 0 and "0 stale translation(s)" in checked.stdout, checked.stdout + checked.stderr


class TestNew:
    def test_a_new_project_has_schemas_its_files_name_and_satisfy(self, tmp_path, monkeypatch):
        from handoutkit import cli
        monkeypatch.chdir(tmp_path)
        assert cli.main(["new", "demo"], prog="handoutkit") == 0
        project = tmp_path / "demo"
        assert schemas.outdated(project / "schemas") == []
        for relpath, kind in (("handoutkit.toml", "handoutkit"), ("clinics/sample/clinic.toml", "clinic"),
                              ("handouts/demo/handout.toml", "handout"), ("handouts/demo/en/meta.toml", "meta")):
            path = project / relpath
            named = re.fullmatch(r"#:schema (\S+)", path.read_text().splitlines()[0])[1]
            assert (path.parent / named).resolve() == (project / "schemas" / schemas.file_name(kind)).resolve()
            assert toml_errors(kind, path) == [], relpath


def tiny_build(root: Path, out: Path) -> dict:
    results = build(Options(root, out, selection(), jobs=1))
    assert results and all(r.ok for r in results)
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def selection():
    from handoutkit.discover import Selection
    return Selection(formats=("brief",), papers=("a4",))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("schemas") / "project")
    out = root / "out"
    return root, out, tiny_build(root, out)


class TestTheManifest:
    def test_a_build_writes_a_valid_manifest_that_says_its_layout_and_builder(self, built):
        _, _, manifest = built
        assert errors("manifest", manifest) == []
        assert manifest["schema_version"] == 1 and manifest["generator"] == f"handoutkit {__version__}"
        assert list(manifest)[:2] == ["schema_version", "generator"]

    def test_a_manifest_from_before_the_header_is_still_read_and_merged(self, built, tmp_path):
        root, out, manifest = built
        old = {"targets": manifest["targets"], "failed": manifest["failed"]}
        (out / MANIFEST).write_text(json.dumps(old, indent=2))
        assert errors("manifest", old) != []  # the schema describes what a build writes now
        again = build(Options(root, out, selection(), jobs=1))
        assert again and all(r.up_to_date for r in again)  # incremental.py read its entries
        assert (out / "index.html").is_file()
        (out / MANIFEST).write_text(json.dumps(old, indent=2))
        assert merge_main([str(out), "--out", str(tmp_path / "merged"), "--root", str(root)],
                          io.StringIO(), io.StringIO()) == 0
        merged = json.loads((tmp_path / "merged" / MANIFEST).read_text())
        assert merged["schema_version"] == 1 and errors("manifest", merged) == []
        assert merged["targets"] == manifest["targets"]

    def test_an_entry_with_a_wrong_value_or_an_unknown_key_is_refused(self, built):
        _, _, manifest = built
        entry = manifest["targets"][0]
        for wrong in ({**entry, "pages": "one"}, {**entry, "colour": "red"}, {**entry, "status": "final"}):
            assert errors("manifest", {**manifest, "targets": [wrong]}) != []


# --- mistakes: refused by the schema and by the builder ----------------------------------

HANDOUT_MISTAKES = [
    # (what, the line replaced, its replacement, what the builder says)
    ("unknown key", 'status = "draft"', 'status = "draft"\ncolour = "red"', "unknown key 'colour'"),
    ("version not text", 'version = "1.2.0"', "version = 2", "'version' must be a str"),
    ("status not known", 'status = "draft"', 'status = "final"', "status 'final' is not one of draft, approved"),
    ("review date not a date", "next_review = 2027-07-10", 'next_review = "soon"', "'next_review' must be a date"),
    ("card field kind", 'kind = "text"', 'kind = "email"', "kind 'email' is not one of text, date, phone"),
    ("clinic key that does not fit", 'clinic = "phone_after_hours"', 'clinic = "name"',
     "clinic 'name' cannot fill a phone field"),
    ("unknown role", 'help = "when-to-call"', 'help = "when-to-call"\nhelpp = "about"', "unknown role 'helpp'"),
    ("approved without approver", 'status = "draft"', 'status = "approved"', "missing required key 'approver'"),
]
META_MISTAKES = [
    ("misspelt key", 'title = "Demo handout"', 'titel = "Demo handout"', "unknown key 'titel'"),
    ("title not text", 'title = "Demo handout"', "title = 7", "'title' must be a str"),
    ("card label too long", 'name = "Name"', 'name = "' + "N" * 41 + '"', "the card label 'name' is 41 characters"),
]


def problems_of(root: Path) -> str:
    checked = run_main("check", "--root", root)
    assert checked.returncode == 1
    return checked.stderr


class TestMistakes:
    @pytest.mark.parametrize("what, old, new, said", HANDOUT_MISTAKES, ids=[m[0] for m in HANDOUT_MISTAKES])
    def test_handout_toml(self, tmp_path, what, old, new, said):
        self.check(tmp_path, "handouts/demo/handout.toml", "handout", old, new, said)

    @pytest.mark.parametrize("what, old, new, said", META_MISTAKES, ids=[m[0] for m in META_MISTAKES])
    def test_meta_toml(self, tmp_path, what, old, new, said):
        self.check(tmp_path, "handouts/demo/en/meta.toml", "meta", old, new, said)

    def test_what_the_builder_accepts_the_schema_accepts_too(self, tmp_path):
        root = write_project(tmp_path / "project")
        path = root / "handouts/demo/handout.toml"
        text = path.read_text().replace('status = "draft"', 'status = "approved"\napprover = "A. Reviewer, MD"\n'
                                        'approved_on = 2026-02-01\npictograms = ["phone"]')
        path.write_text(text.replace('kind = "text"', 'kind = "text"\nclinic = ""\nside = "front"', 1))
        assert toml_errors("handout", path) == []
        assert run_main("check", "--root", root).returncode == 0

    def test_strings_without_a_required_string(self, tmp_path):
        self.check(tmp_path, "templates/strings/en.toml", "strings", 'colon = ": "', "",
                   "missing interface string 'colon'")

    @staticmethod
    def check(tmp_path, relpath, kind, old, new, said):
        root = write_project(tmp_path / "project")
        path = root / relpath
        assert toml_errors(kind, path) == []  # the tiny project is valid to begin with
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        assert toml_errors(kind, path) != []
        assert said in problems_of(root)

    @pytest.mark.parametrize("old, new, said", [
        ('fax = "1"', None, "unknown key 'fax'"),
        ('phone = "+1 555-0100"', "phone = 5550100", "'phone' must be a str"),
        ('emergency = "911"', 'emergency = "call 911"', "is not a phone number"),
        ('id = "sample-clinic"', 'id = "Sample Clinic"', "id 'Sample Clinic' must be"),
        ('url = "https://example.org/lupus-car-t"', 'url = "javascript:alert(1)"', "is not a web address"),
    ])
    def test_clinic_toml(self, tmp_path, old, new, said):
        folder = tmp_path / "clinic"
        folder.mkdir()
        (folder / "logo.svg").write_bytes((PROJECT_ROOT / "clinics/sample/logo.svg").read_bytes())
        text = (PROJECT_ROOT / "clinics/sample/clinic.toml").read_text(encoding="utf-8")
        path = folder / "clinic.toml"
        path.write_text(text + old + "\n" if new is None else text.replace(old, new), encoding="utf-8")
        assert toml_errors("clinic", path) != []
        problems: list = []
        assert load_clinic(path, problems) is None and said in " ".join(map(str, problems))

    @pytest.mark.parametrize("text, said", [
        ("[build]\ncolour = true\n", "unknown key 'colour' in [build]"),
        ("[formats.brief]\nmax_pages = \"two\"\n", "[formats.brief] max_pages = 'two' is not valid"),
        ("[formats.leaflet]\nmax_pages = 2\n", "[formats.leaflet] needs max_pages and papers"),
        ("[papers.A5]\nsize = \"A5\"\n", "'A5' is not a valid name"),
        ("[scripts.Geor]\nstylesheet = \"../../etc/passwd\"\nfonts = [\"x.ttf\"]\n", "stylesheet = '../../etc/passwd'"),
        ("[colours]\nred = 1\n", "unknown table [colours]"),
    ])
    def test_handoutkit_toml(self, tmp_path, text, said):
        (tmp_path / "handoutkit.toml").write_text(text, encoding="utf-8")
        assert toml_errors("handoutkit", tmp_path / "handoutkit.toml") != []
        problems: list = []
        load_settings(tmp_path, problems)
        assert said in " ".join(map(str, problems))

    def test_a_builder_format_may_change_one_key_and_a_new_one_needs_its_required_keys(self, tmp_path):
        path = tmp_path / "handoutkit.toml"
        path.write_text('[formats.brief]\nmax_grade = 5\n\n[formats.leaflet]\nmax_pages = 2\npapers = ["a4"]\n'
                        'template = "brief.html"\nstylesheet = "styles/brief.css"\n')
        assert toml_errors("handoutkit", path) == []
        path.write_text('[formats.leaflet]\nmax_pages = 2\n')
        assert any("required property" in e for e in toml_errors("handoutkit", path))

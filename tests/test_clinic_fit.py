"""Fit does not depend on the clinic: every profile value has a length limit, and a
text that fits without a profile fits with the longest valid profile
(clinics/maximal) and with --fillable, on the same pages at the same body size,
with nothing cut."""

import shutil
import subprocess

import pytest

from handoutkit import PROJECT_ROOT
from handoutkit.clinics import MAX_CHARS, load_clinic
from handoutkit.discover import Selection
from handoutkit.pipeline import Options, build

SAMPLE = PROJECT_ROOT / "clinics" / "sample"
MAXIMAL = PROJECT_ROOT / "clinics" / "maximal" / "clinic.toml"


def over_limit(key: str, limit: int) -> str:
    """A value of `key` one character over its limit, valid in every other way."""
    if key.startswith("phone") or key == "emergency":
        return "+1 " + "5" * (limit - 2)
    if key == "url":
        return "https://example.org/" + "a" * (limit - 19)
    return "W" * (limit + 1)


@pytest.mark.parametrize("key", sorted(MAX_CHARS))
def test_a_value_over_its_limit_is_one_line_naming_file_line_and_key(tmp_path, key):
    limit = MAX_CHARS[key][0]
    value = over_limit(key, limit)
    assert len(value) == limit + 1
    lines = [line for line in (SAMPLE / "clinic.toml").read_text().splitlines() if not line.startswith(f"{key} ")]
    lines.append(f'{key} = "{value}"')
    shutil.copy(SAMPLE / "logo.svg", tmp_path / "logo.svg")
    (tmp_path / "clinic.toml").write_text("\n".join(lines) + "\n")
    problems = []
    assert load_clinic(tmp_path / "clinic.toml", problems) is None
    expected = f"clinic.toml:{len(lines)}: '{key}' is {limit + 1} characters; at most {limit} fit"
    mine = [str(p) for p in problems if f"'{key}' is " in str(p)]
    assert len(mine) == 1 and expected in mine[0] and mine[0].endswith("(shorten it)"), problems
    assert "\n" not in mine[0]


def test_the_maximal_profile_is_valid_and_every_value_at_its_limit():
    problems = []
    clinic = load_clinic(MAXIMAL, problems)
    assert problems == []
    assert {key: len(getattr(clinic, key)) for key in MAX_CHARS} == {key: limit for key, (limit, _) in MAX_CHARS.items()}


# Targets that were tight before: the Arabic brief on Letter (it failed with a realistic
# profile), the English card (its logo and the clinic name were cut), a German booklet
# (a fillable one needed 9 pages).
SELECTIONS = (Selection(langs=("ar", "en"), formats=("brief", "card"), papers=("letter", "card")),
              Selection(langs=("de",), formats=("booklet",), papers=("letter",)))
VARIANTS = {"plain": {}, "maximal": {"clinic_file": MAXIMAL}, "fillable": {"fillable": True}}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Each variant built once: {variant: {(lang, format, paper): (result, pdf path)}}."""
    out = {}
    for variant, options in VARIANTS.items():
        folder = tmp_path_factory.mktemp(variant)
        results = [r for selection in SELECTIONS for r in build(Options(PROJECT_ROOT, folder, selection, **options))]
        out[variant] = {(r.target.lang, r.target.format, r.target.paper): (r, folder / r.target.relpath)
                        for r in results}
    return out


def test_every_variant_builds(builds):
    for variant, results in builds.items():
        assert len(results) == 5, (variant, sorted(results))
        for key, (result, path) in results.items():
            assert result.ok and path.is_file(), (variant, key, result.problems)


@pytest.mark.parametrize("variant", ["maximal", "fillable"])
def test_same_pages_and_body_size_as_without_a_profile(builds, variant):
    plain = {key: (r.pages, r.body_size) for key, (r, _) in builds["plain"].items()}
    other = {key: (r.pages, r.body_size) for key, (r, _) in builds[variant].items()}
    assert other == plain


def pdftotext(path) -> str:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def test_the_card_shows_the_whole_clinic_name_and_number(builds):
    clinic = load_clinic(MAXIMAL, [])
    _, path = builds["maximal"]["en", "card", "card"]
    words = pdftotext(path).split()
    # The name may wrap onto a second line: every word of it is there, in order.
    text = " ".join(words)
    for word in clinic.name.split():
        assert word in words, (word, text)
    assert text.index("Westminster") < text.index("NHS")
    assert clinic.phone_after_hours.split()[-1] in words


def test_the_brief_shows_every_value(builds):
    clinic = load_clinic(MAXIMAL, [])
    _, path = builds["maximal"]["en", "brief", "letter"]
    squashed = "".join(pdftotext(path).split())
    for value in (clinic.name, clinic.department, clinic.phone, clinic.phone_after_hours, clinic.emergency, clinic.url):
        assert "".join(value.split()) in squashed, value

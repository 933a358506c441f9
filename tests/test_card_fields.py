"""The wallet card's fields belong to each handout (handout.toml [[card.fields]], labels in
each language's meta.toml [card.labels]): checked with one line per problem, all at once,
and printed in the language's own words; another handout's card never prints CAR-T's."""

import textwrap
import tomllib
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from conftest import CARD_FIELDS, CARD_LABELS, GERMAN, HANDOUT_TOML, REPO_TARGETS, write_project
from handoutkit import PROJECT_ROOT, audit
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build
from handoutkit.project import load_project

CLINICS = PROJECT_ROOT / "clinics"


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_project(Options(root))
    return [str(p) for p in raised.value.problems]


def printed(path: Path, rtl: bool = False) -> str:
    """The PDF's text as PDFium reads it (as the audit does), squashed like the audit's."""
    document = pdfium.PdfDocument(path)
    return audit.squash("".join(page.get_textpage().get_text_range() for page in document), rtl)


# --- handout.toml: the fields ------------------------------------------------------------

BAD_FIELDS = """
[[card.fields]]
id = "Name"
kind = "text"

[[card.fields]]
id = "dose"
kind = "number"

[[card.fields]]
id = "team-phone"
kind = "phone"
clinic = "name"
side = "inside"
colour = "red"

[[card.fields]]
id = "team-phone"
kind = "date"
"""


def test_every_problem_of_the_fields_is_one_line_with_its_line_number(tmp_path):
    toml = HANDOUT_TOML.replace(CARD_FIELDS, BAD_FIELDS)
    root = write_project(tmp_path / "p", {"handouts/demo/handout.toml": toml})
    found = [p for p in problems_of(root) if "demo/handout.toml:" in p]
    lines = toml.splitlines()

    def line(text):
        return next(n for n, t in enumerate(lines, 1) if t == text)

    expected = [(line('id = "Name"'), "[[card.fields]] entry 1: id 'Name' is not a field id"),
                (line('kind = "number"'), "[[card.fields]] entry 2: kind 'number' is not one of text, date, phone"),
                (line('clinic = "name"'), "[[card.fields]] entry 3: clinic 'name' cannot fill a phone field"),
                (line('side = "inside"'), "[[card.fields]] entry 3: side 'inside' is not front or back"),
                (line('colour = "red"'), "[[card.fields]] entry 3: unknown key 'colour'"),
                (line('id = "team-phone"'), "card field id 'team-phone' is used twice")]
    expected = [f"handout.toml:{number}: {message}" for number, message in expected]
    for want in expected:
        assert any(want in problem for problem in found), (want, found)
    assert len(found) == len(expected), found
    assert all("\n" not in problem and "Traceback" not in problem for problem in found)


def test_a_card_must_say_whom_to_call(tmp_path):
    toml = HANDOUT_TOML.replace('kind = "phone"\nclinic = "phone_after_hours"\n', 'kind = "text"\n')
    root = write_project(tmp_path / "p", {"handouts/demo/handout.toml": toml})
    header = toml.splitlines().index("[[card.fields]]") + 1
    assert f"handout.toml:{header}: the card has no phone field: it must say whom to call (add a field with " \
           'kind = "phone"' in "\n".join(problems_of(root))


def test_a_card_format_needs_fields_and_fields_need_a_card(tmp_path):
    no_fields = HANDOUT_TOML.replace(CARD_FIELDS, "")
    root = write_project(tmp_path / "a", {"handouts/demo/handout.toml": no_fields,
                                          "handouts/demo/en/meta.toml": 'title = "Demo"\n'})
    assert any("handout.toml: the card format has no fields to fill in (add [[card.fields]]" in p
               for p in problems_of(root))
    no_card = HANDOUT_TOML.replace('[formats.card]\nsections = ["warning-signs", "show-card"]\n', "")
    root = write_project(tmp_path / "b", {"handouts/demo/handout.toml": no_card})
    assert any("[[card.fields]] but no card format (add [formats.card] or remove the fields)" in p
               for p in problems_of(root))


# --- <lang>/meta.toml: the labels --------------------------------------------------------

def test_a_missing_label_is_an_error_naming_the_language_file_and_field_never_english(tmp_path):
    root = write_project(tmp_path / "p", {
        **GERMAN,
        "handouts/demo/de/meta.toml": 'title = "Demo-Merkblatt"\n\n[card.labels]\nname = "Name"\ntelefon = "Telefon"\n'
                                      '\n[translation]\nsource_version = "1.2.0"\nstatus = "draft"\ntranslator = "T"\n'})
    found = [p for p in problems_of(root) if "de/meta.toml" in p]
    assert any("de/meta.toml:3: no label for the card field 'team-phone' (add `team-phone = \"...\"` under "
               "[card.labels]" in p for p in found), found
    assert any("de/meta.toml:5: label for 'telefon', which is not a card field of this handout "
               "(declared fields: name, team-phone" in p for p in found), found
    assert len(found) == 2, found


def test_a_label_too_long_to_write_beside_is_refused(tmp_path):
    long = "Datum der allerersten CAR-T-Infusion im Zentrum"
    root = write_project(tmp_path / "p", {"handouts/demo/en/meta.toml": 'title = "Demo"\n'
                                          + CARD_LABELS["en"].replace('"Name"', f'"{long}"')})
    assert any(f"the card label 'name' is {len(long)} characters; at most 40" in p for p in problems_of(root))


# --- a second handout: its own fields, none of CAR-T's ----------------------------------

HCQ_TOML = textwrap.dedent("""\
    id = "hydroxychloroquine"
    source_lang = "en"
    version = "0.1.0"
    last_reviewed = 2026-11-01
    next_review = 2027-11-01
    status = "draft"
    safety_partials = ["eye-checks"]

    [roles]
    help = "get-help"
    warnings = "get-help"

    [formats.card]
    sections = ["get-help"]

    [[card.fields]]
    id = "name"
    kind = "text"

    [[card.fields]]
    id = "dose"
    kind = "text"

    [[card.fields]]
    id = "eye-check"
    kind = "date"

    [[card.fields]]
    id = "rheumatologist"
    kind = "phone"
    clinic = "phone"
    side = "back"

    [[sources]]
    short = "ACR 2025"
    authors = "American College of Rheumatology"
    title = "Hydroxychloroquine (Plaquenil)"
    year = 2025
    url = "https://rheumatology.org/patients/hydroxychloroquine-plaquenil"
    """)
HCQ = {
    "handouts/hydroxychloroquine/handout.toml": HCQ_TOML,
    "handouts/hydroxychloroquine/en/meta.toml": textwrap.dedent("""\
        title = "Hydroxychloroquine for lupus"

        [card.labels]
        name = "Name"
        dose = "Daily dose"
        eye-check = "Next eye check"
        rheumatologist = "My rheumatology team"
        """),
    "handouts/hydroxychloroquine/en/partials/eye-checks.md": "- Blurred vision or trouble reading\n",
    "handouts/hydroxychloroquine/en/card.md": "# I take hydroxychloroquine\nFor lupus, every day.\n\n"
                                              "## Call my team if I have: {#get-help}\n@include eye-checks\n",
}
HCQ_LABELS = ("Daily dose", "Next eye check", "My rheumatology team")
CAR_T_LABELS = tuple(tomllib.loads((PROJECT_ROOT / "handouts/car-t-lupus/en/meta.toml").read_text())["card"]["labels"]
                     .values())


@pytest.mark.parametrize("clinic", [None, "sample"])
def test_a_second_handouts_card_prints_its_own_fields_not_car_t_labels(tmp_path, clinic):
    root = write_project(tmp_path / "p", HCQ)
    profile = CLINICS / clinic / "clinic.toml" if clinic else None
    results = build(Options(root, tmp_path / "out", clinic_file=profile, jobs=1))
    [card] = [r for r in results if r.target.handout == "hydroxychloroquine"]
    assert card.ok and card.pages == 2, card.problems
    text = printed(tmp_path / "out" / card.target.relpath)
    assert all(audit.squash(label) in text for label in HCQ_LABELS), text
    assert not [label for label in CAR_T_LABELS if label not in ("Name",) and audit.squash(label) in text], text
    assert "CAR-T" not in text
    if clinic:  # its phone field holds the clinic's daytime number, not the 24-hour one
        assert audit.squash("+1 555-0100") in text and audit.squash("+1 555-0199") not in text, text


# --- the repository's cards: every field in each language's own words -------------------

CARDS = [t for t in REPO_TARGETS if t.format == "card" and t.handout == "car-t-lupus"]


def card_words(lang: str) -> tuple[dict, str]:
    """The card's labels and its line for clinicians (the bold paragraph of card.md)."""
    folder = PROJECT_ROOT / "handouts/car-t-lupus" / lang
    labels = tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))["card"]["labels"]
    clinicians = next(line.strip("*") for line in (folder / "card.md").read_text(encoding="utf-8").splitlines()
                      if line.startswith("**"))
    return labels, clinicians


@pytest.mark.parametrize("target", CARDS, ids=lambda t: t.lang)
def test_the_card_prints_its_fields_and_the_line_for_clinicians_in_its_language(built, target):
    out, results = built
    assert results[target].ok and results[target].pages == 2, results[target].problems
    labels, clinicians = card_words(target.lang)
    english, _ = card_words("en")
    assert set(labels) == {"name", "infusion-date", "product", "trial-number", "centre", "team-phone"}
    if target.lang != "en":  # translated, not the English words
        assert [labels[k] for k in ("product", "trial-number", "team-phone")] != \
               [english[k] for k in ("product", "trial-number", "team-phone")]
    rtl = target.lang == "ar"
    text = printed(out / target.relpath, rtl)
    for label in (*labels.values(), clinicians):
        assert audit.found(label, text, rtl), (label, target.lang)


@pytest.mark.parametrize("lang", ["en", "ar", "zh-Hans"])
def test_the_card_fits_front_and_back_with_the_maximal_clinic_and_prints_its_numbers(tmp_path, lang):
    only = Selection(handouts=("car-t-lupus",), langs=(lang,), formats=("card",))
    [result] = build(Options(PROJECT_ROOT, tmp_path, clinic_file=CLINICS / "maximal/clinic.toml", jobs=1,
                             selection=only))
    assert result.ok and result.pages == 2, result.problems
    rtl = lang == "ar"
    text = printed(tmp_path / result.target.relpath, rtl)
    for value in ("Westminster & Mount Warwick Memorial University Hospital NHS", "+44 (0)20 7946 0958 ext. 48210"):
        assert audit.found(value, text, rtl), value

"""Invisible and control characters (handoutkit/invisible.py): refused, with file, line
and column, in every text that reaches a PDF; ZWJ and ZWNJ allowed where a script
needs them. And a clinic value is never read as a file, but the logo."""

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import CARD_LABELS, FILES, GERMAN, write_project
from handoutkit import cli
from handoutkit.clinics import load_clinic
from handoutkit.errors import ContentError
from handoutkit.project import Options, load_project

BRIEF = FILES["handouts/demo/en/brief.md"]
# One of each class the builder refuses: (character, its name in the message).
REFUSED = {
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",      # bidi override
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",     # bidi embedding
    "\u2066": "LEFT-TO-RIGHT ISOLATE",       # bidi isolate
    "\u200b": "ZERO WIDTH SPACE",
    "\u2060": "WORD JOINER",
    "\ufeff": "ZERO WIDTH NO-BREAK SPACE",   # a BOM that is not the file's first character
    "\u200d": "ZERO WIDTH JOINER",           # in English
    "\u200c": "ZERO WIDTH NON-JOINER",       # in English
    "\x07": "control",                       # C0
    "\x85": "control",                       # C1
}


def problems_of(root, **options) -> list[str]:
    """Every problem line load_project reports, or [] if it loads."""
    try:
        load_project(Options(root, **options))
    except ContentError as error:
        return [str(p) for p in error.problems]
    return []


def invisible(lines: list[str]) -> list[str]:
    return [line for line in lines if "invisible character" in line]


def with_char(char: str) -> str:
    """The tiny project's brief with `char` in line 4, column 9."""
    return BRIEF.replace("You read this.", f"You read{char} this.")


class TestMarkdown:
    @pytest.mark.parametrize("char", REFUSED)
    def test_each_class_is_refused_with_file_line_and_column(self, tmp_path, char):
        root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": with_char(char)})
        found = invisible(problems_of(root))
        assert len(found) == 1, found
        assert f"handouts/demo/en/brief.md:4:9: invisible character U+{ord(char):04X} ({REFUSED[char]})" in found[0]
        assert "(delete it" in found[0]

    def test_a_character_reference_is_decoded_and_refused(self, tmp_path):
        root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": with_char("&#x202E;"),
                                              "handouts/demo/en/partials/warning-signs.md": "- Fever &zwj;now\n"})
        found = invisible(problems_of(root))
        assert any("brief.md:4:9: invisible character U+202E (RIGHT-TO-LEFT OVERRIDE, written &#x202E;)" in f
                   for f in found), found
        assert any("partials/warning-signs.md:1:9: invisible character U+200D" in f for f in found), found

    def test_every_problem_is_reported_at_once_one_line_each(self, tmp_path):
        root = write_project(tmp_path / "p", {
            "handouts/demo/en/brief.md": BRIEF.replace("You read this.", "A\u200bB\u202eC"),
            "handouts/demo/en/meta.toml": 'title = "Demo\u2066"\n' + CARD_LABELS["en"]})
        found = invisible(problems_of(root))
        assert [f.split(": ")[0].rsplit("/", 3)[-3:] for f in found] == [
            ["demo", "en", "meta.toml:1:14"], ["demo", "en", "brief.md:4:2"], ["demo", "en", "brief.md:4:4"]], found

    def test_the_command_line_says_it_in_one_line(self, tmp_path, monkeypatch):
        root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": with_char("\u202e")})
        monkeypatch.chdir(root)
        out, err = io.StringIO(), io.StringIO()
        assert cli.main(["--root", str(root), "--check"], out, err) == 1
        assert "error: handouts/demo/en/brief.md:4:9: invisible character U+202E" in err.getvalue()
        assert "Traceback" not in err.getvalue()

    def test_a_leading_byte_order_mark_is_stripped(self, tmp_path):
        root = write_project(tmp_path / "p", {
            "handouts/demo/en/brief.md": "\ufeff" + BRIEF,
            "handouts/demo/en/meta.toml": '\ufefftitle = "Demo handout"\n' + CARD_LABELS["en"]})
        project = load_project(Options(root))
        assert project.texts["demo", "en", "brief"].intro.startswith("<p>Intro")


class TestToml:
    def test_a_title_with_a_bidi_control_is_refused(self, tmp_path):
        root = write_project(tmp_path / "p", {"handouts/demo/en/meta.toml": 'title = "Call \u202e911"\n' + CARD_LABELS["en"]})
        assert any("meta.toml:1:15: invisible character U+202E" in f for f in invisible(problems_of(root)))

    def test_an_escape_is_decoded_and_refused(self, tmp_path):
        root = write_project(tmp_path / "p", {"handouts/demo/en/meta.toml": 'title = "Call \\u202E911"\n' + CARD_LABELS["en"]})
        assert any("meta.toml:1:15: invisible character U+202E (RIGHT-TO-LEFT OVERRIDE, written \\u202E)" in f
                   for f in invisible(problems_of(root)))

    def test_an_escaped_backslash_is_text(self, tmp_path):
        root = write_project(tmp_path / "p", {"handouts/demo/en/meta.toml": 'title = "C:\\\\u202E"\n' + CARD_LABELS["en"]})
        assert invisible(problems_of(root)) == []

    def test_a_source_in_handout_toml_is_checked(self, tmp_path):
        toml = FILES["handouts/demo/handout.toml"].replace('title = "A study"', 'title = "A \u200bstudy"')
        root = write_project(tmp_path / "p", {"handouts/demo/handout.toml": toml})
        assert any("handout.toml" in f and "U+200B" in f for f in invisible(problems_of(root)))

    def test_an_interface_string_is_checked(self, tmp_path):
        root = write_project(tmp_path / "p")
        strings = root / "templates/strings/en.toml"
        strings.write_text(strings.read_text(encoding="utf-8") + 'extra = "a\\u200Bb"\n', encoding="utf-8")
        number = len(strings.read_text(encoding="utf-8").splitlines())
        found = invisible(problems_of(root))
        assert any(f"templates/strings/en.toml:{number}:11: invisible character U+200B" in f for f in found), found


class TestJoiners:
    ARABIC = {
        "handouts/demo/ar/meta.toml": 'title = "نشرة"\n\n[card.labels]\nname = "الاسم"\nteam-phone = "رقم"\n'
                                      '\n[translation]\nsource_version = "1.2.0"\nstatus = "draft"\ntranslator = "Test"\n',
        "handouts/demo/ar/partials/warning-signs.md": "- حمى\n- ضيق في التنفس\n",
        "handouts/demo/ar/card.md": "# بطاقة\nأنا في تجربة.\n\n## اطلب المساعدة {#warning-signs}\n@include warning-signs\n\n"
                                    "## أظهر البطاقة {#show-card}\nأظهر هذه البطاقة.\n",
        "handouts/demo/ar/brief.md": "مقدمة.\n\n## عن هذا {#about}\nمي\u200cخواهم.\n\n"
                                     "## متى تتصل {#when-to-call}\n@include warning-signs\n",
    }

    def test_zwnj_is_accepted_in_arabic(self, tmp_path):
        root = write_project(tmp_path / "p", self.ARABIC)
        assert problems_of(root) == []

    def test_zwnj_is_refused_in_english(self, tmp_path):
        root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": with_char("\u200c")})
        assert any("brief.md:4:9: invisible character U+200C (ZERO WIDTH NON-JOINER)" in f and "joiners = true" in f
                   for f in problems_of(root))

    def test_zwnj_is_accepted_in_an_arabic_partial_title_and_interface_string(self, tmp_path):
        """The script's setting reaches every text of the language, not only its Markdown."""
        strings = Path("templates/strings/ar.toml").read_text(encoding="utf-8")
        files = {**self.ARABIC,
                 "handouts/demo/ar/partials/warning-signs.md": "- حمى\n- می\u200cخواهم\n",
                 "handouts/demo/ar/meta.toml": self.ARABIC["handouts/demo/ar/meta.toml"].replace("نشرة", "نش\u200cرة"),
                 "templates/strings/ar.toml": strings + '\nextra_words = "می\u200cخواهم"\n'}
        assert problems_of(write_project(tmp_path / "p", files)) == []

    def test_the_scripts_settings_decide_not_a_table_in_the_code(self, tmp_path):
        """`[scripts.X] joiners`: switched off for Arabic, the same texts are refused in
        each file (Markdown, partial, meta.toml); switched on for Latin, English may use them."""
        files = {**self.ARABIC,
                 "handouts/demo/ar/partials/warning-signs.md": "- حمى\n- می\u200cخواهم\n",
                 "handouts/demo/ar/meta.toml": self.ARABIC["handouts/demo/ar/meta.toml"].replace("نشرة", "نش\u200cرة"),
                 "handoutkit.toml": "[scripts.Arab]\njoiners = false\n"}
        found = [f for f in problems_of(write_project(tmp_path / "ar", files)) if "U+200C" in f]
        assert {f.split(": ")[0].rsplit("/", 1)[-1] for f in found} == {
            "brief.md:4:3", "meta.toml:1:12", "warning-signs.md:2:5"}, found  # the partial: once per text
        latin = {"handouts/demo/en/brief.md": with_char("\u200c"), "handoutkit.toml": "[scripts.Latn]\njoiners = true\n"}
        assert problems_of(write_project(tmp_path / "en", latin)) == []

    def test_a_bidi_control_is_refused_in_arabic_too(self, tmp_path):
        files = {**self.ARABIC, "handouts/demo/ar/brief.md": self.ARABIC["handouts/demo/ar/brief.md"].replace("\u200c", "\u202b")}
        root = write_project(tmp_path / "p", files)
        assert any("ar/brief.md:4:3: invisible character U+202B" in f for f in problems_of(root))


class TestClinic:
    @pytest.fixture
    def profile(self, tmp_path):
        shutil.copytree("clinics/sample", tmp_path / "c")
        return tmp_path / "c" / "clinic.toml"

    def set_value(self, path, key, value):
        lines = [f"{key} = {json.dumps(value, ensure_ascii=False)}" if line.startswith(f"{key} ") else line
                 for line in path.read_text(encoding="utf-8").split("\n")]  # not at U+0085
        path.write_text("\n".join(lines), encoding="utf-8")

    @pytest.mark.parametrize("char", ["\u202e", "\u2067", "\u200b", "\ufeff", "\x85"])
    def test_a_value_with_a_bidi_control_or_zero_width_character_is_refused(self, profile, char):
        self.set_value(profile, "name", f"Riverside{char} Hospital")
        problems = []
        assert load_clinic(profile, problems) is None
        line = key_line(profile, "name")
        assert [str(p).split(": ")[0].rsplit(":", 2)[1:] for p in problems] == [[str(line), "18"]], problems

    def test_a_next_line_character_does_not_shift_the_lines_of_later_keys(self, profile):
        self.set_value(profile, "name", "Riverside\x85Hospital")
        self.set_value(profile, "emergency", "call 911")
        problems = []
        load_clinic(profile, problems)
        expected = [(key_line(profile, "name"), 18), (key_line(profile, "emergency"), None)]
        assert sorted((p.line, p.column) for p in problems) == expected, problems

    def test_joiners_are_allowed_in_a_value(self, profile):
        self.set_value(profile, "name", "بیمارستان می\u200cخواهم")
        problems = []
        assert load_clinic(profile, problems) is not None, problems


def test_a_clinic_address_naming_a_file_is_never_read(tmp_path, opened):
    """Only `logo` names a file: an address that is a path is printed, never opened,
    hashed or listed among the build's inputs."""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0\n")
    clinic = tmp_path / "c"
    shutil.copytree("clinics/sample", clinic)
    text = (clinic / "clinic.toml").read_text().replace('"100 Example Avenue, Springfield"', json.dumps(str(secret)))
    (clinic / "clinic.toml").write_text(text)
    root = write_project(tmp_path / "p")
    out, err = io.StringIO(), io.StringIO()
    opened.clear()  # the test's own writes above are not the builder's
    code = cli.main(["--root", str(root), "--clinic", str(clinic / "clinic.toml"), "--format", "brief", "--paper", "a4",
                     "--jobs", "1"], out, err)
    assert code == 0, err.getvalue()
    inputs = (root / "dist" / ".handoutkit-inputs.json").read_text()
    assert "logo.svg" in inputs  # the logo is an input
    assert "secret" not in inputs
    assert any("logo.svg" in path for path in opened)  # the watch works: the logo is read
    assert not [path for path in opened if "secret" in path]


OPENED: list = []  # while a test watches: the list the audit hook adds each opened path to


def record_open(event, args):
    if OPENED and event == "open" and args:
        OPENED[0].append(str(args[0]))


@pytest.fixture
def opened():
    """The paths this process opens during the test (an audit hook, added once: hooks stay)."""
    if not getattr(sys, "_handoutkit_watching", False):
        sys.addaudithook(record_open)
        sys._handoutkit_watching = True
    OPENED[:] = [[]]
    yield OPENED[0]
    OPENED.clear()


def test_the_one_pass_scan_finds_every_character_that_is_refused():
    """invisible.SUSPECT_RE (the fast scan) and what_is_wrong (the rule) agree on every code point."""
    from handoutkit.invisible import SUSPECT_RE, what_is_wrong
    disagree = [hex(code) for code in range(0x110000)
                if (what_is_wrong(chr(code), False) is not None) != bool(SUSPECT_RE.match(chr(code)))]
    assert disagree == []


def key_line(path, key: str) -> int:
    """The line of `key = ...` in a TOML file, counted at line feeds only (as the builder does)."""
    return next(n for n, line in enumerate(path.read_text().split("\n"), 1) if line.startswith(f"{key} ="))

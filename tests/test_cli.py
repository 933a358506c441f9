"""Runs of `python build.py` as a user would type it: end to end in a new process where
the process is the point (a build, a content error), in-process through cli.main where
only the command line is (--list, a usage error, a failed target, --junit-xml)."""

import json
import subprocess

from conftest import REPO_TARGETS, run_cli, run_main, write_project


def test_list_prints_every_target():
    completed = run_main("--list")
    assert completed.returncode == 0
    assert completed.stdout.splitlines() == [t.relpath for t in REPO_TARGETS]


def test_builds_a_selection_and_writes_the_manifest(tiny, tmp_path):
    completed = run_cli("--root", tiny, "--out", tmp_path / "out", "--format", "brief", "--paper", "a4")
    assert completed.returncode == 0, completed.stderr
    assert "1 built, 0 failed" in completed.stdout
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert [e["path"] for e in manifest["targets"]] == ["demo/en/demo-brief-a4.pdf"]


def test_bad_content_gives_one_line_errors_and_builds_only_the_other_targets(tmp_path):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": "## About {#about}\n@include nope\n"})
    completed = run_cli("--root", root, "--out", tmp_path / "out")
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.splitlines()
    assert any(line.startswith("error: ") and "brief.md:2: @include 'nope'" in line for line in lines)
    assert any("required section 'when-to-call' is missing" in line for line in lines)
    assert (tmp_path / "out/demo/en/demo-card-card.pdf").is_file()  # the card's text is fine
    assert not list((tmp_path / "out").rglob("demo-brief-*.pdf"))


def test_a_failed_target_keeps_the_last_good_pdf_and_others_still_build(tiny, tmp_path):
    out = tmp_path / "out"
    assert run_main("--root", tiny, "--out", out).returncode == 0
    good = (out / "demo/en/demo-brief-a4.pdf").read_bytes()
    (tiny / "styles/brief.css").write_text("p { colour: red; }\n")  # WeasyPrint ignores it with a warning
    (tiny / "handouts/demo/en/partials/warning-signs.md").write_text("- Fever\n- Trouble breathing now\n")
    completed = run_main("--root", tiny, "--out", out)
    assert completed.returncode == 1
    assert "FAIL  demo/en/demo-brief-a4.pdf: WeasyPrint: Ignored `colour: red`" in completed.stderr
    assert "1 built, 2 failed" in completed.stdout
    assert (out / "demo/en/demo-brief-a4.pdf").read_bytes() == good
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["path"] for f in manifest["failed"]] == ["demo/en/demo-brief-a4.pdf", "demo/en/demo-brief-letter.pdf"]
    assert len(manifest["targets"]) == 3  # the failed ones keep their last good entries
    card = subprocess.run(["pdftotext", out / "demo/en/demo-card-card.pdf", "-"], capture_output=True, text=True)
    assert "Trouble breathing now" in card.stdout  # the card was rebuilt with the new text


def test_unknown_option_value_is_a_clear_error(tiny):
    completed = run_main("--root", tiny, "--paper", "a5")
    assert completed.returncode == 2
    assert "--paper 'a5' matches nothing (choose from: a4, letter, card)" in completed.stderr


def test_junit_xml_has_a_case_per_target_and_a_failure_for_each_failed_one(tiny, tmp_path):
    from xml.etree import ElementTree
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text() + "\nThis **never closes.\n")  # the audit fails the briefs
    completed = run_main("--root", tiny, "--out", tmp_path / "out", "-j", "1", "--junit-xml", tmp_path / "r.xml")
    assert completed.returncode == 1
    suite = ElementTree.parse(tmp_path / "r.xml").getroot()
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert sorted(cases) == ["demo/en/demo-brief-a4.pdf", "demo/en/demo-brief-letter.pdf", "demo/en/demo-card-card.pdf"]
    assert suite.get("tests") == "3" and suite.get("failures") == "2"
    assert cases["demo/en/demo-card-card.pdf"].find("failure") is None
    failure = cases["demo/en/demo-brief-a4.pdf"].find("failure")
    assert failure is not None and "**" in failure.text


def test_the_github_problem_matcher_finds_file_and_line_in_real_errors(tiny):
    """.github/handoutkit-problem-matcher.json turns `error: file:line: message` into
    annotations on the pull request's files."""
    import re
    from handoutkit import PROJECT_ROOT
    matchers = json.loads((PROJECT_ROOT / ".github/handoutkit-problem-matcher.json").read_text())["problemMatcher"]
    with_line, without = (re.compile(m["pattern"][0]["regexp"]) for m in matchers)
    brief = tiny / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text() + "@include nothing-here\n")
    (tiny / "handouts/demo/en/meta.toml").write_text('subtitle = "no title"\n')
    lines = [line for line in run_main("check", "--root", tiny).stderr.splitlines() if line.startswith("error:")]
    found = [with_line.match(line) for line in lines]
    assert any(m and m[1].endswith("brief.md") and m[3].startswith("@include 'nothing-here'") for m in found), lines
    unlined = [without.match(line) for line in lines if not with_line.match(line)]
    assert unlined and all(m and m[1].endswith((".md", ".toml")) for m in unlined), lines

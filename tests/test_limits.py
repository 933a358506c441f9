"""Limits: pathological input fails with one clear line, quickly; a target that needs
more memory than --memory-limit fails alone and the worker goes on."""

import time
from pathlib import Path

import re

import pytest
from PIL import Image

from conftest import run_cli, write_project
from handoutkit import target as target_module
from handoutkit import workers
from handoutkit.errors import ContentError
from handoutkit.project import Options, load_project
from handoutkit.workers import make_worker

WHEN = "\n## When to call {#when-to-call}\n@include warning-signs\n"


def brief_with(body: str) -> str:
    return "Intro for you.\n\n## About this {#about}\n" + body + "\n" + WHEN


def huge_image(folder: Path) -> str:
    Image.new("1", (20000, 20000)).save(folder / "huge.png")  # 400 MP, but only ~50 KB on disk
    return "![A chart](handouts/demo/en/huge.png)"


PATHOLOGICAL = {
    # line 4 holds the first item; the ninth level (line 12) is the first too deep
    "list nested 500 deep": (lambda d: brief_with("".join("\t" * i + "- item\n" for i in range(500))),
                             "brief.md:12: a list or quote nested 9 levels deep (at most 8)"),
    "quote nested 500 deep": (lambda d: brief_with("> " * 500 + "deep"),
                              "brief.md:4: a list or quote nested 501 levels deep (at most 8)"),
    "5 MB paragraph": (lambda d: brief_with("You read this. " * 350_000),
                       "brief.md: file is 5,250 KB, more than a handout's limit of 500 KB"),
    "20,000 x 20,000 px image": (lambda d: brief_with(huge_image(d)),
                                 "brief.md:4: image 'handouts/demo/en/huge.png' has far more than 25,000,000 pixels"),
}


@pytest.mark.parametrize("name", PATHOLOGICAL)
def test_pathological_input_fails_with_one_clear_line_in_seconds(tmp_path, name):
    make, message = PATHOLOGICAL[name]
    root = write_project(tmp_path / "p")
    (root / "handouts/demo/en/brief.md").write_text(make(root / "handouts/demo/en"))
    start = time.perf_counter()
    completed = run_cli("--root", root, "--out", tmp_path / "out", "--jobs", "1")
    assert time.perf_counter() - start < 60
    assert completed.returncode == 1, completed.stderr
    assert message in completed.stderr and "Traceback" not in completed.stderr
    assert sum(message in line for line in completed.stderr.splitlines()) == 1  # said once
    assert (tmp_path / "out/demo/en/demo-card-card.pdf").is_file()  # the build went on


def test_a_list_eight_deep_is_still_allowed(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "handouts/demo/en/brief.md").write_text(brief_with("".join("    " * i + "- item\n" for i in range(8))))
    assert load_project(Options(root)).targets


def test_memory_limit_fails_the_target_that_needs_more_and_the_worker_goes_on(tiny, monkeypatch):
    """A worker under its cap builds normally; a target that allocates past the cap fails
    with MemoryError and the cap in its message; the next target builds again."""
    options = Options(tiny, tiny / "out", jobs=1, memory_limit=vm_size_mb() + 500)
    project = load_project(options)
    worker = make_worker(options, project)
    brief, card = (next(t for t in project.targets if t.format == f) for f in ("brief", "card"))
    real_build = target_module.build_target

    def greedy(target, *args):
        if target is brief:
            bytearray(2 * 2**30)  # 2 GB: past the cap
        return real_build(target, *args)

    monkeypatch.setattr(target_module, "build_target", greedy)
    result = workers.build_one(worker, brief)
    assert result.problems == [f"MemoryError: needed more than the {options.memory_limit} MB memory limit "
                               "(--memory-limit): shorten the text or shrink its images"]
    assert workers.build_one(worker, card).ok
    bytearray(2 * 2**30)  # the cap is lifted between targets


def vm_size_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmSize:"))) // 1024


def test_a_clinic_logo_of_20000_by_20000_pixels_is_refused(tmp_path):
    from handoutkit.clinics import load_clinic
    sample = Path(__file__).parent.parent / "clinics" / "sample" / "clinic.toml"
    (tmp_path / "clinic.toml").write_text(sample.read_text().replace('logo = "logo.svg"', 'logo = "logo.png"'))
    Image.new("1", (20000, 20000)).save(tmp_path / "logo.png")
    assert (tmp_path / "logo.png").stat().st_size < 2_000_000  # small on disk: the byte limit lets it through
    problems = []
    assert load_clinic(tmp_path / "clinic.toml", problems) is None
    assert [str(p).split(": ", 1)[1] for p in problems] == [
        "'logo' = 'logo.png' has more than 25,000,000 pixels (a logo needs about 600 x 200 pixels)"]


@pytest.mark.parametrize("link, allowed", [
    ("[click](javascript:alert(1))", False), ("[x](file:///etc/passwd)", False),
    ("[x](data:text/html,<script>)", False), ("[x](JavaScript:alert(1))", False), ("[x]()", False),
    ("[x][1]\n\n[1]: javascript:alert(1)", False), ("[x](https://example.org/a)", True), ("[x](mailto:a@b.org)", True),
    ("[x](tel:+15550100)", True), ("![A chart](handouts/demo/en/x.png)", None),
])
def test_only_web_mail_and_phone_links_reach_weasyprint(tmp_path, link, allowed):
    root = write_project(tmp_path / "p")
    (root / "handouts/demo/en/brief.md").write_text(brief_with(link))
    (root / "handouts/demo/en/x.png").write_bytes((Path(__file__).parent.parent / "clinics/sample/logo.svg").read_bytes())
    try:
        load_project(Options(root))
        problems = []
    except ContentError as error:
        problems = [str(p) for p in error.problems]
    refused = [p for p in problems if "is not allowed (use https://, mailto: or tel: links" in p]
    if allowed is not None:
        assert bool(refused) == (not allowed), problems
        # The line is found by searching the source for the address (an empty one: the
        # first line of the text that has the link's brackets).
        assert all(re.search(r"brief\.md:\d+: link '", p) for p in refused), refused
        if "alert(1)" in link:
            assert any("link 'javascript:alert(1)' is not allowed" in p or "link 'JavaScript:alert(1)'" in p
                       for p in refused), refused  # the whole address, brackets and all
    else:
        assert not refused  # an image is not a link

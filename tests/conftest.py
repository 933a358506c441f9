"""Shared fixtures: tiny projects in tmp_path for unit tests, and one real build
of the repository's handouts (session-scoped) for the checks over every target."""

import math
import shutil
from collections import Counter
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

from handoutkit import PROJECT_ROOT
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build, load_project

HANDOUT_TOML = """\
id = "demo"
source_lang = "en"
version = "1.2.0"
last_reviewed = 2026-01-10
next_review = 2027-07-10
status = "draft"

[formats.card]
sections = ["warning-signs", "show-card"]

[formats.brief]
sections = ["about", "when-to-call"]

[[sources]]
short = "Smith 2020"
authors = "Smith A, et al."
title = "A study"
journal = "J Test"
year = 2020
pmid = "123"
"""

FILES = {
    "handouts/demo/handout.toml": HANDOUT_TOML,
    "handouts/demo/en/meta.toml": 'title = "Demo handout"\nsubtitle = "For tests"\n',
    "handouts/demo/en/partials/warning-signs.md": "- Fever of 38 °C (100.4 °F) or higher\n- Trouble breathing\n",
    "handouts/demo/en/card.md": textwrap.dedent("""\
        # I have received CAR-T cell therapy
        I am in a trial.

        ## Get help now if I have: {#warning-signs}
        @include warning-signs

        ## Show this card {#show-card}
        Show this card to any doctor, nurse or emergency team.
        """),
    "handouts/demo/en/brief.md": textwrap.dedent("""\
        Intro for you.

        ## About this {#about}
        You read this. It is short.

        ## When to call {#when-to-call}
        @include warning-signs
        """),
}


# A German translation of the tiny project's card (for tests of translations).
GERMAN = {
    "handouts/demo/de/meta.toml": 'title = "Demo-Merkblatt"\n\n[translation]\nsource_version = "1.2.0"\n'
                                  'status = "draft"\ntranslator = "Test"\n',
    "handouts/demo/de/partials/warning-signs.md": "- Fieber ab 38 °C (100.4 °F)\n- Atemnot\n",
    "handouts/demo/de/card.md": "# Ich habe eine CAR-T-Zelltherapie erhalten\nIch bin in einer Studie.\n\n"
                                "## Hilfe holen bei: {#warning-signs}\n@include warning-signs\n\n"
                                "## Karte zeigen {#show-card}\nZeigen Sie diese Karte.\n",
}


def write_project(root: Path, files: dict | None = None) -> Path:
    """A tiny project: the repository's templates and styles plus the given files."""
    shutil.copytree(PROJECT_ROOT / "templates", root / "templates")
    shutil.copytree(PROJECT_ROOT / "styles", root / "styles")
    for name, text in {**FILES, **(files or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def tiny(tmp_path):
    """A valid tiny project; tests change single files before loading it."""
    return write_project(tmp_path / "project")


def body_size(path, page=0):
    """The size, in pt, of most of the characters on a page: the body text.
    From pypdf's text visitor: font size times the text and graphics scales."""
    sizes = Counter()

    def visit(text, cm, tm, font, font_size):
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        sizes[round(font_size * scale, 1)] += len(text.strip())

    PdfReader(path).pages[page].extract_text(visitor_text=visit)
    return sizes.most_common(1)[0][0]


def run_cli(*args, cwd=PROJECT_ROOT):
    """Run `python build.py ...` as a user would."""
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "build.py"), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


# --- the real handouts, built once per test session ---------------------------------

def repo_targets():
    """The repository's targets; none if its content is invalid (test_repo_content says why)."""
    try:
        return load_project(Options(PROJECT_ROOT)).targets
    except ContentError:
        return []


REPO_TARGETS = repo_targets()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every target of the repository, built in-process into a temporary folder."""
    out = tmp_path_factory.mktemp("dist")
    results = build(Options(PROJECT_ROOT, out))
    return out, {r.target: r for r in results}


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory):
    """The same targets built again by the command line, in a separate process."""
    out = tmp_path_factory.mktemp("dist-again")
    completed = run_cli("--out", out, "-q")
    assert completed.returncode == 0, completed.stderr
    return out

"""Shared fixtures: tiny projects in tmp_path for unit tests, and one real build
of the repository's handouts (session-scoped) for the checks over every target."""

import fcntl
import functools
import io
import math
import os
import pickle
import shutil
from collections import Counter
from contextlib import redirect_stderr, redirect_stdout
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pypdf import PdfReader

# The body sizes remembered across builds (handoutkit/fitcache.py) live in a folder of
# this test run's own, inherited by the builds it starts: never the user's cache.
os.environ["HANDOUTKIT_CACHE"] = __import__("tempfile").mkdtemp(prefix="handoutkit-fit-")

from handoutkit import PROJECT_ROOT, cli
from handoutkit.errors import ContentError
from handoutkit.files import write_atomically
from handoutkit.pipeline import Options, build
from handoutkit.project import load_project

# The card's blanks (a handout without a card has none: remove them with the card format).
CARD_FIELDS = """\
[[card.fields]]
id = "name"
kind = "text"

[[card.fields]]
id = "team-phone"
kind = "phone"
clinic = "phone_after_hours"
side = "back"

"""

HANDOUT_TOML = """\
id = "demo"
source_lang = "en"
version = "1.2.0"
last_reviewed = 2026-01-10
next_review = 2027-07-10
status = "draft"
safety_partials = ["warning-signs"]

[roles]
help = "when-to-call"
warnings = "warning-signs"

[formats.card]
sections = ["warning-signs", "show-card"]

[formats.brief]
sections = ["about", "when-to-call"]

""" + CARD_FIELDS + """[[sources]]
short = "Smith 2020"
authors = "Smith A, et al."
title = "A study"
journal = "J Test"
year = 2020
pmid = "123"
"""

# The card's labels (handout.toml declares the fields): a language's meta.toml needs them.
CARD_LABELS = {"en": '\n[card.labels]\nname = "Name"\nteam-phone = "24-hour number"\n',
               "de": '\n[card.labels]\nname = "Name"\nteam-phone = "24-Stunden-Nummer"\n'}

FILES = {
    "handouts/demo/handout.toml": HANDOUT_TOML,
    "handouts/demo/en/meta.toml": 'title = "Demo handout"\nsubtitle = "For tests"\n' + CARD_LABELS["en"],
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
    "handouts/demo/de/meta.toml": 'title = "Demo-Merkblatt"\n' + CARD_LABELS["de"] + '\n[translation]\n'
                                  'source_version = "1.2.0"\nstatus = "draft"\ntranslator = "Test"\n',
    "handouts/demo/de/partials/warning-signs.md": "- Fieber ab 38 °C (100.4 °F)\n- Atemnot\n",
    "handouts/demo/de/card.md": "# Ich habe eine CAR-T-Zelltherapie erhalten\nIch bin in einer Studie.\n\n"
                                "## Hilfe holen bei: {#warning-signs}\n@include warning-signs\n\n"
                                "## Karte zeigen {#show-card}\nZeigen Sie diese Karte.\n",
}


FONTS = PROJECT_ROOT / "styles" / "fonts"
SHARED_SUFFIXES = (".ttf", ".otf", ".icc")  # 100 MB of font programs and the print ICC profiles; the rest is copied


def share_or_copy(source, target) -> None:
    """copytree's copy_function: a font program or ICC profile is hardlinked (no data
    written: the tiny project shares the repository's file), any other file is copied.

    Hardlinks, not symlinks: the builder's AssetFetcher resolves every path and allows only
    files under the project's own styles/ and handouts/, so a symlink into the repository's
    styles/fonts would be refused (and fail every @font-face). A hardlink is a real file in the
    tiny project. Where hardlinks are impossible (tmp on another filesystem), it is copied.
    Tests must never write into a font file in place: it would change the repository's
    (check_shared_fonts_are_untouched fails the session if one does)."""
    if str(source).endswith(SHARED_SUFFIXES):
        try:
            os.link(source, target)
            return
        except OSError:  # another filesystem, or links not allowed
            pass
    shutil.copy2(source, target)


def copy_project(source: Path, target: Path) -> Path:
    """A copy of a project folder whose font programs are shared, not copied."""
    return Path(shutil.copytree(source, target, copy_function=share_or_copy))


def write_project(root: Path, files: dict | None = None) -> Path:
    """A tiny project: the repository's templates and styles plus the given files
    (the fonts shared by hardlinks: see share_or_copy)."""
    shutil.copytree(PROJECT_ROOT / "templates", root / "templates")
    copy_project(PROJECT_ROOT / "styles", root / "styles")
    for name, text in {**FILES, **(files or {})}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="session", autouse=True)
def check_shared_fonts_are_untouched():
    """Tiny projects hardlink the repository's fonts and ICC profiles: a test that wrote
    into one in place would change the repository's file. Fail loudly if that ever happens."""
    def state():
        shared = [path for path in sorted((PROJECT_ROOT / "styles").rglob("*")) if path.name.endswith(SHARED_SUFFIXES)]
        return {str(path): (path.stat().st_size, path.stat().st_mtime_ns) for path in shared}
    before = state()
    yield
    assert state() == before, "a test changed a font or ICC file of the repository (shared by hardlink with a tiny project)"


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


@functools.lru_cache(maxsize=None)
def read_pdf(path: Path) -> PdfReader:
    """A built PDF, parsed once for all the tests that read it (the session's builds are
    never changed after they are made; callers only read the object)."""
    return PdfReader(path)


@functools.lru_cache(maxsize=None)
def page_texts(path: Path) -> tuple[str, ...]:
    """pypdf's extracted text of each page of a built PDF, extracted once per session:
    several tests search the same text, and extraction is most of their time."""
    return tuple(page.extract_text() for page in read_pdf(path).pages)


def run_cli(*args, cwd=PROJECT_ROOT):
    """Run `python build.py ...` as a user would, in a new process: for the end-to-end
    runs (and those where a crash must not take the test session with it)."""
    return subprocess.run([sys.executable, str(PROJECT_ROOT / "build.py"), *map(str, args)],
                          cwd=cwd, capture_output=True, text=True, timeout=600)


def run_main(*args):
    """The same command line, in this process: `cli.main(argv, out, err)`, the function
    build.py calls, with its output captured. Same return shape as run_cli. It costs no
    interpreter start and no imports, and a build reuses this process's warm forkserver
    instead of starting and warming up its own. (No --debug: an unexpected error is its one line, as from a process.)"""
    argv = [str(arg) for arg in args]
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):  # argparse writes to sys.stderr, then exits
        try:
            code = cli.main(argv, out, err)
        except SystemExit as end:
            code = end.code
    return subprocess.CompletedProcess(["build.py", *argv], code, out.getvalue(), err.getvalue())


# --- the real handouts, built once per test session ---------------------------------

def repo_targets():
    """The repository's targets; none if its content is invalid (test_repo_content says why)."""
    try:
        return load_project(Options(PROJECT_ROOT)).targets
    except ContentError:
        return []


REPO_TARGETS = repo_targets()


def made_once(tmp_path_factory, name: str, make):
    """(folder, make(folder)): made once per test run, however many test processes ask.

    Under pytest-xdist every test process has its own session fixtures, so a build two
    processes need was made twice. Here the first process to ask makes it in the run's
    shared temporary folder, under a lock, and writes what make returned beside it
    (pickled); a process that asks later, or meanwhile, waits for the lock and reads it.
    Waiting costs nothing: a build already keeps both cores busy with its own workers.
    Tests only read the folder (one that changes a PDF copies it first)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one test process: nothing to share
        folder = tmp_path_factory.mktemp(name)
        return folder, make(folder)
    shared = tmp_path_factory.getbasetemp().parent  # this run's, holding each process's own
    folder, done = shared / name, shared / f"{name}.pickle"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a process that failed making it left a part
            folder.mkdir()
            write_atomically(done, pickle.dumps(make(folder)))
        return folder, pickle.loads(done.read_bytes())


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """Every target of the repository, built in-process into a temporary folder, once
    per test run (made_once): {target: its Result}."""
    return made_once(tmp_path_factory, "dist", lambda out: {r.target: r for r in build(Options(PROJECT_ROOT, out))})


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory):
    """The same targets built again by the command line, in a separate process. With
    --jobs 1 that process lays out every target itself: `built` used worker processes, so
    the two builds share no process and not even a code path (and one process, not a
    forkserver and two workers, costs about a sixth less CPU)."""
    out = tmp_path_factory.mktemp("dist-again")
    completed = run_cli("--out", out, "-q", "--jobs", "1")
    assert completed.returncode == 0, completed.stderr
    return out

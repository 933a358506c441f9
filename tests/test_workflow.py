"""CI and packaging files that this machine cannot run: the GitHub workflows, the
Dockerfile, the dev container, setup.sh's apt-get and the pre-commit hook. Each is
checked here for what can be checked without GitHub, Docker or apt: the workflows by
GitHub's schema and zizmor's audit, the rest by what it installs and runs."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from handoutkit import PROJECT_ROOT

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
IMAGE = "python:3.11-bookworm"  # Debian's package names, as setup.sh expects them
PINNED = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")


def tool(name: str) -> str:
    """A command-line tool of the `test` extra: beside this Python, else on PATH. Never
    skipped: a missing tool fails the test with how to install it."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: `pip install -e '.[test]'` (scripts/setup.sh does)"
    return found


def load_yaml(path: Path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def workflow(name: str) -> dict:
    return load_yaml(PROJECT_ROOT / ".github" / "workflows" / name)


def triggers(flow: dict) -> dict:
    """The `on:` table (YAML 1.1 reads the bare key `on` as true)."""
    return flow.get("on", flow.get(True))


def all_jobs():
    return [(path.name, name, job) for path in WORKFLOWS for name, job in load_yaml(path)["jobs"].items()]


def image(job: dict) -> str | None:
    """A job's container image (`container:` is the image, or a table that names it)."""
    container = job.get("container")
    return container.get("image") if isinstance(container, dict) else container


def run_scripts(job: dict) -> list[str]:
    return [step["run"] for step in job.get("steps", []) if "run" in step]


class TestWorkflowsPassTheirCheckers:
    def test_there_are_the_build_and_release_workflows(self):
        assert [path.name for path in WORKFLOWS] == ["build.yml", "release.yml"]

    @pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
    def test_each_workflow_matches_githubs_schema(self, path):
        done = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

    def test_zizmor_finds_nothing_above_low(self):
        done = subprocess.run([tool("zizmor"), "--offline", "--min-severity", "medium", "--format", "json",
                               ".github/workflows"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
        findings = json.loads(done.stdout or "null")
        assert done.returncode == 0 and findings == [], done.stdout + done.stderr
        assert all(f"completed .github/workflows/{path.name}" in done.stderr for path in WORKFLOWS), done.stderr


class TestWorkflowRules:
    """What this project asks of its workflows beyond the checkers."""

    def test_every_action_is_pinned_by_commit_with_its_version_beside_it(self):
        for path in WORKFLOWS:
            uses = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
            assert uses and all(PINNED.match(line) for line in uses), [u for u in uses if not PINNED.match(u)]

    def test_every_job_has_a_time_limit_and_runs_its_scripts_in_debians_python_image(self):
        for file, name, job in all_jobs():
            assert isinstance(job.get("timeout-minutes"), int), f"{file}: {name} has no timeout-minutes"
            if run_scripts(job):
                assert image(job) == IMAGE, f"{file}: {name} runs scripts outside {IMAGE}"

    def test_no_expression_is_pasted_into_a_script(self):
        for file, name, job in all_jobs():
            assert not [run for run in run_scripts(job) if "${{" in run], f"{file}: {name}: use env: instead"

    def test_checkouts_keep_no_credentials(self):
        for file, name, job in all_jobs():
            for step in job.get("steps", []):
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, f"{file}: {name}"

    def test_permissions_read_only_but_where_a_job_publishes(self):
        writes = {}
        for path in WORKFLOWS:
            assert load_yaml(path)["permissions"] == {"contents": "read"}, path.name
        for file, name, job in all_jobs():
            writes.update({(file, name): job["permissions"]} if "permissions" in job else {})
        assert writes == {("release.yml", "release"): {"contents": "write"},
                          ("release.yml", "pages"): {"pages": "write", "id-token": "write"}}

    def test_a_newer_push_cancels_the_older_build_but_never_a_release(self):
        build, release = workflow("build.yml"), workflow("release.yml")
        assert build["concurrency"] == {"group": "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": True}
        assert release["concurrency"]["cancel-in-progress"] is False

    def test_shards_install_only_the_build_and_tests_run_beside_them(self):
        jobs = workflow("build.yml")["jobs"]
        for name in ("shard", "merge"):
            assert "bash scripts/setup.sh --build-only" in run_scripts(jobs[name]), name
        assert "needs" not in jobs["tests"] and run_scripts(jobs["tests"]) == ["bash .ci/run"]
        assert (PROJECT_ROOT / ".ci/run").read_text().strip().endswith(
            "bash scripts/setup.sh && .venv/bin/python -m pytest")  # the README's test command

    def test_pip_downloads_are_cached_by_pyproject_but_never_for_a_release(self):
        build = (PROJECT_ROOT / ".github/workflows/build.yml").read_text()
        assert build.count("hashFiles('pyproject.toml', 'requirements.lock')") == 3 and "tags" not in triggers(workflow("build.yml"))["push"]
        assert "actions/cache@" not in (PROJECT_ROOT / ".github/workflows/release.yml").read_text()

    def test_a_tag_builds_for_release_attaches_the_pdfs_and_publishes_the_catalog(self):
        release = workflow("release.yml")
        assert triggers(release) == {"push": {"tags": ["v*"]}}
        jobs = release["jobs"]
        assert jobs["release"]["needs"] == "tests" and jobs["pages"]["needs"] == "release"
        scripts = "\n".join(run_scripts(jobs["release"]))
        assert ".venv/bin/python build.py --release --strict --out dist" in scripts
        steps = {step.get("uses", "").split("@")[0]: step for step in jobs["release"]["steps"]}
        assert steps["softprops/action-gh-release"]["with"]["files"] == "release-files/*"
        assert steps["actions/upload-pages-artifact"]["with"]["path"] == "dist"
        assert jobs["pages"]["steps"][0]["uses"].startswith("actions/deploy-pages@")


# --- scripts/setup.sh, run with stand-ins for apt-get, dpkg-query and python3 -------------

FAKES = {
    "dpkg-query": "exit 1\n",  # nothing is installed
    "apt-get": 'echo "apt-get $*" >> "$LOG"\n',
    "sudo": '"$@"\n',
    "python3": 'mkdir -p .venv/bin && cp "$FAKE_PYTHON" .venv/bin/python\n',
}
VENV_PYTHON = 'echo "python $*" >> "$LOG"\necho "WeasyPrint 70"\n'


def bash_array(script: str, name: str) -> list[str]:
    found = re.search(rf"^{name}=\(([^)]*)\)", script, re.M)
    assert found, f"scripts/setup.sh has no {name}=(...)"
    return found[1].split()


def build_packages() -> list[str]:
    """What setup.sh installs with apt-get for building (the Dockerfile installs these too)."""
    return bash_array((PROJECT_ROOT / "scripts" / "setup.sh").read_text(), "build_packages")


@pytest.fixture
def run_setup(tmp_path):
    """Run a copy of scripts/setup.sh whose apt-get, dpkg-query and python3 only say what
    they were asked (the log); returns (completed process, the log's lines)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(PROJECT_ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in {**FAKES, "venv-python": VENV_PYTHON}.items():
        (bin_dir / name).write_text("#!/bin/sh\n" + body)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log),
           "FAKE_PYTHON": str(bin_dir / "venv-python")}

    def run(*args):
        done = subprocess.run(["bash", str(tmp_path / "scripts" / "setup.sh"), *args], env=env,
                              capture_output=True, text=True, timeout=60)
        return done, log.read_text().splitlines() if log.exists() else []
    return run


class TestSetupScript:
    def test_the_full_setup_installs_the_test_tools_and_the_test_extra(self, run_setup):
        done, log = run_setup()
        assert done.returncode == 0, done.stderr
        install = next(line for line in log if " install " in line).split()
        assert {"chromium", "poppler-utils", "qpdf", *build_packages()} <= set(install)
        assert "python -m pip install -q --disable-pip-version-check -c requirements.lock -e .[test]" in log

    def test_build_only_installs_what_building_needs_and_no_test_extra(self, run_setup):
        done, log = run_setup("--build-only")
        assert done.returncode == 0, done.stderr
        install = next(line for line in log if " install " in line).split()
        assert [word for word in install if not word.startswith("-")][2:] == [
            "python3", "python3-venv", *build_packages()]
        assert "python -m pip install -q --disable-pip-version-check -c requirements.lock -e ." in log

    def test_an_unknown_option_is_refused_before_anything_is_installed(self, run_setup):
        done, log = run_setup("--bulid-only")
        assert done.returncode == 2 and "usage: bash scripts/setup.sh [--build-only]" in done.stderr
        assert log == []


# --- the Dockerfile and the dev container --------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined and comments left out."""
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [tuple(line.split(None, 1)) for line in joined.splitlines() if line.strip()]


def apt_installs(command: str) -> list[str]:
    """The packages of each `apt-get install` in a shell command."""
    packages = []
    for part in re.split(r"&&|;|\|\|", command):
        words = shlex.split(part)
        if "apt-get" in words:
            args = [word for word in words[words.index("apt-get") + 1:] if not word.startswith("-")]
            packages += args[1:] if args[:1] == ["install"] else []
    return packages


class TestDockerfile:
    """Docker cannot run here: the image's inputs are checked instead (README, "Continuous
    integration")."""

    def test_it_installs_exactly_setup_shs_build_libraries(self):
        runs = [args for op, args in dockerfile_instructions() if op == "RUN"]
        installed = [package for command in runs for package in apt_installs(command)]
        assert installed and sorted(installed) == sorted(build_packages()), installed

    def test_it_installs_the_package_from_this_repository_and_runs_it_as_a_user(self):
        steps = dockerfile_instructions()
        ops = dict(steps)
        assert ops["FROM"] in ("python:3.11-slim-bookworm", "debian:bookworm-slim")
        assert ("COPY", ". /src") in steps
        assert any(op == "RUN" and re.search(r"\bpip install\b.* -c /src/requirements\.lock /src(\s|$)", args) for op, args in steps)
        assert ops["USER"] not in ("root", "0") and ops["WORKDIR"] == "/work"
        assert json.loads(ops["ENTRYPOINT"]) == ["handoutkit"]

    def test_the_dev_container_is_the_workflows_image_set_up_by_setup_sh(self):
        container = json.loads((PROJECT_ROOT / ".devcontainer" / "devcontainer.json").read_text())
        assert container["image"] == IMAGE and container["postCreateCommand"] == "bash scripts/setup.sh"


# --- the pre-commit hook --------------------------------------------------------------

def the_hook() -> dict:
    hooks = load_yaml(PROJECT_ROOT / ".pre-commit-hooks.yaml")
    assert [hook["id"] for hook in hooks] == ["handoutkit-check"]
    return hooks[0]


def run_hook(project: Path) -> subprocess.CompletedProcess:
    """The hook's entry as pre-commit runs it: the console script, in the project's folder,
    with this checkout's package."""
    words = shlex.split(the_hook()["entry"])
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([tool(words[0]), *words[1:]], cwd=project, env=env,
                          capture_output=True, text=True, timeout=120)


class TestPreCommitHook:
    def test_it_runs_the_console_script_once_when_content_changes(self):
        hook = the_hook()
        scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
        assert shlex.split(hook["entry"])[0] in scripts and hook["language"] == "python"
        assert hook["pass_filenames"] is False
        files = re.compile(hook["files"])
        assert files.search("handouts/car-t-lupus/en/brief.md") and files.search("clinics/sample/clinic.toml")
        assert not files.search("README.md") and not files.search("docs/handouts/x.md")

    def test_it_passes_good_content_and_fails_a_missing_section(self, tiny):
        good = run_hook(tiny)
        assert good.returncode == 0 and "content ok" in good.stdout, good.stderr
        brief = tiny / "handouts/demo/en/brief.md"
        brief.write_text(brief.read_text().replace("{#about}", "{#aboot}"))
        bad = run_hook(tiny)
        assert bad.returncode == 1 and "brief.md" in bad.stderr and "about" in bad.stderr, bad.stderr

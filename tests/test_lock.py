"""requirements.lock pins every package that pyproject.toml asks for, within its range,
so setup.sh, the image and CI install what the tests passed with."""

import tomllib
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from handoutkit import PROJECT_ROOT


def pins() -> dict:
    lines = (PROJECT_ROOT / "requirements.lock").read_text().splitlines()
    pairs = [line.split("==") for line in lines if line.strip() and not line.startswith("#")]
    assert all(len(pair) == 2 for pair in pairs), "every line is name==version"
    return {canonicalize_name(name): version for name, version in pairs}


def declared() -> list[Requirement]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in project["dependencies"] + extras]


def test_every_declared_dependency_is_pinned_within_its_range():
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in requirements.lock (run scripts/lock.sh)"
        assert requirement.specifier.contains(pinned[name], prereleases=True), \
            f"requirements.lock pins {name}=={pinned[name]}, outside {requirement.specifier}"


def test_the_packages_installed_here_are_the_pinned_ones():
    """setup.sh installs with -c requirements.lock: the environment running these tests
    has exactly the pinned versions of what the project declares."""
    pinned = pins()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert metadata.version(requirement.name) == pinned[name], name


def test_the_lock_holds_no_package_the_project_does_not_need():
    """Every pin is a declared dependency or one of theirs (not a stray from a developer's venv)."""
    needed, seen, todo = set(), set(), list(declared())
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        needed.add(name)
        for text in metadata.requires(name) or []:  # with the extras asked for (fonttools[woff])
            wanted = Requirement(text)
            extras = [""] + sorted(requirement.extras)
            if wanted.marker is None or any(wanted.marker.evaluate({"extra": e}) for e in extras):
                todo.append(wanted)
    assert set(pins()) <= needed, sorted(set(pins()) - needed)

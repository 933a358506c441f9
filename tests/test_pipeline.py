"""The pipeline's shape and its bookkeeping: no import cycle, one result type, options
that say what they change, and shrink-to-fit that lays a known size out once."""

import ast
import json
from pathlib import Path

import pytest

from conftest import write_project
from handoutkit import PROJECT_ROOT, fitcache
from handoutkit.discover import Selection
from handoutkit.incremental import output_options, plan_options
from handoutkit.model import Result, Target
from handoutkit.pipeline import Options, build

SENTENCE = "You will have tests to check that the treatment is safe for you. "
BRIEF_A4 = Selection(formats=("brief",), papers=("a4",))


def imports_of(path: Path) -> set[str]:
    """The package's own modules a module imports, at its top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found.update(name.split(".")[0] for name in names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("handoutkit."):
            found.add(node.module.split(".")[1])
    return found


def test_no_import_cycle_among_the_package_modules():
    package = PROJECT_ROOT / "handoutkit"
    graph = {p.stem: imports_of(p) & {q.stem for q in package.glob("*.py")} for p in package.glob("*.py")}
    done, path = set(), []

    def visit(module):
        if module in path:
            raise AssertionError(" -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        path.append(module)
        for other in sorted(graph[module] - {"__init__"}):
            visit(other)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_no_module_rebinds_a_function_of_another():
    """Workers get their layout hook in a Tools value, not by patching a module."""
    for path in (PROJECT_ROOT / "handoutkit").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    assert not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                                and target.value.id in ("pipeline", "target", "layout", "render")), \
                        f"{path.name}:{node.lineno} rebinds {target.value.id}.{target.attr}"


def test_run_options_never_change_the_cache_key(tmp_path):
    base = Options(tmp_path)
    for change in (dict(jobs=1), dict(memory_limit=512), dict(timeout=5), dict(force=True), dict(html=True),
                   dict(out=tmp_path / "elsewhere")):
        assert output_options(Options(tmp_path, **change)) == output_options(base), change
    assert output_options(Options(tmp_path, large_print=True)) != output_options(base)
    assert plan_options(Options(tmp_path, shard=(1, 2))) != plan_options(base)
    assert output_options(Options(tmp_path, shard=(1, 2))) == output_options(base)


def test_a_result_has_one_explicit_status():
    target = Target("demo", "en", "brief", "a4")
    current = Result.from_entry(target, {"pages": 1, "bytes": 10, "status": "approved", "body_size": 11.5})
    assert (current.status, current.ok, current.up_to_date, current.approval, current.body_size) == (
        "up-to-date", True, True, "approved", 11.5)
    assert not Result(target, ["x"], "failed").ok and Result(target, ["x"], "blocked").blocked
    with pytest.raises(AttributeError):
        current.no_such_field  # noqa: B018 (no __getattr__ that answers None to a typo)


@pytest.fixture
def fit_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HANDOUTKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / fitcache.NAME


@pytest.fixture
def long_brief(tmp_path):
    return write_project(tmp_path / "p", {"handouts/demo/en/brief.md":
                                          f"## About {{#about}}\n{SENTENCE * 62}\n\n## When {{#when-to-call}}\n"
                                          "@include warning-signs\n"})


def test_a_known_size_is_confirmed_with_one_layout(long_brief, fit_cache, tmp_path):
    [first] = build(Options(long_brief, tmp_path / "out1", selection=BRIEF_A4, jobs=1))
    assert first.ok and first.body_size in (11.5, 11) and first.layouts >= 2
    [again] = build(Options(long_brief, tmp_path / "out2", selection=BRIEF_A4, jobs=1))  # a fresh output folder
    assert (again.ok, again.body_size, again.layouts) == (True, first.body_size, 1)
    assert (tmp_path / "out1" / first.target.relpath).read_bytes() == (tmp_path / "out2" / again.target.relpath).read_bytes()


def test_a_changed_style_steps_through_the_sizes_again(long_brief, fit_cache, tmp_path):
    [first] = build(Options(long_brief, tmp_path / "out1", selection=BRIEF_A4, jobs=1))
    css = long_brief / "styles" / "brief.css"
    css.unlink()  # a linked copy: replace it, never write through it
    css.write_text((PROJECT_ROOT / "styles" / "brief.css").read_text() + "\n/* edited */\n")
    [again] = build(Options(long_brief, tmp_path / "out2", selection=BRIEF_A4, jobs=1))
    assert again.body_size == first.body_size and again.layouts == first.layouts


def test_a_size_that_no_longer_fits_is_stepped_down_from_the_top(long_brief, fit_cache, tmp_path):
    """A hint is trusted only as far as it fits: one that is too large costs nothing
    extra, and the largest size that fits is still found."""
    [first] = build(Options(long_brief, tmp_path / "out1", selection=BRIEF_A4, jobs=1))
    known = json.loads(fit_cache.read_text())
    fit_cache.write_text(json.dumps({key: fitcache.OWN_SIZE for key in known}))  # "fits at 12 pt": it does not
    [again] = build(Options(long_brief, tmp_path / "out2", selection=BRIEF_A4, jobs=1))
    assert (again.body_size, again.layouts) == (first.body_size, first.layouts)


def test_a_clinic_build_reuses_the_sizes(long_brief, fit_cache, tmp_path):
    [first] = build(Options(long_brief, tmp_path / "out1", selection=BRIEF_A4, jobs=1))
    clinic = PROJECT_ROOT / "clinics" / "sample" / "clinic.toml"
    [again] = build(Options(long_brief, tmp_path / "out2", selection=BRIEF_A4, jobs=1, clinic_file=clinic))
    assert (again.ok, again.body_size, again.layouts) == (True, first.body_size, 1)

"""The sweep: every language, format and paper of the repository, built with the
sample clinic, with a clinic profile whose every value is as long as allowed, as
fillable forms without a clinic, and in large print; every PDF must pass every
check, the audit included, and keep the body size it has without a clinic."""

import pytest

from conftest import REPO_TARGETS
from handoutkit import PROJECT_ROOT
from handoutkit.pipeline import Options, build

SWEEPS = {
    "sample clinic, large print": dict(clinic_file=PROJECT_ROOT / "clinics/sample/clinic.toml", large_print=True),
    "maximal clinic, large print, fillable": dict(clinic_file=PROJECT_ROOT / "clinics/maximal/clinic.toml",
                                                  large_print=True, fillable=True),
    "fillable, no clinic": dict(fillable=True),
}


@pytest.fixture(scope="module", params=list(SWEEPS))
def sweep(request, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    results = build(Options(PROJECT_ROOT, out, **SWEEPS[request.param]))
    return request.param, results


def test_every_target_of_the_sweep_passes_every_check(sweep):
    name, results = sweep
    regular = [r for r in results if not r.target.large_print]
    assert len(regular) == len(REPO_TARGETS) >= 42
    failed = {r.target.relpath: r.problems for r in results if not r.ok}
    assert not failed, f"{name}: {failed}"


def test_large_print_variants_are_built(sweep):
    name, results = sweep
    large = [r for r in results if r.target.large_print]
    if "large print" in name:
        assert {r.target.format for r in large} == {"brief", "standard", "booklet"}
    else:
        assert large == []


def test_fit_does_not_depend_on_the_clinic(sweep, built):
    """A text that fits without a profile fits with any: same body size, same page limit."""
    name, results = sweep
    plain = {(t.key, t.paper): r.body_size for t, r in built[1].items()}
    differ = {r.target.relpath: (plain[r.target.key, r.target.paper], r.body_size)
              for r in results if not r.target.large_print and r.body_size != plain[r.target.key, r.target.paper]}
    assert not differ, f"{name}: body size (without clinic, with) {differ}"


def test_the_maximal_profile_is_the_layout_worst_case(tmp_path):
    """clinics/maximal holds the values laid out invisibly under every contact block,
    and each of them is at its length limit."""
    from handoutkit.clinics import MAX_CHARS, WORST_CASE, load_clinic
    problems = []
    maximal = load_clinic(PROJECT_ROOT / "clinics/maximal/clinic.toml", problems)
    assert problems == []
    for key in ("name", "department", "phone", "phone_after_hours", "emergency", "url"):
        assert getattr(maximal, key) == getattr(WORST_CASE, key), key
        assert len(getattr(WORST_CASE, key)) == MAX_CHARS[key][0], key

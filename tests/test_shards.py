"""Sharding: shards are disjoint, cover every target, are balanced by cost, and merge
into the same manifest as one unsharded build."""

import argparse
import json
import random

import pytest

from conftest import run_main, write_project
from handoutkit.settings import DEFAULTS

FORMATS = DEFAULTS.formats
from handoutkit.model import Target
from handoutkit.pipeline import Options, build
from handoutkit.shards import assign_shards, expected_cost, parse_shard, select_shard
from test_incremental import FILES as BILINGUAL


def matrix(handouts=20, langs=("en", "de", "zh-Hans", "ar")) -> list[Target]:
    return [Target(f"h{i}", lang, fmt, paper) for i in range(handouts) for lang in langs
            for fmt, spec in FORMATS.items() for paper in spec.papers]


def test_parse_shard():
    assert parse_shard("2/4") == (2, 4)
    for wrong in ("0/4", "5/4", "2", "a/b", "1/0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_shard(wrong)


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_are_disjoint_cover_everything_and_keep_plan_order(count):
    targets = matrix()
    shards = [select_shard(targets, (k, count)) for k in range(1, count + 1)]
    assert sorted(t.relpath for s in shards for t in s) == sorted(t.relpath for t in targets)
    assert len({t for s in shards for t in s}) == len(targets)
    for shard in shards:
        assert shard == [t for t in targets if t in set(shard)]


def test_the_split_is_stable_whatever_order_the_targets_come_in():
    targets = matrix()
    shuffled = random.Random(5).sample(targets, len(targets))
    assert assign_shards(targets, 4) == assign_shards(shuffled, 4)


def test_shards_are_balanced_by_cost_not_count():
    targets = matrix()
    assigned = assign_shards(targets, 4)
    loads = [sum(expected_cost(t) for t in targets if assigned[t] == k) for k in range(1, 5)]
    assert max(loads) - min(loads) <= max(expected_cost(t) for t in targets)
    # A booklet costs more than a card, so equal cost is not equal count.
    assert expected_cost(Target("h", "en", "booklet", "a4")) > 2 * expected_cost(Target("h", "en", "card", "card"))
    assert expected_cost(Target("h", "zh-Hans", "card", "card")) > expected_cost(Target("h", "en", "card", "card"))


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory):
    root = write_project(tmp_path_factory.mktemp("shards") / "project", BILINGUAL)
    (root / "templates/strings/de.toml").write_text((root / "templates/strings/en.toml").read_text())
    return root


def test_sharded_builds_merge_into_the_manifest_of_an_unsharded_build(bilingual, tmp_path):
    whole = build(Options(bilingual, tmp_path / "whole", jobs=1))
    assert len(whole) == 6 and all(r.ok for r in whole)
    for k in (1, 2):
        shard = build(Options(bilingual, tmp_path / f"shard{k}", jobs=1, shard=(k, 2)))
        assert 0 < len(shard) < 6
    completed = run_main("merge", tmp_path / "shard1", tmp_path / "shard2", "--out", tmp_path / "merged",
                        "--root", bilingual)
    assert completed.returncode == 0, completed.stderr
    assert "merged 2 shards: 6 PDFs, 0 failed" in completed.stdout
    merged = (tmp_path / "merged/manifest.json").read_text()
    assert json.loads(merged) == json.loads((tmp_path / "whole/manifest.json").read_text())
    for entry in json.loads(merged)["targets"]:
        assert (tmp_path / "merged" / entry["path"]).read_bytes() == (tmp_path / "whole" / entry["path"]).read_bytes()
    # The merged folder is a build output like any other: nothing in it needs rebuilding.
    assert not any(not r.up_to_date for r in build(Options(bilingual, tmp_path / "merged", jobs=1)))


def test_list_shows_a_shard(bilingual):
    everything = run_main("--root", bilingual, "--list").stdout.split()
    halves = [run_main("--root", bilingual, "--list", "--shard", f"{k}/2").stdout.split() for k in (1, 2)]
    assert sorted(halves[0] + halves[1]) == sorted(everything) and not set(halves[0]) & set(halves[1])


def test_merge_refuses_a_folder_that_is_not_a_build_and_shards_that_disagree(tmp_path):
    assert run_main("merge", tmp_path).returncode == 2
    for name, digest in (("a", "1" * 64), ("b", "2" * 64)):
        (tmp_path / name / "h/en").mkdir(parents=True)
        (tmp_path / name / "h/en/x.pdf").write_bytes(b"%PDF-" + name.encode())
        manifest = {"targets": [{"path": "h/en/x.pdf", "sha256": digest}], "failed": []}
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest))
    completed = run_main("merge", tmp_path / "a", tmp_path / "b", "--out", tmp_path / "out")
    assert completed.returncode == 1
    assert "h/en/x.pdf differs between shards" in completed.stderr

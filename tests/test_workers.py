"""Worker processes, the per-target time limit, --html, --json and the startup check."""

import json
import logging
import os
import subprocess
import sys
import time

import pytest
from pypdf import PdfReader

from conftest import run_main
from handoutkit import pipeline, workers
from handoutkit.discover import Selection
from handoutkit.layout import collect_weasyprint_log
from handoutkit.pipeline import Options, build
from handoutkit.workers import BatchStats, LayoutHook, TargetTimeout, time_limit

CARD, BRIEF_A4, BRIEF_LETTER = "demo/en/demo-card-card.pdf", "demo/en/demo-brief-a4.pdf", "demo/en/demo-brief-letter.pdf"
# Thousands of list items: laying this brief out takes a minute (it is tried at three sizes).
SLOW_BRIEF = ("Intro for you.\n\n## About this {#about}\n"
              + "".join(f"- Item {i}: you read this short line.\n" for i in range(3000))
              + "\n## When to call {#when-to-call}\n@include warning-signs\n")


def test_time_limit_interrupts_a_runaway_target():
    start = time.perf_counter()
    with pytest.raises(TargetTimeout, match="0.2 s limit"), time_limit(0.2):
        while True:
            pass
    assert time.perf_counter() - start < 5
    with time_limit(None):  # no limit
        pass


def test_the_layout_hook_lays_out_an_html_once_for_every_variant_that_shares_it():
    calls = []
    hook = LayoutHook(lambda html, *args: calls.append(html) or f"layout of {html}")
    assert hook("<p>a</p>", "root", "fetcher", "fonts", False) == "layout of <p>a</p>"
    assert hook("<p>a</p>", "root", "fetcher", "fonts", False) == "layout of <p>a</p>"
    assert hook("<p>a</p>", "root", "fetcher", "fonts", True) == "layout of <p>a</p>"  # other options
    assert (calls, hook.reused, hook.last_html) == (["<p>a</p>", "<p>a</p>"], 1, "<p>a</p>")


def test_a_target_past_the_time_limit_fails_alone_and_keeps_its_last_good_pdf(tiny):
    out = tiny / "out"
    assert all(r.ok for r in build(Options(tiny, out, jobs=2)))
    good = (out / BRIEF_A4).read_bytes()
    (tiny / "handouts/demo/en/brief.md").write_text(SLOW_BRIEF)
    card = tiny / "handouts/demo/en/card.md"
    card.write_text(card.read_text().replace("I am in a trial.", "I am in a clinical trial."))
    start = time.perf_counter()
    results = {r.target.relpath: r for r in build(Options(tiny, out, jobs=2, timeout=5))}
    assert time.perf_counter() - start < 45  # not the minute the briefs would take
    assert results[CARD].ok and not results[CARD].up_to_date
    for brief in (BRIEF_A4, BRIEF_LETTER):
        assert results[brief].problems == ["TargetTimeout: took longer than the 5 s limit (--timeout)"]
    assert (out / BRIEF_A4).read_bytes() == good
    manifest = json.loads((out / "manifest.json").read_text())
    assert [f["path"] for f in manifest["failed"]] == [BRIEF_A4, BRIEF_LETTER]


def test_workers_are_replaced_after_their_share_of_tasks_and_report_their_memory(tiny, monkeypatch):
    monkeypatch.setattr(workers, "MAX_TASKS_PER_WORKER", 1)  # a fresh worker for every task
    stats = BatchStats()
    results = pipeline.build(Options(tiny, tiny / "out", jobs=2), stats=stats)
    assert [r.target.relpath for r in results] == [CARD, BRIEF_A4, BRIEF_LETTER]  # plan order
    assert all(r.ok for r in results)
    assert stats.jobs == 2 and len(stats.samples) == 3
    assert len({s.pid for s in stats.samples}) == 3 and os.getpid() not in {s.pid for s in stats.samples}
    assert all(s.task == 1 and 0 < s.rss_mb <= s.peak_mb for s in stats.samples)


def test_html_is_written_beside_the_pdf_and_weasyprint_turns_it_into_the_same_document(tiny, tmp_path):
    out = tmp_path / "out"
    completed = run_main("--root", tiny, "--out", out, "--html", "--format", "card", "--jobs", "1")
    assert completed.returncode == 0, completed.stderr
    html = out / CARD.replace(".pdf", ".html")
    assert "Show this card to any doctor" in html.read_text()
    # As the note at the end of the HTML says: from the project folder, with the shipped fonts.
    environment = {**os.environ, "FONTCONFIG_FILE": str(tiny / "styles/fonts/fonts.conf")}
    subprocess.run([sys.executable, "-m", "weasyprint", "--base-url", ".", html, tmp_path / "again.pdf"],
                   cwd=tiny, env=environment, check=True, capture_output=True, timeout=120)
    built, again = PdfReader(out / CARD), PdfReader(tmp_path / "again.pdf")
    assert len(again.pages) == len(built.pages) == 2
    assert again.pages[0].mediabox == built.pages[0].mediabox
    text = again.pages[0].extract_text() + again.pages[1].extract_text()
    assert "Show this card to any doctor" in " ".join(text.split())


def test_json_summary_parses(tiny, tmp_path):
    out = tmp_path / "out"
    first = json.loads(run_main("--root", tiny, "--out", out, "--json", "--jobs", "1", "--format", "card").stdout)
    assert (first["built"], first["up_to_date"], first["failed"]) == (1, 0, 0)
    assert first["targets"][0] | {"seconds": 0} == {
        "path": CARD, "status": "built", "seconds": 0, "pages": 2, "problems": [], "layouts": 1,
        "bytes": (out / CARD).stat().st_size, "sha256": first["targets"][0]["sha256"],
        "readability": json.loads((out / "manifest.json").read_text())["targets"][0]["readability"]}
    again = json.loads(run_main("--root", tiny, "--out", out, "--json", "--format", "card").stdout)
    assert (again["built"], again["up_to_date"], again["targets"][0]["status"]) == (0, 1, "up-to-date")


def test_a_missing_font_subsetter_is_said_once_and_its_per_pdf_warning_is_dropped(tiny, monkeypatch):
    monkeypatch.setattr(workers, "subsetter_available", lambda: False)  # pipeline.build asks workers
    notices = []
    card = Selection(formats=("card",))
    results = pipeline.build(Options(tiny, tiny / "out", card, jobs=1), on_notice=notices.append)
    assert notices == [pipeline.SUBSETTER_NOTICE] and all(r.ok for r in results)
    with collect_weasyprint_log() as messages:
        logging.getLogger("weasyprint").warning('Using fontTools instead of HarfBuzz-Subset for font "%s"', "X")
    assert messages == []


def test_workers_draw_the_catalog_thumbnails_before_the_manifest_is_written(tiny):
    """Pictures are drawn by the workers as each PDF is written: every thumbnail is
    older than the manifest, which is written after the last target, just before the
    catalog page (which would otherwise draw them one by one)."""
    out = tiny / "out"
    results = build(Options(tiny, out, jobs=2))
    assert results and all(r.ok for r in results)
    manifest_time = (out / "manifest.json").stat().st_mtime_ns
    for result in results:
        pdf = out / result.target.relpath
        png = out / "thumbnails" / result.target.relpath.replace(".pdf", ".png")
        assert pdf.stat().st_mtime_ns <= png.stat().st_mtime_ns < manifest_time

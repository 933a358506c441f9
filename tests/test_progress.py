"""What a build prints: a bar and a table on a terminal, plain lines in a log, JSON."""

import io
import json
from argparse import Namespace

from handoutkit.model import Result, Target
from handoutkit.progress import Reporter, json_summary
from handoutkit.workers import BatchStats, MemorySample

CARD, BRIEF, BOOKLET = (Target("demo", "en", "card", "card"), Target("demo", "en", "brief", "a4"),
                        Target("demo", "en", "booklet", "a4"))


class Terminal(io.StringIO):
    def isatty(self):
        return True


def results():
    return [Result(CARD, pages=2, size=2048, seconds=0.5, layouts=1),
            Result(BRIEF, ["needs 2 pages; the brief limit is 1"], "failed", seconds=0.7, layouts=3),
            Result.from_entry(BOOKLET, {"path": BOOKLET.relpath, "pages": 8, "bytes": 4096, "overdue": False})]


def report(out, err, **flags):
    args = Namespace(**{"quiet": False, "verbose": False, "json": False, **flags})
    reporter = Reporter(args, out, err)
    reporter.begin(2, 1)
    for result in results():
        reporter.show(result)
    reporter.finish(results(), 1.5, BatchStats(2, [MemorySample(7, 1, 200.0, 201.0), MemorySample(7, 2, 201.5, 202.0)]))


def test_a_log_gets_one_plain_line_per_built_target_and_the_summary():
    out, err = io.StringIO(), io.StringIO()
    report(out, err)
    assert out.getvalue().splitlines() == [
        "ok    demo/en/demo-card-card.pdf  2 pages  2 KiB  0.50 s",
        "1 built, 1 failed, 1 up to date, in 1.5 s",
        "  failed: demo/en/demo-brief-a4.pdf"]
    assert err.getvalue() == "FAIL  demo/en/demo-brief-a4.pdf: needs 2 pages; the brief limit is 1\n"


def test_verbose_also_lists_what_was_up_to_date():
    out = io.StringIO()
    report(out, io.StringIO(), verbose=True)
    assert "same  demo/en/demo-booklet-a4.pdf  (up to date)" in out.getvalue()


def test_a_terminal_gets_a_progress_bar_and_a_summary_table():
    out, err = Terminal(), Terminal()
    report(out, err)
    table = out.getvalue()
    assert "built" in table and "up to date" in table and "failed" in table and "1.5 s" in table
    assert "failed: demo/en/demo-brief-a4.pdf" in table
    assert "ok    demo/en/demo-card-card.pdf" not in table  # the bar counts them instead
    assert "FAIL  demo/en/demo-brief-a4.pdf" in err.getvalue()  # printed above the bar


def test_json_summary():
    out = io.StringIO()
    report(out, io.StringIO(), json=True)
    summary = json.loads(out.getvalue())
    assert (summary["built"], summary["up_to_date"], summary["failed"], summary["jobs"]) == (1, 1, 1, 2)
    assert [t["status"] for t in summary["targets"]] == ["built", "failed", "up-to-date"]
    assert summary["workers"] == [{"pid": 7, "tasks": 2, "first_rss_mb": 200.0, "middle_rss_mb": 201.5,
                                   "last_rss_mb": 201.5, "peak_mb": 202.0, "last_private_mb": 0.0}]
    assert summary == json_summary(results(), 1.5, BatchStats(2, [MemorySample(7, 1, 200.0, 201.0),
                                                                  MemorySample(7, 2, 201.5, 202.0)]))

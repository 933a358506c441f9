"""A build killed at any moment leaves every PDF complete (the old one or the new
one) and a valid manifest: everything is written to a temporary file and renamed."""

import json
import os
import signal
import subprocess
import sys
import time

from pypdf import PdfReader

from conftest import write_project
from handoutkit import PROJECT_ROOT

LONG = "Ask your care team about each step of the treatment before you start. " * 40  # no word of 3+ syllables: under the SMOG limit


def test_sigkill_mid_build_leaves_complete_files(tmp_path):
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md":
                                          f"## About {{#about}}\n{LONG}\n\n## When {{#when-to-call}}\n@include warning-signs\n"})
    out = tmp_path / "out"
    command = [sys.executable, str(PROJECT_ROOT / "build.py"), "--root", str(root), "--out", str(out), "--jobs", "1"]
    assert subprocess.run(command, capture_output=True).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")}
    # Rebuild everything and kill the build as soon as the first PDF is replaced.
    build = subprocess.Popen(command + ["--force"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(p.stat().st_mtime_ns == t for p, t in before.items()):
        time.sleep(0.005)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait()
    changed = [p for p, t in before.items() if p.stat().st_mtime_ns != t]
    assert changed and len(changed) < len(before), "the kill did not land mid-build"
    for pdf in out.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) >= 1  # complete: pypdf reads it to the end
    json.loads((out / "manifest.json").read_text())


def test_ctrl_c_in_this_process_records_what_was_built_and_the_next_build_finishes_the_rest(tiny):
    """--jobs 1: Ctrl-C while the first PDF is written and reported waits until that is
    done, then stops the build. The catalog is left to the next build, which is not a
    no-op: it builds the rest and writes the catalog."""
    out = tiny / "out"

    def press_ctrl_c(result):
        os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        build(Options(tiny, out, jobs=1), on_result=press_ctrl_c)
    on_disk = pdfs(out)
    assert len(on_disk) == 1
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["path"]: e["sha256"] for e in manifest["targets"]} == {
        path: hashlib.sha256((out / path).read_bytes()).hexdigest() for path in on_disk}
    assert not (out / "index.html").exists() and no_temporary_files(out)
    results = build(Options(tiny, out, jobs=1))
    assert sorted(r.status for r in results) == ["built", "built", "up-to-date"]
    assert (out / "index.html").is_file()

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

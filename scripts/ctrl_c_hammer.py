"""Press Ctrl-C on many builds at random moments and count the ones that did not end as
promised (exit 130 and one `interrupted:` line). A reproducer for lost Ctrl-Cs, not a test:
it takes about 5 s a build.

    PYTHONPATH=$PWD .venv/bin/python scripts/ctrl_c_hammer.py RUNS SEED [MODES]

Each run builds a tiny project (ten targets) on two workers into a fresh folder and sends
SIGINT, to the build's process group or to the build alone, at a moment MODES picks:
`pdf` 0-0.4 s after the first PDF appears, `start` 0-4 s after the start, `end` 0-END_SPAN
s (environment, default 0.3) after the catalog, the last file, appears. One JSON line per
run, then `BAD n of RUNS`. A run whose build had ended before the SIGINT is not judged."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import GERMAN, write_project  # noqa: E402 (the tests' tiny project)

from handoutkit import PROJECT_ROOT  # noqa: E402

TEN_TARGETS = {**GERMAN, "handouts/demo/de/brief.md": "Einleitung.\n\n## Darum geht es {#about}\nSie lesen das. "
               "Es ist kurz.\n\n## Wann anrufen {#when-to-call}\n@include warning-signs\n"}


def as_from_a_terminal() -> None:
    """SIGINT neither ignored nor blocked, whatever this script inherited (`cmd &` ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def wait_until(condition, process) -> None:
    while not condition() and process.poll() is None:
        time.sleep(0.002)


def run_once(root: Path, out: Path, mode: str, delay: float, to_group: bool) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, str(PROJECT_ROOT / "build.py"), "--root", str(root), "--out", str(out),
               "--jobs", "2", "--large-print"]
    build = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=as_from_a_terminal)
    if mode == "pdf":
        wait_until(lambda: any(out.rglob("*.pdf")), build)
    elif mode == "end":
        wait_until(lambda: (out / "index.html").exists(), build)
    time.sleep(delay)
    alive = build.poll() is None
    if alive:
        (os.killpg if to_group else os.kill)(build.pid, signal.SIGINT)
    _, stderr = build.communicate(timeout=300)
    return {"mode": mode, "delay": round(delay, 3), "group": to_group, "alive": alive, "rc": build.returncode,
            "pdfs": len(list(out.rglob("*.pdf"))), "stderr": stderr.strip()[-300:]}


def as_promised(run: dict) -> bool:
    lines = run["stderr"].splitlines()
    return not run["alive"] or (run["rc"] == 130 and len(lines) == 1 and lines[0].startswith("interrupted"))


def main(runs: int, seed: int, modes: str = "pdf,pdf,start") -> int:
    random.seed(seed)
    spans = {"pdf": 0.4, "start": 4.0, "end": float(os.environ.get("END_SPAN", "0.3"))}
    work = Path(tempfile.mkdtemp(prefix="ctrl-c-hammer-"))
    root, bad = write_project(work / "project", TEN_TARGETS), 0
    for number in range(runs):
        mode = random.choice(modes.split(","))
        run = run_once(root, work / "out", mode, random.uniform(0, spans[mode]), random.random() < 0.5)
        bad += not as_promised(run)
        print(json.dumps({"run": number, "ok": as_promised(run), **run}), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print(f"BAD {bad} of {runs}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]))

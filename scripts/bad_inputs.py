"""Run the builder on every kind of bad input we know of and print what it says.

    .venv/bin/python scripts/bad_inputs.py > docs/bad-inputs.md

Each case starts from the tests' tiny project (tests/conftest.py), breaks one
thing, runs `build.py` as a user would and records the exit code and the lines
it printed for the problem. The tests (tests/test_bad_input.py, test_limits.py,
test_hardening.py, test_clinic_and_variants.py) assert these messages; this
script only shows them all in one table, for authors and reviewers.
"""

import hashlib
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CARD_LABELS, GERMAN, HANDOUT_TOML, write_project  # noqa: E402

BRIEF = "Intro for you.\n\n## About this {#about}\nBODY\n\n## When to call {#when-to-call}\n@include warning-signs\n"
SAMPLE_CLINIC = ROOT / "clinics" / "sample"


def brief(body: str) -> dict:
    return {"handouts/demo/en/brief.md": BRIEF.replace("BODY", body)}


def clinic(root: Path, change=None, logo=None) -> list:
    folder = root / "clinic"
    shutil.copytree(SAMPLE_CLINIC, folder)
    text = (folder / "clinic.toml").read_text()
    (folder / "clinic.toml").write_text(text.replace(*change) if change else text)
    if logo:
        logo(folder)
    return ["--clinic", folder / "clinic.toml"]


def foreign_folder(root: Path) -> list:
    """--out at a folder handoutkit did not make (a website, say)."""
    (root / "site").mkdir()
    (root / "site/index.html").write_text("<h1>my site</h1>")
    return ["--out", root / "site"]


def edited_manifest(root: Path) -> list:
    """dist/ from an earlier build, its manifest edited to name a file outside it."""
    (root / "dist").mkdir()
    (root / "dist/.handoutkit-output").write_text("")
    entry = {"path": "/etc/passwd", "sha256": "0" * 64, "handout": "demo", "lang": "en", "format": "brief",
             "paper": "a4", "title": "Demo", "pages": 1, "bytes": 1}
    (root / "dist/manifest.json").write_text(json.dumps({"targets": [entry], "failed": []}))
    return []


def edited_record(root: Path) -> list:
    """dist/ from an earlier build, its record of written files edited to name a file outside it."""
    (root / "dist").mkdir()
    (root / "dist/.handoutkit-output").write_text("")
    (root / "outside.png").write_bytes(b"\x89PNG")
    (root / "dist/.handoutkit-written.json").write_text(json.dumps({"files": ["../outside.png"]}))
    return []


def hand_placed_index(root: Path) -> list:
    """dist/ of the builder, with an index.html of someone else's that its record does not name."""
    (root / "dist").mkdir()
    (root / "dist/.handoutkit-output").write_text("")
    (root / "dist/.handoutkit-written.json").write_text(json.dumps({"files": []}))
    (root / "dist/index.html").write_text("<h1>our ward's own page</h1>")
    return []


def shard(root: Path, name: str, data: bytes = b"%PDF-1.7 x") -> Path:
    """A shard's output folder holding one PDF, listed with its SHA-256."""
    folder = root / name
    (folder / "demo/en").mkdir(parents=True)
    (folder / "demo/en/demo-brief-a4.pdf").write_bytes(data)
    entry = {"path": "demo/en/demo-brief-a4.pdf", "sha256": hashlib.sha256(data).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps({"targets": [entry], "failed": []}))
    (folder / ".handoutkit-output").write_text("")
    return folder


def merge(*folders: Path) -> list:
    return ["merge", *folders, "--out", folders[0].parent / "merged"]


def merge_changed(root: Path) -> list:
    folder = shard(root, "shard1")
    (folder / "demo/en/demo-brief-a4.pdf").write_bytes(b"%PDF-1.7 changed")
    return merge(folder)


def merge_missing(root: Path) -> list:
    folder = shard(root, "shard1")
    (folder / "demo/en/demo-brief-a4.pdf").unlink()
    return merge(folder)


def merge_link(root: Path) -> list:
    folder = shard(root, "shard1")
    (root / "elsewhere.pdf").write_bytes((folder / "demo/en/demo-brief-a4.pdf").read_bytes())
    (folder / "demo/en/demo-brief-a4.pdf").unlink()
    (folder / "demo/en/demo-brief-a4.pdf").symlink_to(root / "elsewhere.pdf")
    return merge(folder)


def merge_not_json(root: Path) -> list:
    folder = shard(root, "shard1")
    (folder / "manifest.json").write_text("{")
    return merge(folder)


def image(name: str, make) -> tuple:
    def setup(root: Path) -> list:
        make(root / "handouts/demo/en" / name)
        return []
    return brief(f"![A chart](handouts/demo/en/{name})"), setup


CASES = [
    ("TOML syntax error", {"handouts/demo/en/meta.toml": 'title = "Demo"\nsubtitle = "open\n'}, None),
    ("unknown status in handout.toml", {"handouts/demo/handout.toml": HANDOUT_TOML.replace('"draft"', '"final"')}, None),
    ("unknown key in handout.toml", {"handouts/demo/handout.toml": HANDOUT_TOML + 'colour = "red"\n'}, None),
    ("review date not a date", {"handouts/demo/handout.toml": HANDOUT_TOML.replace("2027-07-10", '"soon"')}, None),
    ("unknown language", {}, lambda root: ["--lang", "xx"]),
    ("unknown format", {}, lambda root: ["--format", "poster"]),
    ("unknown paper", {}, lambda root: ["--paper", "a5"]),
    ("unknown handout", {}, lambda root: ["--handout", "nope"]),
    ("translation file missing", GERMAN, None),  # German has a card, no brief
    ("interface string missing", {}, lambda root: (root / "templates/strings/en.toml").write_text(
        (root / "templates/strings/en.toml").read_text().replace("\nversion =", "\nversio =", 1)) and []),
    ("two handouts with one id", {}, lambda root: shutil.copytree(root / "handouts/demo", root / "handouts/demo2") and []),
    ("not UTF-8", {}, lambda root: (root / "handouts/demo/en/brief.md").write_bytes(b"Caf\xe9\n") and []),
    ("unreadable file (a folder)", {"handouts/demo/en/brief.md": None},
     lambda root: (root / "handouts/demo/en/brief.md").mkdir() or []),
    ("section heading without id", brief("## Risks\nText."), None),
    ("unknown directive", brief("@shout loud"), None),
    ("indented @include", brief("  @include warning-signs"), None),
    ("unclosed bold (printed as **)", brief("You **must read this."), None),
    ("heading id without its closing brace", brief("### Risks {#risks\nText."), None),
    ("missing partial", brief("@include nope"), None),
    ("character the fonts lack", brief("Call us \U0001F4DE."), None),
    ("bidi override in a text", brief("Take 1\u202e0 tablets a day."), None),
    ("zero-width space as a character reference", brief("Call&#x200B;us."), None),
    ("ZWNJ in an English text", brief("Half\u200cway."), None),
    ("control character in a title (TOML escape)", {"handouts/demo/en/meta.toml": 'title = "Demo\\u0007"\n' + CARD_LABELS["en"]},
     None),
    ("bidi isolate in an interface string", {}, lambda root: (root / "templates/strings/en.toml").write_text(
        (root / "templates/strings/en.toml").read_text().replace('\nversion = "', '\nversion = "\u2067', 1)) and []),
    ("profile: bidi override in a value", {}, lambda root: clinic(root, ('name = ', 'name = "Riverside \u202eHospital" #'))),
    ("raw HTML", brief("<script>alert(1)</script> <b onclick=x>bold</b>"), None),
    ("javascript: link", brief("[click](javascript:alert(1))"), None),
    ("file: link", brief("[passwords](file:///etc/passwd)"), None),
    ("image outside handouts/", brief("![A chart](/etc/hostname)"), None),
    ("image ../ path", brief("![A chart](handouts/../styles/fonts/OFL.txt)"), None),
    ("image on the web", brief("![A chart](https://example.org/x.png)"), None),
    ("image missing", brief("![A chart](handouts/demo/en/none.png)"), None),
    ("image not an image", *image("fake.png", lambda p: p.write_text("not a picture"))),
    ("image over 5 MB", *image("big.png", lambda p: p.write_bytes(b"\x89PNG" + bytes(6_000_000)))),
    ("image 20,000 x 20,000 px", *image("huge.png", lambda p: Image.new("1", (20000, 20000)).save(p))),
    ("SVG with an external entity", *image("x.svg", lambda p: p.write_text(
        '<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'))),
    ("SVG pulling in a 20,000 x 20,000 px PNG", *image("chart.svg", lambda p: (
        Image.new("1", (20000, 20000)).save(p.parent / "huge.png"),
        p.write_text('<svg xmlns="http://www.w3.org/2000/svg"><image href="huge.png" width="9" height="9"/></svg>')))),
    ("image without alt text", brief("![](handouts/demo/en/ok.png)"),
     lambda root: Image.new("RGB", (10, 10)).save(root / "handouts/demo/en/ok.png") or []),
    ("symlink out of the project", brief("![A chart](handouts/demo/en/link.png)"),
     lambda root: (root / "handouts/demo/en/link.png").symlink_to("/etc/hostname") or []),
    ("list nested 500 deep", brief("".join("\t" * i + "- item\n" for i in range(500))), None),
    ("quote nested 500 deep", brief("> " * 500 + "deep"), None),
    ("5 MB paragraph", brief("You read this. " * 350_000), None),
    ("template syntax error", {}, lambda root: (root / "templates/brief.html").write_text(
        '{% extends "base.html" %}\n{% block header %}{{ oops }\n{% endblock %}\n') and []),
    ("text over its page limit", brief("".join(f"- Item {i}: you read this line.\n" for i in range(120))),
     lambda root: ["--timeout", "60"]),
    ("target past the time limit", brief("".join(f"- Item {i}: you read this short line.\n" for i in range(3000))),
     lambda root: ["--timeout", "3"]),
    ("draft with --release", {}, lambda root: ["--release"]),
    ("overdue review with --release", {"handouts/demo/handout.toml": HANDOUT_TOML.replace(
        "2026-01-10", "2024-06-01").replace("2027-07-10", "2025-01-01")},
     lambda root: ["--release"]),
    ("stale translation with --strict", {**GERMAN, "handouts/demo/de/brief.md": BRIEF.replace("BODY", "Text.")},
     lambda root: ["--strict"]),
    ("profile: bad phone number", {}, lambda root: clinic(root, ('emergency = "911"', 'emergency = "call 911"'))),
    ("profile: not a web address", {}, lambda root: clinic(root, ('url = "https://example.org/lupus-car-t"',
                                                                   'url = "javascript:alert(1)"'))),
    ("profile: logo outside its folder", {}, lambda root: clinic(root, ('logo = "logo.svg"', 'logo = "../../etc/passwd"'))),
    ("profile: logo 20,000 x 20,000 px", {}, lambda root: clinic(root, ('logo = "logo.svg"', 'logo = "logo.png"'),
                                                                 lambda f: Image.new("1", (20000, 20000)).save(f / "logo.png"))),
    ("profile: name over its length limit", {}, lambda root: clinic(root, ('name = ', 'name = "' + "Saint " * 12 + '" #'))),
    ("profile: value that looks like code", {}, lambda root: clinic(root, ('name = ', 'name = "{{ 7*7 }} <b>x</b>" #'))),
    ("output folder cannot be written", {}, lambda root: (root / "blocked").write_text("a file") and
     ["--out", root / "blocked" / "dist"]),
    ("output folder someone else's (no .handoutkit-output)", {}, foreign_folder),
    ("manifest entry with a path outside the output folder", {}, edited_manifest),
    ("record of written files naming a file outside the output folder", {}, edited_record),
    ("a file put by hand at a name the build writes (`dist/index.html`, not in the record)", {}, hand_placed_index),
    ("merge: PDF changed after the build", {}, merge_changed),
    ("merge: PDF listed but missing", {}, merge_missing),
    ("merge: PDF that is a symbolic link", {}, merge_link),
    ("merge: shards that disagree", {}, lambda root: merge(shard(root, "shard1"), shard(root, "shard2", b"%PDF-1.7 y"))),
    ("merge: manifest that is not JSON", {}, merge_not_json),
    ("card field of an unknown kind", {"handouts/demo/handout.toml": HANDOUT_TOML.replace('kind = "text"', 'kind = "number"')},
     None),
    ("card label missing in a translation", {**GERMAN, "handouts/demo/de/meta.toml": GERMAN["handouts/demo/de/meta.toml"]
                                             .replace('team-phone = "24-Stunden-Nummer"\n', "")}, None),
    ("figure with a label fewer than its source", {
        "handouts/demo/handout.toml": HANDOUT_TOML.replace("[[sources]]", '[figures.steps]\nkind = "steps"\nsection = '
                                                           '"about"\nformats = ["brief"]\n\n[[sources]]'),
        "handouts/demo/en/meta.toml": 'title = "Demo"\n' + CARD_LABELS["en"] + '\n[figures.steps]\nalt = "Steps"\n'
                                      'labels = ["Tests", "Treatment", "Checkups"]\n',
        **GERMAN, "handouts/demo/de/meta.toml": GERMAN["handouts/demo/de/meta.toml"].replace(
            "\n[translation]", '\n[figures.steps]\nalt = "Schritte"\nlabels = ["Tests", "Behandlung"]\n\n[translation]')},
     None),
]


# Inputs that are not errors: what the builder does with them instead.
NOT_ERRORS = {
    "raw HTML": "builds; the tags are printed as text, never interpreted",
    "profile: value that looks like code": "builds; `{{ 7*7 }} <b>x</b>` is printed literally",
    "manifest entry with a path outside the output folder": "builds; the entry is ignored, with a warning",
    "record of written files naming a file outside the output folder": "builds; the entry is ignored (nothing is deleted), with a warning",
}


# Requests the authors' preview (`build.py serve`) refuses (tests/test_serve_hardening.py).
PREVIEW_REQUESTS = [
    ("another site's name in Host (DNS rebinding)", "GET / HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n"),
    ("no Host header", "GET / HTTP/1.0\r\n\r\n"),
    ("hidden file", "GET /.handoutkit-inputs.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    ("folder without index.html", "GET /demo/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    ("../ out of the folder", "GET /demo/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    ("NUL in the path", "GET /%00 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"),
    ("malformed request line", "GARBAGE\r\n\r\n"),
]


def preview_table() -> None:
    """Each refused request sent to a preview server of an output folder, and its answer."""
    from handoutkit.serve import make_server
    print("\n## Requests the preview refuses\n")
    print("`build.py serve` answers these with an error and a short page, and prints nothing.\n")
    print("| request | status | the page says |\n|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "demo").mkdir()
        (Path(folder) / ".handoutkit-inputs.json").write_text("{}")
        server = make_server(Path(folder), 0, {"version": 0})
        threading.Thread(target=server.serve_forever, daemon=True).start()
        for name, raw in PREVIEW_REQUESTS:
            status, page = answer(server.server_address[1], raw)
            explained = re.search(r"explanation: \d+ - (.*?)</p>", page)
            said = (explained[1] if explained else "").replace(str(server.server_address[1]), "PORT")
            print(f"| {name} | {status} | {said} |")
        server.shutdown()
        server.server_close()


def answer(port: int, raw: str) -> tuple[str, str]:
    """The status line and the page the server answers to raw."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw.format(port=port).encode())
        response = b"".join(iter(lambda: sock.recv(65536), b"")).decode("utf-8", "replace")
    head, _, page = response.partition("\r\n\r\n")
    return head.split("\r\n")[0].split(" ", 1)[1], page


def run_case(name: str, files: dict, setup) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory() as folder:
        root = write_project(Path(folder) / "p", files)
        args = [str(arg) for arg in (setup(root) if setup else None) or []]
        # `merge DIR...` is a command of its own; anything else builds the brief.
        command = args + ["--root", root] if args[:1] == ["merge"] else [
            "--root", root, "--jobs", "1", "--format", "brief", "--paper", "a4", *args]
        completed = subprocess.run([sys.executable, str(ROOT / "build.py"), *map(str, command)],
                                   capture_output=True, text=True, timeout=300, cwd=root)
        lines = (completed.stderr + completed.stdout).replace(str(root) + "/", "").splitlines()
        # What is not an error may still be worth a warning (NOT_ERRORS): show it.
        shown = ("error", "FAIL", "build.py: error") + (("warning",) if name in NOT_ERRORS else ())
        said = list(dict.fromkeys(line for line in lines if line.startswith(shown)
                                  and "not built, because" not in line))
        return completed.returncode, said or [line for line in lines if "built," in line]


def main() -> None:
    print("# Bad input and what the builder says\n")
    print("Made by `scripts/bad_inputs.py` (each case: the tests' tiny project with one thing broken, "
          "built with `build.py --format brief --paper a4`, or joined with `build.py merge`). Exit code 1 = bad content or a failed "
          "target (the other targets still build), 2 = bad command line.\n")
    print("| bad input | exit | what it says |\n|---|---|---|")
    for name, files, setup in CASES:
        code, said = run_case(name, files, setup)
        cell = "<br>".join(f"`{line}`" for line in said[:4]).replace("|", "\\|")
        cell = f"{NOT_ERRORS[name]}: {cell}" if name in NOT_ERRORS else cell
        print(f"| {name} | {code} | {cell} |", flush=True)
    preview_table()


if __name__ == "__main__":
    main()

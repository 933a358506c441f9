"""Hardening: nothing leaves the project's asset folders, the network is never
reached, output problems are said in one line."""

import http.server
import os
import shutil
import signal
import threading

import pytest

from conftest import run_main, write_project
from handoutkit import PROJECT_ROOT
from handoutkit.clinics import load_clinic
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.pipeline import Options, build
from handoutkit.project import load_project

BRIEF_A4 = Selection(formats=("brief",), papers=("a4",))


@pytest.fixture
def server():
    """A local HTTP server that counts the requests it gets (there must be none)."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"p { color: red }")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", hits
    httpd.shutdown()


def build_with_css(tmp_path, css):
    root = write_project(tmp_path / "p")
    (root / "styles/brief.css").write_text(css)
    [result] = build(Options(root, tmp_path / "out", BRIEF_A4, jobs=1))
    return root, result


def test_network_is_never_reached(tmp_path, server):
    url, hits = server
    _, result = build_with_css(tmp_path, f'@import url("{url}/x.css");\n'
                                         f'@font-face {{ font-family: X; src: url("{url}/f.ttf") }}\n'
                                         f'body {{ background: url("{url}/b.png") }}\n')
    assert hits == []
    assert not result.ok and all("disallowed protocol" in p for p in result.problems if url in p)


@pytest.mark.parametrize("css", [
    '@import url("file:///etc/passwd");',
    '@font-face { font-family: X; src: url("../../../../../../etc/hostname") } p { font-family: X }',
    'body { background: url("/etc/hostname") }',
])
def test_files_outside_the_asset_folders_are_refused(tmp_path, css):
    _, result = build_with_css(tmp_path, css)
    assert not result.ok
    # WeasyPrint reports a refused font as a font that cannot be loaded.
    refused = ("blocked file:///etc/", "Font-face 'X' cannot be loaded")
    assert any(r in p for p in result.problems for r in refused), result.problems


def test_symlink_out_of_the_assets_is_refused(tmp_path):
    root = write_project(tmp_path / "p")
    (root / "styles/escape.css").symlink_to("/etc/hostname")
    (root / "styles/brief.css").write_text('@import url("escape.css");')
    [result] = build(Options(root, tmp_path / "out", BRIEF_A4, jobs=1))
    assert any("blocked file:///" in p and "escape.css" in p for p in result.problems), result.problems


def test_output_folder_that_cannot_be_written(tiny, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    completed = run_main("--root", tiny, "--out", blocker / "dist")
    assert completed.returncode == 2
    assert "error: cannot write to the output folder" in completed.stderr and "Traceback" not in completed.stderr


def test_attribute_lists_cannot_add_styles_handlers_or_attachments():
    from handoutkit.content import to_html
    html = str(to_html('[x](https://a.org){: rel=attachment onclick="y" style="color:red" class=c}\n\n'
                       'para\n{: style="background: url(file:///etc/passwd)" }\n\n## Kept {#kept}\n\n'
                       '| a | b |\n|:-|-:|\n| 1 | 2 |\n'))
    for banned in ("attachment", "onclick", "color:red", "file:", 'class="c"'):
        assert banned not in html
    assert '<a href="https://a.org">x</a>' in html and '<h2 id="kept">' in html
    assert '<th style="text-align: left;">a</th>' in html  # table alignment stays


# --- only regular files inside the project are read ----------------------------------

class Blocked(Exception):
    """Not an OSError (TimeoutError is one): no `except OSError` in the builder hides it."""


@pytest.fixture
def deadline():
    """Fail a test that blocks (a FIFO opened for reading waits for a writer forever)."""
    def expire(*_):
        raise Blocked("blocked for 20 s: a FIFO or device file was opened")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def make_unsafe(path, kind, secret):
    """Replace path by a link out of the project, a FIFO or a link to a device."""
    path.unlink(missing_ok=True)
    if kind == "link out":
        path.symlink_to(secret)
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")


UNSAFE = {"link out": "outside handouts/", "fifo": "is not a regular file", "device": "outside handouts/"}
CONTENT_FILES = ["handouts/demo/handout.toml", "handouts/demo/en/meta.toml", "handouts/demo/en/brief.md",
                 "handouts/demo/en/partials/warning-signs.md"]


@pytest.mark.parametrize("kind", UNSAFE)
@pytest.mark.parametrize("name", CONTENT_FILES)
def test_content_that_is_not_a_regular_file_inside_the_project_is_refused(tmp_path, deadline, name, kind):
    root = write_project(tmp_path / "p")
    secret = tmp_path / "secret.md"
    secret.write_text("SECRET-TEXT\n")
    make_unsafe(root / name, kind, secret)
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    problems = [str(p) for p in caught.value.problems]
    assert any(f"{name}: " in p and UNSAFE[kind] in p and p.endswith(")") for p in problems), problems
    assert not any("SECRET-TEXT" in p for p in problems)


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_fifo_or_device_among_the_inputs_never_hangs_the_build(tmp_path, deadline, kind):
    """Every file under handouts/, styles/ and templates/ is hashed for incremental builds:
    a FIFO or /dev/zero there is skipped, not read."""
    root = write_project(tmp_path / "p")
    for name in ("handouts/demo/en/picture.png", "styles/extra.css", "templates/extra.txt"):
        make_unsafe(root / name, kind, None)
    [result] = build(Options(root, tmp_path / "out", BRIEF_A4, jobs=1))
    assert result.ok, result.problems
    [again] = build(Options(root, tmp_path / "out", BRIEF_A4, jobs=1))  # the no-op rebuild hashes them too
    assert again.ok


@pytest.mark.parametrize("kind", UNSAFE)
def test_a_template_that_is_not_a_regular_file_inside_templates_is_refused(tmp_path, deadline, kind):
    root = write_project(tmp_path / "p")
    secret = tmp_path / "secret.html"
    secret.write_text("SECRET-TEXT")
    make_unsafe(root / "templates/brief.html", kind, secret)
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    wanted = UNSAFE[kind].replace("handouts/", "templates/")
    assert any("templates/brief.html: " in str(p) and wanted in str(p) for p in caught.value.problems), \
        [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("kind", UNSAFE)
def test_a_clinic_profile_or_logo_that_is_not_a_regular_file_in_its_folder_is_refused(tmp_path, deadline, kind):
    folder = tmp_path / "clinic"
    folder.mkdir()
    secret = tmp_path / "secret.toml"
    secret.write_text('id = "x"\n')
    shutil.copy(PROJECT_ROOT / "clinics/sample/clinic.toml", folder / "clinic.toml")
    make_unsafe(folder / "clinic.toml", kind, secret)
    problems = []
    assert load_clinic(folder / "clinic.toml", problems) is None
    assert any("clinic.toml: " in str(p) and UNSAFE[kind].replace("handouts/", "clinic/") in str(p)
               for p in problems), [str(p) for p in problems]
    shutil.copy(PROJECT_ROOT / "clinics/sample/clinic.toml", folder / "clinic.toml.new")
    (folder / "clinic.toml").unlink()
    (folder / "clinic.toml.new").rename(folder / "clinic.toml")
    make_unsafe(folder / "logo.svg", kind, PROJECT_ROOT / "clinics/sample/logo.svg")
    problems = []
    assert load_clinic(folder / "clinic.toml", problems) is None
    assert any("'logo' = 'logo.svg'" in str(p) for p in problems), [str(p) for p in problems]


# --- identifiers: handout folders, clinic ids, language folders -------------------------

def content_problems(root):
    with pytest.raises(ContentError) as caught:
        load_project(Options(root))
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("name", ["manifest.json", "index.html", "thumbnails", "Demo", "-demo", "x" * 65])
def test_a_handout_folder_name_that_is_not_an_id_is_refused(tmp_path, name):
    root = write_project(tmp_path / "p")
    (root / "handouts/demo").rename(root / "handouts" / name)
    toml = root / "handouts" / name / "handout.toml"
    toml.write_text(toml.read_text().replace('id = "demo"', f'id = "{name}"'))
    problems = content_problems(root)
    assert any(p.startswith(f"{(root / 'handouts' / name)}: handout folder name '{name}'") for p in problems), problems
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("clinic_id", ["sample\\n", "thumbnails"])
def test_a_clinic_id_that_is_not_an_id_is_refused(tmp_path, clinic_id):
    folder = tmp_path / "clinic"
    shutil.copytree(PROJECT_ROOT / "clinics/sample", folder)
    text = (folder / "clinic.toml").read_text()
    (folder / "clinic.toml").write_text(text.replace('id = "sample-clinic"', f'id = "{clinic_id}"'))
    problems = []
    assert load_clinic(folder / "clinic.toml", problems) is None
    assert any("clinic.toml:" in str(p) and ("must be lower-case letters" in str(p) or "output folders" in str(p))
               for p in problems), [str(p) for p in problems]


@pytest.mark.parametrize("tag", ["EN", "en-us", "en_US", "en-GB-oxendict", "xx", "en-"])
def test_a_language_folder_that_is_not_a_bcp47_tag_is_refused(tmp_path, tag):
    root = write_project(tmp_path / "p")
    shutil.copytree(root / "handouts/demo/en", root / "handouts/demo" / tag)
    problems = content_problems(root)
    assert any(p.startswith(f"{root / 'handouts/demo' / tag}: language folder '{tag}' is not a BCP 47 tag")
               for p in problems), problems



# --- links and images are checked on the HTML that Markdown made --------------------------

def text_problems(tmp_path, markdown, make_files=None):
    """The problems of the tiny project whose brief holds `markdown` from line 6 on."""
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": "Intro.\n\n## About this {#about}\nText.\n\n"
                                          + markdown + "\n\n## When to call {#when-to-call}\n@include warning-signs\n"})
    if make_files:
        make_files(root / "handouts/demo/en")
    return [p.split("/p/", 1)[-1] for p in content_problems(root)]


@pytest.mark.parametrize("markdown, address, line", [
    ("See [the page][1].\n\n[1]: javascript:alert(1)", "'javascript:alert(1)'", 8),
    ("See [the page][].\n\n[the page]:\n  file:///etc/passwd", "'file:///etc/passwd'", 9),
    ("<file:///etc/passwd>", "'file:///etc/passwd'", 6),
    ("<ftp://example.org/a>", "'ftp://example.org/a'", 6),
    ("[a](<javascript:x>)", "'javascript:x'", 6),
    ("[a](  <data:text/html,x>  )", "'data:text/html,x'", 6),
    ("[a](&#106;avascript:x)", "'javascript:x'", 6),
    ("[a](java&#x09;script:x)", "'java\\tscript:x'", 6),
    ("[a](\n  javascript:x)", "'javascript:x'", 7),
    ("[![logo](handouts/demo/en/none.png)](data:text/html,x)", "'data:text/html,x'", 6),
])
def test_every_link_markdown_can_make_is_checked(tmp_path, markdown, address, line):
    problems = text_problems(tmp_path, markdown)
    assert f"handouts/demo/en/brief.md:{line}: link {address} is not allowed " \
           "(use https://, mailto: or tel: links, or #section-id)" in problems, problems


def test_raw_html_links_are_printed_as_text_never_followed():
    from handoutkit.content import FindAddresses, to_html
    assert FindAddresses(to_html('<a href="javascript:x">y</a> <A HREF=file:///etc/passwd>z</A>')).links == []


def gif_and_huge_png(folder):
    from PIL import Image
    Image.new("RGB", (4, 4)).save(folder / "x.gif")
    Image.new("1", (6000, 6000)).save(folder / "huge.png")  # 36 million pixels, 40 KB


@pytest.mark.parametrize("markdown, message, line", [
    ("![a [nested] alt](handouts/demo/en/x.gif)", "image 'handouts/demo/en/x.gif' is GIF", 6),
    ("![a picture][pic]\n\n[pic]: handouts/demo/en/huge.png", "image 'handouts/demo/en/huge.png' is 6000 x 6000 pixels", 8),
    ("![a picture](<handouts/demo/en/x.gif>)", "image 'handouts/demo/en/x.gif' is GIF", 6),
    ("![a picture](\n  handouts/demo/en/x.gif)", "image 'handouts/demo/en/x.gif' is GIF", 7),
    ("![a picture](handouts/demo/en/x%2Egif)", "image 'handouts/demo/en/x%2Egif' must be a plain path", 6),
    ("![][pic]\n\n[pic]: handouts/demo/en/x.gif", "image 'handouts/demo/en/x.gif' has no alt text", 8),
])
def test_every_image_markdown_can_make_is_checked(tmp_path, markdown, message, line):
    problems = text_problems(tmp_path, markdown, gif_and_huge_png)
    assert any(p.startswith(f"handouts/demo/en/brief.md:{line}: {message}") for p in problems), problems


def test_an_image_that_is_a_fifo_is_refused_unopened(tmp_path, deadline):
    problems = text_problems(tmp_path, "![a picture](handouts/demo/en/pipe.png)",
                             lambda folder: make_unsafe(folder / "pipe.png", "fifo", None))
    assert any(p.startswith("handouts/demo/en/brief.md:6: image 'handouts/demo/en/pipe.png' is not a regular file")
               for p in problems), problems


@pytest.mark.parametrize("name", ["handoutkit.toml", "templates/strings/en.toml", "styles/fonts/NotoSans-Regular.ttf"])
def test_a_fifo_as_project_file_strings_or_font_never_hangs(tmp_path, deadline, name):
    root = write_project(tmp_path / "p")
    make_unsafe(root / name, "fifo", None)
    completed = run_main("--root", root, "--out", tmp_path / "out", "--format", "brief", "--paper", "a4", "-q")
    assert "Traceback" not in completed.stderr and "unexpected" not in completed.stderr, completed.stderr

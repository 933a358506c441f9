"""Hardening: nothing leaves the project's asset folders, the network is never
reached, output problems are said in one line."""

import http.server
import threading

import pytest

from conftest import run_main, write_project
from handoutkit.discover import Selection
from handoutkit.pipeline import Options, build

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

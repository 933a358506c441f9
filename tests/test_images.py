"""Images inside images: an SVG's own references are held to the same limits as the
image itself (issue 12: rasters referenced from inside an SVG, parsed with defusedxml)."""

import base64
import io

import pytest
from PIL import Image

from conftest import write_project
from handoutkit.pipeline import Options, build
from handoutkit.discover import Selection
from handoutkit.project import load_project
from test_bad_input import BRIEF, problems_of

SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="40" height="20">{}</svg>'


def png(width: int, height: int, mode: str = "1") -> bytes:
    stream = io.BytesIO()
    Image.new(mode, (width, height)).save(stream, "PNG")
    return stream.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def project_with_svg(tmp_path, inner: str, files: dict | None = None):
    """The tiny project whose brief shows chart.svg, holding `inner`; files: more files
    beside it (name -> bytes)."""
    root = write_project(tmp_path / "p", {"handouts/demo/en/brief.md": BRIEF.replace(
        "IMAGE", "![A chart](handouts/demo/en/chart.svg)")})
    folder = root / "handouts/demo/en"
    (folder / "chart.svg").write_text(SVG.format(inner))
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    return root


@pytest.mark.parametrize("inner, files, message", [
    ('<image href="huge.png" width="10" height="10"/>', {"huge.png": png(20000, 20000)},
     "refers to 'huge.png', which has far more than 25,000,000 pixels"),
    ('<image xlink:href="wide.png" width="10" height="10"/>', {"wide.png": png(9000, 4000)},
     "refers to 'wide.png', which is 9000 x 4000 pixels, more than 25,000,000"),
    ('<image href="{}" width="10" height="10"/>'.format(data_uri(png(9000, 4000))), {},
     "which is 9000 x 4000 pixels"),
    ('<image href="pic.gif" width="10" height="10"/>', {"pic.gif": b"GIF89a" + bytes(20)},
     "refers to 'pic.gif', which is"),
    ('<image href="other.svg" width="10" height="10"/>', {"other.svg": SVG.format("").encode()},
     "refers to 'other.svg', which is not an image Pillow can read"),
    ('<image href="https://example.org/x.png" width="10" height="10"/>', {},
     "refers to 'https://example.org/x.png', which is not allowed"),
    ('<image href="file:///etc/hostname" width="10" height="10"/>', {}, "which is not allowed"),
    ('<image href="../../../../styles/icons/phone.svg" width="10" height="10"/>', {}, "which is not a file inside handouts/"),
    ('<rect width="5" height="5" style="fill: url(\'https://example.org/p.png\')"/>', {}, "which is not allowed"),
    ('<style>rect { fill: url(file:///etc/hostname) }</style>', {}, "which is not allowed"),
    ('<rect', {}, "is not well-formed SVG"),
])
def test_what_an_svg_refers_to_is_checked_like_an_image(tmp_path, inner, files, message):
    found = problems_of(project_with_svg(tmp_path, inner, files))
    assert any("brief.md:4: image 'handouts/demo/en/chart.svg' " in p and message in p for p in found), found


def test_an_svg_with_its_own_references_and_small_rasters_builds(tmp_path):
    """#id references, a small PNG beside it and small PNG data inside it are allowed, and
    the brief builds with the SVG in it."""
    inner = ('<defs><linearGradient id="g"><stop offset="0" stop-color="#036"/></linearGradient></defs>'
             '<rect width="20" height="20" fill="url(#g)"/>'
             '<image href="small.png" x="20" width="10" height="10"/>'
             '<image href="{}" x="30" width="10" height="10"/>'.format(data_uri(png(8, 8, "RGB"))))
    root = project_with_svg(tmp_path, inner, {"small.png": png(16, 16, "RGB")})
    load_project(Options(root))  # no ContentError
    [result] = build(Options(root, tmp_path / "out", selection=Selection(formats=("brief",), papers=("a4",)), jobs=1))
    assert result.ok, result.problems

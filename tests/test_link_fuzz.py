"""Property-based test of the link and image check (content.markdown_html): whatever
Markdown syntax writes a link or an image, and however its address is disguised, the
text is either refused (ContentError) or every address in its HTML, read by the HTML
parser WeasyPrint uses (tinyhtml5), is allowed: a link passes model.is_allowed_link,
an image is a plain path inside handouts/."""

import re
from pathlib import Path

import pytest
import tinyhtml5
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from conftest import FILES, write_project
from handoutkit.discover import Selection
from handoutkit.errors import ContentError
from handoutkit.model import is_allowed_link
from handoutkit.project import Options, load_project

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
IMAGE = "handouts/demo/en/ok.png"
ALLOWED = ["https://example.org/a?b=c#d", "HTTPS://EXAMPLE.ORG", "mailto:team@example.org", "tel:+15550100",
           "#about", "#when-to-call", IMAGE]
FORBIDDEN = ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>",
             "data:image/png;base64,iVBORw0KGgo=", "ftp://example.org/x", "vbscript:msgbox(1)", "//evil.example/x",
             "handouts/../styles/fonts/OFL.txt", "/etc/hostname", "ok.png", "https:/\\evil.example"]


def disguise(address: str, how: str) -> str:
    """The address as an author might hide it from a check on the source."""
    head, tail = address[:1], address[1:]
    return {
        "plain": address,
        "space": f" \t{address}",
        "entity": f"&#{ord(head)};{tail}" if head else address,
        "hex-entity": f"&#x{ord(head):x};{tail}" if head else address,
        "colon-entity": address.replace(":", "&colon;", 1),
        "numeric-colon": address.replace(":", "&#58;", 1),
        "percent": f"%{ord(head):02X}{tail}" if head else address,
        "tab-inside": address[:4] + "\t" + address[4:],
        "newline-inside": address[:4] + "&#10;" + address[4:],
        "backslash-colon": address.replace(":", "\\:", 1),
        "upper": address.upper(),
    }[how]


addresses = st.builds(disguise, st.sampled_from(ALLOWED + FORBIDDEN),
                      st.sampled_from(["plain"] * 4 + ["space", "entity", "hex-entity", "colon-entity",
                                                       "numeric-colon", "percent", "tab-inside", "newline-inside",
                                                       "backslash-colon", "upper"]))
# Each form of Python-Markdown's link and image syntax, {a} the address.
FORMS = [
    "[see this]({a})", "[see this](<{a}>)", '[see this]({a} "a title")', "[see this]({a} 'a title')",
    "[see\nthis]({a})", "[see this](\n{a})", "[see [nested] this]({a})", "[[double]]({a})",
    "![a picture]({a})", '![a picture]({a} "a title")', "![a\npicture]({a})", "[![a picture]({img})]({a})",
    "[see this][ref]\n\n[ref]: {a}", '[see this][]\n\n[see this]: {a} "a title"', "![a picture][pic]\n\n[pic]: {a}",
    "[see this][ref]\n\n[ref]:\n    {a}", "<{a}>",
    "[see this](#about){{: href=\"{a}\"}}", "A paragraph.\n{{: src=\"{a}\"}}", "![a picture]({img}){{: src=\"{a}\"}}",
    "[see this](#about){{: src=\"{a}\" }}", '<a href="{a}">see this</a>', '<img src="{a}" alt="a picture">',
]
snippets = st.builds(lambda form, a: form.format(a=a, img=IMAGE), st.sampled_from(FORMS), addresses)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = write_project(tmp_path_factory.mktemp("links") / "p")
    Image.new("RGB", (4, 4)).save(root / IMAGE)
    return root


def addresses_in(html: str) -> tuple[list[str], list[str]]:
    """(every href and non-image src, every image src) as WeasyPrint's parser reads them."""
    links, images = [], []
    for element in tinyhtml5.parse(html).iter():
        tag = str(element.tag).rpartition("}")[2]
        links += [value for name, value in element.attrib.items() if name == "href" or (name == "src" and tag != "img")]
        images += [element.attrib["src"]] if tag == "img" and "src" in element.attrib else []
    return links, images


def is_plain_image(src: str, root: Path) -> bool:
    """A path without scheme, escapes or query, to a file inside handouts/."""
    return (not re.match(r"^\s*[a-z][a-z0-9+.-]*:", src, re.I) and not re.search(r"[%?#\\]", src)
            and (root / src).resolve().is_relative_to((root / "handouts").resolve()))


@FUZZ
@given(snippets=st.lists(snippets, min_size=1, max_size=3))
def test_every_link_and_image_that_loads_is_allowed(root, snippets):
    text = "\n\n".join(snippets)
    (root / "handouts/demo/en/brief.md").write_text(FILES["handouts/demo/en/brief.md"].replace(
        "You read this. It is short.", f"You read this.\n\n{text}\n"), encoding="utf-8")
    try:
        project = load_project(Options(root, selection=Selection(formats=("brief",))))
    except ContentError as error:
        assert error.problems and all("\n" not in str(p) for p in error.problems)
        return
    brief = project.texts["demo", "en", "brief"]
    links, images = addresses_in("".join(map(str, [brief.intro, *(s.html for s in brief.sections)])))
    assert all(is_allowed_link(href) for href in links), (text, links)
    assert all(is_plain_image(src, root) for src in images), (text, images)

"""The catalog (dist/index.html) and the authors' preview (`build.py serve`).

First the catalog's data and files, without a browser; then the page in a real
browser, headless Chromium from Debian driven by Playwright, opened from file://
and from a local static server, as clinicians will; then `serve` in a subprocess.
The browser tests are skipped, saying why, only when /usr/bin/chromium is missing.
Screenshots go to test-output/ (CI keeps that folder).
"""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from datetime import date
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from babel import Locale

from catalog_fixtures import make_catalog_dist, matching
from conftest import CARD_LABELS, REPO_TARGETS, write_project
from handoutkit import PROJECT_ROOT
from handoutkit.catalog import describe_language, make_filters, png_size, thumbnail_path, write_catalog
from handoutkit.serve import plan_rebuild
from handoutkit.discover import Selection

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TEST_OUTPUT = PROJECT_ROOT / "test-output"
TODAY = date(2026, 11, 23)  # the fixture's Spanish handout is overdue for review on this day
FILTER_KEYS = ["lang", "format", "paper", "large-print", "clinic"]
# The catalog's pages: every language of the builder has its catalog strings.
LANGUAGE_PAGES = {"en": "index.html", "ar": "index.ar.html", "de": "index.de.html", "es": "index.es.html",
                  "fr": "index.fr.html", "zh-Hans": "index.zh-Hans.html"}
FONT_DATA_RE = re.compile(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """An output folder with 15 PDFs in 2 handouts and 4 languages, and its catalog."""
    out, manifest = make_catalog_dist(tmp_path_factory.mktemp("catalog"))
    write_catalog(out, manifest, today=TODAY)
    return out, manifest


class Links(HTMLParser):
    """Every href and src of a page, with the tag they are on."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if name in attrs:
                self.found.append((tag, unquote(attrs[name]), attrs))


def links_of(out: Path):
    html = (out / "index.html").read_text(encoding="utf-8")
    return html, Links(html).found


# --- the catalog's data and files ------------------------------------------------------------

def test_languages_are_named_in_themselves_and_in_english_with_their_direction():
    english = describe_language("en")
    assert (english.native, english.english, english.direction) == ("English", "English", "ltr")
    arabic = describe_language("ar")
    assert (arabic.native, arabic.english, arabic.direction) == ("العربية", "Arabic", "rtl")
    chinese = describe_language("zh-Hans")  # a script subtag: Babel needs the Locale, not the tag
    assert (chinese.native, chinese.english, chinese.direction) == ("中文 (简体)", "Chinese (Simplified)", "ltr")
    assert describe_language("xx-nonsense").native == "xx-nonsense"  # unknown tags are still listed


def test_a_filter_is_offered_only_when_the_manifest_has_several_values(catalog):
    _, manifest = catalog
    assert [f["key"] for f in make_filters(manifest["targets"])] == FILTER_KEYS
    english = [e for e in manifest["targets"] if e["handout"] == "demo" and e["lang"] == "en"]
    # One language, no large print, no clinic (the optional fields are missing): only format and paper.
    assert [f["key"] for f in make_filters(english)] == ["format", "paper"]
    clinics = next(f for f in make_filters(manifest["targets"]) if f["key"] == "clinic")
    assert [(c["value"], c["label"]) for c in clinics["choices"]] == [
        ("Rheumatology", "Rheumatology"), ("-", "No particular clinic")]


def test_every_pdf_and_thumbnail_of_the_manifest_is_linked_and_nothing_else(catalog):
    out, manifest = catalog
    html, links = links_of(out)
    paths = [e["path"] for e in manifest["targets"]]
    downloads = [href for tag, href, attrs in links if tag == "a" and "download" in attrs]
    prints = [href for tag, href, attrs in links if tag == "a" and attrs.get("target") == "_blank"]
    images = [src for tag, src, _ in links if tag == "img"]
    assert sorted(downloads) == sorted(prints) == sorted(paths)
    assert sorted(images) == sorted(thumbnail_path(out, p).relative_to(out).as_posix() for p in paths)
    for _, url, _ in links:
        assert url == "#handouts" or (out / url).is_file(), url
    # (base64 of the embedded fonts may hold "//": not an address)
    assert not re.search(r"https?:|//[a-z]", without_fonts(html), re.I), "the page must not name any other site"
    assert_valid_html(html)


def without_fonts(html: str) -> str:
    return FONT_DATA_RE.sub("", html)


def test_thumbnails_are_rendered_once_then_again_only_for_a_newer_pdf(catalog, tmp_path):
    source, manifest = catalog
    entries = [e for e in manifest["targets"] if e["handout"] == "demo" and e["lang"] == "en"]
    for entry in entries:
        (tmp_path / entry["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / entry["path"], tmp_path / entry["path"])
    write_catalog(tmp_path, {"targets": entries})
    pngs = {e["path"]: thumbnail_path(tmp_path, e["path"]) for e in entries}
    for path, (width, height) in {"demo/en/demo-brief-a4.pdf": (595.28, 841.89),
                                  "demo/en/demo-card-card.pdf": (242.65, 153.07)}.items():
        png_width, png_height = png_size(pngs[path])  # the first page, 240 px wide, in proportion
        assert png_width == 240 and abs(png_height - 240 * height / width) <= 1, (path, png_height)
    first = {p: png.stat().st_mtime_ns for p, png in pngs.items()}

    rebuilt = "demo/en/demo-brief-a4.pdf"
    later = first[rebuilt] + 5_000_000_000
    os.utime(tmp_path / rebuilt, ns=(later, later))  # as if the PDF were rebuilt after the thumbnail
    write_catalog(tmp_path, {"targets": entries})
    again = {p: png.stat().st_mtime_ns for p, png in pngs.items()}
    assert [p for p in pngs if again[p] != first[p]] == [rebuilt]

    write_catalog(tmp_path, {"targets": entries[1:]})  # a PDF gone from the manifest loses its picture
    assert not pngs[entries[0]["path"]].exists()


def test_an_empty_manifest_gives_a_page_that_says_so(tmp_path):
    html = write_catalog(tmp_path, {}).read_text(encoding="utf-8")
    assert "No handouts have been built yet" in html
    assert "<form" not in html and "<script" not in html


def test_failed_targets_are_listed_and_their_older_copy_marked(catalog, tmp_path):
    out, manifest = catalog
    failed = [{"path": manifest["targets"][0]["path"], "problems": ["pages: 3, the limit is 2"]}]
    shutil.copytree(out, tmp_path / "dist")
    html = write_catalog(tmp_path / "dist", {**manifest, "failed": failed}, today=TODAY).read_text("utf-8")
    assert "The last build failed for 1 file" in html and "pages: 3, the limit is 2" in html
    assert html.count("Last build failed: this is an older copy") == 1


@pytest.mark.skipif(not REPO_TARGETS, reason="the repository's content is invalid (see test_repo_content)")
def test_catalog_of_the_repository_build(built, tmp_path):
    source, results = built
    out = tmp_path / "dist"
    shutil.copytree(source, out)  # a copy: the session's build is shared with other tests
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    write_catalog(out, manifest)
    html, links = links_of(out)
    downloads = sorted(href for tag, href, attrs in links if tag == "a" and "download" in attrs)
    assert downloads == sorted(e["path"] for e in manifest["targets"])
    assert {t.relpath for t, r in results.items() if r.ok} <= set(downloads)
    assert all((out / url).is_file() for _, url, _ in links if url != "#handouts")
    assert_valid_html(html)


def assert_valid_html(html):
    """No syntax error an HTML5 parser would have to recover from."""
    from tinyhtml5.parser import HTMLParser as HTML5Parser  # WeasyPrint's own HTML parser

    parser = HTML5Parser()
    parser.parse(html)
    assert parser.errors == []


# --- the page in a real browser ----------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: install it with `apt-get install -y chromium` (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright

    # Importing handoutkit pointed fontconfig at the handouts' fonts only; the browser
    # should see the machine's fonts, as a clinician's browser does.
    env = {k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, env=env)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def static_host(catalog):
    """The output folder on a plain local web server, as on a static host."""
    out, _ = catalog
    handler = partial(QuietHandler, directory=str(out))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}/"
        server.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("file", "data", "about") or (
        parts.scheme in ("http", "https") and parts.hostname in ("127.0.0.1", "localhost", "::1"))


class Visit:
    """A page in a fresh browser context that records console errors and every
    request, and refuses any request that would leave the machine."""

    def __init__(self, browser, url, **context_options):
        self.context = browser.new_context(**context_options)
        self.errors, self.requests, self.refused = [], [], []
        self.context.route("**/*", self.route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(url)
        self.page.wait_for_load_state("load")

    def route(self, route):
        if is_local(route.request.url):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def close(self):
        self.context.close()

    def visible_targets(self):
        return self.page.locator("#handouts .target:visible")

    def visible_handouts(self):
        return self.page.locator("#handouts .handout:visible h2")


def expect(locator):
    from playwright.sync_api import expect as playwright_expect
    return playwright_expect(locator)


@pytest.fixture
def visit(browser, catalog):
    out, _ = catalog
    visits = []

    def open_page(url=None, **options):
        visits.append(Visit(browser, url or (out / "index.html").as_uri(), **options))
        return visits[-1]

    yield open_page
    for v in visits:
        v.close()


# Loads the thumbnails the page loads lazily, and waits for every one. (Not
# wait_for_function: the page's Content-Security-Policy forbids the eval it uses.)
ALL_IMAGES_LOADED = """() => Promise.all([...document.images].map(i => {
    i.loading = "eager";
    return i.complete ? null : new Promise(done => { i.onload = i.onerror = done; });
}))"""


@pytest.mark.parametrize("opened_from", ["file", "static host"])
def test_page_loads_with_no_errors_and_no_request_leaving_the_machine(visit, catalog, static_host, opened_from):
    out, manifest = catalog
    v = visit(None if opened_from == "file" else static_host)
    v.page.evaluate(ALL_IMAGES_LOADED)
    assert v.page.title() == "Patient handouts"
    assert v.errors == []
    assert v.refused == []
    assert all(is_local(url) for url in v.requests), v.requests
    assert len([u for u in v.requests if u.endswith(".png")]) == len(manifest["targets"])
    broken = v.page.evaluate("[...document.images].filter(i => !i.naturalWidth).map(i => i.src)")
    assert broken == []
    assert v.page.locator("#filters").is_visible()  # the script ran: no CSP or syntax error


def test_links_and_thumbnails_lead_to_the_manifest_files(visit, catalog):
    out, manifest = catalog
    v = visit()
    cards = v.page.evaluate("""() => [...document.querySelectorAll('#handouts .target')].map(li => ({
        download: li.querySelector('a[download]').href,
        print: li.querySelector('a[target=_blank]').href,
        rel: li.querySelector('a[target=_blank]').rel,
        image: li.querySelector('img').src,
        pages: li.querySelector('.facts dd').textContent,
        lang: li.dataset.lang, format: li.dataset.format, paper: li.dataset.paper}))""")
    by_path = {e["path"]: e for e in manifest["targets"]}
    base = out.as_uri() + "/"
    seen = []
    for card in cards:
        path = unquote(card["download"].removeprefix(base))
        entry = by_path[path]
        seen.append(path)
        assert card["print"] == card["download"] and card["rel"] == "noopener"
        assert (out / path).is_file()
        assert unquote(card["image"].removeprefix(base)) == thumbnail_path(out, path).relative_to(out).as_posix()
        assert card["pages"] == str(entry["pages"])
        assert (card["lang"], card["format"], card["paper"]) == (entry["lang"], entry["format"], entry["paper"])
    assert sorted(seen) == sorted(by_path)


def status_sentence(entries, filtered=True):
    handouts, files = len({e["handout"] for e in entries}), len(entries)
    h = f"{handouts} handout{'s' if handouts != 1 else ''}"
    f = f"{files} file{'s' if files != 1 else ''}"
    if not filtered:
        return f"{h}, {f}."
    if not entries:
        return "No handouts match these filters."
    return f"{h} match{'es' if handouts == 1 else ''} ({f})."


def test_each_filter_narrows_the_list_as_the_manifest_says(visit, catalog):
    _, manifest = catalog
    v = visit()
    page, status = v.page, v.page.locator("#match-count")
    assert status.get_attribute("role") == "status"
    assert page.eval_on_selector_all("#filters fieldset", "fs => fs.map(f => f.dataset.filter)") == FILTER_KEYS
    for key in FILTER_KEYS:
        values = page.eval_on_selector_all(f"input[name='{key}']", "inputs => inputs.map(i => i.value)")
        for value in values[1:]:  # values[0] is "all"
            page.check(f"input[name='{key}'][value='{value}']")
            expected = matching(manifest, **{key: value})
            assert expected and len(expected) < len(manifest["targets"]), (key, value)
            assert v.visible_targets().count() == len(expected), (key, value)
            assert v.visible_handouts().count() == len({e["handout"] for e in expected})
            assert status.text_content() == status_sentence(expected)
        page.check(f"input[name='{key}'][value='']")
        assert v.visible_targets().count() == len(manifest["targets"])

    page.check("input[name='lang'][value='ar']")
    page.check("input[name='format'][value='brief']")
    assert v.visible_targets().count() == len(matching(manifest, lang="ar", format="brief")) == 2
    assert page.url.endswith("#lang=ar&format=brief")  # the choice is kept in the address
    page.check("input[name='clinic'][value='Rheumatology']")
    assert v.visible_targets().count() == 0
    assert status.text_content() == "No handouts match these filters."
    page.click("button[type=reset]")
    expect(v.visible_targets()).to_have_count(len(manifest["targets"]))
    assert status.text_content() == status_sentence(manifest["targets"], filtered=False)


def test_a_bookmarked_choice_is_restored(visit, catalog):
    out, manifest = catalog
    v = visit((out / "index.html").as_uri() + "#lang=es&paper=a4")
    assert v.visible_targets().count() == len(matching(manifest, lang="es", paper="a4")) == 1
    assert v.page.is_checked("input[name='lang'][value='es']")


def test_without_javascript_everything_is_listed(visit, catalog):
    _, manifest = catalog
    v = visit(java_script_enabled=False)
    assert v.visible_targets().count() == len(manifest["targets"])
    assert not v.page.locator("#filters").is_visible()  # filters that cannot work are not shown


FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const style = getComputedStyle(e);
    return {tag: e.tagName.toLowerCase(), type: e.type || "", name: e.name || "", value: e.value || "",
            href: e.getAttribute("href"), download: e.hasAttribute("download"),
            outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
            box: e.getBoundingClientRect().toJSON()};
}"""


def test_tab_reaches_every_control_with_a_visible_focus(visit, catalog):
    _, manifest = catalog
    v = visit(viewport={"width": 1280, "height": 900})
    stops = []
    for _ in range(2 * len(manifest["targets"]) + 40):
        v.page.keyboard.press("Tab")
        focused = v.page.evaluate(FOCUSED)
        if focused is None or (stops and focused == stops[0]):
            break
        stops.append(focused)
    assert stops[0]["href"] == "#handouts"  # the skip link comes first
    # then the page in other languages
    assert [s["href"] for s in stops[1:1 + len(LANGUAGE_PAGES)]] == list(LANGUAGE_PAGES.values())
    assert [s["name"] for s in stops if s["type"] == "radio"] == FILTER_KEYS  # one stop per group
    assert any(s["tag"] == "button" for s in stops)
    links = [(s["href"], s["download"]) for s in stops[1 + len(LANGUAGE_PAGES):] if s["tag"] == "a"]
    assert sorted(links) == sorted((p, d) for e in manifest["targets"] for p, d in [(e["path"], True), (e["path"], False)])
    for stop in stops:
        assert stop["outline"] != "none" and stop["outlineWidth"] >= 2, stop  # focus is visible
        assert stop["box"]["width"] > 0 and stop["box"]["top"] >= 0, stop  # and on screen


def test_arrow_keys_change_a_filter(visit, catalog):
    _, manifest = catalog
    v = visit()
    for _ in range(2 + len(LANGUAGE_PAGES)):  # the skip link, the page's languages, the language group
        v.page.keyboard.press("Tab")
    v.page.keyboard.press("ArrowDown")
    first = v.page.eval_on_selector("input[name='lang']:checked", "i => i.value")
    assert first != ""
    assert v.visible_targets().count() == len(matching(manifest, lang=first))


def test_language_names_carry_their_language_and_direction(visit):
    v = visit()
    names = v.page.eval_on_selector_all(
        "#filters fieldset[data-filter=lang] label, #handouts h3",
        "els => els.map(e => { const s = e.querySelector('[lang]'); return s && [s.lang, s.dir, s.textContent]; })")
    assert [n for n in names[1:] if n is None] == []  # every language name but "All languages"
    arabic = v.page.eval_on_selector_all("[lang=ar]", "els => els.map(e => e.dir)")
    assert arabic and set(arabic) == {"rtl"}
    assert ["zh-Hans", "", "中文 (简体)"] in names


def axe_violations(page):
    """Run axe-core (shipped inside the axe-playwright-python package) on the page."""
    import axe_playwright_python

    page.evaluate((Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8"))
    result = page.evaluate("""() => axe.run(document, {
        runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
        resultTypes: ["violations"]})""")
    return [(r["impact"], r["id"], r["help"], [n["target"] for n in r["nodes"]][:3]) for r in result["violations"]]


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 390, "height": 844}],
                         ids=["desktop", "phone"])
def test_accessibility_engine_finds_no_serious_or_critical_violation(visit, viewport):
    v = visit(viewport=viewport)
    violations = axe_violations(v.page)
    assert [x for x in violations if x[0] in ("serious", "critical")] == []
    # Lesser findings are not allowed to creep in either.
    assert violations == []


def test_screenshots_on_a_desktop_and_a_phone(visit):
    TEST_OUTPUT.mkdir(exist_ok=True)
    desktop = visit(viewport={"width": 1280, "height": 900})
    desktop.page.evaluate(ALL_IMAGES_LOADED)
    desktop.page.screenshot(path=TEST_OUTPUT / "catalog.png", full_page=True)
    lefts = desktop.page.eval_on_selector_all("#handouts .target", "els => els.map(e => e.getBoundingClientRect().left)")
    assert len(set(lefts)) == 3  # three columns of cards

    phone = visit(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    phone.page.evaluate(ALL_IMAGES_LOADED)
    phone.page.screenshot(path=TEST_OUTPUT / "catalog-phone.png", full_page=True)
    assert phone.page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    lefts = phone.page.eval_on_selector_all("#handouts .target", "els => els.map(e => e.getBoundingClientRect().left)")
    assert len(set(lefts)) == 1  # one column
    assert (TEST_OUTPUT / "catalog.png").stat().st_size > 10_000


# --- the authors' preview: build.py serve --------------------------------------------------

def test_a_change_rebuilds_only_what_it_touches():
    assert plan_rebuild(["handouts/demo/en/brief.md", "handouts/demo/en/partials/x.md", "handouts/demo/ar/meta.toml"]) == [
        Selection(handouts=("demo",), langs=("en",)), Selection(handouts=("demo",), langs=("ar",))]
    assert plan_rebuild(["styles/catalog.css", "templates/catalog.html"]) == []  # the catalog alone
    assert plan_rebuild(["handouts/demo/handout.toml"]) is None  # everything
    assert plan_rebuild(["handouts/demo/en/brief.md", "styles/base.css"]) is None


class Preview:
    """`serve` in a subprocess on a free port, against a tiny project."""

    def __init__(self, root: Path, out: Path):
        self.root, self.out = root, out
        self.log, self.read_upto = [], 0  # every line printed; how many wait_for has looked at
        self.process = subprocess.Popen(
            [sys.executable, "-m", "handoutkit.serve", "--root", root, "--out", out, "--port", "0"],
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self.read, daemon=True).start()
        line = self.wait_for(r"at (http://127\.0\.0\.1:\d+/)", timeout=180)
        self.url = re.search(r"(http://127\.0\.0\.1:\d+/)", line)[1]

    def read(self):
        for line in self.process.stdout:
            self.log.append(line.rstrip("\n"))

    def printed(self) -> str:
        return "serve printed:\n" + "\n".join(self.log)

    def wait_for(self, pattern, timeout):
        """The next printed line matching pattern."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while self.read_upto < len(self.log):
                line = self.log[self.read_upto]
                self.read_upto += 1
                if re.search(pattern, line):
                    return line
            assert self.process.poll() is None, self.printed()
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in {timeout} s; {self.printed()}")

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return response.status, response.read().decode("utf-8")

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@pytest.fixture(scope="module")
def preview(tmp_path_factory):
    work = tmp_path_factory.mktemp("serve")
    running = Preview(write_project(work / "project"), work / "out")
    yield running
    assert running.stop() == 0, running.printed()  # Ctrl-C or terminate: a clean stop


def wait_until(condition, timeout, what, preview):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; {preview.printed()}")


def test_serve_rebuilds_a_saved_handout(preview):
    status, html = preview.get("index.html")
    assert status == 200 and "Demo handout" in html
    assert "/__version" in html  # the reload script is added to the served page ...
    assert "/__version" not in (preview.out / "index.html").read_text(encoding="utf-8")  # ... not to the file
    version = preview.get("__version")[1]
    pdf = preview.out / "demo/en/demo-brief-a4.pdf"
    before = pdf.stat().st_mtime_ns

    brief = preview.root / "handouts/demo/en/brief.md"
    brief.write_text(brief.read_text(encoding="utf-8") + "\nYou can ask us anything.\n", encoding="utf-8")
    wait_until(lambda: pdf.stat().st_mtime_ns != before, 90, "the brief was not rebuilt", preview)
    preview.wait_for(r"^building demo/en \.\.\.", timeout=5)  # just that handout and language
    wait_until(lambda: preview.get("__version")[1] != version, 30, "/__version did not change", preview)
    result = subprocess.run(["pdftotext", pdf, "-"], capture_output=True, text=True)
    assert "You can ask us anything." in result.stdout


def test_served_page_reloads_after_a_rebuild(browser, preview):
    v = Visit(browser, preview.url)
    try:
        meta = preview.root / "handouts/demo/en/meta.toml"
        with v.page.expect_event("load", timeout=60_000):
            meta.write_text('title = "Demo handout, revised"\nsubtitle = "For tests"\n' + CARD_LABELS["en"], encoding="utf-8")
        assert "Demo handout, revised" in v.page.locator(".handout h2").first.text_content()
        assert v.errors == [] and v.refused == []
        assert all(is_local(url) for url in v.requests)
    finally:
        v.close()


def test_serve_refuses_a_port_in_use(preview, tmp_path):
    port = urlsplit(preview.url).port
    completed = subprocess.run(
        [sys.executable, "-m", "handoutkit.serve", "--root", preview.root, "--out", tmp_path, "--port", str(port)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)
    assert completed.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in completed.stderr


def test_the_catalog_is_also_a_table_that_a_spreadsheet_reads_safely(catalog, tmp_path):
    import csv as csv_module
    out, manifest = catalog
    text = (out / "index.csv").read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 only with the mark
    rows = list(csv_module.DictReader(text.removeprefix("\ufeff").splitlines()))
    assert sorted(row["path"] for row in rows) == sorted(e["path"] for e in manifest["targets"])
    for row in rows:
        entry = next(e for e in manifest["targets"] if e["path"] == row["path"])
        assert (row["title"], row["lang"], row["format"], row["status"]) == (
            entry["title"], entry["lang"], entry["format"], entry["status"])
    from handoutkit.catalog import catalog_csv
    formula = catalog_csv([{**manifest["targets"][0], "title": "=HYPERLINK(\"http://x\")"}]).decode("utf-8")
    assert "'=HYPERLINK" in formula  # a title is never run as a formula


# --- the catalog in the reader's language, with fonts for every script -------------------------

STRINGS = PROJECT_ROOT / "templates" / "strings"
# The status line's count in each language: the fixture has 2 handouts and 15 PDFs.
HANDOUTS, FILES = 2, 15


def catalog_strings(lang: str) -> dict:
    """The catalog_ keys of the language's strings file, read here independently of the builder."""
    with (STRINGS / f"{lang}.toml").open("rb") as stream:
        return {k.removeprefix("catalog_"): v for k, v in tomllib.load(stream).items() if k.startswith("catalog_")}


def counted(value, count: int, lang: str) -> str:
    """A count's words as the strings file gives them for count (CLDR plural form via Babel)."""
    if isinstance(value, dict):
        value = value.get(Locale.parse(lang, sep="-").plural_form(count), value["other"])
    return value.replace("{count}", str(count))


class Page(HTMLParser):
    """The <html> element's lang and dir, and the text of the elements asked for by tag."""

    def __init__(self, html):
        super().__init__()
        self.root, self.texts, self.open = {}, {}, []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.root = dict(attrs)
        self.open.append(tag)

    def handle_endtag(self, tag):
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data):
        if self.open:
            self.texts.setdefault(self.open[-1], []).append(data)


@pytest.mark.parametrize("lang", LANGUAGE_PAGES)
def test_each_language_has_its_page_with_its_lang_and_direction(catalog, lang):
    out, _ = catalog
    html = (out / LANGUAGE_PAGES[lang]).read_text(encoding="utf-8")
    page = Page(html)
    assert page.root.get("lang") == lang
    assert page.root.get("dir") == ("rtl" if lang == "ar" else None)  # ltr is the default
    assert page.texts["title"] == [catalog_strings(lang)["title"]]
    assert_valid_html(html)
    assert sorted(p.name for p in out.glob("index*.html")) == sorted(LANGUAGE_PAGES.values())


@pytest.mark.parametrize("lang", LANGUAGE_PAGES)
def test_interface_text_comes_from_the_languages_strings_file(visit, catalog, lang):
    out, _ = catalog
    words = catalog_strings(lang)
    v = visit((out / LANGUAGE_PAGES[lang]).as_uri())
    page = v.page
    assert page.title() == words["title"]
    assert page.locator("h1").text_content() == words["title"]
    legends = page.eval_on_selector_all("#filters legend", "ls => ls.map(l => l.textContent)")
    assert legends == [words[f"filter_{key.replace('-', '_')}"] for key in FILTER_KEYS]
    assert page.locator("button[type=reset]").text_content() == words["show_all"]
    first_download = page.locator("a[download]").first
    assert first_download.evaluate("a => a.firstChild.textContent") == words["download"]
    # The status line as the page's script writes it, in this language's plural forms.
    summary = words["summary"].replace("{handouts}", counted(words["handouts"], HANDOUTS, lang)) \
                              .replace("{files}", counted(words["files"], FILES, lang))
    assert page.locator("#match-count").text_content() == summary
    page.check("input[name='clinic'][value='Rheumatology']")  # 1 handout, 6 PDFs: another plural form
    matches = counted(words["matches"], 1, lang).replace("{handouts}", counted(words["handouts"], 1, lang)) \
                                                   .replace("{files}", counted(words["files"], 6, lang))
    assert page.locator("#match-count").text_content() == matches
    assert v.errors == [] and v.refused == []


def test_the_language_links_lead_from_page_to_page(visit, catalog):
    out, _ = catalog
    v = visit()
    for lang, name in LANGUAGE_PAGES.items():
        switcher = v.page.locator(".page-languages a")
        assert switcher.evaluate_all("as => as.map(a => a.getAttribute('href'))") == list(LANGUAGE_PAGES.values())
        current = v.page.locator(".page-languages a[aria-current=page]")
        assert current.get_attribute("href") == v.page.url.rsplit("/", 1)[-1]
        v.page.click(f".page-languages a[hreflang='{lang}']")  # a plain link: no script involved
        v.page.wait_for_load_state("load")
        assert v.page.url == (out / name).as_uri()
        assert v.page.evaluate("document.documentElement.lang") == lang
    assert v.errors == [] and v.refused == []


def embedded_fonts(html: str) -> dict[str, list]:
    """Each @font-face family of the page with its fonts, opened with fontTools."""
    from fontTools.ttLib import TTFont
    fonts = {}
    for family, data in re.findall(r'font-family: "([^"]+)";[^}]*?url\(data:font/woff2;base64,([^)]+)\)', html):
        fonts.setdefault(family, []).append(TTFont(io.BytesIO(base64.b64decode(data))))
    return fonts


@pytest.mark.parametrize("lang", ["en", "ar", "zh-Hans"])
def test_the_embedded_fonts_hold_the_language_names_and_no_more_than_the_page_shows(catalog, lang):
    out, manifest = catalog
    html = (out / LANGUAGE_PAGES[lang]).read_text(encoding="utf-8")
    fonts = embedded_fonts(html)
    assert sorted(fonts) == ["Catalog Noto Naskh Arabic", "Catalog Noto Sans", "Catalog Noto Sans CJK SC"]
    assert all(len(faces) == 2 for faces in fonts.values())  # regular and bold
    covered = set().union(*(font.getBestCmap() for faces in fonts.values() for font in faces))
    names = {describe_language(tag).native for tag in {*LANGUAGE_PAGES, *(e["lang"] for e in manifest["targets"])}}
    assert "中文 (简体)" in names and "العربية" in names
    for name in names:
        assert [c for c in name if ord(c) not in covered] == [], name
    # Cut to the page: the Chinese face on the English page lacks the Chinese page's own words.
    chinese = set(fonts["Catalog Noto Sans CJK SC"][0].getBestCmap())
    assert all(ord(c) in chinese for c in "中文简体演示讲义")
    assert (ord("筛") in chinese) == (lang == "zh-Hans")  # 筛选, "Filters"
    assert ord("A") not in chinese  # Latin is Noto Sans's, not carried twice
    meta = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)[1]
    assert "font-src data:;" in meta and meta.count("data:") == 1


# The fonts Chromium drew a node's text with (DevTools protocol): web fonts are "custom".
def platform_fonts(page, selector: str) -> list[dict]:
    session = page.context.new_cdp_session(page)
    session.send("DOM.enable")
    session.send("CSS.enable")
    root = session.send("DOM.getDocument")["root"]["nodeId"]
    node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


@pytest.mark.parametrize("lang", ["en", "zh-Hans"])
def test_chinese_and_arabic_names_are_drawn_with_the_embedded_fonts(visit, catalog, lang):
    out, _ = catalog
    v = visit((out / LANGUAGE_PAGES[lang]).as_uri())
    v.page.evaluate("document.fonts.ready.then(() => null)")
    loaded = v.page.evaluate("[...document.fonts].map(f => [f.family, f.weight, f.status])")
    assert sorted(loaded) == sorted([[family, weight, "loaded"] for family in
                                     ("Catalog Noto Sans", "Catalog Noto Naskh Arabic", "Catalog Noto Sans CJK SC")
                                     for weight in ("400", "700")])
    for name, family in (("zh-Hans", "Noto Sans CJK SC"), ("ar", "Noto Naskh Arabic")):
        fonts = platform_fonts(v.page, f".page-languages a[hreflang='{name}']")
        # Every glyph of the name from the page's own fonts, none from the machine's.
        assert fonts and all(f["isCustomFont"] for f in fonts), fonts
        assert any(f["familyName"].startswith(family) for f in fonts), fonts
    assert v.errors == []


def test_a_language_without_catalog_strings_gets_no_page_but_still_builds_handouts(tmp_path):
    from handoutkit.render import load_strings
    project = write_project(tmp_path / "project")
    english = (STRINGS / "en.toml").read_text(encoding="utf-8")
    handout_only = "\n".join(line for line in english.splitlines() if not line.startswith("catalog_"))
    (project / "templates/strings/it.toml").write_text(handout_only, encoding="utf-8")
    (project / "templates/strings/nl.toml").write_text(handout_only + '\ncatalog_title = "Folders"\n',
                                                        encoding="utf-8")  # half translated
    problems = []
    assert load_strings(project / "templates", "it", problems) is not None and problems == []
    out = tmp_path / "dist"
    (project / "templates/strings/it.toml").write_text(english, encoding="utf-8")  # complete, at first
    write_catalog(out, {}, root=project)
    assert (out / "index.it.html").is_file()
    (project / "templates/strings/it.toml").write_text(handout_only, encoding="utf-8")
    write_catalog(out, {}, root=project)
    assert sorted(p.name for p in out.glob("index*.html")) == sorted(LANGUAGE_PAGES.values())
    assert not (out / "index.it.html").exists()  # the page the catalog wrote from when it was complete


def test_the_record_names_every_file_the_catalog_writes(catalog):
    """So that a later build (or a merge replacing the folder) may delete them when stale:
    it deletes nothing the record does not name, besides the PDFs and its own files."""
    from handoutkit.outdir import read_written
    from handoutkit.shards import BUILDER_FILES
    out, manifest = catalog
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    pdfs = {e["path"] for e in manifest["targets"]}
    recorded, problems = read_written(out)
    assert problems == [] and files - pdfs - set(BUILDER_FILES) == recorded


def test_screenshots_of_the_arabic_and_chinese_pages(visit, catalog):
    out, _ = catalog
    TEST_OUTPUT.mkdir(exist_ok=True)
    for lang in ("ar", "zh-Hans"):
        v = visit((out / LANGUAGE_PAGES[lang]).as_uri(), viewport={"width": 1280, "height": 900})
        v.page.evaluate(ALL_IMAGES_LOADED)
        v.page.screenshot(path=TEST_OUTPUT / f"catalog-{lang}.png", full_page=True)
        if lang == "ar":  # right to left: the title starts at the right edge
            box = v.page.locator("h1").evaluate("h => { const r = document.createRange(); r.selectNodeContents(h); return r.getBoundingClientRect().toJSON(); }")
            assert box["right"] > 1280 - 100 and box["left"] > 640, box


def test_arabic_page_has_no_accessibility_violation(visit, catalog):
    out, _ = catalog
    v = visit((out / LANGUAGE_PAGES["ar"]).as_uri(), viewport={"width": 1280, "height": 900})
    assert axe_violations(v.page) == []

"""Audit: read the finished PDF back and compare it with what the content says it must hold.

The checks before this one read the input; only this stage reads what the patient
gets. It runs on the final PDF bytes of every target, before they are written, and
never asks WeasyPrint again: the text comes from PDFium (pypdfium2), the links,
actions and images from pypdf's reading of the PDF objects, and the ink from a
PDFium rendering of each page.

Text is compared after one normalisation (`squash`): Unicode NFKC (presentation
forms and ligatures become letters), then no white space, line breaks, soft or hard
hyphens, control or format characters (bidi marks). Latin and Chinese text must
then appear as one unbroken string: a list item that is cut, reordered or missing
fails. Arabic is laid out in visual order and every extractor tried (PDFium,
poppler, pypdf) puts some combining marks, and the glyph of an alef with tanwin,
out of place and may swap the pieces of a line around a Latin run or a bracket;
so for right-to-left text each word must be found on its page (marks, tatweel and
alef-with-tanwin removed), but their order is not checked.
"""

import io
import re
import unicodedata
from dataclasses import dataclass, field
from html import unescape

from .model import Text

SAFE_MARGIN_MM = {"card": 2.0}  # ink this close to the trimmed edge may be cut off
DEFAULT_SAFE_MARGIN_MM = 5.0
PT_PER_MM = 72 / 25.4
INK = 235  # grey level (0-255) below which a pixel counts as ink: light tints included
MARKUP = ("@include", "@sources", "{#", "](", "**", "{{", "{%")
ALLOWED_SCHEMES = ("https:", "http:", "mailto:", "tel:")
FORBIDDEN_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData",
                     "/ResetForm", "/Rendition", "/Sound", "/Movie", "/RichMediaExecute"}
FEW_LINES = 3  # a last page with this many lines or fewer is a poor layout
BLOCK_RE = re.compile(r"<(p|li|dt|dd|td|th)\b[^>]*>(.*?)</\1>", re.S)
HEADING_RE = re.compile(r"<(h[1-6])\b[^>]*>(.*?)</\1>", re.S)
CODE_RE = re.compile(r"<code\b[^>]*>(.*?)</code>", re.S)
TANWIN_ALEF_RE = re.compile("[\u0627\u0623]\u064b|\u064b[\u0627\u0623]")
MIRROR = str.maketrans("()[]{}", ")(][}{")


@dataclass(frozen=True)
class Required:
    what: str  # e.g. "warning-signs item", "heading of section 'risks'"
    text: str


@dataclass(frozen=True)
class Expectations:
    """What the PDF of one target must show, from its content and status."""

    rtl: bool
    required: tuple[Required, ...]
    headings: tuple[str, ...]      # every heading, for the stranded-heading warning
    draft_notice: str | None       # printed on every page; None: approved, must not appear
    literal: str                   # text in which markup characters are the author's own
    safe_margin_mm: float
    max_image_pixels: int


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)   # fail the target
    warnings: list[str] = field(default_factory=list)   # poor layout: fail only with --strict


def expect(text: Text, required_ids: tuple[str, ...], safety: tuple[str, ...], rtl: bool,
           draft_notice: str | None, literal: str, max_image_pixels: int) -> Expectations:
    """The expectations of one target: its required headings, every paragraph and list
    item of its safety partials, and the draft notice if it is a draft."""
    from .content import to_html
    required = [Required(f"heading of section '{s.id}'", heading_of(s.html))
                for s in text.sections if s.id in required_ids]
    for name in (n for n in safety if n in text.partials):
        required += [Required(f"{name} item", block) for block in blocks_of(to_html(text.partials[name]))]
    headings = [plain(h) for s in text.sections for _, h in HEADING_RE.findall(str(s.html))]
    code = " ".join(CODE_RE.findall(str(text.intro) + "".join(str(s.html) for s in text.sections)))
    # The title and subtitle are plain text, not Markdown: whatever they hold is meant.
    literal = " ".join((literal, text.title, text.subtitle, unescape(code)))
    return Expectations(rtl, tuple(required), tuple(headings), draft_notice, literal,
                        SAFE_MARGIN_MM.get(text.format, DEFAULT_SAFE_MARGIN_MM), max_image_pixels)


def audit(pdf: bytes, expected: Expectations) -> Findings:
    """Every check of the finished PDF; each problem is one line naming the page."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader
    findings = Findings()
    document, reader = pdfium.PdfDocument(pdf), PdfReader(io.BytesIO(pdf))
    try:
        pages = [page_text(document[i]) for i in range(len(document))]
        findings.problems += check_required(pages, expected)
        findings.problems += check_markup(pages, expected)
        findings.problems += check_draft_notice(pages, expected)
        findings.problems += check_edges(document, expected.safe_margin_mm)
        findings.problems += check_actions(reader)
        findings.problems += check_images(reader, expected.max_image_pixels)
        findings.warnings += check_layout(document, expected)
    finally:
        document.close()
    return findings


# --- text -------------------------------------------------------------------------

def page_text(page) -> str:
    textpage = page.get_textpage()
    try:
        return textpage.get_text_range()
    finally:
        textpage.close()


def squash(text: str, rtl: bool = False) -> str:
    """Text reduced to what every extractor agrees on (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text)
    if rtl:
        text = TANWIN_ALEF_RE.sub("", text).translate(MIRROR)
    drop = {"Zs", "Zl", "Zp", "Cc", "Cf"} | ({"Mn", "Ps", "Pe"} if rtl else set())
    return "".join(c for c in text if unicodedata.category(c) not in drop
                   and c not in "\u00ad\u2010\u2011-\u0640")


def found(phrase: str, squashed_page: str, rtl: bool) -> bool:
    """The phrase is in the squashed text: whole, or for right-to-left text word by word."""
    if not rtl:
        return squash(phrase) in squashed_page
    return all(word in squashed_page for word in rtl_words(phrase))


def rtl_words(phrase: str) -> list[str]:
    text = TANWIN_ALEF_RE.sub("", unicodedata.normalize("NFKC", phrase))
    text = "".join(c for c in text if unicodedata.category(c) not in ("Mn", "Cf") and c != "\u0640")
    return re.findall(r"\w+", text)


def check_required(pages: list[str], expected: Expectations) -> list[str]:
    """Every required heading and safety item is printed (anywhere: items may cross pages)."""
    whole = squash("".join(pages), expected.rtl)
    return [f"audit: {item.what} is not in the printed text: '{shorten(item.text)}'"
            for item in expected.required if item.text and not found(item.text, whole, expected.rtl)]


def check_markup(pages: list[str], expected: Expectations) -> list[str]:
    """Directive or Markdown syntax that reached the paper, unless the author wrote it
    as literal text (a code span, an interface string, a clinic value)."""
    problems = []
    literal = squash(expected.literal)
    for number, text in enumerate(pages, 1):
        squashed = squash(text)
        for token in MARKUP:
            forms = {token, token.translate(MIRROR), token[::-1], token[::-1].translate(MIRROR)} \
                if expected.rtl else {token}
            hit = next((squashed.find(f) for f in forms if f in squashed and f not in literal), -1)
            if hit >= 0:
                problems.append(f"audit: page {number}: markup '{token}' is printed as text, near "
                                f"'{shorten(squashed[max(0, hit - 20):hit + 40])}' (fix the Markdown)")
    return problems


def check_draft_notice(pages: list[str], expected: Expectations) -> list[str]:
    """A draft says so on every page; an approved text never does."""
    problems = []
    for number, text in enumerate(pages, 1):
        squashed = squash(text, expected.rtl)
        if expected.draft_notice and not found(expected.draft_notice, squashed, expected.rtl):
            problems.append(f"audit: page {number}: the draft notice '{expected.draft_notice}' is missing")
    return problems


def shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def plain(markup: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def heading_of(section_html) -> str:
    match = HEADING_RE.search(str(section_html))
    return plain(match[2]) if match else ""


def blocks_of(markup) -> list[str]:
    """The text of each paragraph, list item and definition (innermost first in nesting)."""
    return [text for _, inner in BLOCK_RE.findall(str(markup)) if (text := plain(inner))]


# --- geometry: nothing drawn where the trimmer or the printer may cut it ----------------

def check_edges(document, margin_mm: float) -> list[str]:
    """Ink within the safe margin of the trimmed page, and text or image boxes that run
    past it. A print-shop PDF's bleed and crop marks lie outside its TrimBox and are
    not looked at."""
    problems = []
    for number in range(1, len(document) + 1):
        page = document[number - 1]
        trim = page.get_trimbox()  # the MediaBox when there is no TrimBox
        problems += check_boxes(page, trim, number)
        problems += check_ink(page, trim, margin_mm * PT_PER_MM, number)
    return problems


def check_boxes(page, trim, number: int) -> list[str]:
    """Text and images must lie on the trimmed page (0.5 pt of rounding allowed)."""
    import pypdfium2.raw as pdfium_c
    left, bottom, right, top = trim
    problems = []
    kinds = {pdfium_c.FPDF_PAGEOBJ_TEXT: "text", pdfium_c.FPDF_PAGEOBJ_IMAGE: "image"}
    for obj in page.get_objects(filter=list(kinds), max_depth=8):
        x0, y0, x1, y1 = obj.get_bounds()
        if x0 < left - 0.5 or y0 < bottom - 0.5 or x1 > right + 0.5 or y1 > top + 0.5:
            near = text_near(page, (max(x0, left), max(y0, bottom), min(x1, right), min(y1, top)))
            problems.append(f"audit: page {number}: {kinds[obj.type]} runs past the edge of the page, "
                            f"near '{near}' (shorten it or let it wrap)")
    return problems


def check_ink(page, trim, margin: float, number: int) -> list[str]:
    """Render the page and look for ink in the band between the trimmed edge and the
    safe margin. 2 pixels per point: a hairline is still seen."""
    scale = 2
    image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    left, bottom, right, top = trim
    height = page.get_height()
    # PDF points (origin bottom left) to pixels (origin top left).
    box = [round(v * scale) for v in (left, height - top, right, height - bottom)]
    inner = [round(v * scale) for v in (left + margin, height - top + margin, right - margin, height - bottom - margin)]
    ink = image.crop(box).point(lambda v: 255 if v < INK else 0)
    found_box = ink.getbbox()
    if not found_box:
        return []
    x0, y0, x1, y1 = (found_box[0] + box[0], found_box[1] + box[1], found_box[2] + box[0], found_box[3] + box[1])
    if x0 >= inner[0] and y0 >= inner[1] and x1 <= inner[2] and y1 <= inner[3]:
        return []
    # The ink closest to an edge, in points from that edge, and a point of it.
    gaps = {"left": (x0 - box[0], (x0, (y0 + y1) / 2)), "right": (box[2] - x1, (x1, (y0 + y1) / 2)),
            "top": (y0 - box[1], ((x0 + x1) / 2, y0)), "bottom": (box[3] - y1, ((x0 + x1) / 2, y1))}
    side = min(gaps, key=lambda s: gaps[s][0])
    gap, (x, y) = gaps[side]
    near = text_near(page, around(nearest_ink(ink, box, side, (x, y), scale, height)))
    return [f"audit: page {number}: ink {gap / scale / PT_PER_MM:.1f} mm from the {side} edge, inside the "
            f"{margin / PT_PER_MM:g} mm safe margin, near '{near}'"]


def nearest_ink(ink, box, side: str, point, scale: int, height: float) -> tuple[float, float]:
    """A point (PDF points) of the ink that comes closest to the given side."""
    width, tall = ink.size
    strip = {"left": (0, 0, 1 + round(point[0] - box[0]), tall), "right": (round(point[0] - box[0]) - 1, 0, width, tall),
             "top": (0, 0, width, 1 + round(point[1] - box[1])), "bottom": (0, round(point[1] - box[1]) - 1, width, tall)}
    hit = ink.crop(strip[side]).getbbox() or (0, 0, 0, 0)
    x = (strip[side][0] + (hit[0] + hit[2]) / 2 + box[0]) / scale
    y = (strip[side][1] + (hit[1] + hit[3]) / 2 + box[1]) / scale
    return x, height - y


def around(point, reach: float = 36) -> tuple[float, float, float, float]:
    return point[0] - reach, point[1] - reach / 3, point[0] + reach, point[1] + reach / 3


def text_near(page, box) -> str:
    """The text inside a box on the page, or "no text" (a picture, a line)."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_bounded(*box)
    finally:
        textpage.close()
    return shorten(text, 40) or "no text: a picture or a line"


# --- what the PDF can do: links, actions, attachments, images --------------------------

def check_actions(reader) -> list[str]:
    """Only web, mail and phone links and jumps inside the document; no JavaScript,
    launch actions or embedded files anywhere."""
    problems = []
    root = reader.trailer["/Root"]
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    for key in ("/EmbeddedFiles", "/JavaScript"):
        if key in names:
            problems.append(f"audit: the PDF has {key[1:]} (not allowed in a handout)")
    for key in ("/AA", "/OpenAction", "/AF"):
        if key in root:
            problems.append(f"audit: the PDF has a document-level {key[1:]} entry (not allowed in a handout)")
    for number, page in enumerate(reader.pages, 1):
        for annotation in page.get("/Annots") or []:
            problems += check_annotation(annotation.get_object(), number)
    return problems


def check_annotation(annotation, number: int) -> list[str]:
    subtype = str(annotation.get("/Subtype"))
    if subtype in ("/FileAttachment", "/Movie", "/Sound", "/Screen", "/RichMedia"):
        return [f"audit: page {number}: a {subtype[1:]} annotation (not allowed in a handout)"]
    if "/AA" in annotation:
        return [f"audit: page {number}: a {subtype[1:]} annotation with automatic actions (not allowed)"]
    action = annotation.get("/A")
    return check_action(action.get_object(), number) if action is not None else []


def check_action(action, number: int, depth: int = 0) -> list[str]:
    kind = str(action.get("/S"))
    problems = []
    if kind == "/URI":
        uri = str(action.get("/URI", ""))
        if not uri.lower().startswith(ALLOWED_SCHEMES):
            problems.append(f"audit: page {number}: a link to '{shorten(uri, 50)}' "
                            "(only https, http, mailto and tel links are allowed)")
    elif kind != "/GoTo":
        problems.append(f"audit: page {number}: a {kind.lstrip('/')} action (only links and jumps are allowed)")
    chained = action.get("/Next")
    if chained is not None and depth < 8:
        for item in chained if isinstance(chained, list) else [chained]:
            problems += check_action(item.get_object(), number, depth + 1)
    return problems


def check_images(reader, limit: int) -> list[str]:
    """No embedded picture over the pixel limit (an SVG can pull in a huge raster)."""
    problems, seen = [], set()
    for number, page in enumerate(reader.pages, 1):
        for name, image in images_in(page.get("/Resources"), seen):
            pixels = int(image.get("/Width", 0)) * int(image.get("/Height", 0))
            if pixels > limit:
                problems.append(f"audit: page {number}: image {name} has {pixels:,} pixels, over the "
                                f"limit of {limit:,} (use a smaller picture)")
    return problems


def images_in(resources, seen: set, depth: int = 0):
    """(name, image dictionary) of every image XObject, inside form XObjects too."""
    resources = resources.get_object() if resources is not None else {}
    xobjects = resources.get("/XObject")
    for name, ref in (xobjects.get_object().items() if xobjects is not None else []):
        key = getattr(ref, "idnum", None) or id(ref)
        if key in seen or depth > 8:
            continue
        seen.add(key)
        obj = ref.get_object()
        if obj.get("/Subtype") == "/Image":
            yield name, obj
        elif obj.get("/Subtype") == "/Form":
            yield from images_in(obj.get("/Resources"), seen, depth + 1)


# --- layout quality: warnings ------------------------------------------------------

def check_layout(document, expected: Expectations) -> list[str]:
    """A last page with only a few lines; a heading left at the foot of a page."""
    pages = [body_lines(document[i]) for i in range(len(document))]
    running = running_lines(pages)
    pages = [[line for line in lines if running_key(line) not in running] for lines in pages]
    warnings = []
    if len(pages) > 1 and len(pages[-1]) <= FEW_LINES:
        lines = len(pages[-1])
        first = pages[-1][0][1] if pages[-1] else ""
        warnings.append(f"layout: the last page (page {len(pages)}) holds only {lines} line{'s' * (lines != 1)}"
                        f"{': ' + repr(shorten(first)) if first else ''}")
    headings = {squash(h, expected.rtl) for h in expected.headings}
    for number, lines in enumerate(pages[:-1], 1):
        last = squash(lines[-1][1], expected.rtl) if lines else ""
        if len(last) > 3 and any(last in heading for heading in headings):
            warnings.append(f"layout: page {number} ends with the heading '{shorten(lines[-1][1])}', "
                            "apart from its text")
    return warnings


def body_lines(page) -> list[tuple[float, str]]:
    """(top, text) of each line of the page, top to bottom."""
    textpage = page.get_textpage()
    try:
        rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
        lines: list[list] = []
        for rect in sorted(rects, key=lambda r: -(r[1] + r[3])):
            # A segment whose middle lies within the line above is part of that line.
            if lines and min(r[1] for r in lines[-1]) <= (rect[1] + rect[3]) / 2 <= max(r[3] for r in lines[-1]):
                lines[-1].append(rect)
            else:
                lines.append([rect])
        return [(max(r[3] for r in line), " ".join(textpage.get_text_bounded(*r).strip()
                                                    for r in sorted(line, key=lambda r: r[0])))
                for line in lines]
    finally:
        textpage.close()


def running_lines(pages: list) -> set[tuple]:
    """Lines at the same place on every page (footer, page number, draft notice),
    page numbers aside."""
    if len(pages) < 2:
        return set()
    return set.intersection(*[{running_key(line) for line in lines} for lines in pages])


def running_key(line: tuple[float, str]) -> tuple[int, str]:
    return round(line[0]), re.sub(r"\d+", "#", " ".join(line[1].split()))

"""Audit: read the finished PDF back and compare it with what the content says it must hold.

The checks before this one read the input; only this stage reads what the patient
gets. It runs on the final PDF bytes of every target, before they are written, and
never asks WeasyPrint again: the text, the links, actions and images come from
PDFium (pypdfium2) reading the PDF, and the ink from PDFium's rendering of each page.

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

import re
import unicodedata
from dataclasses import dataclass, field
from html import unescape

from .checks import plain, text_blocks
from .model import Text, is_allowed_link

SAFE_MARGIN_MM = {"card": 2.0}  # ink this close to the trimmed edge may be cut off
DEFAULT_SAFE_MARGIN_MM = 5.0
PT_PER_MM = 72 / 25.4
INK = 235  # grey level (0-255) below which a pixel counts as ink: light tints included
INK_TABLE = [255 if level < INK else 0 for level in range(256)]
MARKUP = ("@include", "@sources", "{#", "](", "**", "{{", "{%")
FEW_LINES = 3  # a last page with this many lines or fewer is a poor layout
HEADING_RE = re.compile(r"<(h[1-6])\b[^>]*>(.*?)</\1>", re.S)
LEADS_RE = re.compile(r"<(h[1-6]|dt)\b[^>]*>(.*?)</\1>", re.S)
CODE_RE = re.compile(r"<code\b[^>]*>(.*?)</code>", re.S)
TANWIN_ALEF_RE = re.compile("[\u0627\u0623]\u064b|\u064b[\u0627\u0623]")
MIRROR = str.maketrans("()[]{}", ")(][}{")
# White space, control and format characters (bidi marks, zero-width), hyphens (PDFium
# gives U+FFFE for a hyphen it takes for a line-end one) and
# the Arabic tatweel: line breaking and hyphenation add or move them.
DROP_RE = re.compile("[\\s\x00-\x1f\x7f-\x9f\u00ad\u0640\u061c\u200b-\u200f\u2010\u2011\u2028-\u202e"
                     "\u2060-\u2069\ufeff\ufffe\uffff-]")
# In right-to-left text also the combining marks of Arabic and brackets (extractors
# give the mirrored glyph).
RTL_DROP_RE = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed()\\[\\]{}]")


@dataclass(frozen=True)
class Required:
    what: str  # e.g. "warning-signs item", "heading of section 'risks'"
    text: str


@dataclass(frozen=True)
class Expectations:
    """What the PDF of one target must show, from its content and status."""

    rtl: bool
    required: tuple[Required, ...]
    headings: tuple[str, ...]      # every heading and term, for the stranded-heading warning
    draft_notice: str | None       # printed on every page; None: approved, must not appear
    literal: str                   # text in which markup characters are the author's own
    safe_margin_mm: float
    max_image_pixels: int
    base_letters: bool = False     # compare base letters and digits only (squash)


@dataclass
class Page:
    """What the checks need of one page, read from PDFium once."""

    number: int
    page: object       # pypdfium2 PdfPage
    textpage: object   # its PdfTextPage, open until the audit ends
    text: str          # in PDFium's reading order
    lines: list        # (top, text) of each line, top to bottom
    objects: list      # (kind, bounds, pixels) of each text and image object


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)   # fail the target
    warnings: list[str] = field(default_factory=list)   # poor layout: fail only with --strict
    first_page: object = None  # the first page as the audit rendered it (a PIL image): the catalog's picture


def expect(text: Text, required_ids: tuple[str, ...], safety: tuple[str, ...], rtl: bool,
           draft_notice: str | None, literal: str, max_image_pixels: int,
           contacts: tuple[Required, ...] = (), base_letters: bool = False) -> Expectations:
    """The expectations of one target: its required headings, every paragraph and list
    item of its safety partials, the care team's numbers (`contacts`), and the draft
    notice if it is a draft."""
    from .content import to_html
    required = [Required(f"heading of section '{s.id}'", heading_of(s.html))
                for s in text.sections if s.id in required_ids] + list(contacts)
    for name in (n for n in safety if n in text.partials):
        required += [Required(f"{name} item", block) for block in text_blocks(to_html(text.partials[name]))]
    # Headings, and the terms of definition lists: each belongs with the text after it.
    headings = [plain(h) for s in text.sections for _, h in LEADS_RE.findall(str(s.html))]
    code = " ".join(CODE_RE.findall(str(text.intro) + "".join(str(s.html) for s in text.sections)))
    # The title and subtitle are plain text, not Markdown: whatever they hold is meant.
    # So are the card's labels and the figures' words: TOML strings, not Markdown.
    words = [*text.card_labels.values(), *(w for f in text.figures.values() for w in (f.alt, *f.labels))]
    literal = " ".join((literal, text.title, text.subtitle, unescape(code), *words))
    return Expectations(rtl, tuple(required), tuple(headings), draft_notice, literal,
                        SAFE_MARGIN_MM.get(text.format, DEFAULT_SAFE_MARGIN_MM), max_image_pixels, base_letters)


def audit(pdf: bytes, expected: Expectations) -> Findings:
    """Every check of the finished PDF; each problem is one line naming the page."""
    import pypdfium2 as pdfium
    findings = Findings()
    document = pdfium.PdfDocument(pdf)
    try:
        pages = [read_page(document[i], i + 1) for i in range(len(document))]
        texts = [page.text for page in pages]
        findings.problems += check_required(texts, expected)
        findings.problems += check_markup(texts, expected)
        findings.problems += check_draft_notice(texts, expected)
        for page in pages:
            image, scale = render(page, color=page.number == 1)
            findings.first_page = findings.first_page or image
            findings.problems += check_boxes(page)
            findings.problems += check_ink(page, image.convert("L"), scale, expected.safe_margin_mm * PT_PER_MM)
            findings.problems += check_images(page, expected.max_image_pixels)
        findings.problems += check_actions(document, pages)
        findings.warnings += check_layout(pages, expected)
    finally:
        document.close()  # closes its pages and text pages too
    return findings


def read_page(page, number: int) -> Page:
    import pypdfium2.raw as pdfium_c
    textpage = page.get_textpage()
    kinds = {pdfium_c.FPDF_PAGEOBJ_TEXT: "text", pdfium_c.FPDF_PAGEOBJ_IMAGE: "image"}
    objects = [(kinds[obj.type], obj.get_bounds(), obj.get_px_size() if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE else None)
               for obj in page.get_objects(filter=list(kinds), max_depth=8)]
    return Page(number, page, textpage, textpage.get_text_range(), body_lines(textpage), objects)


# --- text -------------------------------------------------------------------------


def squash(text: str, rtl: bool = False, base_letters: bool = False) -> str:
    """Text reduced to what every extractor agrees on (see the module's docstring).

    base_letters, for scripts whose text layer WeasyPrint 70 cannot write faithfully
    ([scripts.X] audit_marks = false: Devanagari and the other Indic scripts): it maps
    each glyph to one piece of text, so a vowel sign drawn before its consonant, or a
    glyph shared by two clusters, is extracted out of place or as a stray letter. What
    the letters are, and their order, survives: only letters of the script's own kind
    (Lo) and digits are compared."""
    text = unicodedata.normalize("NFKC", text)
    if rtl:
        text = RTL_DROP_RE.sub("", TANWIN_ALEF_RE.sub("", text))
    if base_letters:
        text = "".join(c for c in text if unicodedata.category(c) in ("Lo", "Nd"))
    return DROP_RE.sub("", text)


def found(phrase: str, squashed_page: str, rtl: bool, base_letters: bool = False) -> bool:
    """The phrase is in the squashed text: whole, or for right-to-left text word by word.
    Base letters are found in order with at most a few strays between two of them: a
    glyph first drawn as the last of a bigger cluster is extracted as that whole cluster
    everywhere (WeasyPrint 70 maps each glyph to one text), which adds letters. One
    first drawn as the first of a cluster is extracted as nothing: the letter is lost
    and the check fails, on the safe side. A phrase not printed does not match."""
    if base_letters and not rtl:
        letters = squash(phrase, base_letters=True)
        return re.search(".{0,3}?".join(map(re.escape, letters)), squashed_page) is not None
    if not rtl:
        return squash(phrase) in squashed_page
    return all(word in squashed_page for word in rtl_words(phrase))


def rtl_words(phrase: str) -> list[str]:
    text = TANWIN_ALEF_RE.sub("", unicodedata.normalize("NFKC", phrase))
    text = "".join(c for c in text if unicodedata.category(c) not in ("Mn", "Cf") and c != "\u0640")
    return re.findall(r"\w+", text)


def check_required(pages: list[str], expected: Expectations) -> list[str]:
    """Every required heading and safety item is printed (anywhere: items may cross pages)."""
    whole = squash("".join(pages), expected.rtl, expected.base_letters)
    return [f"audit: {item.what} is not in the printed text: '{shorten(item.text)}'"
            for item in expected.required if item.text and not found(item.text, whole, expected.rtl, expected.base_letters)]


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
            found = next((f for f in forms if f in squashed and f not in literal), None)
            if found:
                problems.append(f"audit: page {number}: markup '{token}' is printed as text, near "
                                f"'{context(text, found, squashed)}' (fix the Markdown)")
    return problems


def context(text: str, token: str, squashed: str) -> str:
    """The printed words around a token, as the reader sees them (squashed if the
    token is split over a line break)."""
    flat = " ".join(text.split())
    at = flat.find(token)
    if at < 0:
        flat, at = squashed, squashed.find(token)
    return shorten(flat[max(0, at - 25):at + 35])


def check_draft_notice(pages: list[str], expected: Expectations) -> list[str]:
    """A draft says so on every page; an approved text never does."""
    problems = []
    for number, text in enumerate(pages, 1):
        squashed = squash(text, expected.rtl, expected.base_letters)
        if expected.draft_notice and not found(expected.draft_notice, squashed, expected.rtl, expected.base_letters):
            problems.append(f"audit: page {number}: the draft notice '{expected.draft_notice}' is missing")
    return problems


def shorten(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def heading_of(section_html) -> str:
    match = HEADING_RE.search(str(section_html))
    return plain(match[2]) if match else ""



# --- geometry: nothing drawn where the trimmer or the printer may cut it ----------------

def check_boxes(page: Page) -> list[str]:
    """Text and images must lie on the trimmed page (0.5 pt of rounding allowed). A
    print-shop PDF's bleed and crop marks lie outside its TrimBox (the MediaBox when
    there is none) and are not looked at."""
    left, bottom, right, top = page.page.get_trimbox()
    problems = []
    for kind, (x0, y0, x1, y1), _ in page.objects:
        if x0 < left - 0.5 or y0 < bottom - 0.5 or x1 > right + 0.5 or y1 > top + 0.5:
            near = text_near(page, (max(x0, left), max(y0, bottom), min(x1, right), min(y1, top)))
            problems.append(f"audit: page {page.number}: {kind} runs past the edge of the page, "
                            f"near '{near}' (shorten it or let it wrap)")
    return problems


def render(page: Page, color: bool) -> tuple:
    """The page as pixels, and pixels per point: a pixel is 0.35 mm (0.18 mm on small
    pages), so a hairline still shows. The first page in colour: it is also the
    catalog's picture of the PDF, which is then not rendered a second time."""
    scale = 2 if page.page.get_width() < 300 else 1
    image = page.page.render(scale=scale, grayscale=not color).to_pil()
    return image.convert("RGB") if color else image.convert("L"), scale


def check_ink(page: Page, image, scale: int, margin: float) -> list[str]:
    """Look for ink in the band between the trimmed edge and the safe margin."""
    left, bottom, right, top = page.page.get_trimbox()
    crop = page.page.get_cropbox()  # what is rendered; a print-shop page's starts below zero

    def pixel(x, y):  # PDF points (origin bottom left) to pixels (origin top left)
        return round((x - crop[0]) * scale), round((crop[3] - y) * scale)

    box = [*pixel(left, top), *pixel(right, bottom)]
    inner = [*pixel(left + margin, top - margin), *pixel(right - margin, bottom + margin)]
    ink = image.crop(box).point(INK_TABLE)
    found = ink.getbbox()
    if not found:
        return []
    x0, y0, x1, y1 = found[0] + box[0], found[1] + box[1], found[2] + box[0], found[3] + box[1]
    if x0 >= inner[0] and y0 >= inner[1] and x1 <= inner[2] and y1 <= inner[3]:
        return []
    # The ink closest to an edge: how far from it, and a strip of pixels along that edge.
    gaps = {"left": (x0 - box[0], (0, 0, found[0] + 1, ink.height)),
            "right": (box[2] - x1, (found[2] - 1, 0, ink.width, ink.height)),
            "top": (y0 - box[1], (0, 0, ink.width, found[1] + 1)),
            "bottom": (box[3] - y1, (0, found[3] - 1, ink.width, ink.height))}
    side = min(gaps, key=lambda s: gaps[s][0])
    gap, strip = gaps[side]
    hit = ink.crop(strip).getbbox() or (0, 0, 0, 0)
    x = crop[0] + (box[0] + strip[0] + (hit[0] + hit[2]) / 2) / scale
    y = crop[3] - (box[1] + strip[1] + (hit[1] + hit[3]) / 2) / scale
    return [f"audit: page {page.number}: ink {gap / scale / PT_PER_MM:.1f} mm from the {side} edge, inside the "
            f"{margin / PT_PER_MM:g} mm safe margin, near '{text_near(page, around((x, y)))}'"]


def around(point, reach: float = 36) -> tuple[float, float, float, float]:
    return point[0] - reach, point[1] - reach / 3, point[0] + reach, point[1] + reach / 3


def text_near(page: Page, box) -> str:
    """The text inside a box on the page, or "no text" (a picture, a line)."""
    return shorten(page.textpage.get_text_bounded(*box), 40) or "no text: a picture or a line"


# --- what the PDF can do: links, actions, attachments, images --------------------------
# Read with PDFium's own object API: pypdf would parse every object stream of a
# tagged PDF first (a quarter of a second for a booklet).

def check_actions(document, pages: list[Page]) -> list[str]:
    """Only web, mail and phone links and jumps inside the document; no JavaScript,
    launch actions, embedded files or annotations other than links and form fields."""
    import pypdfium2.raw as pdfium_c
    problems = []
    if pdfium_c.FPDFDoc_GetAttachmentCount(document.raw) > 0:
        problems.append("audit: the PDF has embedded files (attachments are not allowed in a handout)")
    if pdfium_c.FPDFDoc_GetJavaScriptActionCount(document.raw) > 0:
        problems.append("audit: the PDF has JavaScript (not allowed in a handout)")
    for page in pages:
        for index in range(pdfium_c.FPDFPage_GetAnnotCount(page.page.raw)):
            annotation = pdfium_c.FPDFPage_GetAnnot(page.page.raw, index)
            try:
                problems += check_annotation(document, annotation, page.number)
            finally:
                pdfium_c.FPDFPage_CloseAnnot(annotation)
    return problems


def check_annotation(document, annotation, number: int) -> list[str]:
    import pypdfium2.raw as pdfium_c
    subtype = pdfium_c.FPDFAnnot_GetSubtype(annotation)
    if subtype not in (pdfium_c.FPDF_ANNOT_LINK, pdfium_c.FPDF_ANNOT_WIDGET):
        names = {value: name[len("FPDF_ANNOT_"):].lower() for name, value in vars(pdfium_c).items()
                 if name.startswith("FPDF_ANNOT_") and isinstance(value, int)}
        return [f"audit: page {number}: a {names.get(subtype, 'unknown')} annotation "
                "(only links and form fields are allowed)"]
    if pdfium_c.FPDFAnnot_HasKey(annotation, b"AA"):
        return [f"audit: page {number}: an annotation with automatic actions (not allowed)"]
    if subtype == pdfium_c.FPDF_ANNOT_WIDGET:
        return ([f"audit: page {number}: a form field with an action (not allowed)"]
                if pdfium_c.FPDFAnnot_HasKey(annotation, b"A") else [])
    action = pdfium_c.FPDFLink_GetAction(pdfium_c.FPDFAnnot_GetLink(annotation))
    return check_action(document, action, number) if action else []


def check_action(document, action, number: int) -> list[str]:
    import ctypes

    import pypdfium2.raw as pdfium_c
    kind = pdfium_c.FPDFAction_GetType(action)
    if kind == pdfium_c.PDFACTION_GOTO:
        return []
    if kind != pdfium_c.PDFACTION_URI:
        names = {pdfium_c.PDFACTION_REMOTEGOTO: "remote go-to", pdfium_c.PDFACTION_LAUNCH: "launch",
                 pdfium_c.PDFACTION_EMBEDDEDGOTO: "embedded go-to"}
        return [f"audit: page {number}: a {names.get(kind, 'JavaScript or other')} action "
                "(only links and jumps are allowed)"]
    size = pdfium_c.FPDFAction_GetURIPath(document.raw, action, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFAction_GetURIPath(document.raw, action, buffer, size)
    uri = buffer.value.decode("latin-1")
    if not is_allowed_link(uri):
        return [f"audit: page {number}: a link to '{shorten(uri, 50)}' "
                "(only https, http, mailto and tel links are allowed)"]
    return []


def check_images(page: Page, limit: int) -> list[str]:
    """No embedded picture over the pixel limit (an SVG can pull in a huge raster)."""
    return [f"audit: page {page.number}: an image of {w * h:,} pixels, over the limit of {limit:,} "
            "(use a smaller picture)" for kind, _, (w, h) in (o for o in page.objects if o[2]) if w * h > limit]


# --- layout quality: warnings ------------------------------------------------------

def check_layout(pages: list[Page], expected: Expectations) -> list[str]:
    """A last page with only a few lines; a heading left at the foot of a page."""
    running = running_lines(pages)
    body = [body_of(page, running) for page in pages]
    warnings = []
    last = body[-1]
    if len(pages) > 1 and len(last) <= FEW_LINES:
        first = line_text(pages[-1], last[0]) if last else ""
        warnings.append(f"layout: the last page (page {len(pages)}) holds only {len(last)} line{'s' * (len(last) != 1)}"
                        f"{': ' + repr(shorten(first)) if first else ''}")
    headings = {squash(h, expected.rtl) for h in expected.headings}
    for page, lines in zip(pages[:-1], body[:-1]):
        foot = line_text(page, lines[-1]) if lines else ""
        if len(squash(foot, expected.rtl)) > 3 and any(squash(foot, expected.rtl) in h for h in headings):
            warnings.append(f"layout: page {page.number} ends with the heading '{shorten(foot)}', apart from its text")
    return warnings


def body_lines(textpage) -> list[tuple[float, list]]:
    """(top, text rectangles) of each line of the page, top to bottom."""
    rects = [textpage.get_rect(i) for i in range(textpage.count_rects())]
    lines: list[list] = []
    for rect in sorted(rects, key=lambda r: -(r[1] + r[3])):
        # A segment whose middle lies within the line above is part of that line.
        if lines and min(r[1] for r in lines[-1]) <= (rect[1] + rect[3]) / 2 <= max(r[3] for r in lines[-1]):
            lines[-1].append(rect)
        else:
            lines.append([rect])
    return [(max(r[3] for r in line), sorted(line, key=lambda r: r[0])) for line in lines]


def line_text(page: Page, line) -> str:
    return " ".join(page.textpage.get_text_bounded(*rect).strip() for rect in line[1])


def line_key(page: Page, line) -> tuple[int, str]:
    """A line's place and text, page numbers aside: the same on every page for a footer."""
    return round(line[0]), re.sub(r"\d+", "#", " ".join(line_text(page, line).split()))


def running_lines(pages: list[Page]) -> set[tuple]:
    """Lines at the same place with the same text on every page (footer, page number,
    draft notice). Only lines at a height found on every page are read."""
    if len(pages) < 2:
        return set()
    heights = set.intersection(*[{round(line[0]) for line in page.lines} for page in pages])
    return set.intersection(*[{line_key(page, line) for line in page.lines if round(line[0]) in heights}
                              for page in pages])


def body_of(page: Page, running: set) -> list:
    heights = {top for top, _ in running}
    return [line for line in page.lines if round(line[0]) not in heights or line_key(page, line) not in running]

"""Read each PDF back and check it: pages, fonts, WeasyPrint's log, readability."""

import html
import io
import os
import re
from functools import lru_cache
from pathlib import Path

from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont

from .files import is_regular_input
from .settings import Format
from .languages import MEASURES, Formula, language, readability_measures

BLOCK_RE = re.compile(r"<(p|li|h[1-6]|dt|dd|td|th)\b[^>]*>(.*?)</\1>", re.S)
# Where textstat's sentences end (its count ignores colons); plain_text ends every block on a line.
SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|\n")


def check_pages(pages: int, fmt: Format, large_print: bool = False) -> list[str]:
    limit = fmt.page_limit(large_print)
    if pages > limit:
        floor = "16 pt (large print)" if large_print else f"{fmt.smaller_sizes[-1]} pt"
        return [f"needs {pages} pages even at the smallest allowed body size ({floor}); "
                f"the {fmt.name} limit is {limit}: shorten the text"]
    return []


def check_log(messages: list[str]) -> list[str]:
    """Any WeasyPrint warning or error fails the target: a missing image, an ignored
    CSS rule or a .notdef glyph would otherwise still give a PDF."""
    return [f"WeasyPrint: {message}" for message in messages]


def check_fonts(pdf: bytes, allowed: frozenset[str]) -> list[str]:
    """Every font is embedded, and every embedded font program is one of the
    shipped files (read from the program's own name table, not the PDF's label)."""
    problems = []
    for label, program_name in sorted(list_fonts(pdf)):
        if program_name is None:
            problems.append(f"font {label} is not embedded")
        elif program_name not in allowed:
            problems.append(f"font {label} ({program_name}) is not one of the shipped fonts: "
                            f"{', '.join(sorted(allowed))}")
    return problems


def list_fonts(pdf: bytes) -> set[tuple[str, str | None]]:
    """(BaseFont label, PostScript name of the embedded program or None) of every
    font that draws text on any page, read with PDFium (pypdf would first parse
    every object stream of a tagged PDF: a quarter of a second for a booklet)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    fonts: dict[str, str | None] = {}
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            page = document[index]
            for text in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT], max_depth=8):
                font = pdfium_c.FPDFTextObj_GetFont(text.raw)
                label = base_font_name(font)
                if label not in fonts:
                    fonts[label] = embedded_name(font_program(font)) if pdfium_c.FPDFFont_GetIsEmbedded(font) else None
    finally:
        document.close()
    return set(fonts.items())


def base_font_name(font) -> str:
    import ctypes

    import pypdfium2.raw as pdfium_c
    size = pdfium_c.FPDFFont_GetBaseFontName(font, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFFont_GetBaseFontName(font, buffer, size)
    return buffer.value.decode("latin-1") or "?"


def font_program(font) -> bytes:
    import ctypes

    import pypdfium2.raw as pdfium_c
    size = ctypes.c_size_t()
    pdfium_c.FPDFFont_GetFontData(font, None, 0, ctypes.byref(size))
    buffer = (ctypes.c_uint8 * size.value)()
    pdfium_c.FPDFFont_GetFontData(font, buffer, size.value, ctypes.byref(size))
    return bytes(buffer)


def embedded_name(data: bytes) -> str | None:
    """The PostScript name inside an embedded font program, or None if there is none."""
    if not data:
        return None
    try:
        with TTFont(io.BytesIO(data), lazy=True) as program:
            return program["name"].getDebugName(6) or "?"
    except Exception:  # a bare CFF program (OpenType fonts with PostScript outlines)
        pass
    try:
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(data), None)
        return cff.fontNames[0]
    except Exception:
        return "unreadable font program"


@lru_cache
def shipped_font_names(fonts_dir: Path) -> frozenset[str]:
    """PostScript names of the font files shipped in the repository."""
    names = set()
    for path in sorted(p for p in fonts_dir.glob("*.[ot]tf") if is_regular_input(p, fonts_dir)):
        with TTFont(path, lazy=True) as font:
            names.add(font["name"].getDebugName(6))
    return frozenset(names)


def plain_text(markup: str) -> str:
    """Text of the blocks of some HTML, each block ending as a sentence.

    Readability formulas count sentences by their final punctuation; a list item
    or heading without a full stop would otherwise run into the next one.
    """
    return "\n".join(text if text[-1] in ".!?:" else text + "." for text in text_blocks(markup))


def text_blocks(markup: str) -> list[str]:
    """The text of each paragraph, list item, heading, definition and table cell of
    some HTML (innermost first where they nest), tags removed, white space collapsed."""
    return [text for _, inner in BLOCK_RE.findall(str(markup)) if (text := plain(inner))]


def plain(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", str(markup))).split())


@lru_cache(maxsize=64)  # the A4 and Letter targets of one text share a score
def readability(text: str, lang: str) -> dict | None:
    """The readability of the text, where textstat has a formula for the language
    (languages.FORMULAS): {"formula", "score"}, plus any measures reported beside it
    (languages.MEASURES: SMOG and Dale-Chall for English)."""
    import textstat  # imports NLTK and SciPy (seconds): only when a score is wanted

    known = language(lang)
    if known.formula is None:
        return None
    if known.locale.language == "en":
        provide_cmudict()
    textstat.set_lang(known.locale.language)
    scores = {"formula": known.formula.name, "score": measure(textstat, known.formula, text)}
    scores.update({extra.name: measure(textstat, extra, text) for extra in MEASURES.get(known.locale.language, ())})
    return scores


def measure(textstat, formula: Formula, text: str) -> float:
    return round(getattr(textstat, formula.function)(text, *formula.args), 1)


def check_readability(score: dict | None, fmt: Format, text: str = "") -> list[str]:
    """Only English is held to limits (the format's max_grade and max_smog); other
    languages and Dale-Chall are reported. A failure quotes the text's hardest
    sentences: where a rewrite gains most."""
    if not score:
        return []
    over = [f"{name} {value} is above the {fmt.name} limit of {limit}"
            for name, value, limit in readability_measures(score, fmt.max_grade, fmt.max_smog)
            if limit is not None and value is not None and value > limit]
    if not over:
        return []
    quoted = "; ".join(f'"{shorten(sentence)}"' for sentence in hardest_sentences(text))
    return ["; ".join(over) + (f"; hardest sentences (most words of 3+ syllables): {quoted}" if quoted else "")]


def hardest_sentences(text: str, count: int = 3) -> list[str]:
    """The sentences with the most words of three or more syllables (what SMOG counts),
    the longer first among equals (what Flesch-Kincaid adds), then in the text's order. Not each sentence's own
    Flesch-Kincaid grade: that ranks a one-word heading such as "Infections." (grade 20)
    above a long sentence full of long words."""
    import textstat

    sentences = [s for s in SENTENCE_END_RE.split(text) if s.strip()]
    textstat.set_lang("en")
    return sorted(sentences, key=lambda s: (textstat.polysyllabcount(s), textstat.lexicon_count(s)), reverse=True)[:count]


def shorten(sentence: str, width: int = 80) -> str:
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= width else sentence[:width - 1].rstrip() + "…"


@lru_cache
def provide_cmudict() -> None:
    """Give textstat the CMU Pronouncing Dictionary without a download.

    textstat counts English syllables with NLTK's copy of the dictionary and tries to
    download it on first use, which fails on a build machine without internet. The
    builder ships the dictionary's data (data/cmudict-stress.txt.gz, BSD-licensed by
    Carnegie Mellon University: data/CMUDICT-LICENSE) and writes it once in NLTK's
    corpus layout in the user's cache. textstat only counts the phones that carry a
    stress digit (the vowels), so only the digits are shipped: the same syllable counts
    in about a third of the memory every worker would otherwise hold.
    """
    import gzip

    import nltk

    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "handoutkit" / "nltk_data-stress"
    corpus = root / "corpora" / "cmudict" / "cmudict"
    if not corpus.is_file():
        corpus.parent.mkdir(parents=True, exist_ok=True)
        temporary = corpus.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(gzip.decompress((Path(__file__).parent / "data" / "cmudict-stress.txt.gz").read_bytes()))
        os.replace(temporary, corpus)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))

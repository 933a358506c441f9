"""Invisible and control characters: refused in any text that can reach a PDF.

A bidirectional override (U+202E) prints a phone number or a dose backwards while
the source reads right; a zero-width space hides inside a word and breaks search,
copying and screen readers; a control character prints as nothing or a box. None
of them shows in an editor, so each is reported with its file, line and column.

The zero-width joiners (ZWJ, ZWNJ) are letters' business in Arabic and Indic
scripts (Persian words, Devanagari conjuncts), so a language whose script says
`joiners = true` in its [scripts.X] settings may use them (the caller passes that
on as `joiners`); text with no language (handout.toml, a clinic profile) may too, as
a clinic's name can be Persian. Markdown's character references
(`&#x202E;`, `&zwj;`) and TOML's escapes (`\\u202E`) are decoded and checked too.
A leading byte order mark is not text: the readers strip it (utf-8-sig).
"""

import re
import unicodedata
from html import unescape

from .errors import Problem

BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))
ZERO_WIDTH = frozenset({0x200B, 0x2060, 0xFEFF})
JOINERS = frozenset({0x200C, 0x200D})  # ZWNJ, ZWJ
# Every character what_is_wrong may refuse, so a line is scanned in one pass, not one
# call a character (a text may be 500 KB).
SUSPECT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u202a-\u202e\u2060\u2066-\u2069\ufeff]")
# As html.unescape finds them (a numeric one needs no semicolon there).
CHAR_REF_RE = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]{0,31};)")
# A TOML escape preceded by an even number of backslashes (`\\u202E` is a backslash, then text).
TOML_ESCAPE_RE = re.compile(r"(?<!\\)(?:\\\\)*(?P<escape>\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8})")
LINE_END_RE = re.compile(r"\r\n|\r|\n")
DELETE = "delete it; most editors do not show it"


def text_lines(text: str) -> list[str]:
    """A file's lines as editors, Markdown and TOML count them: str.splitlines would also
    end a line at U+0085, form feeds and other separators, hiding them from the check
    and shifting every line number after them."""
    lines = LINE_END_RE.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


def what_is_wrong(char: str, joiners: bool) -> tuple[str, str] | None:
    """(what the character is, how to fix it) if it may not reach a PDF, else None."""
    code = ord(char)
    if code in BIDI_CONTROLS:
        return ("a bidirectional control, which reorders the printed text after it",
                f"{DELETE}; the builder sets each language's direction itself")
    if code in ZERO_WIDTH:
        return "a zero-width character, invisible when printed", DELETE
    if code in JOINERS and not joiners:
        return ("a zero-width joiner or non-joiner, invisible when printed",
                f"{DELETE}; joiners are allowed only in scripts that need them ([scripts.X] joiners = true)")
    if unicodedata.category(char) == "Cc" and char not in "\t\n\r":
        return "a control character", DELETE
    return None


def problem_at(path, line: int, column: int, char: str, joiners: bool, written: str = "") -> Problem | None:
    """The problem with `char` at line:column (written: the reference or escape that
    stands for it), if there is one."""
    wrong = what_is_wrong(char, joiners)
    if wrong is None:
        return None
    name = unicodedata.name(char, "") or "control"
    via = f", written {written}" if written else ""
    return Problem(path, f"invisible character U+{ord(char):04X} ({name}{via}): {wrong[0]}", wrong[1], line, column)


def line_problems(path, number: int, text: str, joiners: bool, decode) -> list[Problem]:
    """Every refused character of one line, as written and as `decode` finds them
    ((column, written, char) for each reference or escape)."""
    found = [problem_at(path, number, match.start() + 1, match[0], joiners) for match in SUSPECT_RE.finditer(text)]
    found += [problem_at(path, number, column, char, joiners, written) for column, written, char in decode(text)]
    return sorted((p for p in found if p), key=lambda p: p.column)


def markdown_references(text: str):
    """Markdown's character references in a line: what each becomes in the HTML."""
    for match in CHAR_REF_RE.finditer(text):
        decoded = unescape(match[0])
        if len(decoded) == 1:
            yield match.start() + 1, match[0], decoded


def toml_escapes(text: str):
    """TOML's \\u and \\U escapes in a line: the character each stands for."""
    for match in TOML_ESCAPE_RE.finditer(text):
        code = int(match["escape"][2:], 16)
        if code <= 0x10FFFF:
            yield match.start("escape") + 1, match["escape"], chr(code)


def check_markdown_lines(lines, joiners: bool, problems: list) -> None:
    """Markdown lines (content.Line: text, path, number) of a text whose script may
    (or may not) use ZWJ and ZWNJ."""
    for line in lines:
        problems += line_problems(line.path, line.number, line.text, joiners, markdown_references)


def check_toml_text(path, text: str, data: dict, joiners: bool, problems: list) -> None:
    """A TOML file as written (comments included), and its escapes where the parsed
    values or keys really hold the character (`'\\u202E'` in a literal string is text)."""
    parsed = "".join(strings_in(data))

    def decode(line):
        return ((column, written, char) for column, written, char in toml_escapes(line) if char in parsed)

    for number, line in enumerate(text_lines(text), 1):
        problems += line_problems(path, number, line, joiners, decode)


def strings_in(value):
    """Every key and string in parsed TOML."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)

"""A built output folder with many handouts, languages and optional manifest fields,
for the catalog tests, made in seconds.

Only three PDFs are made (a card, an A4 and a Letter page); the other entries
are copies of them under other handouts and languages, with a manifest written
to match. This exercises every filter, right-to-left labels, and the optional
fields later work adds (stale, large_print, clinic) without needing
translations or fonts that may not exist yet.
"""

import hashlib
import json
import shutil
from pathlib import Path

# (handout, lang, title, extra manifest fields); each gets a card and a brief on A4 and Letter.
HANDOUTS = [
    ("demo", "en", "Demo handout", {}),
    ("demo", "ar", "نشرة تجريبية", {"stale": True}),
    ("demo", "zh-Hans", "演示讲义", {}),
    ("fatigue", "en", "Living with fatigue", {"large_print": True, "clinic": "Rheumatology",
                                               "status": "approved"}),
    ("fatigue", "es", "Vivir con cansancio", {"clinic": "Rheumatology", "status": "approved",
                                               "next_review": "2020-01-31"}),
]
FILES = [("card", "card"), ("brief", "a4"), ("brief", "letter")]
PAGE_SIZES = {"card": "85.6mm 54mm", "a4": "A4", "letter": "letter"}


def build_pdfs(work: Path) -> dict[tuple[str, str], Path]:
    """Three small PDFs in the sizes of the real ones, made with WeasyPrint directly:
    the catalog reads only files and the manifest, so its tests need not depend on
    the content pipeline (which other tests cover)."""
    from weasyprint import HTML

    pdfs = {}
    for fmt, paper in FILES:
        page = f"<section><h1>Demo handout</h1><p>{fmt}, {paper}. {'Some words for you. ' * 12}</p></section>"
        style = (f"@page {{ size: {PAGE_SIZES[paper]}; margin: 6mm }} h1 {{ color: #0b4f8a; font-size: 14pt }}"
                 " section + section { break-before: page }")
        pdfs[fmt, paper] = work / "pdfs" / f"{fmt}-{paper}.pdf"
        pdfs[fmt, paper].parent.mkdir(parents=True, exist_ok=True)
        HTML(string=f"<style>{style}</style>" + page * (2 if fmt == "card" else 1)).write_pdf(pdfs[fmt, paper])
    return pdfs


def make_catalog_dist(work: Path) -> tuple[Path, dict]:
    """An output folder and its manifest: 5 handout languages x 3 PDFs = 15 entries."""
    pdfs = build_pdfs(work)
    out = work / "dist"
    entries = []
    for handout, lang, title, extra in HANDOUTS:
        for fmt, paper in FILES:
            path = f"{handout}/{lang}/{handout}-{fmt}-{paper}.pdf"
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(pdfs[fmt, paper], out / path)
            data = (out / path).read_bytes()
            entries.append({
                "path": path, "handout": handout, "lang": lang, "format": fmt, "paper": paper,
                "title": title, "pages": 2 if fmt == "card" else 1, "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "status": "draft", "version": "1.2.0",
                "last_reviewed": "2026-01-10", "next_review": "2027-07-10",
                "readability": {"formula": "Flesch-Kincaid grade", "score": 4.2}, **extra,
            })
    manifest = {"targets": sorted(entries, key=lambda e: e["path"]), "failed": []}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return out, manifest


def matching(manifest: dict, **wanted) -> list[dict]:
    """The manifest entries a set of filters should leave, computed independently of
    the page: keys as in the page (lang, format, paper, large-print, clinic)."""
    def value(entry, key):
        if key == "large-print":
            return "yes" if entry.get("large_print") else "no"
        if key == "clinic":
            return entry.get("clinic") or "-"
        return entry[key]
    return [e for e in manifest["targets"] if all(value(e, k) == v for k, v in wanted.items())]

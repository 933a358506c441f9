"""Build print-ready patient handouts from Markdown, Jinja2 templates and print CSS.

The pipeline, one module per stage:

    discover  -> find handouts and plan the targets (handout x language x format x paper)
    content   -> load and validate every input file before anything is written
    render    -> Jinja2 templates turn the content into one HTML page per target
    layout    -> WeasyPrint lays the HTML out into PDF bytes, with a locked-down fetcher
    checks    -> read each PDF back and check pages, fonts, logs and readability
    report    -> write PDFs atomically, the manifest, and the summary

`pipeline.build()` runs them in that order; `cli.main()` is the command line.
"""

import os
from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# The builder's own templates/ and styles/ (fonts included), which a project's files
# override one by one (assets.py): the repository's in a checkout; in an installed
# package, the copy setup.py puts inside it when the wheel is built.
PACKAGED = Path(__file__).resolve().parent / "assets"
ASSETS_ROOT = PACKAGED if (PACKAGED / "templates").is_dir() else PROJECT_ROOT

# Layout must not depend on the machine's fonts. Fontconfig reads this variable
# once, when Pango is loaded by the first `import weasyprint`, so it is set here,
# before any stage imports WeasyPrint. The file lists only the shipped fonts.
os.environ["FONTCONFIG_FILE"] = str(ASSETS_ROOT / "styles" / "fonts" / "fonts.conf")

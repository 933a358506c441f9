#!/usr/bin/env python3
"""Build every patient handout into dist/. Run `python build.py --help` for the options."""

import sys

from handoutkit.cli import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Build every patient handout into dist/. Run `python build.py --help` for the options."""

import sys

if __name__ == "__main__":
    try:
        from handoutkit.cli import command
    except KeyboardInterrupt:  # Ctrl-C while Python starts
        print("interrupted: nothing was built", file=sys.stderr)
        sys.exit(130)
    sys.exit(command())

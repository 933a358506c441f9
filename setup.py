"""The wheel carries the builder's templates/ and styles/ (fonts included), and the JSON
Schemas of the author's files (schemas/), as package data, in handoutkit/assets/: the
repository keeps them at its top level, where authors find them, and this copies them in
when a wheel is built (handoutkit/__init__.py, ASSETS_ROOT). Everything else is in
pyproject.toml."""

import os
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = ("templates", "styles", "schemas")


class BuildWithAssets(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads them from the checkout
            return
        for name in ASSETS:
            shutil.copytree(Path(name), Path(self.build_lib) / "handoutkit" / "assets" / name, dirs_exist_ok=True,
                            copy_function=link_or_copy)


def link_or_copy(source: str, target: str) -> None:
    """A hardlink where the file system allows (the fonts are 99 MB; the wheel's build
    only reads build_lib, and the bdist step copies out of it), else a copy. The old file
    is removed first: copying over a file that is itself a link would write through it
    into the checkout's own font."""
    Path(target).unlink(missing_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


setup(cmdclass={"build_py": BuildWithAssets})

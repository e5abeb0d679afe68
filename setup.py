"""Build step that pyproject.toml cannot declare: a wheel carries the web files and compiled catalogs.

templates/, static/ and migrations/ live at the top of the repository (the house layout); a wheel copies
them into registry/bundled/, and the Chinese catalogs are compiled, so that `pip install` of the package
serves the Chinese interface with no source tree beside it.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = ("templates", "static", "migrations")


class BuildWithWebFiles(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the files in place
        root = Path(__file__).parent
        target = Path(self.build_lib) / "registry" / "bundled"
        for name in BUNDLED:
            shutil.copytree(
                root / name, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
            )
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po_path in (Path(self.build_lib) / "registry" / "translations").glob("*/LC_MESSAGES/*.po"):
            with po_path.open("rb") as source:
                catalog = read_po(source, locale=po_path.parent.parent.name)
            with po_path.with_suffix(".mo").open("wb") as out:
                write_mo(out, catalog)


setup(cmdclass={"build_py": BuildWithWebFiles})

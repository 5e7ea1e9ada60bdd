"""Ship the analysts' models/ folder inside the wheel as the package auditor._rules.

models/ stays at the top of the repository, where analysts edit it. A
package-dir mapping would do the same, but it makes setuptools warn about every
language folder and puts editable installs on an import hook; copying the
folder into the build keeps the configuration plain. Editable installs need
no copy: auditor.analysis.rules reads models/ from the checkout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MODELS = Path(__file__).resolve().parent / "models"
DATA = ("*.json", "*.toml", "*.md")


class BuildPyWithRules(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "auditor" / "_rules"
        for src in sorted(MODELS.rglob("*")):
            rel = src.relative_to(MODELS)
            if src.is_file() and "__pycache__" not in rel.parts and (
                    rel.name == "__init__.py" or any(src.match(p) for p in DATA)):
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dest)


setup(cmdclass={"build_py": BuildPyWithRules})

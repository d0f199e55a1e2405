"""The product stands alone: every module of `careshare` imports and `careshare --help` runs while
the simulator, the development support and moto cannot be imported, and moto is no runtime need."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import REPO_ROOT

NOT_THE_PRODUCT = ("careshare_sim", "careshare_dev", "moto")

IMPORT_EVERYTHING = f"""
import importlib
import importlib.abc
import pkgutil
import sys

NOT_THE_PRODUCT = {NOT_THE_PRODUCT!r}


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in NOT_THE_PRODUCT:
            raise ImportError(f"the product imports {{name}}")
        return None


def fail(name):
    raise ImportError(f"cannot import {{name}}")


sys.meta_path.insert(0, Refuse())
import careshare

walked = pkgutil.walk_packages(careshare.__path__, "careshare.", onerror=fail)
modules = [info.name for info in walked if not info.name.endswith(".__main__")]  # runs the command line
for name in modules:
    importlib.import_module(name)
print(len(modules), "modules")
from careshare.cli import main

main(["--help"])
"""


def test_the_product_imports_and_runs_without_the_simulator_or_moto():
    done = subprocess.run([sys.executable, "-c", IMPORT_EVERYTHING], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    counted, _, help_text = done.stdout.partition("\n")
    assert int(counted.split()[0]) > 50
    assert help_text.startswith("usage: careshare")


def test_moto_is_a_development_dependency_only():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    runtime = [*project["dependencies"], *project["optional-dependencies"]["airflow"]]
    assert not [requirement for requirement in runtime if requirement.startswith("moto")]
    assert "moto[server]" in project["optional-dependencies"]["dev"]

"""The project uses only the public API of the libraries it builds on, so that an upgrade within
the pinned series cannot break it in places nobody thought to look.

Scanned: every Python module of the project (runtime, generators, benchmark) and the Dagster
instance configurations. A private name is one with a leading underscore, in a module path
(`dagster._core`) or as an attribute of an imported library (`atexit._run_exitfuncs`).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("iom_pipeline", "iom_synthetic")
SCANNED = sorted(
    p for folder in (*PROJECT_PACKAGES, "bench") for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts
)


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses(source: str) -> list[str]:
    """Private module paths imported, and private attributes read from imported libraries."""
    tree = ast.parse(source)
    found: list[str] = []
    library_names: set[str] = set()  # names bound to another library's module or object
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if any(_is_private(p) for p in parts):
                    found.append(f"import {alias.name}")
                if parts[0] not in PROJECT_PACKAGES:
                    library_names.add(alias.asname or parts[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] in PROJECT_PACKAGES:
                continue  # the project's own private names are its own business
            if any(_is_private(p) for p in parts) and node.module != "__future__":
                found.append(f"from {node.module} import ...")
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"from {node.module} import {alias.name}")
                library_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            base = node.value
            while isinstance(base, (ast.Attribute, ast.Call, ast.Subscript)):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name) and base.id in library_names:
                found.append(f"{ast.unparse(node)}")
        # getattr(obj, "_private", ...): the same reach, spelled as a string
        if (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "setattr")
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str) and _is_private(node.args[1].value)
        ):
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_uses_no_private_api(path: Path):
    assert private_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("config", ["dagster.yaml", "dagster.postgres.yaml"])
def test_instance_configuration_names_no_private_module(config: str):
    text = (ROOT / config).read_text(encoding="utf-8")
    assert "._" not in text and "custom:" not in text


def test_the_scan_finds_each_kind_of_private_use():
    """The detector itself: each pattern that the project must not contain is caught."""
    assert private_uses("from dagster._core.errors import X") == ["from dagster._core.errors import ..."]
    assert private_uses("import dagster._serdes as s") == ["import dagster._serdes"]
    assert private_uses("import atexit\natexit._run_exitfuncs()") == ["atexit._run_exitfuncs"]
    assert private_uses("import os\nos._exit(0)") == ["os._exit"]
    assert private_uses("from tqdm.std import TqdmDefaultWriteLock\nTqdmDefaultWriteLock.mp_lock = None") == []
    assert private_uses("from concurrent.futures import ProcessPoolExecutor as P\nP(1)._call_queue") == ["P(1)._call_queue"]
    assert private_uses("q = getattr(pool, '_call_queue', None)") == ["getattr(pool, '_call_queue', None)"]
    # the project's own private names are its own business
    assert private_uses("from iom_pipeline.sql_models import _ENV\nself_obj = 1") == []
    assert private_uses("class A:\n    def f(self):\n        return self._x") == []

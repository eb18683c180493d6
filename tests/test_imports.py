"""The layering rules, enforced: the model is plain data, IO stays at the edges, nothing imports the CLI."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "refi_bridge"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))

# module -> third-party or IO modules it may import (anything not listed here is forbidden to it)
ALLOWED = {
    "lxml": {"qde", "schema", "validation"},
    "zipfile": {"qdpx"},
    "openpyxl": {"excel"},
    "click": {"cli"},
}
PURE = {"model", "errors", "positions", "encoding", "dialects", "summary"}  # stdlib only (plus each other)


def imports_of(module: str) -> set[str]:
    """Modules imported at run time (imports under `if TYPE_CHECKING:` are for type checkers only)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", MODULES)
def test_io_libraries_only_where_they_belong(module):
    for library, owners in ALLOWED.items():
        uses = any(name == library or name.startswith(library + ".") for name in imports_of(module))
        assert not uses or module in owners, f"{module} imports {library}; only {sorted(owners)} may"


@pytest.mark.parametrize("module", MODULES)
def test_nothing_imports_the_cli(module):
    if module in ("cli", "__main__"):
        return
    assert "refi_bridge.cli" not in imports_of(module)


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_modules_import_no_third_party_library(module):
    for name in imports_of(module):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top in ("refi_bridge", "__future__"), (module, name)


def test_model_import_pulls_in_no_heavy_library():
    code = ("import sys, refi_bridge.model, refi_bridge.positions, refi_bridge.dialects;"
            "print(sorted(m for m in ('lxml', 'pandas', 'openpyxl', 'numpy', 'click') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

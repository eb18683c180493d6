"""The layering rules, enforced in terms of the packages: the model is plain data, only the formats package
touches XML and archives, Excel writing knows nothing of statistics, and nothing imports the CLI.

Like click's own ``tests/test_imports.py``: read every module's imports, and import the light layers in a
fresh interpreter to see what they really pull in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "refi_bridge"
MODULES = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in PACKAGE.rglob("*.py"))

# -- the layers: a module of the layer on the left may import refi_bridge modules of these layers only --
LAYERS = {
    "errors": set(),
    "progress": set(),
    "model": {"errors"},
    "formats": {"errors", "progress", "model", "formats"},
    "agreement": {"errors", "progress", "model", "agreement"},
    "team": {"errors", "progress", "model", "formats", "team", "tables"},
    "privacy": {"errors", "progress", "model", "formats", "tables", "privacy"},
    "tables": {"errors", "progress", "model", "formats", "agreement", "team", "tables"},
    "survey": {"errors", "progress", "model", "formats", "tables", "survey"},
    "demo": {"errors", "progress", "model", "formats", "agreement", "team", "tables", "privacy", "demo"},
    "cli": {"errors", "progress", "model", "formats", "agreement", "team", "tables", "privacy", "survey", "demo"},
    "__main__": {"cli"},
    "__init__": {"errors", "model", "formats", "team", "tables", "agreement", "privacy", "survey"},
}
# -- modules held to a stricter rule than their layer --
STRICTER = {
    # the merge and split engines work on projects only: the file jobs beside them do the reading and writing
    "refi_bridge.team.merging": {"errors", "model", "team.anchoring", "team.merging"},
    "refi_bridge.team.splitting": {"errors", "model", "team.anchoring", "team.merging", "team.splitting"},
    "refi_bridge.team.anchoring": set(),
    # Excel layout receives DataFrames: no statistics, no projects, no files of ours
    "refi_bridge.tables.excel": {"errors", "progress"},
}
# -- third-party and IO libraries, and the only modules (or packages) that may import them --
ALLOWED = {
    "lxml": {"refi_bridge.formats.qde", "refi_bridge.formats.schema", "refi_bridge.formats.validation"},
    "zipfile": {"refi_bridge.formats.qdpx"},
    "openpyxl": {"refi_bridge.tables.excel"},
    "click": {"refi_bridge.cli"},
    # -- the optional `distributed` extra: Parquet and Dask, imported on first use by the survey alone --
    "pyarrow": {"refi_bridge.survey.parquet"},
    "dask": {"refi_bridge.survey.running"},
    "distributed": {"refi_bridge.survey.running"},
}
# -- stdlib only (plus other refi_bridge modules) --
PURE = {"refi_bridge.model", "refi_bridge.errors", "refi_bridge.progress", "refi_bridge.formats.positions",
        "refi_bridge.formats.encoding", "refi_bridge.formats.dialects", "refi_bridge.formats.strict",
        "refi_bridge.formats.summary",
        "refi_bridge.team.anchoring"}
# -- the one sanctioned upward import: Project.codings() builds its table on first use (inside the method) --
CONVENIENCES = {("refi_bridge.model", "refi_bridge.tables.codings")}


def module_file(module: str) -> Path:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"


def imports_of(module: str) -> set[str]:
    """Modules imported at run time (imports under `if TYPE_CHECKING:` are for type checkers only)."""
    tree = ast.parse(module_file(module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{module}: relative import; write the full refi_bridge path")
            names.add(node.module)
            if node.module == "refi_bridge":  # `from refi_bridge import x`: x may be a module
                names.update(f"refi_bridge.{alias.name}" for alias in node.names)
    return names


def layer_of(module: str) -> str:
    return module.split(".")[1] if "." in module else "__init__"


def own_target(name: str) -> str | None:
    """The refi_bridge path an import names below the package (``formats.qde``), or None."""
    if not name.startswith("refi_bridge."):
        return None
    return name.removeprefix("refi_bridge.")


def test_every_module_belongs_to_a_layer():
    assert {layer_of(m) for m in MODULES} <= set(LAYERS), sorted({layer_of(m) for m in MODULES} - set(LAYERS))
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert top == ["__init__.py", "__main__.py", "cli.py", "errors.py", "model.py", "progress.py"], top


@pytest.mark.parametrize("module", MODULES)
def test_imports_go_down_the_layers(module):
    allowed = LAYERS[layer_of(module)]
    stricter = next((rule for owner, rule in STRICTER.items()
                     if module == owner or module.startswith(owner + ".")), None)
    for name in imports_of(module):
        target = own_target(name)
        if target is None or target in ("__version__",) or (module, name) in CONVENIENCES:
            continue
        target_layer = target.split(".")[0]
        if target_layer == "__version__":
            continue
        assert target_layer in allowed, f"{module} imports {name}; the {layer_of(module)} layer may use {sorted(allowed)}"
        if stricter is not None:
            assert any(target == s or target.startswith(s + ".") for s in stricter | {"errors", "model"}), (
                f"{module} imports {name}; it may use only {sorted(stricter)}")


@pytest.mark.parametrize("module", MODULES)
def test_io_libraries_only_where_they_belong(module):
    for library, owners in ALLOWED.items():
        uses = any(name == library or name.startswith(library + ".") for name in imports_of(module))
        owned = any(module == owner or module.startswith(owner + ".") for owner in owners)
        assert not uses or owned, f"{module} imports {library}; only {sorted(owners)} may"


@pytest.mark.parametrize("module", MODULES)
def test_nothing_imports_the_cli(module):
    if module in ("refi_bridge.cli", "refi_bridge.__main__"):
        return
    assert "refi_bridge.cli" not in imports_of(module)


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_modules_import_no_third_party_library(module):
    for name in imports_of(module):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or top in ("refi_bridge", "__future__"), (module, name)


def test_a_wrong_import_is_caught(tmp_path, monkeypatch):
    """The rules above would fail on a model that parsed XML, or on formats reaching up to the tables."""
    fake = tmp_path / "refi_bridge"
    (fake / "formats").mkdir(parents=True)
    (fake / "model.py").write_text("from lxml import etree\n")
    (fake / "formats" / "qdpx.py").write_text("from refi_bridge.tables.excel import Sheet\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match="only"):
        test_io_libraries_only_where_they_belong("refi_bridge.model")
    with pytest.raises(AssertionError, match="layer may use"):
        test_imports_go_down_the_layers("refi_bridge.formats.qdpx")


def test_light_layers_pull_in_no_heavy_library():
    code = ("import sys, refi_bridge.model, refi_bridge.formats.positions, refi_bridge.formats.dialects,"
            " refi_bridge.team.merging, refi_bridge.team.splitting;"
            "print(sorted(m for m in ('lxml', 'pandas', 'openpyxl', 'numpy', 'click', 'zipfile')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_statistics_load_no_xml_or_excel():
    code = ("import sys, refi_bridge.agreement.report, refi_bridge.tables.matrices;"
            "print(sorted(m for m in ('lxml', 'openpyxl', 'click') if m in sys.modules))")  # pandas loads zipfile itself
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""Shared fixtures: where the real files and the official schemas are, and a CLI runner."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import settings
from lxml import etree

from refi_bridge.model import guid_key, map_guids

ROOT = Path(__file__).resolve().parent.parent

# -- CI must give the same verdict on every run: no random seed, no examples remembered from earlier runs.
#    Local runs keep exploring (and remember what failed). HYPOTHESIS_PROFILE overrides either. --
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


def _shared() -> Path:
    """../shared holds the corpus of real exports and the official XSDs (read-only, never copied here).

    A checkout sits next to it; a clone made elsewhere finds it through REFI_BRIDGE_SHARED or the
    workplace's fixed location.
    """
    candidates = [os.environ.get("REFI_BRIDGE_SHARED"), ROOT.parent / "shared", "/work/shared"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "refi" / "corpus").is_dir():
            return Path(candidate)
    return ROOT.parent / "shared"


SHARED = _shared()
REFI = SHARED / "refi"
CORPUS = REFI / "corpus"
OFFICIAL = REFI / "schemas"

if not CORPUS.is_dir():  # pragma: no cover - a broken checkout must fail loudly, not skip
    raise RuntimeError(f"the shared corpus is not at {CORPUS}; set REFI_BRIDGE_SHARED to the shared folder")

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".qdpx", ".qde", ".qdc"))
NVIVO_WIN = CORPUS / "nvivo" / "nvivo12.6-win_vaccine-skepticism-0517_multiuser.qdpx"
NVIVO_MAC = CORPUS / "nvivo" / "nvivo12.7-mac_vaccine-skepticism-17june_multiuser.qdpx"


def corpus_id(path: Path) -> str:
    return path.name


@pytest.fixture(scope="session")
def official_schemas() -> dict[str, etree.XMLSchema]:
    return {
        "Project": etree.XMLSchema(etree.parse(str(OFFICIAL / "Project-mrt2019.xsd"))),
        "CodeBook": etree.XMLSchema(etree.parse(str(OFFICIAL / "Codebook-mrt2019.xsd"))),
    }


def document_bytes(path: Path) -> bytes:
    """The XML of a .qdpx's project document, or of a .qde/.qdc file."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            name = next(n for n in zf.namelist() if n.lower().endswith(".qde"))
            return zf.read(name)
    return path.read_bytes()


def guid_case_free(value):
    """A project (or any part of one) with every GUID as ``guid_key`` compares it: lower case, no braces.

    Our writers put GUIDs in upper case (what ATLAS.ti and MAXQDA write) while many files and generated
    projects have them lower case; a file read back equals its project up to that.
    """
    return map_guids(value, guid_key, rename_files=False)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def error_line(result) -> str:
    """The one line a failed command ends with: after any progress lines, exactly one ``Error:`` line,
    last on stderr, and no traceback anywhere."""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.output, result.output
    assert lines and lines[-1].startswith("Error: "), result.stderr
    assert sum(line.startswith("Error") for line in lines) == 1, result.stderr
    return lines[-1]

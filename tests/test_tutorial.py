"""The tutorial's figures are the demo study's: recomputed here, so the page cannot drift from the code."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import refi_bridge
from refi_bridge.agreement import compute
from refi_bridge.errors import RefiBridgeWarning

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "dyad-study"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tutorial")
    handed = refi_bridge.split(FIXTURES / "master.qdpx", ["Ingrid Halvorsen", "Tomás Ferreira", "Amara Okafor"],
                               folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        merged = refi_bridge.merge([FIXTURES / n for n in ("ingrid-nvivo.qdpx", "tomas-atlasti.qdpx",
                                                            "amara-refi.qdpx")], manifest=handed.manifest)
    return compute(merged.project)


def test_tutorial_table_matches_the_demo(report):
    page = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    for _, row in report.per_code.iterrows():
        line = (f"| {row['code_path']} | {row['u_alpha_binary']:.3f} | {row['ci_low']:.3f}–{row['ci_high']:.3f} | "
                f"{row['presence_alpha']:.3f} |")
        assert line in page, line
    pooled = report.overall.set_index("measure")["value"]["|u-alpha, all codes pooled"]
    assert f"**{pooled:.3f}**" in page
    assert f"lists the {len(report.disagreements)} discordant passages" in page

"""The documentation stays true: the command reference is current, links resolve, the README's commands
are the ones CI runs."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

from refi_bridge.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_command_reference_is_current():
    render = runpy.run_path(str(DOCS / "gen_cli_reference.py"))["render"]
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render(), \
        "docs/cli.md is stale: run `python docs/gen_cli_reference.py`"


def test_every_command_is_explained_in_a_guide():
    guides = " ".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md") if p.name != "cli.md")
    for name in cli.commands:
        assert f"refi-bridge {name}" in guides, f"no guide shows `refi-bridge {name}`"


def test_links_between_pages_resolve():
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.(?:md|png))", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n(.*?)\n```", readme, flags=re.S)
    main_job, tests = blocks[0].strip(), blocks[1].strip()
    assert "refi-bridge demo" in main_job and "pip install" in main_job
    assert "pytest" in tests and "[test]" in tests
    assert readme.index(main_job) < 600  # the very first thing a reader sees
    assert tests in (ROOT / ".ci" / "run").read_text(encoding="utf-8")

"""Write docs/cli.md from the commands' own --help (run after changing a command; tests check it is current).

    python docs/gen_cli_reference.py
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from refi_bridge.cli import cli

HEAD = """# Command reference

Generated from each command's `--help` by `docs/gen_cli_reference.py`; `tests/test_docs.py` checks that
it is current. Every command exits 0 on success, 1 with a one-line message on an error in the input, and
2 on a usage error.
"""


def render() -> str:
    runner = CliRunner()
    parts = [HEAD, "## refi-bridge\n", "```\n" + runner.invoke(cli, ["--help"], prog_name="refi-bridge").output + "```\n"]
    for name in sorted(cli.commands):
        text = runner.invoke(cli, [name, "--help"], prog_name="refi-bridge").output
        parts.append(f"## refi-bridge {name}\n")
        parts.append("```\n" + text + "```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).with_name("cli.md")
    target.write_text(render(), encoding="utf-8")
    print(f"wrote {target}")

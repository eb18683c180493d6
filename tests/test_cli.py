"""The command: every command has help with an example; output and exit codes as documented."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import NVIVO_MAC, error_line
from openpyxl import load_workbook

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.errors import RefiBridgeWarning

DATA = Path(__file__).parent / "data"
COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(runner, command):
    result = runner.invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output and "refi-bridge " + command in result.output


def test_inspect_json_has_integer_counts(runner):
    result = runner.invoke(cli, ["inspect", "--json", str(NVIVO_MAC)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("users", "codes", "sources", "selections", "codings", "cases", "variables", "notes", "sets"):
        assert isinstance(summary[key], int)
    assert summary["codings"] == 297 and summary["position_unit"] == "utf16"
    assert summary["origin"] == "NVivo for Mac 12.7.0"
    assert summary["coders"] == {"floriansipos": 297}  # every Coding carries the exporting user


def test_inspect_text(runner):
    result = runner.invoke(cli, ["inspect", str(DATA / "minimal.qde")])
    assert result.exit_code == 0
    assert "codings        1" in result.output and "Ada" in result.output


def test_errors_are_one_line_without_traceback(runner, tmp_path):
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"not a project")
    result = runner.invoke(cli, ["inspect", str(bad)])
    assert result.exit_code == 1
    assert str(bad) in error_line(result)


def test_convert_writes_the_dialect_and_never_overwrites(runner, tmp_path):
    out = tmp_path / "for-qualcoder.qdpx"
    result = runner.invoke(cli, ["convert", str(NVIVO_MAC), str(out), "--dialect", "qualcoder"])
    assert result.exit_code == 0, result.output
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        assert refi_bridge.read(out).read_info.dialect == "qualcoder"
    result = runner.invoke(cli, ["convert", str(out), str(out)])
    assert result.exit_code == 1 and "refusing to overwrite" in result.stderr
    result = runner.invoke(cli, ["convert", str(out), str(tmp_path / "x.qdpx"), "--dialect", "word"])
    assert result.exit_code == 2 and "'word' is not one of" in result.stderr and "'atlasti'" in result.stderr


def test_convert_to_codebook(runner, tmp_path):
    out = tmp_path / "codes.qdc"
    result = runner.invoke(cli, ["convert", str(NVIVO_MAC), str(out)])
    assert result.exit_code == 0 and "only codes and code sets" in result.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        assert len(list(refi_bridge.read(out).iter_codes())) == 152


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_codings_table(runner, tmp_path, suffix):
    out = tmp_path / ("codings" + suffix)
    result = runner.invoke(cli, ["export", str(DATA / "minimal.qde"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    if suffix == ".csv":
        table = pd.read_csv(out)
        assert table.loc[0, "text"] == "still hope" and table.loc[0, "coder"] == "Ada"
    else:
        sheet = load_workbook(out)["Codings"]
        rows = list(sheet.iter_rows(values_only=True))
        header = next(i for i, row in enumerate(rows) if row[0] == "source")
        record = dict(zip(rows[header], rows[header + 1]))
        assert record["text"] == "still hope" and record["code_path"] == "Hope"


def test_export_refuses_other_formats(runner, tmp_path):
    result = runner.invoke(cli, ["export", str(DATA / "minimal.qde"), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 1 and ".xlsx or .csv" in result.stderr


def test_warnings_are_printed_as_warning_lines(runner, tmp_path):
    archive = tmp_path / "stray.qdpx"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("project.qde", (DATA / "minimal.qde").read_bytes())
        zf.writestr("notes/readme.txt", b"stray")
    result = runner.invoke(cli, ["convert", str(archive), str(tmp_path / "out.qdpx")])
    assert result.exit_code == 0
    assert "warning:" in result.stderr and "notes/readme.txt" in result.stderr

"""Project.codings(): one row per coding, with the coded text and the coder's name."""

from __future__ import annotations

from pathlib import Path

import refi_bridge
from refi_bridge.model import Coding, Project, TextSource, User
from refi_bridge.tables.codings import CODING_COLUMNS

DATA = Path(__file__).parent / "data"


def test_columns_and_values():
    table = refi_bridge.read(DATA / "minimal.qde").codings()
    assert list(table.columns) == list(CODING_COLUMNS)
    row = table.iloc[0]
    assert (row["source"], row["code"], row["coder"], row["start"], row["end"], row["text"]) == (
        "Interview 1", "Hope", "Ada", 2, 12, "still hope")


def test_whole_source_codings_have_no_span():
    source = TextSource(guid="s", name="doc", text="abc",
                        codings=(Coding(guid="c", code_guid="k", creating_user="u"),))
    project = Project(name="p", users=(User(guid="u", name="Bo"),), sources=(source,))
    table = project.codings()
    assert table.loc[0, "selection_kind"] == "whole source"
    assert table["start"].isna().all() and table.loc[0, "coder"] == "Bo" and table.loc[0, "code"] is None

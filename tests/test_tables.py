"""Project.codings(): one row per coding, with the coded text and the coder's name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import refi_bridge
from refi_bridge.model import Case, Coding, Project, TextSource, User
from refi_bridge.tables.codings import CODING_COLUMNS

DATA = Path(__file__).parent / "data"


def test_columns_and_values():
    table = refi_bridge.read(DATA / "minimal.qde").codings()
    assert list(table.columns) == list(CODING_COLUMNS)
    # -- read left to right: where, what, whose, the passage, its place; the GUIDs last --
    assert list(table.columns[:5]) == ["source", "case", "code_path", "coder", "text"]
    guids = [c for c in table.columns if c.endswith("_guid")]
    assert len(guids) == 5 and list(table.columns[-5:]) == guids
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


def test_the_case_column_names_the_cases_holding_a_coding():
    source = TextSource(guid="s", name="doc", text="abc",
                        codings=(Coding(guid="c", code_guid="k", creating_user="u"),))
    other = TextSource(guid="t", name="other", text="def",
                       codings=(Coding(guid="d", code_guid="k", creating_user="u"),))
    project = Project(name="p", users=(User(guid="u", name="Bo"),), sources=(source, other),
                      cases=(Case(guid="c1", name="Dyad 01", source_refs=("s",)),
                             Case(guid="c2", name="Dyad 02", source_refs=("s",))))
    table = project.codings().set_index("source")
    assert table.loc["doc", "case"] == "Dyad 01; Dyad 02" and pd.isna(table.loc["other", "case"])

"""Round-trip properties on generated projects: what is written is what is read back."""

from __future__ import annotations

import warnings
from collections import Counter

from conftest import guid_case_free
from hypothesis import HealthCheck, given, settings
from strategies import projects

import refi_bridge
from refi_bridge.errors import RefiBridgeWarning
from refi_bridge.model import PlainTextSelection, guid_key

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def write_read(project, path, dialect="refi"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, path, dialect=dialect)
        return refi_bridge.read(path)


def passages(project, paths=None):
    """(source, code path as a tuple, coding, coded text) of every coding; ``paths`` names the codes.

    Codings at a case's own code are the qualcoder dialect's form of a case's link to a source (QualCoder
    reads membership no other way): they are links, not coded passages, and are left out.
    """
    paths = paths if paths is not None else project.code_paths()
    cases = {guid_key(case.guid) for case in project.cases}
    out = Counter()
    for record in project.iter_codings():
        if guid_key(record.coding.code_guid) in cases and guid_key(record.coding.code_guid) not in paths:
            continue
        text = None
        if isinstance(record.selection, PlainTextSelection):
            text = record.owner.text[record.selection.start:record.selection.end]
        out[(record.source.guid, paths[guid_key(record.coding.code_guid)], record.coding.guid, text)] += 1
    return out



@SETTINGS
@given(project=projects())
def test_qdpx_round_trip_gives_back_the_project(project, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "p.qdpx"
    again = write_read(project, path)
    assert guid_case_free(again) == guid_case_free(project)  # GUIDs are written in upper case
    assert all(code.guid == code.guid.upper().strip("{}") for code, _ in again.iter_codes())


@SETTINGS
@given(project=projects())
def test_read_write_read_is_stable(project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rt")
    once = write_read(project, folder / "a.qdpx")
    twice = write_read(once, folder / "b.qdpx")
    assert twice == once
    assert (folder / "a.qdpx").read_bytes() == (folder / "b.qdpx").read_bytes()  # deterministic output


@SETTINGS
@given(project=projects(one_coding_per_selection=True))
def test_nvivo_dialect_round_trip_converts_positions_back(project, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "p.qdpx"
    again = write_read(project, path, "nvivo")
    assert again == project


@SETTINGS
@given(project=projects())
def test_every_dialect_keeps_every_coded_passage(project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rt")
    for dialect in ("nvivo", "qualcoder"):
        again = write_read(project, folder / f"{dialect}.qdpx", dialect)
        # -- code names may have been made unique for QualCoder: the GUID says which code each one was; and
        #    QualCoder gets LF-only texts, so a line break is compared as one --
        before, after = Counter(), Counter()
        for (s, p, _, t), n in passages(project).items():
            before[(s, p, lf(t))] += n
        for (s, p, _, t), n in passages(again, project.code_paths()).items():
            after[(s, p, lf(t))] += n
        assert after == before


def lf(text):
    return text.replace("\r\n", "\n").replace("\r", "\n") if text is not None else None


@SETTINGS
@given(project=projects())
def test_codebook_round_trip_keeps_the_code_tree(project, tmp_path_factory):
    path = tmp_path_factory.mktemp("rt") / "c.qdc"
    again = write_read(project, path)
    assert guid_case_free(again.codes) == guid_case_free(project.codes)

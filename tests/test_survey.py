"""`refi-bridge survey` on an archive of a few hundred files: generated projects in every writer dialect and
kind, the real exports of the shared corpus, and every broken and hostile file of the safety tests.

Every file is listed, every coding is in codings.parquet exactly as ``read(file).codings()`` gives it, every
broken file is a row with its error, and a run on a real Dask ``LocalCluster`` gives the same tables as the
local process pool.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import CORPUS
from hostile import write_hostile
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

import refi_bridge
from refi_bridge.cli import cli
from refi_bridge.demo.study import generate
from refi_bridge.errors import MissingExtraError, RefiBridgeWarning, SurveyError
from refi_bridge.formats.summary import producer
from refi_bridge.survey import running
from refi_bridge.survey.columns import FILE_COLUMNS, NOT_VALID, REFUSED, SURVEY_CODING_COLUMNS
from refi_bridge.survey.finding import find_files
from refi_bridge.survey.parquet import codings_schema, files_schema
from refi_bridge.survey.running import local_runner, outcomes
from refi_bridge.survey.surveying import Outcome, Task, one_line, survey_file
from refi_bridge.survey.writing import part_name
from refi_bridge.team.splitting import hand_out

SEEDS = (3, 5)
WINDOWS = 10       # tiny projects cut from each generated project: 1 to 3 interviews each
DIALECTS = ("refi", "nvivo", "qualcoder")


def read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        return refi_bridge.read(path)


def write(project, path, dialect="refi"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RefiBridgeWarning)
        refi_bridge.write(project, path, dialect=dialect)


def build_generated(folder: Path) -> list[Path]:
    """Tiny projects cut from the study's ground truth and coder files, in every dialect and kind."""
    written = []
    for seed in SEEDS:
        study = generate(seed=seed)
        projects = [("truth", study.truth)] + [(f.file_name.removesuffix(".qdpx"), f.project)
                                               for f in study.coder_files]
        for label, project in projects:
            coder = next(iter(project.coders()))
            target = folder / f"seed-{seed}" / label
            target.mkdir(parents=True)
            start = 0
            for window in range(WINDOWS):
                size = 1 + window % 3
                chosen = [s.guid for s in project.sources[start:start + size]]
                start += size
                tiny = hand_out(project, coder, chosen, keep_codings=True)
                for dialect in DIALECTS:
                    written.append(target / f"{window:02d}-{dialect}.qdpx")
                    write(tiny, written[-1], dialect)
            written.append(target / "bare.qde")
            write(hand_out(project, coder, chosen, keep_codings=True), written[-1])
            written.append(target / "codebook.QDC")  # the extension in capitals, as Windows may keep it
            write(project, written[-1])
    return written


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The archive: generated projects, hostile files, and files that are not projects at all."""
    root = tmp_path_factory.mktemp("archive")
    generated = build_generated(root / "generated")
    hostile = write_hostile(root / "hostile")
    (root / "generated" / "notes.txt").write_text("not a project, not surveyed")
    (root / "generated" / "._00-refi.qdpx").write_bytes(b"\0\5\26\7 macOS AppleDouble")
    corpus = sorted(p for p in CORPUS.glob("*/*") if p.suffix in (".qdpx", ".qde", ".qdc"))
    return {"root": root, "paths": [str(root), str(CORPUS)], "generated": generated, "hostile": hostile,
            "corpus": corpus}


def tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    files = pd.read_parquet(folder / "files.parquet", dtype_backend="numpy_nullable")
    codings = pd.read_parquet(folder / "codings.parquet", dtype_backend="numpy_nullable")
    return files, codings


@pytest.fixture(scope="module")
def local(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "survey"
    lines: list[str] = []
    result = refi_bridge.survey(archive["paths"], out, workers=2, progress=lines.append)
    return {"out": out, "result": result, "lines": lines, "tables": tables(out)}


@pytest.fixture(scope="module")
def on_dask(archive, tmp_path_factory):
    from dask.distributed import LocalCluster

    out = tmp_path_factory.mktemp("dask") / "survey"
    with warnings.catch_warnings():
        # -- the cluster's own notices (ports, deprecations inside dask) are not what this test checks --
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=logging.ERROR) as cluster:
            result = refi_bridge.survey(archive["paths"], out, scheduler=cluster.scheduler_address)
    return {"out": out, "result": result, "tables": tables(out)}


def expected_files(archive) -> list[str]:
    root = archive["root"]
    found = sorted(str(p) for p in archive["generated"]) + sorted(str(p) for p in archive["hostile"])
    by_walk = sorted(found, key=lambda f: Path(f).relative_to(root).parts)
    return by_walk + [str(p) for p in archive["corpus"]]


def test_every_file_is_listed_once_in_a_stable_order(archive, local):
    files, _ = local["tables"]
    assert len(archive["generated"]) + len(archive["hostile"]) + len(archive["corpus"]) >= 250
    assert files["file"].tolist() == expected_files(archive)
    assert local["result"].files == len(files)
    assert local["result"].surveyed == len(files) and local["result"].unchanged == 0
    assert not any("notes.txt" in f or "._" in f for f in files["file"])


def test_every_coding_is_counted_exactly_as_read_gives_it(archive, local):
    files, codings = local["tables"]
    groups = dict(tuple(codings.groupby("file", sort=False)))
    readable = files[files["readable"]]
    assert len(readable) == len(archive["generated"]) + len(archive["corpus"])
    assert readable["codings"].sum() == len(codings) == local["result"].codings
    assert readable["codings"].gt(0).sum() > 200
    for row in readable.itertuples():
        expected = read(row.file).codings()
        expected.insert(0, "file", row.file)
        got = groups.get(row.file, codings.iloc[:0])
        assert row.codings == len(expected), row.file
        assert records(got) == records(expected), row.file
        coders = {item["coder"]: item["codings"] for item in row.coders}
        assert coders == read(row.file).coders(), row.file


def records(frame: pd.DataFrame) -> dict[str, list]:
    """A table's columns as plain lists, every kind of missing value as None."""
    return {column: [None if value is None or value is pd.NA or value != value else value
                     for value in frame[column].tolist()] for column in frame.columns}


def test_every_broken_file_is_a_row_with_its_one_line_error(archive, local):
    files, codings = local["tables"]
    rows = files.set_index("file")
    for path, pattern in archive["hostile"].items():
        row = rows.loc[str(path)]
        assert not row["readable"] and row["error_type"], path
        assert re.search(pattern, row["error"]) and os.path.abspath(path) in row["error"], (path, row["error"])
        assert "\n" not in row["error"] and len(row["error"]) <= 1000
        assert row["verdict"] in (NOT_VALID, REFUSED), path
        assert pd.isna(row["codings"]) and row["sha256"] and row["size"] >= 0
    assert not codings["file"].isin([str(p) for p in archive["hostile"]]).any()
    assert files.loc[files["readable"], "error"].isna().all()


def test_what_each_generated_file_is(archive, local):
    files, _ = local["tables"]
    rows = files.set_index("file")
    for path in archive["generated"]:
        row = rows.loc[str(path)]
        kind = {".qdpx": "qdpx", ".qde": "qde", ".qdc": "qdc"}[path.suffix.lower()]
        assert row["kind"] == kind and row["tool"] == "refi_bridge", path
        assert row["verdict"] in ("valid", "valid with warnings"), (path, row["findings"])
        if kind == "qdpx":
            assert row["position_unit"] == ("utf16" if path.stem.endswith("nvivo") else "codepoint")
            assert row["text_sources"] == row["sources"] > 0 and row["coder_count"] >= 1
    nvivo = rows.loc[str(archive["corpus"][[p.name for p in archive["corpus"]].index(
        "nvivo12.7-mac_vaccine-skepticism-17june_multiuser.qdpx")])]
    assert (nvivo["tool"], nvivo["tool_version"], nvivo["kind"]) == ("NVivo", "12.7.0", "qdpx")


def test_the_tables_have_the_documented_schema_in_every_part(local):
    out = local["out"]
    assert pq.read_schema(out / "files.parquet").names == [name for name, _, _ in FILE_COLUMNS]
    assert pq.read_schema(out / "files.parquet").equals(files_schema())
    parts = sorted((out / "codings.parquet").iterdir())
    files, _ = local["tables"]
    assert sorted(p.name for p in parts) == sorted(part_name(f) for f in files["file"])
    for part in parts:
        assert pq.read_schema(part).equals(codings_schema()), part
    assert codings_schema().names == [name for name, _ in SURVEY_CODING_COLUMNS]


def test_a_dask_cluster_gives_the_same_tables(local, on_dask):
    assert on_dask["result"].runner.startswith("the Dask cluster at tcp://")
    assert "(2 workers, 2 threads)" in on_dask["result"].runner
    for name in ("files.parquet", "codings.parquet"):
        mine = pq.read_table(local["out"] / name)
        theirs = pq.read_table(on_dask["out"] / name)
        if name == "files.parquet":
            mine, theirs = mine.drop_columns(["seconds"]), theirs.drop_columns(["seconds"])
        assert mine.num_rows > 0 and mine.equals(theirs), name


def test_the_summary_workbook_adds_up(local):
    files, _ = local["tables"]
    book = load_workbook(local["out"] / "summary.xlsx", read_only=True)
    assert book.sheetnames == ["Files by tool", "Validity", "Codings by tool", "Problems"]
    by_tool = sheet_rows(book["Files by tool"], "tool")
    assert by_tool["all"]["files"] == len(files)
    counts = files["tool"].fillna("(no origin)").value_counts()
    assert {tool: row["files"] for tool, row in by_tool.items() if tool != "all"} == counts.to_dict()
    codings = sheet_rows(book["Codings by tool"], "tool")
    assert codings["all"]["codings"] == files["codings"].sum()
    assert codings["refi_bridge"]["codings"] == files.loc[files["tool"] == "refi_bridge", "codings"].sum()
    validity = sheet_rows(book["Validity"], "verdict")
    assert {v: row["files"] for v, row in validity.items() if row["files"]} == files["verdict"].value_counts().to_dict()
    problems = sheet_rows(book["Problems"], "file")
    assert set(problems) == set(files.loc[~files["readable"] | files["verdict"].isin([NOT_VALID, REFUSED]), "file"])
    book.close()


def sheet_rows(sheet, first: str) -> dict[str, dict]:
    rows = list(sheet.iter_rows(values_only=True))
    header = next(i for i, row in enumerate(rows) if row and row[0] == first)
    names = rows[header]
    return {row[0]: dict(zip(names, row)) for row in rows[header + 1:] if row and row[0] is not None}


def test_progress_says_done_failed_and_left(archive, local):
    lines = local["lines"]
    assert lines[0].startswith(f"surveying {local['result'].files} files on 2 local worker processes")
    failed = len(archive["hostile"])
    assert any(re.fullmatch(rf"\d+ done, {failed} failed, 0 left \(.* files/s\)", line) for line in lines), lines
    assert lines[-1].startswith("wrote files.parquet")


def test_running_again_skips_unchanged_files_and_follows_changes(archive, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    chosen = [p for p in archive["generated"] if p.parent.name == "truth" and "seed-3" in str(p)][:5]
    for number, path in enumerate(chosen):
        (small / f"{number}{path.suffix}").write_bytes(path.read_bytes())
    out = tmp_path / "out"
    first = refi_bridge.survey([small], out, workers=1)
    before = pq.read_table(out / "files.parquet")
    again = refi_bridge.survey([small], out, workers=1)
    assert (again.surveyed, again.unchanged) == (0, first.files)
    assert pq.read_table(out / "files.parquet").equals(before)

    (small / "0.qdpx").write_bytes((small / "1.qdpx").read_bytes())  # changed
    (small / "2.qdpx").unlink()                                      # gone
    changed = refi_bridge.survey([small], out, workers=1)
    assert (changed.surveyed, changed.unchanged, changed.files) == (1, first.files - 2, first.files - 1)
    files, codings = tables(out)
    assert str(small / "2.qdpx") not in set(files["file"]) | set(codings["file"])
    assert len(list((out / "codings.parquet").iterdir())) == changed.files
    assert (codings["file"] == str(small / "0.qdpx")).sum() == (codings["file"] == str(small / "1.qdpx")).sum()
    assert refi_bridge.survey([small], out, workers=1, resume=False).surveyed == changed.files


def test_a_survey_cut_short_resumes_from_its_journal(archive, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    for number, path in enumerate(archive["generated"][:4]):
        (small / f"{number}.qdpx").write_bytes(path.read_bytes())
    out = tmp_path / "out"
    refi_bridge.survey([small], out, workers=1)
    journal = (out / "journal.jsonl").read_bytes().splitlines(keepends=True)
    # -- as if the run had died while writing the third file's line: half a line, and its part not yet moved --
    (out / "journal.jsonl").write_bytes(b"".join(journal[:3]) + journal[3][:40])
    (out / "codings.parquet" / part_name(str(small / "3.qdpx"))).unlink()
    resumed = refi_bridge.survey([small], out, workers=1)
    assert (resumed.surveyed, resumed.unchanged) == (2, 2)
    files, _ = tables(out)
    assert files["file"].tolist() == [str(small / f"{n}.qdpx") for n in range(4)] and files["readable"].all()


def killer(task: Task) -> Outcome:
    """Survey a file, except that a file called "poison" kills the worker process, as a crash would."""
    if "poison" in task.file:
        os._exit(9)
    return survey_file(task)


def test_a_file_that_kills_its_worker_is_a_row_and_the_survey_goes_on(archive, tmp_path):
    paths = archive["generated"][:6]
    poison = tmp_path / "poison.qdpx"
    poison.write_bytes(paths[0].read_bytes())
    tasks = [Task(str(p), str(p)) for p in paths[:3]] + [Task(str(poison), str(poison))] + \
        [Task(str(p), str(p)) for p in paths[3:]]
    results = {outcome.file: outcome for outcome in outcomes(tasks, local_runner(2), function=killer)}
    assert sorted(results) == sorted(task.file for task in tasks)
    lost = results[str(poison)].row
    assert not lost["readable"] and "the worker surveying it stopped" in lost["error"] and lost["sha256"]
    assert all(results[str(p)].row["readable"] for p in paths)


def test_files_are_found_below_folders_once_each(tmp_path):
    (tmp_path / "b" / "deep").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    for name in ("a.qdpx", "b/deep/c.QDE", "b/x.qdc", "b/notes.txt", "b/._x.qdc", "out/y.qdpx"):
        (tmp_path / name).write_bytes(b"x")
    found = find_files([tmp_path, tmp_path / "a.qdpx", tmp_path / "b" / "notes.txt"], skip=[tmp_path / "out"])
    assert [f.file for f in found] == [str(tmp_path / n) for n in ("a.qdpx", "b/x.qdc", "b/deep/c.QDE", "b/notes.txt")]
    assert all(Path(f.location).is_absolute() for f in found)
    with pytest.raises(SurveyError, match="does not exist"):
        find_files([tmp_path / "missing"])


def test_bad_requests_are_one_line_errors(tmp_path, runner, monkeypatch):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(cli, ["survey", str(tmp_path / "empty"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "no .qdpx, .qde or .qdc file" in result.output
    (tmp_path / "a.qdpx").write_bytes(b"x")
    (tmp_path / "taken").write_text("a file where the output folder should go")
    result = runner.invoke(cli, ["survey", str(tmp_path / "a.qdpx"), "-o", str(tmp_path / "taken")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    with pytest.raises(SurveyError, match="not both"):
        refi_bridge.survey([tmp_path / "a.qdpx"], tmp_path / "out", workers=2, scheduler="tcp://127.0.0.1:1")
    monkeypatch.setattr(running, "CONNECT_TIMEOUT", 1)
    with pytest.raises(SurveyError, match="cannot reach a Dask scheduler"):
        refi_bridge.survey([tmp_path / "a.qdpx"], tmp_path / "out", scheduler="tcp://127.0.0.1:1")


def test_without_the_extra_the_command_says_how_to_get_it(tmp_path, runner, monkeypatch):
    (tmp_path / "a.qdpx").write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    result = runner.invoke(cli, ["survey", str(tmp_path / "a.qdpx"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and "pip install 'refi-bridge[distributed]'" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingExtraError, match=re.escape("pip install 'refi-bridge[distributed]'")):
        refi_bridge.survey([tmp_path / "a.qdpx"], tmp_path / "out", scheduler="tcp://127.0.0.1:1")


def test_the_command_surveys_and_reports(archive, tmp_path, runner):
    small = sorted(archive["hostile"])[:2] + archive["generated"][:2]
    result = runner.invoke(cli, ["survey", *map(str, small), "-o", str(tmp_path / "out"), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 'out'}: 4 files (2 could not be read)" in result.output
    assert "surveying 4 files on 1 local worker process" in result.output
    again = runner.invoke(cli, ["survey", *map(str, small), "-o", str(tmp_path / "out"), "--again"])
    assert again.exit_code == 0 and "4 surveyed now, 0 unchanged" in again.output


def test_the_package_is_also_the_function():
    import refi_bridge.survey.finding  # noqa: F401 -- importing a module of the package must not hide the function

    assert callable(refi_bridge.survey) and refi_bridge.survey.survey is refi_bridge.survey.job.survey


@pytest.mark.parametrize("origin, tool, version", [
    ("NVivo for Windows 12.6", "NVivo", "12.6"),
    ("ATLAS.ti 8.4.0 573 , macOS Version 10.14.3 (Build 18D109)", "ATLAS.ti", "8.4.0"),
    ("MAXQDA 24 (Release 24.7.0)", "MAXQDA", "24.7.0"),
    ("qc 1.3.2", "QualCoder", "1.3.2"),
    ("Taguette 1.4.1", "Taguette", "1.4.1"),
    ("Some Tool 2.1 beta", "Some Tool beta", "2.1"),
    (None, None, None),
])
def test_the_tool_is_told_from_the_origin(origin, tool, version):
    assert producer(origin) == (tool, version)


@given(st.text())
def test_a_message_is_always_one_short_line(text):
    line = one_line(text, ValueError())
    assert "\n" not in line and "\r" not in line and 0 < len(line) <= 1000


@given(st.text(max_size=200))
def test_every_origin_names_a_tool(origin):
    tool, _ = producer(origin)
    assert (tool is None) == (not origin.split())


def test_an_empty_codings_table_has_the_schema():
    from refi_bridge.survey.parquet import codings_table

    assert codings_table(None).schema.equals(codings_schema()) and codings_table(None).num_rows == 0
    assert isinstance(codings_table(None), pa.Table)


def always_dies(task: Task) -> Outcome:
    os._exit(9)


def test_workers_that_cannot_work_at_all_end_the_survey_with_one_line(archive):
    tasks = [Task(str(p), str(p)) for p in archive["generated"][:8]]
    with pytest.raises(SurveyError, match="die before surveying any file"):
        list(outcomes(tasks, local_runner(1), function=always_dies))


def test_every_column_is_documented():
    page = (Path(__file__).resolve().parent.parent / "docs" / "survey.md").read_text(encoding="utf-8")
    for name in [name for name, _, _ in FILE_COLUMNS] + [name for name, _ in SURVEY_CODING_COLUMNS]:
        assert f"`{name}`" in page, name


def test_batches_shrink_as_the_queue_empties_and_keep_the_order(tmp_path, monkeypatch):
    from collections import deque

    from refi_bridge.survey.running import BATCH_FILES, next_batch

    files = []
    for number in range(200):
        files.append(tmp_path / f"{number:03d}.qdpx")
        files[-1].write_bytes(b"x" * 60)
    queue = deque(Task(str(p), str(p)) for p in files)
    sizes, order = [], []
    while queue:
        batch = next_batch(queue, slots=2)
        sizes.append(len(batch))
        order.extend(task.file for task in batch)
    assert order == [str(p) for p in files]
    assert sizes[0] == BATCH_FILES and sizes[-1] == 1 and sizes == sorted(sizes, reverse=True)
    monkeypatch.setattr(running, "BATCH_BYTES", 100)
    assert len(next_batch(deque(Task(str(p), str(p)) for p in files), slots=1)) == 2

"""The team workflow on files: ``split`` a master for N coders, ``merge`` what they send back.

This module reads and writes; the matching itself is :mod:`refi_bridge.team.merging` and
:mod:`refi_bridge.team.splitting`, which work on projects only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from refi_bridge.errors import MergeError, ProjectFileError, RefiBridgeWarning
from refi_bridge.formats.exchange import all_or_nothing, atomic_output, check_outputs, read, write
from refi_bridge.model import Project, name_key
from refi_bridge.progress import Progress, Reporter, quiet
from refi_bridge.tables.merge_report import write_merge_report
from refi_bridge.team.merging import Manifest, MergeInput, MergeResult, merge_projects
from refi_bridge.team.splitting import assignment_for, hand_out, make_manifest, slug

MANIFEST = "manifest.json"



# -------------------------------------------------------------------------------------------------------
# split
# -------------------------------------------------------------------------------------------------------

@dataclass
class SplitResult:
    """The files ``split`` wrote."""

    folder: Path
    files: dict[str, Path] = field(default_factory=dict)  # coder -> their project
    manifest: Path | None = None
    master_copy: Path | None = None


def split(master: str | os.PathLike, coders: Sequence[str], folder: str | os.PathLike, *,
          sources: str | None = None, assign: str | os.PathLike | None = None, dialect: str = "refi",
          keep_codings: bool = False, overwrite: bool = False,
          progress: Progress | Reporter | None = None) -> SplitResult:
    """Write one project per coder into ``folder``, with ``manifest.json`` and a reference copy of the master.

    ``sources`` is a glob on source names (``"D0*-client-*"``); ``assign`` a CSV with columns ``coder`` and
    ``source`` (a name or GUID) for uneven assignments. ``dialect`` is the tool the coders use. A folder that
    already holds a handout (its ``manifest.json``) is refused unless ``overwrite``: the files the coders
    are working on must not be replaced by accident. The files appear together when all are written, or
    (when interrupted or failing) none does.
    """
    say = quiet(progress)
    master_path = Path(master)
    if not coders:
        raise MergeError("split needs the names of the coders to hand the master to")
    stale = _handout_files(Path(folder) / MANIFEST)
    if stale is not None and not overwrite:
        raise MergeError(f"{folder}: already holds a handout ({MANIFEST}); split into another folder, or give "
                         "--overwrite to replace it")
    if any(name_key(coder) == "consensus" for coder in coders):
        raise MergeError("'consensus' is the name of the team's agreed layer (refi-bridge consensus); give the "
                         "coder another name")
    project = read(master_path, progress=say)
    if not project.sources:
        raise MergeError(f"{master_path}: the master has no sources to hand out; split a project (.qdpx), not a "
                         "codebook")
    table = _read_assignment(assign) if assign is not None else None
    assignment = assignment_for(project, coders, pattern=sources, table=table)
    out = Path(folder)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    result = SplitResult(out)
    targets: dict[str, Path] = {}
    used = {"master", "manifest"}
    for coder in coders:
        # -- names that make the same file name ("李娜" and "王芳" both slug to "coder") get a number --
        base = slug(coder)
        stem, n = base, 1
        while stem in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        targets[coder] = out / f"{stem}.qdpx"
    copy = out / "master.qdpx"
    copying = master_path.resolve() != copy.resolve()
    # -- every output, against every input, before anything is written: a refusal leaves nothing behind --
    check_outputs([*((target, None) for target in targets.values()), (out / MANIFEST, None),
                   *([(copy, None)] if copying else [])], [master_path, assign])
    names = {}
    try:
        with all_or_nothing():
            _hand_out(project, targets, assignment, keep_codings, dialect, master_path, result, names, say)
            say(f"writing {MANIFEST} and master.qdpx (the reference the merge will use)")
            _reference(project, master_path, copy, copying, assignment, names, dialect, out, result)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # nothing was written: not even the folder stays
        raise
    # -- an overwritten handout's coders who are not in this one: their old files must not be mistaken
    #    for this handout's --
    for name in sorted((stale or set()) - {target.name for target in targets.values()}):
        (out / name).unlink(missing_ok=True)
        say(f"removed {name}, a file of the handout this one replaces")
    return result


def _handout_files(manifest: Path) -> set[str] | None:
    """The coders' file names an existing handout's manifest lists (None when there is no handout)."""
    if not manifest.exists():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        files = {str(info.get("file")) for info in data.get("assignment", {}).values() if isinstance(info, dict)}
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in files if name and "/" not in name and "\\" not in name and name.endswith(".qdpx")}


def _hand_out(project: Project, targets: dict[str, Path], assignment, keep_codings: bool, dialect: str,
              master_path: Path, result: SplitResult, names: dict[str, str], say: Reporter) -> None:
    """Write each coder's project (inside the split's group of outputs)."""
    for coder, target in targets.items():
        handed = hand_out(project, coder, assignment[coder], keep_codings)
        say(f"writing {target.name} for {coder}: {len(handed.sources)} sources"
            + ("" if not keep_codings else f", {sum(1 for _ in handed.iter_codings())} codings kept"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RefiBridgeWarning)
            write(handed, target, dialect=dialect, protect=[master_path])
        result.files[coder] = target
        names[coder] = target.name


def _reference(project: Project, master_path: Path, copy: Path, copying: bool, assignment, names: dict[str, str],
               dialect: str, out: Path, result: SplitResult) -> None:
    """The master's copy and the manifest the merge will use (inside the split's group of outputs)."""
    if copying:
        with atomic_output(copy) as temporary:
            shutil.copyfile(master_path, temporary)
    result.master_copy = copy
    manifest = make_manifest(project, copy.name, assignment, names, dialect,
                             created=time.strftime("%Y-%m-%dT%H:%M:%S"))
    data = manifest.to_dict()
    data["master_sha256"] = _sha256(master_path)  # the copy's bytes, which are renamed into place last
    result.manifest = out / MANIFEST
    with atomic_output(result.manifest) as temporary:
        temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def _read_assignment(path: str | os.PathLike) -> list[tuple[str, str]]:
    rows = _csv_rows(path, ("coder", "source"))
    return [(row[0], row[1]) for row in rows]


def _csv_rows(path: str | os.PathLike, header: tuple[str, str], required: bool = False) -> list[list[str]]:
    """The two-column rows of a CSV; ``required``: its first row must name the columns ``header``."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = [row for row in csv.reader(stream) if any(cell.strip() for cell in row)]
    except OSError as error:
        raise ProjectFileError(f"{path}: cannot be read ({error.strerror or error}).", str(path)) from None
    except (UnicodeDecodeError, csv.Error):
        raise ProjectFileError(f"{path}: not a CSV text file (UTF-8); save the table as CSV with columns "
                               f"{header[0]},{header[1]}.", str(path)) from None
    if rows and [cell.strip().lower() for cell in rows[0][:2]] == list(header):
        rows = rows[1:]
    elif required:
        found = ",".join(rows[0][:2]) if rows else "nothing"
        raise MergeError(f"{path}: the first row must name the columns {header[0]},{header[1]} (it has "
                         f"{found}); add that row and try again.")
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise MergeError(f"{path}: row {number} needs two columns ({header[0]}, {header[1]}); it has "
                             f"{row!r}.")
    return [[row[0].strip(), row[1].strip()] for row in rows]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -------------------------------------------------------------------------------------------------------
# merge
# -------------------------------------------------------------------------------------------------------

def load_manifest(path: str | os.PathLike) -> tuple[Manifest, Path]:
    """The manifest and the path of the master it names (relative to the manifest's folder)."""
    where = Path(path)
    try:
        data = json.loads(where.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProjectFileError(f"{where}: cannot be read ({error.strerror or error}).", str(where)) from None
    except json.JSONDecodeError as error:
        raise MergeError(f"{where}: not valid JSON (line {error.lineno}); give the manifest.json that "
                         "`refi-bridge split` wrote.") from None
    except RecursionError:
        raise MergeError(f"{where}: nested deeper than any manifest is; give the manifest.json that `refi-bridge "
                         "split` wrote.") from None
    except UnicodeDecodeError:
        raise MergeError(f"{where}: not a JSON text file; give the manifest.json that `refi-bridge split` "
                         "wrote.") from None
    if not isinstance(data, dict):
        raise MergeError(f"{where}: not a refi-bridge manifest; give the manifest.json that `refi-bridge split` "
                         "wrote.")
    manifest = Manifest.from_dict(data, str(where))
    master = (where.parent / manifest.master).resolve()
    if not master.is_file():
        raise MergeError(f"{where}: the master it names ({master}) is missing; put master.qdpx back next to "
                         "the manifest.")
    expected = data.get("master_sha256")
    if expected and _sha256(master) != expected:
        raise MergeError(f"{where}: {master.name} changed since the split; merge against the master that was "
                         "handed out.")
    return manifest, master


def merge(projects_or_paths: Iterable[Project | str | os.PathLike], *, manifest: str | os.PathLike | None = None,
          code_map: Mapping[str, str] | str | os.PathLike | None = None,
          coders: Mapping[str, str] | None = None, progress: Progress | Reporter | None = None) -> MergeResult:
    """Merge coders' projects (or files) into one project, losing nothing; see :mod:`refi_bridge.team.merging`.

    ``manifest`` (from ``split``) supplies the master and who each file was handed to; without it, the first
    input's texts are the master. ``code_map`` maps renamed codes (``{"old path or name": "master path"}`` or
    a CSV with columns ``from``, ``to``). ``coders`` credits every coding of a file to a coder
    (``{"file name or path": "coder"}``), for tools that stamp codings with whoever exported the file.
    """
    say = quiet(progress)
    base = None
    loaded_manifest = None
    master_path = None
    if manifest is not None:
        loaded_manifest, master_path = load_manifest(manifest)
        base = read(master_path, progress=say)
    if isinstance(code_map, (str, os.PathLike)):
        code_map = dict(_csv_rows(code_map, ("from", "to"), required=True))
    overrides = {str(k): v for k, v in (coders or {}).items()}
    used_overrides: set[str] = set()
    inputs: list[MergeInput] = []
    items = []
    given: dict[str, str] = {}  # content hash -> the file first given with it
    twice: list[str] = []
    for item in projects_or_paths:
        if not isinstance(item, Project) and master_path is not None and Path(item).exists() and \
                Path(item).resolve() == master_path:
            say(f"skipping {Path(item).name}: it is the master itself")
        else:
            items.append(item)
    for item in say.each(items, f"reading {len(items)} files"):
        if isinstance(item, Project):
            project, label = item, (item.read_info.path if item.read_info and item.read_info.path else item.name)
        else:
            path = Path(item)
            project, label = read(path), str(item)
            digest = _sha256(path)
            if digest in given:
                twice.append(f"{path.name} is the same file as {given[digest]} (given twice?); its codings "
                             "count once")
            given.setdefault(digest, path.name)
        label = str(label)
        coder, override = None, False
        for key, name in overrides.items():
            if key == label or Path(key).name == Path(label).name:
                coder, override = name, True
                used_overrides.add(key)
        if coder is None and loaded_manifest is not None:
            coder = loaded_manifest.coder_for(project, label)
        inputs.append(MergeInput(project, Path(label).name if label else label, coder, override))
    unused = set(overrides) - used_overrides
    if unused:
        raise MergeError(f"--coder names {', '.join(sorted(unused))}, which is not among the files to merge")
    if not inputs:
        raise MergeError("nothing to merge: give the coders' files")
    say(f"merging {len(inputs)} files: matching sources, codes and codings"
        + (f" ({', '.join(f'{i.label}: {i.coder}' for i in inputs if i.coder)})" if any(i.coder for i in inputs)
           else ""))
    result = merge_projects(inputs, base=base, base_label=master_path.name if master_path else "master",
                            manifest=loaded_manifest, code_map=code_map or {})
    result.report.notes[:0] = twice
    return result


@dataclass
class MergeOutcome:
    """What ``merge_files`` wrote."""

    result: MergeResult
    output: Path
    report: Path | None = None
    json: Path | None = None


def merge_files(paths: Sequence[str | os.PathLike], output: str | os.PathLike, *,
                manifest: str | os.PathLike | None = None, code_map: str | os.PathLike | None = None,
                coders: Mapping[str, str] | None = None, report: str | os.PathLike | None = None,
                json_path: str | os.PathLike | None = None, dialect: str = "refi",
                progress: Progress | Reporter | None = None) -> MergeOutcome:
    """Merge files and write the merged project, the report workbook (``report``) and JSON (``json_path``):
    all of them, or (when interrupted or failing) none."""
    say = quiet(progress)
    protect = [*paths, manifest, code_map]
    if manifest is not None:
        protect.append(load_manifest(manifest)[1])  # the reference master the manifest names
    check_outputs([(output, (".qdpx", ".qde")), (report, (".xlsx",)), (json_path, (".json",))], protect)
    result = merge(paths, manifest=manifest, code_map=code_map, coders=coders, progress=say)
    target = Path(output)
    protect = [p for p in protect if p is not None]
    outcome = MergeOutcome(result, target)
    # -- the project and its report are renamed into place together: never a new project beside an old report --
    with all_or_nothing():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RefiBridgeWarning)
            write(result.project, target, dialect=dialect, protect=protect, progress=say)
        if report is not None:
            outcome.report = Path(report)
            say(f"writing {outcome.report.name}")
            write_merge_report(result.report, outcome.report, merged=target.name, progress=say)
        if json_path is not None:
            outcome.json = Path(json_path)
            with atomic_output(outcome.json) as temporary:
                temporary.write_text(json.dumps(result.report.to_dict(), indent=2, ensure_ascii=False),
                                     encoding="utf-8")
    return outcome


def coder_option(values: Iterable[str]) -> dict[str, str]:
    """Parse ``FILE=NAME`` pairs of ``--coder``."""
    out = {}
    for value in values:
        file, sep, name = value.partition("=")
        if not sep or not file.strip() or not name.strip():
            raise MergeError(f"--coder {value!r}: write it as FILE=NAME, e.g. --coder ingrid.qdpx=\"Ingrid H\"")
        out[file.strip()] = name.strip()
    return out


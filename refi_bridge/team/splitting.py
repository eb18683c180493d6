"""Handing a master project to coders: one project per coder, and the manifest that lets merging match exactly.

Pure: the master in, per-coder projects and a :class:`~refi_bridge.team.merging.Manifest` out. Blind coding is
the default: a coder's project holds no codings unless asked.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import replace

from refi_bridge.errors import MergeError
from refi_bridge.model import (
    Project,
    User,
    derived_guid,
    guid_key,
    internal_files,
    name_key,
    selections_of,
    without_codings,
)
from refi_bridge.team.anchoring import text_hash
from refi_bridge.team.merging import Manifest


def slug(name: str) -> str:
    """A file-name-safe form of a coder's name: ``"Tomás Ferreira"`` -> ``"tomas-ferreira"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "coder"


def assignment_for(master: Project, coders: Sequence[str], *, pattern: str | None = None,
                   table: Sequence[tuple[str, str]] | None = None) -> dict[str, list[str]]:
    """Which sources each coder gets: all, those whose name matches ``pattern``, or ``(coder, source)`` rows.

    In ``table`` a source is named by its name or its GUID; unknown coders or sources are an error that
    lists them, because a silent gap would mean a coder never sees a transcript.
    """
    if not coders:
        raise MergeError("name at least one coder (--coders Ada,Bo)")
    if len({name_key(c) for c in coders}) != len(coders):
        raise MergeError("two coders have the same name; give every coder a distinct name")
    sources = list(master.sources)
    if table is None:
        chosen = [s.guid for s in sources if pattern is None or fnmatch.fnmatchcase(s.label, pattern)]
        if pattern is not None and not chosen:
            raise MergeError(f"no source of the master matches {pattern!r}; names look like "
                             f"{', '.join(s.label for s in sources[:3])}")
        return {coder: list(chosen) for coder in coders}
    by_name = {name_key(s.label): s.guid for s in sources}
    by_guid = {guid_key(s.guid): s.guid for s in sources}
    known = {name_key(c): c for c in coders}
    out: dict[str, list[str]] = {coder: [] for coder in coders}
    unknown_sources, unknown_coders = [], []
    for coder, source in table:
        target = known.get(name_key(coder))
        guid = by_guid.get(guid_key(source)) or by_name.get(name_key(source))
        if target is None:
            unknown_coders.append(coder)
        elif guid is None:
            unknown_sources.append(source)
        elif guid not in out[target]:
            out[target].append(guid)
    empty = [coder for coder, guids in out.items() if not guids]
    if empty and not (unknown_coders or unknown_sources):
        raise MergeError(f"the assignment gives no source to {', '.join(empty)}; give every coder at least one, "
                         "or leave them out of --coders")
    if unknown_coders or unknown_sources:
        raise MergeError("the assignment names " + "; ".join(
            part for part in (f"coders not in --coders: {', '.join(sorted(set(unknown_coders)))}" if unknown_coders else "",
                              f"sources not in the master: {', '.join(sorted(set(unknown_sources)))}"
                              if unknown_sources else "") if part))
    return out


def coder_user(coder: str) -> User:
    """The User that stands for a coder; its GUID is derived from the name so every split agrees."""
    return User(guid=derived_guid("refi-bridge-coder", name_key(coder)), name=coder)


def hand_out(master: Project, coder: str, sources: Sequence[str], keep_codings: bool = False) -> Project:
    """The project one coder receives: the codebook, their sources, the cases and variables, themselves as a
    user, and no codings unless ``keep_codings``. GUIDs are the master's, so tools that keep them let the
    merge match exactly."""
    keep = {guid_key(g) for g in sources}
    # -- blind coding hides what passages mean, not which case they belong to: NVivo's case nodes and a
    #    case's selections stay, so that every tool (QualCoder reads only case nodes) keeps the cases --
    case_nodes = frozenset(master.case_nodes())
    case_selections = frozenset(guid_key(r) for case in master.cases for r in case.selection_refs)
    chosen = []
    for source in master.sources:
        if guid_key(source.guid) not in keep:
            continue
        chosen.append(source if keep_codings else without_codings(source, case_nodes, case_selections))
    handed = {guid_key(s.guid) for source in chosen for _, s, _ in selections_of(source)}
    cases = []
    for case in master.cases:
        refs = tuple(r for r in case.source_refs if guid_key(r) in keep)
        if refs or not case.source_refs:
            cases.append(replace(case, source_refs=refs,
                                 selection_refs=tuple(r for r in case.selection_refs if guid_key(r) in handed)))
    sets = tuple(replace(s, member_sources=tuple(m for m in s.member_sources if guid_key(m) in keep))
                 for s in master.sets)
    user = coder_user(coder)
    users = master.users if any(name_key(u.name) == name_key(coder) for u in master.users) else \
        master.users + (user,)
    names = set()
    for source in chosen:
        names.update(internal_files(source))
    for note in master.notes:
        names.update(internal_files(note))
    files = {name: master.files[name] for name in master.files if name in names}
    return replace(master, name=f"{master.name} ({coder})", users=users, sources=tuple(chosen),
                   cases=tuple(cases), sets=tuple(s for s in sets if s.member_sources or s.member_codes or
                                                  s.member_notes), files=files, read_info=None)


def make_manifest(master: Project, master_path: str, assignment: Mapping[str, Sequence[str]],
                  files: Mapping[str, str], dialect: str, created: str | None = None) -> Manifest:
    """Record what was handed out: the master's sources (GUID, name, text hash), codes, and who got what."""
    return Manifest(
        master=master_path,
        sources={s.guid: {"name": s.label, "hash": text_hash(getattr(s, "text", None))} for s in master.sources},
        codes={code.guid: list(path) for code, path in master.iter_codes()},
        assignment={coder: {"file": files[coder], "sources": list(guids)} for coder, guids in assignment.items()},
        dialect=dialect, created=created)

"""Matching codes: by GUID, the code map, the path of names, a unique name; new codes added once."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import replace

from refi_bridge.model import Code, codes_named, guid_key, name_key, parse_path, path_key
from refi_bridge.team.merging.inputs import MergeInput
from refi_bridge.team.merging.report import CodeMatch, Conflict, FileSummary


class CodeMatching:
    """Matching codes: by GUID, the code map, the path of names, a unique name; new codes added once.

    A part of :class:`~refi_bridge.team.merging.merger.Merger`; the state it uses is set up there.
    """

    def _map_codes(self, item: MergeInput, summary: FileSummary) -> dict[str, str]:
        target: dict[str, str] = {}
        parents = {guid_key(child.guid): guid_key(code.guid) for code, _ in item.project.iter_codes()
                   for child in code.codes}
        for code, path in item.project.iter_codes():
            own, pkey = guid_key(code.guid), path_key(path)
            key = own
            written = self._written_path(code, target.get(parents.get(own, "")))
            how, guid = None, None
            if key in self.case_keys and key not in self.code_paths:
                # -- a code the qualcoder dialect made for a case (QualCoder's only form of membership) --
                self.case_codes[own] = key
                self.report.codes.append(CodeMatch(item.label, " > ".join(path), "(the case itself)", "case"))
                continue
            manifest_code = key in self.manifest_codes
            if key in self.code_paths and (self.manifest is None or manifest_code or
                                           path_key(self.code_paths[key]) == pkey):
                how, guid = "guid", self._code_guid(key)
            elif self._mapped(pkey, code.name) is not None:
                how, guid = "map", self._mapped(pkey, code.name)
            elif pkey in self.by_code_path:
                how, guid = "path", self.by_code_path[pkey]
            elif written is not None:
                how, guid = "path", self.by_code_path[written]
            elif name_key(code.name) in self.by_code_name and not self._is_new(self.by_code_name[name_key(code.name)]):
                how, guid = "name", self.by_code_name[name_key(code.name)]
            else:
                parent = target.get(parents.get(guid_key(code.guid), ""))
                how, guid = "new", self._new_code(code, path, parent)
            target[own] = guid
            setattr(summary, f"codes_{'by_' + how if how != 'new' else 'new'}",
                    getattr(summary, f"codes_{'by_' + how if how != 'new' else 'new'}") + 1)
            matched = self._path_text(guid)
            row = CodeMatch(item.label, " > ".join(path), matched, how)
            self.report.codes.append(row)
            if how == "new":
                if not any(r.matched_path == matched for r in self.report.new_codes):
                    self.report.new_codes.append(row)
                continue
            self._conflicts(item, code, path, guid, how, target.get(parents.get(own, "")))
        return target

    def _written_path(self, code: Code, parent: str | None) -> tuple[str, ...] | None:
        """The master path a code stands for when its name was written as that path.

        The qualcoder dialect names a code by its path ("Theme > sub") where two codes share a name,
        because QualCoder merges codes of equal name; such a code comes back under that name, below its
        parent, whose own name may have been written as a path too, or renamed by the coder (and mapped by
        --code-map). So the parent is compared by what it matched (``parent``, None at the top), never by
        its name. Returns the path key of the master code, or None.
        """
        if ">" not in code.name:
            return None
        candidate = path_key(parse_path(code.name))
        if candidate not in self.by_code_path:
            return None
        if len(candidate) == 1 or parent is None:
            return candidate
        return candidate if guid_key(self.by_code_path.get(candidate[:-1])) == guid_key(parent) else None

    def _mapped(self, pkey: tuple[str, ...], name: str) -> str | None:
        """The code ``--code-map`` sends this code to (given by its path or by its name), if any."""
        for key in (pkey, (name_key(name),)):
            if key in self.code_map:
                self.code_map_used.add(key)
                return self.code_map[key]
        return None

    def _resolve_code_map(self) -> dict[tuple[str, ...], str | None]:
        """``--code-map`` rows as {path key of "from": GUID of the master code "to" names, or None}.

        "to" is a path ("Theme > sub") or a name that only one code of the master has; "from" is read both
        ways (a path, or a whole name that contains ">" or "::").
        """
        resolved: dict[tuple[str, ...], str | None] = {}
        for source, target in self.code_map_rows.items():
            found = codes_named(target, self.code_paths)
            guid = self._code_guid(found[0]) if len(found) == 1 else None
            if len(found) > 1:
                self.report.notes.append(f"code map: to {target!r} (from {source!r}) names {len(found)} codes of "
                                         "the master; give its path (\"Theme > sub\"); that row was not used")
            elif not found:
                self.report.notes.append(f"code map: to {target!r} (from {source!r}) is no code of the master"
                                         f"{self._closest(target)}; that row was not used")
            for key in self._map_keys(source):
                resolved[key] = guid
        return resolved

    @staticmethod
    def _map_keys(source: str) -> list[tuple[str, ...]]:
        return list(dict.fromkeys([path_key(parse_path(source)), (name_key(source),)]))

    def _note_unused_code_map(self) -> None:
        for source, target in self.code_map_rows.items():
            keys = self._map_keys(source)
            if not any(k in self.code_map_used for k in keys) and self.code_map.get(keys[0]) is not None:
                self.report.notes.append(f"code map: from {source!r} (to {target!r}) matched no code of the "
                                         f"merged files{self._closest(source)}")

    def _closest(self, text: str) -> str:
        names = {" > ".join(path) for path in self.code_paths.values()} | {p[-1] for p in self.code_paths.values()}
        close = difflib.get_close_matches(text, sorted(names), n=3, cutoff=0.5)
        return f" (closest: {', '.join(repr(c) for c in close)})" if close else ""

    def _code_guid(self, key: str) -> str:
        return self.code_info[key].guid if key in self.code_info else key

    def _is_new(self, guid: str) -> bool:
        return any(guid_key(c.guid) == guid_key(guid) for c in self.new_codes.values())

    def _path_text(self, guid: str) -> str:
        key = guid_key(guid)
        if key in self.code_paths:
            return " > ".join(self.code_paths[key])
        return guid

    def _conflicts(self, item: MergeInput, code: Code, path: tuple[str, ...], guid: str, how: str,
                   parent: str | None) -> None:
        """Differences between a matched code and the result's; ``parent`` is what the file's parent matched."""
        key = guid_key(guid)
        merged = self.code_info.get(key)
        if merged is None:
            return
        if key in self.case_keys:
            return  # a case node: a case, whose place and name in the code tree are each tool's own business
        merged_path = self.code_paths[key]
        shown = " > ".join(merged_path)
        # -- parents are compared by what they matched, not by their names: a name written as a path (the
        #    qualcoder dialect) is still the same parent --
        merged_parent = self.by_code_path.get(path_key(merged_path[:-1])) if len(merged_path) > 1 else None
        if how in ("name", "guid") and guid_key(parent) != guid_key(merged_parent):
            self.report.conflicts.append(Conflict(item.label, shown, "parent", " > ".join(merged_path[:-1]) or "(top)",
                                                  " > ".join(path[:-1]) or "(top)"))
        if how == "guid" and name_key(code.name) != name_key(merged.name) and \
                path_key(parse_path(code.name)) != path_key(merged_path):
            self.report.conflicts.append(Conflict(item.label, shown, "name", merged.name, code.name))
        # -- QualCoder maps every colour to its own palette on export (measured): not a coder's change --
        attributes = ("description",) if (item.project.origin or "").startswith("QualCoder") else ("color", "description")
        for attribute in attributes:
            mine, theirs = getattr(merged, attribute), getattr(code, attribute)
            if mine is not None and theirs is not None and mine.strip().lower() != theirs.strip().lower():
                self.report.conflicts.append(Conflict(item.label, shown, attribute, mine, theirs))

    def _new_code(self, code: Code, path: tuple[str, ...], parent: str | None) -> str:
        """Add a code the result lacks, under the code its parent was matched to (``parent``)."""
        if parent is None and len(path) > 1:
            parent = self.by_code_path.get(path_key(path[:-1]))
        parent_path = self.code_paths[guid_key(parent)] if parent else ()
        pkey = path_key(parent_path + (code.name,))
        if pkey in self.new_codes:  # another file added it first: add it once
            return self.new_codes[pkey].guid
        guid = self._fresh(code.guid)
        new = Code(guid=guid, name=code.name, is_codable=code.is_codable, color=code.color,
                   description=code.description)
        self.new_codes[pkey] = new
        self.new_code_parent[pkey] = parent
        self.code_info[guid_key(guid)] = new
        self.code_paths[guid_key(guid)] = parent_path + (code.name,)
        self.by_code_path[pkey] = guid
        return guid

    def _insert_new_codes(self, codes: Sequence[Code], parent: str | None = None) -> list[Code]:
        """The code tree with every new code placed under its parent (new parents included)."""
        out = []
        for code in codes:
            children = self._insert_new_codes(code.codes, code.guid)
            out.append(replace(code, codes=tuple(children)) if children != list(code.codes) else code)
        for pkey, new in self.new_codes.items():
            if self.new_code_parent[pkey] == parent:
                out.append(replace(new, codes=tuple(self._insert_new_codes((), new.guid))))
        return out

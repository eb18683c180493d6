"""What goes into a merge: the projects with their labels and coders, and split's manifest."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from refi_bridge.errors import MergeError
from refi_bridge.model import TOOL_USERS, Project, guid_key, name_key


@dataclass(frozen=True)
class MergeInput:
    """One project to merge, how to call it in the report, and who coded it when the file does not say.

    ``coder`` is the coder the file was handed to (from the manifest), used for codings without a user;
    with ``override`` every coding of the file is credited to ``coder`` (``--coder FILE=NAME``).
    """

    project: Project
    label: str
    coder: str | None = None
    override: bool = False


@dataclass(frozen=True)
class Manifest:
    """What ``split`` handed out: the master's GUIDs and text hashes, the codebook, the assignment."""

    master: str                               # the master file, as split read it
    sources: Mapping[str, dict]               # master source GUID -> {"name", "hash"}
    codes: Mapping[str, list[str]]            # master code GUID -> path of names
    assignment: Mapping[str, dict]            # coder name -> {"file", "sources": [GUID, ...]}
    dialect: str = "refi"
    created: str | None = None
    version: int = 1

    def to_dict(self) -> dict:
        return {"format": "refi-bridge manifest", "version": self.version, "created": self.created,
                "master": self.master, "dialect": self.dialect, "sources": dict(self.sources),
                "codes": {k: list(v) for k, v in self.codes.items()}, "assignment": dict(self.assignment)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "manifest") -> Manifest:
        if data.get("format") != "refi-bridge manifest":
            raise MergeError(f"{where}: not a refi-bridge manifest (no 'format': 'refi-bridge manifest'); give "
                             "the manifest.json that `refi-bridge split` wrote.")
        try:
            manifest = cls(master=data["master"], sources=data["sources"], codes=data["codes"],
                           assignment=data["assignment"], dialect=data.get("dialect", "refi"),
                           created=data.get("created"), version=data.get("version", 1))
        except KeyError as missing:
            raise MergeError(f"{where}: the manifest lacks {missing}; write it again with `refi-bridge split`.") \
                from None
        problem = _shape_problem(manifest)
        if problem:
            raise MergeError(f"{where}: the manifest is damaged: {problem}; write it again with `refi-bridge split`.")
        return manifest

    def coder_for(self, project: Project, label: str) -> str | None:
        """The coder a returned file was handed to: a user of the file named like a coder, else its name."""
        coders = {name_key(name): name for name in self.assignment}
        users = [name_key(u.name) for u in project.users if guid_key(u.guid) not in TOOL_USERS]
        found = {coders[u] for u in users if u in coders}
        if len(found) == 1:
            return found.pop()
        stem = name_key(re.sub(r"\.[^.]+$", "", label.rsplit("/", 1)[-1]))
        handed = {coder: name_key(re.sub(r"\.[^.]+$", "", info.get("file", "")))
                  for coder, info in self.assignment.items()}
        exact = [coder for coder, name in handed.items() if name and name == stem]
        if exact:
            return exact[0]
        # -- a tool may add to the name it was given ("ana-export.qdpx"): the longest handed-out name wins --
        prefixes = sorted((coder for coder, name in handed.items() if name and stem.startswith(name)),
                          key=lambda coder: -len(handed[coder]))
        if prefixes:
            return prefixes[0]
        return None


def _shape_problem(manifest: Manifest) -> str | None:
    """What in a manifest does not have the shape ``split`` writes (a hand edit, a damaged file), or None."""
    def strings(value) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    master = manifest.master
    if not isinstance(master, str) or not master or re.search(r"[/\\]", master) or master in (".", ".."):
        return f"'master' must name a file next to the manifest, not {master!r}"
    if not isinstance(manifest.sources, dict) or not all(isinstance(v, dict) for v in manifest.sources.values()):
        return "'sources' must map each source GUID to its name and hash"
    if not isinstance(manifest.codes, dict) or not all(strings(v) for v in manifest.codes.values()):
        return "'codes' must map each code GUID to its path of names"
    if not isinstance(manifest.assignment, dict):
        return "'assignment' must map each coder to their file and sources"
    for coder, info in manifest.assignment.items():
        if not isinstance(info, dict) or not isinstance(info.get("file", ""), str) or \
                not strings(info.get("sources", [])):
            return f"the assignment of {coder!r} must give a file name and a list of source GUIDs"
    if not isinstance(manifest.dialect, str) or not isinstance(manifest.version, int) or \
            not isinstance(manifest.created, (str, type(None))):
        return "'dialect', 'version' or 'created' has the wrong type"
    return None

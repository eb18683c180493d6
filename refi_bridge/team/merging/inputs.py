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
            return cls(master=data["master"], sources=data["sources"], codes=data["codes"],
                       assignment=data["assignment"], dialect=data.get("dialect", "refi"),
                       created=data.get("created"), version=data.get("version", 1))
        except KeyError as missing:
            raise MergeError(f"{where}: the manifest lacks {missing}; write it again with `refi-bridge split`.") \
                from None

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

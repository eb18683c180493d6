"""Merging coders' projects, from any tool, into one project on the master texts, losing nothing.

Pure: projects in, a project and a report out. Matching never trusts one clue alone, because real exports
regenerate every GUID and change the texts (see docs/team-workflow.md):

* **sources** by GUID (the manifest's or the base's), else by a hash of the normalised text, else by name;
  a coder's copy that differs from the master text has each coding re-anchored by aligning the texts;
* **codes** by GUID, else through the code map, else by the path of names (case and spacing ignored), else
  by a unique name; a code nobody else has is added once and flagged;
* **coders** from the coding's ``creatingUser``, else the selection's, else the coder the file was handed
  to; ``--coder FILE=NAME`` overrides a file; users are matched by name; tools' pseudo-users are no coders.

Exact duplicates (same source, span, code and coder) appear once. Everything else is kept, and anything
that cannot be carried is listed in the report with the reason.
"""

from refi_bridge.team.merging.inputs import Manifest, MergeInput
from refi_bridge.team.merging.merger import merge_projects
from refi_bridge.team.merging.report import MergeReport, MergeResult

__all__ = ["MergeInput", "Manifest", "MergeReport", "MergeResult", "merge_projects"]

"""Small helpers shared by several test modules (strategies live in strategies.py)."""

from __future__ import annotations

from refi_bridge.model import derived_guid, guid_key


def original_paths(project) -> dict:
    """Each code's path as a tuple, under its own GUID and under the GUID the qualcoder dialect may give it.

    Code names may be made unique for QualCoder (a name becomes its path), so a code read back from such a
    file is known by its GUID, never by splitting its name.
    """
    paths = project.code_paths()
    derived = {guid_key(derived_guid("refi-bridge", "code", key)): path for key, path in paths.items()}
    return {**paths, **derived}

"""Small helpers shared by several test modules (strategies live in strategies.py)."""

from __future__ import annotations


def original_paths(project) -> dict:
    """Each code's path as a tuple, keyed by its GUID.

    Code names may be made unique for QualCoder (a name becomes its path), so a code read back from such a
    file is known by its GUID, never by splitting its name.
    """
    return project.code_paths()

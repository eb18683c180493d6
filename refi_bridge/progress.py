"""How long work tells the person what it is doing: one callback type, shared by every layer.

Library functions take ``progress``, a callable given one line of text per step; the command prints those
lines on stderr. Library code never prints.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def quiet(progress: Progress | None) -> Progress:
    """``progress`` itself, or a callable that says nothing when the caller gave none."""
    return progress or _silent


def _silent(_: str) -> None:
    return None

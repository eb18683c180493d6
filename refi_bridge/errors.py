"""The exception hierarchy and the warning class; every error a researcher can act on derives from one root.

Each message follows one shape: what happened, where (file, element, line, GUID), and what to do. The
structured facts are kept as attributes too, so callers need not parse messages.
"""

from __future__ import annotations


class RefiBridgeError(Exception):
    """Root of every error refi_bridge raises on purpose (anything else is a bug)."""


class ProjectFileError(RefiBridgeError, OSError):
    """A file cannot be used: not a REFI-QDA file, unreadable, hostile, missing a member, or in the way."""

    def __init__(self, message: str, path: object = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class UnsafeFileError(ProjectFileError):
    """A file was refused because reading it could harm the machine (zip slip, zip bomb, XML entities)."""


class ProjectStructureError(RefiBridgeError, ValueError):
    """The XML is well-formed but does not have the shape REFI-QDA requires (a required attribute missing...)."""

    def __init__(self, message: str, path: object = None, line: int | None = None,
                 element: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.element = element


class SchemaError(RefiBridgeError, ValueError):
    """A document does not validate against the REFI-QDA schema."""

    def __init__(self, message: str, findings: list | None = None) -> None:
        super().__init__(message)
        self.findings = findings or []


class DanglingReferenceError(RefiBridgeError, ValueError):
    """A reference points at a GUID that is not in the project."""

    def __init__(self, message: str, guid: str | None = None, kind: str | None = None) -> None:
        super().__init__(message)
        self.guid = guid
        self.kind = kind


class DialectError(RefiBridgeError, ValueError):
    """An unknown writer dialect, or a project that cannot be written in the chosen dialect."""


class MergeError(RefiBridgeError, ValueError):
    """Inputs that cannot be merged (no common text, a manifest that does not fit...)."""


class MergeConflictError(MergeError):
    """Two inputs disagree in a way the merge cannot settle by itself."""


class AgreementError(RefiBridgeError, ValueError):
    """Agreement cannot be computed as asked (no coders to compare, an unknown code...)."""


class UndefinedCoefficientError(AgreementError):
    """A coefficient is undefined for the data given (no variation, fewer than two coders on every unit);
    the message says why. Reports print "undefined: <why>", never a made-up 1.0 or 0."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class PseudonymisationError(RefiBridgeError, ValueError):
    """A project cannot be pseudonymised as asked: a key row that cannot work, a file that cannot be rewritten,
    a replacement that would bring an original back."""


class SurveyError(RefiBridgeError, RuntimeError):
    """A survey cannot run as asked: no files found, an output folder in the way, a cluster out of reach."""


class MissingExtraError(SurveyError, ImportError):
    """A feature needs an optional extra that is not installed; the message names the ``pip install``."""


class RefiBridgeWarning(UserWarning):
    """Something was recovered from: a quirk fixed, an element that could not be carried, a guess made."""

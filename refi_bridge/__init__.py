"""refi_bridge: read, write, merge and compare REFI-QDA projects from every QDA tool.

The library's front door. A project file becomes plain data, and plain data becomes a file for any tool::

    import refi_bridge
    project = refi_bridge.read("coder-a.qdpx")            # .qdpx, .qde or .qdc, from any tool
    project.codings()                                     # one row per coding, as a pandas DataFrame
    refi_bridge.write(project, "for-nvivo.qdpx", dialect="nvivo")
"""

__version__ = "0.1.0"

from refi_bridge.errors import (  # noqa: E402
    AgreementError,
    DanglingReferenceError,
    DialectError,
    MergeConflictError,
    MergeError,
    ProjectFileError,
    ProjectStructureError,
    PseudonymisationError,
    RefiBridgeError,
    RefiBridgeWarning,
    SchemaError,
    UnsafeFileError,
)
from refi_bridge.model import (  # noqa: E402
    AudioSelection,
    AudioSource,
    Case,
    Code,
    Coding,
    Edge,
    Graph,
    Link,
    Note,
    PDFSelection,
    PDFSource,
    PictureSelection,
    PictureSource,
    PlainTextSelection,
    Project,
    Set,
    SyncPoint,
    TextSource,
    Transcript,
    TranscriptSelection,
    User,
    Variable,
    VariableValue,
    Vertex,
    VideoSelection,
    VideoSource,
)

# -- read/write pull in lxml; import them on first use so that `import refi_bridge.model` stays light --
_LAZY = {"read": "refi_bridge.formats.exchange", "write": "refi_bridge.formats.exchange", "merge": "refi_bridge.team.jobs",
         "split": "refi_bridge.team.jobs", "matrix": "refi_bridge.tables.matrices",
         "pseudonymise": "refi_bridge.privacy.pseudonymising"}
_SUBPACKAGES = ("agreement", "privacy")


def __getattr__(name: str):
    import importlib

    if name in _SUBPACKAGES:
        return importlib.import_module(f"refi_bridge.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'refi_bridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "__version__", "read", "write", "merge", "split", "matrix", "pseudonymise", "agreement", "privacy",
    "Project", "User", "Code", "Set", "Variable", "VariableValue", "Case", "Coding", "Note", "Link",
    "Graph", "Vertex", "Edge", "TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource",
    "Transcript", "SyncPoint", "PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection",
    "VideoSelection", "TranscriptSelection",
    "RefiBridgeError", "ProjectFileError", "UnsafeFileError", "ProjectStructureError", "SchemaError",
    "DanglingReferenceError", "DialectError", "MergeError", "MergeConflictError", "AgreementError",
    "PseudonymisationError",
    "RefiBridgeWarning",
]

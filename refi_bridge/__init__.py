"""refi_bridge: read, write, merge and compare REFI-QDA projects from every QDA tool.

The library's front door. A project file becomes plain data, and plain data becomes a file for any tool::

    import refi_bridge
    project = refi_bridge.read("coder-a.qdpx")            # .qdpx, .qde or .qdc, from any tool
    project.codings()                                     # one row per coding, as a pandas DataFrame
    refi_bridge.write(project, "for-nvivo.qdpx", dialect="nvivo")
"""

__version__ = "0.1.0"

# -- every name is imported on first use: `import refi_bridge` costs nothing, so that the command can catch
#    Ctrl-C from its very start, and `import refi_bridge.model` does not pull in lxml --
_ERRORS = ("AgreementError", "DanglingReferenceError", "DialectError", "MergeConflictError", "MergeError",
           "MissingExtraError", "ProjectFileError", "ProjectStructureError", "PseudonymisationError",
           "RefiBridgeError", "RefiBridgeWarning", "SchemaError", "SurveyError", "UnsafeFileError")
_MODEL = ("AudioSelection", "AudioSource", "Case", "Code", "Coding", "Edge", "Graph", "Link", "Note",
          "PDFSelection", "PDFSource", "PictureSelection", "PictureSource", "PlainTextSelection",
          "Project", "Set", "SyncPoint", "TextSource", "Transcript", "TranscriptSelection", "User",
          "Variable", "VariableValue", "Vertex", "VideoSelection", "VideoSource")
_LAZY = {"read": "refi_bridge.formats.exchange", "write": "refi_bridge.formats.exchange", "merge": "refi_bridge.team.jobs",
         "split": "refi_bridge.team.jobs", "matrix": "refi_bridge.tables.matrices",
         "pseudonymise": "refi_bridge.privacy.pseudonymising",
         **dict.fromkeys(_ERRORS, "refi_bridge.errors"), **dict.fromkeys(_MODEL, "refi_bridge.model")}
# -- `survey` is a package that can be called: refi_bridge.survey(paths, outdir) --
_SUBPACKAGES = ("agreement", "privacy", "survey")


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
    "__version__", "read", "write", "merge", "split", "matrix", "pseudonymise", "agreement", "privacy", "survey",
    "Project", "User", "Code", "Set", "Variable", "VariableValue", "Case", "Coding", "Note", "Link",
    "Graph", "Vertex", "Edge", "TextSource", "PictureSource", "PDFSource", "AudioSource", "VideoSource",
    "Transcript", "SyncPoint", "PlainTextSelection", "PictureSelection", "PDFSelection", "AudioSelection",
    "VideoSelection", "TranscriptSelection",
    "RefiBridgeError", "ProjectFileError", "UnsafeFileError", "ProjectStructureError", "SchemaError",
    "DanglingReferenceError", "DialectError", "MergeError", "MergeConflictError", "AgreementError",
    "PseudonymisationError", "SurveyError", "MissingExtraError", "RefiBridgeWarning",
]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""The ``.qdpx`` container: a ZIP holding one ``.qde`` document and a ``sources/`` folder of files.

The only module that opens archives. Reading is lenient about what tools do (any single ``*.qde`` at the
root, ``Sources/`` in any case, stray members) and strict about what could harm the machine: member names
that climb out of the folder (zip slip), symbolic links, encrypted members, overlapping members and sizes
or compression ratios no real project has (zip bombs) are refused before anything is decompressed.
Files of the ``sources/`` folder are not read until asked for (:class:`ArchiveFiles`).
"""

from __future__ import annotations

import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from refi_bridge.errors import ProjectFileError, UnsafeFileError
from refi_bridge.model import Project

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"

# -- formats that are compressed already: deflating them again costs time and saves nothing --
_STORED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".mp4", ".m4a", ".mp3", ".mov", ".avi",
                              ".wav", ".docx", ".zip", ".gz", ".7z"})


@dataclass(frozen=True)
class ReadLimits:
    """What an archive may claim before it is refused as a zip bomb.

    The defaults leave room for any real project: the standard caps one file at 2 GiB, and text and XML
    rarely compress better than 30:1, while bombs reach 1000:1 or nest overlapping members.
    """

    max_members: int = 200_000
    max_member_size: int = 2**31 - 1
    max_total_size: int = 16 * 2**30
    max_ratio: float = 250.0
    ratio_applies_above: int = 8 * 2**20


DEFAULT_LIMITS = ReadLimits()


def is_archive(head: bytes) -> bool:
    """True when the first bytes of a file are those of a ZIP archive."""
    return head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC)


@dataclass(frozen=True)
class Archive:
    """What :func:`open_archive` found: the ``.qde`` member, the sources folder, and the source members."""

    path: str
    qde_member: str
    qde_bytes: bytes
    sources_folder: str | None
    members: dict[str, str]  # name as internal:// paths give it -> archive member name
    ignored: tuple[str, ...]
    fixes: tuple[str, ...]
    infos: dict[str, zipfile.ZipInfo]  # archive member name -> its directory entry


def open_archive(path: str | os.PathLike, limits: ReadLimits = DEFAULT_LIMITS) -> Archive:
    """Check an archive for safety and structure and read its ``.qde``; source files stay unread."""
    where = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise ProjectFileError(f"{where}: not a readable ZIP archive ({error}); a .qdpx must be the ZIP "
                               "file the QDA tool exported. Export it again.", where) from None
    except OSError as error:
        raise ProjectFileError(f"{where}: cannot be read ({error.strerror or error}).", where) from None
    with zf:
        infos = zf.infolist()
        _check_safety(where, infos, limits)
        qde, fixes = _find_qde(where, infos)
        folder, members, ignored = _source_members(infos, qde.filename)
        data = _read_member(zf.fp, qde, where)
    return Archive(where, qde.filename, data, folder, members, tuple(ignored), tuple(fixes),
                   {info.filename: info for info in infos})


def _check_safety(where: str, infos: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    if len(infos) > limits.max_members:
        raise UnsafeFileError(f"{where}: refused: {len(infos):,} members is more than any QDA project holds "
                              f"(limit {limits.max_members:,}); the archive may be a zip bomb.", where)
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise UnsafeFileError(f"{where}: refused: member {name!r} points outside the archive folder "
                                  "(a 'zip slip' attack). Do not open this file.", where)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeFileError(f"{where}: refused: member {name!r} is a symbolic link; a QDA project "
                                  "never holds one.", where)
        if info.flag_bits & 0x1:
            raise ProjectFileError(f"{where}: member {name!r} is encrypted; export the project again without "
                                   "a password.", where)
        if info.file_size > limits.max_member_size:
            raise UnsafeFileError(f"{where}: refused: member {name!r} claims {info.file_size:,} bytes, above "
                                  f"the {limits.max_member_size:,} REFI-QDA allows per file.", where)
        if info.file_size > limits.ratio_applies_above:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise UnsafeFileError(f"{where}: refused: member {name!r} would expand {ratio:,.0f} times "
                                      f"(to {info.file_size:,} bytes); real project files do not compress "
                                      "like that, zip bombs do.", where)
        total += info.file_size
    if total > limits.max_total_size:
        raise UnsafeFileError(f"{where}: refused: the members would expand to {total:,} bytes, above the "
                              f"limit of {limits.max_total_size:,}; the archive may be a zip bomb.", where)
    # -- members whose data overlap are how the densest zip bombs are built; no zip tool writes them --
    spans = sorted((info.header_offset, info.header_offset + 30 + _stored_name_length(info) + info.compress_size,
                    info.filename) for info in infos)
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if end > start:
            raise UnsafeFileError(f"{where}: refused: members {name!r} and {other!r} overlap in the archive, "
                                  "the construction of a zip bomb.", where)


def _stored_name_length(info: zipfile.ZipInfo) -> int:
    """The length of a member's name as the archive stores it (UTF-8 when flagged, else code page 437)."""
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        return len(info.orig_filename.encode(encoding))
    except UnicodeEncodeError:
        return len(info.orig_filename.encode("utf-8"))


def _find_qde(where: str, infos: list[zipfile.ZipInfo]) -> tuple[zipfile.ZipInfo, list[str]]:
    fixes: list[str] = []
    files = [info for info in infos if not info.is_dir()]
    at_root = [info for info in files if "/" not in info.filename and info.filename.lower().endswith(".qde")]
    if not at_root:
        nested = [info for info in files if info.filename.lower().endswith(".qde")]
        if len(nested) == 1:
            fixes.append(f"the project document is {nested[0].filename!r}, not at the archive's root")
            return nested[0], fixes
        names = ", ".join(info.filename for info in files[:5]) or "nothing"
        raise ProjectFileError(f"{where}: no .qde project document at the archive's root (it holds {names}); "
                               "this ZIP is not a REFI-QDA .qdpx. Export the project again.", where)
    if len(at_root) == 1:
        chosen = at_root[0]
    else:
        named = [info for info in at_root if info.filename.lower() == "project.qde"]
        if not named:
            listing = ", ".join(info.filename for info in at_root)
            raise ProjectFileError(f"{where}: {len(at_root)} .qde documents at the archive's root ({listing}) "
                                   "and none is project.qde; keep one and try again.", where)
        chosen = named[0]
    if chosen.filename != "project.qde":
        # -- ATLAS.ti 26 names the document after the project --
        fixes.append(f"the project document is named {chosen.filename!r}, not 'project.qde'")
    return chosen, fixes


def _source_members(infos: list[zipfile.ZipInfo], qde: str) -> tuple[str | None, dict[str, str], list[str]]:
    """The sources folder beside the project document, and its files by the names internal:// paths use.

    The folder is found next to the document, wherever that is: a .qdpx unzipped and zipped again with its
    folder inside (``MyProject/project.qde``, ``MyProject/Sources/...``) keeps its texts.
    """
    home = qde.rpartition("/")[0]
    prefix = home + "/" if home else ""
    folder = None
    members: dict[str, str] = {}
    ignored: list[str] = []
    for info in infos:
        name = info.filename
        if info.is_dir() or name == qde:
            continue
        head, _, rest = name[len(prefix):].partition("/") if name.startswith(prefix) else ("", "", "")
        if rest and head.lower() == "sources":
            folder = folder or prefix + head
            members[rest] = name
        else:
            ignored.append(name)
    return folder, members, ignored


def _read_member(fp, info: zipfile.ZipInfo, where: str) -> bytes:
    """Read one member from the open archive file ``fp``, never more than its header declares.

    Stored and deflated members (all that QDA tools write) are read straight from the file and checked
    against their CRC: zipfile's general reader costs tens of microseconds per member, which adds up over
    the thousands of texts of a large project. Anything else goes through zipfile.
    """
    if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _read_raw(fp, info, where)
    try:
        with zipfile.ZipFile(where) as zf, zf.open(info.filename) as stream:
            data = stream.read(info.file_size + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as error:
        raise _damaged(where, info, error) from None
    if len(data) > info.file_size:
        raise UnsafeFileError(f"{where}: refused: member {info.filename!r} holds more than its declared "
                              f"{info.file_size:,} bytes.", where)
    return data


def _damaged(where: str, info: zipfile.ZipInfo, error: object) -> ProjectFileError:
    return ProjectFileError(f"{where}: member {info.filename!r} cannot be read ({error}); the archive is "
                            "damaged. Export the project again.", where)


def _read_raw(fp, info: zipfile.ZipInfo, where: str) -> bytes:
    fp.seek(info.header_offset)
    header = fp.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise _damaged(where, info, "no local header where the directory says")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    fp.seek(info.header_offset + 30 + name_length + extra_length)
    raw = fp.read(info.compress_size)
    if len(raw) != info.compress_size:
        raise _damaged(where, info, "truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw
    else:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, info.file_size + 1)
        except zlib.error as error:
            raise _damaged(where, info, error) from None
    if len(data) > info.file_size:
        raise UnsafeFileError(f"{where}: refused: member {info.filename!r} holds more than its declared "
                              f"{info.file_size:,} bytes.", where)
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise _damaged(where, info, "size or CRC does not match")
    return data


class ArchiveFiles(Mapping):
    """The files of an archive's sources folder, read from the archive only when asked for.

    Keys are names as ``internal://`` paths give them. The archive must not change while the project is in
    use; if it does, reading a file raises instead of returning bytes of another version. Inside
    ``with files.batch():`` the archive stays open, so reading many files costs one opening.
    """

    def __init__(self, path: str, members: Mapping[str, zipfile.ZipInfo]) -> None:
        self._path = path
        self._members = dict(members)
        self._signature = _signature(path)
        self._fp = None

    def __getitem__(self, name: str) -> bytes:
        info = self._members[name]
        if self._fp is not None:
            return _read_member(self._fp, info, self._path)
        self._check()
        with open(self._path, "rb") as fp:
            return _read_member(fp, info, self._path)

    def _check(self) -> None:
        if _signature(self._path) != self._signature:
            raise ProjectFileError(f"{self._path}: the archive changed after it was read; read it again "
                                   "before using its files.", self._path)

    @contextmanager
    def batch(self) -> Iterator[ArchiveFiles]:
        """Keep the archive open while many files are read."""
        if self._fp is not None or not self._members:
            yield self
            return
        self._check()
        self._fp = open(self._path, "rb")  # noqa: SIM115 -- closed below, after the batch
        try:
            yield self
        finally:
            self._fp.close()
            self._fp = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f"<ArchiveFiles {len(self._members)} files of {self._path}>"


def _signature(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


class member_reader:
    """Reads source files of an archive by internal name (case-insensitively), one open file for all.

    Use as a context manager around the reading of a project; ``used`` collects the members read.
    """

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.lowered = {name.lower(): member for name, member in archive.members.items()}
        self.used: set[str] = set()
        self._fp = None

    def __enter__(self) -> member_reader:
        self._fp = open(self.archive.path, "rb")  # noqa: SIM115 -- closed in __exit__
        return self

    def __exit__(self, *exc) -> None:
        if self._fp is not None:
            self._fp.close()
            self._fp = None

    def __call__(self, name: str) -> bytes | None:
        member = self.archive.members.get(name) or self.lowered.get(name.lower())
        if member is None:
            return None
        self.used.add(member)
        info = self.archive.infos[member]
        if self._fp is None:  # called outside `with`: open for this one read
            with open(self.archive.path, "rb") as fp:
                return _read_member(fp, info, self.archive.path)
        return _read_member(self._fp, info, self.archive.path)


def attach_files(project: Project, archive: Archive, used: set[str]) -> Project:
    """Give a project read from ``archive`` the files its texts did not consume."""
    rest = {name: archive.infos[member] for name, member in archive.members.items() if member not in used}
    return replace(project, files=ArchiveFiles(archive.path, rest), read_info=project.read_info)


def write_archive(path: str | os.PathLike, qde: bytes, texts: Mapping[str, bytes],
                  files: Mapping[str, bytes], *, qde_name: str = "project.qde", sources_folder: str = "sources",
                  progress=None) -> None:
    """Write a ``.qdpx``: ``project.qde`` first, then ``sources/`` with the texts and the other files.

    ``path`` should be a temporary file; the caller renames it into place when everything is written.
    ``qde_name`` and ``sources_folder`` exist to imitate tools that name them otherwise.
    """
    written: set[str] = set()
    # -- ArchiveFiles, or a view of them under other names: keep the archive open while copying --
    batch = files.batch() if hasattr(files, "batch") else nullcontext()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf, batch:
        zf.writestr(_info(_safe_member(qde_name, "")), qde)
        for name, data in texts.items():
            member = _safe_member(name, sources_folder)
            zf.writestr(_info(member), data)
            written.add(member)
        for name in files:
            member = _safe_member(name, sources_folder)
            if member in written:
                continue  # a text written from the model supersedes a stale copy
            suffix = Path(name).suffix.lower()
            compression = zipfile.ZIP_STORED if suffix in _STORED_SUFFIXES else zipfile.ZIP_DEFLATED
            zf.writestr(_info(member), files[name], compress_type=compression)
            written.add(member)
            if progress is not None:
                progress(name)


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _safe_member(name: str, folder: str = "sources") -> str:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith(("/", "\\")) or ".." in parts:
        raise UnsafeFileError(f"refused to write a file named {name!r}: it would land outside the "
                              "archive's sources/ folder. Rename it.")
    return "/".join((folder, *parts)) if folder else "/".join(parts)

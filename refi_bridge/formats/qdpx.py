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
    """What an archive may claim, and what reading it may cost, before it is refused as a zip bomb.

    The defaults leave room for any real project: the standard caps one file at 2 GiB, and text and XML
    rarely compress better than 30:1 (the real exports of the corpus: 1 to 7.4 per member, 3.7 in all),
    while bombs reach 1000:1 or nest overlapping members. ``max_ratio`` applies to each member above
    ``ratio_applies_above`` bytes and to all members together once they claim more than that.
    ``max_decoded`` bounds the bytes decompressed while one project is read (its document and its texts;
    other files are read only when written, each once).
    """

    max_members: int = 200_000
    max_member_size: int = 2**31 - 1
    max_total_size: int = 16 * 2**30
    max_ratio: float = 250.0
    ratio_applies_above: int = 8 * 2**20
    max_decoded: int = 4 * 2**30


DEFAULT_LIMITS = ReadLimits()

# -- the errors zipfile raises on damaged directories: it decodes names, checks versions and seeks by the
#    offsets the file states, and says so with whatever exception the failing step raises --
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, NotImplementedError, EOFError, struct.error,
           OverflowError, IndexError, KeyError)


def is_archive(head: bytes) -> bool:
    """True when the first bytes of a file are those of a ZIP archive."""
    return head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC)


class Archive:
    """An archive opened once and checked: the ``.qde`` member, the sources folder, the source members.

    The file stays open until :meth:`close` (or the end of ``with``), and every member is read from that
    one open file: replacing the file on disk meanwhile changes nothing that is read.
    """

    def __init__(self, path: str, fp, zf: zipfile.ZipFile, limits: ReadLimits) -> None:
        self.path = path
        self.limits = limits
        self._fp = fp
        self._zip = zf
        info = os.fstat(fp.fileno())
        self.signature = (info.st_size, info.st_mtime_ns)
        infos = zf.infolist()
        _check_safety(path, infos, limits, info.st_size)
        qde, fixes = _find_qde(path, infos)
        self.qde_member = qde.filename
        self.sources_folder, self.members, ignored = _source_members(infos, qde.filename)
        self.ignored = tuple(ignored)
        self.fixes = tuple(fixes)
        self.infos = {i.filename: i for i in infos}  # archive member name -> its directory entry
        self.decoded = 0
        self.qde_bytes = self.read_member(qde)

    def read_member(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, counted against ``max_decoded``."""
        if self._fp is None:
            raise ValueError("the archive is closed")
        if self.decoded + info.file_size > self.limits.max_decoded:
            raise UnsafeFileError(f"{self.path}: refused: reading the project would decode more than "
                                  f"{self.limits.max_decoded:,} bytes (at member {info.filename!r}); no real "
                                  "project needs that, zip bombs do.", self.path)
        data = _read_member(self._fp, info, self.path, self._zip)
        self.decoded += len(data)
        return data

    def close(self) -> None:
        if self._fp is not None:
            self._zip.close()
            self._fp.close()
            self._fp = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_archive(path: str | os.PathLike, limits: ReadLimits = DEFAULT_LIMITS) -> Archive:
    """Open an archive once, check it for safety and structure and read its ``.qde``; source files stay unread.

    Use the result in ``with`` (or :meth:`Archive.close` it).
    """
    where = str(path)
    try:
        fp = open(path, "rb")  # noqa: SIM115 -- handed to the Archive, which closes it
    except OSError as error:
        raise ProjectFileError(f"{where}: cannot be read ({error.strerror or error}).", where) from None
    try:
        try:
            zf = zipfile.ZipFile(fp)
        except (*_DAMAGE, OSError) as error:
            raise ProjectFileError(f"{where}: not a readable ZIP archive ({_one_line(error)}); a .qdpx must be "
                                   "the ZIP file the QDA tool exported. Export it again.", where) from None
        try:
            return Archive(where, fp, zf, limits)
        except BaseException:
            zf.close()
            raise
    except BaseException:
        fp.close()
        raise


def check_zip(path: str | os.PathLike, limits: ReadLimits) -> None:
    """Refuse a ZIP file of another kind (an ``.xlsx`` workbook) that breaks ``limits`` or is damaged, before
    any library decompresses it: the same checks as for a ``.qdpx``, with limits fit for that kind. A file
    that is no ZIP at all passes: the reader of its kind says what it is."""
    where = str(path)
    try:
        with open(path, "rb") as fp:
            if not is_archive(fp.read(4)):
                return
            size = os.fstat(fp.fileno()).st_size
            with zipfile.ZipFile(fp) as zf:
                _check_safety(where, zf.infolist(), limits, size)
    except (*_DAMAGE, OSError) as error:
        if isinstance(error, ProjectFileError):
            raise
        raise ProjectFileError(f"{where}: not a readable ZIP file ({_one_line(error)}).", where) from None


def _one_line(error: object) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _check_safety(where: str, infos: list[zipfile.ZipInfo], limits: ReadLimits, file_size: int) -> None:
    if len(infos) > limits.max_members:
        raise UnsafeFileError(f"{where}: refused: {len(infos):,} members is more than any QDA project holds "
                              f"(limit {limits.max_members:,}); the archive may be a zip bomb.", where)
    total = compressed = 0
    names: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise UnsafeFileError(f"{where}: refused: member {name!r} points outside the archive folder "
                                  "(a 'zip slip' attack). Do not open this file.", where)
        if name in names:
            # -- tools disagree on which copy counts (zipfile takes the last, others the first) --
            raise ProjectFileError(f"{where}: member {name!r} is in the archive twice, and tools disagree on which "
                                   "copy counts; export the project again.", where)
        names.add(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeFileError(f"{where}: refused: member {name!r} is a symbolic link; a QDA project "
                                  "never holds one.", where)
        if info.flag_bits & 0x1:
            raise ProjectFileError(f"{where}: member {name!r} is encrypted; export the project again without "
                                   "a password.", where)
        if info.header_offset < 0 or info.header_offset + 30 + info.compress_size > file_size:
            raise ProjectFileError(f"{where}: member {name!r} lies past the end of the file; the archive is "
                                   "damaged or cut short. Export the project again.", where)
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
        compressed += info.compress_size
    if total > limits.max_total_size:
        raise UnsafeFileError(f"{where}: refused: the members would expand to {total:,} bytes, above the "
                              f"limit of {limits.max_total_size:,}; the archive may be a zip bomb.", where)
    if total > limits.ratio_applies_above and total > limits.max_ratio * max(compressed, 1):
        # -- many members each small enough to skip the check above add up all the same --
        raise UnsafeFileError(f"{where}: refused: its {len(infos):,} members would expand "
                              f"{total / max(compressed, 1):,.0f} times in all (to {total:,} bytes); real projects "
                              "do not compress like that, zip bombs do.", where)
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
    # -- macOS's zip adds __MACOSX/ and "._" resource forks beside every file; they are never the project --
    files = [info for info in infos if not info.is_dir() and not _resource_fork(info.filename)]
    at_root = [info for info in files if "/" not in info.filename and info.filename.lower().endswith(".qde")]
    if not at_root:
        nested = [info for info in files if info.filename.lower().endswith(".qde")]
        if len(nested) == 1:
            fixes.append(f"the project document is {nested[0].filename!r}, not at the archive's root")
            return nested[0], fixes
        if nested:
            listing = ", ".join(info.filename for info in nested[:5])
            raise ProjectFileError(f"{where}: {len(nested)} project documents in folders ({listing}); the "
                                   "archive holds several projects. Zip one project's folder alone.", where)
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


def _resource_fork(name: str) -> bool:
    return name.startswith("__MACOSX/") or name.rpartition("/")[2].startswith("._")


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
        if info.is_dir() or name == qde or _resource_fork(name):
            continue
        head, _, rest = name[len(prefix):].partition("/") if name.startswith(prefix) else ("", "", "")
        if rest and head.lower() == "sources":
            folder = folder or prefix + head
            members[rest] = name
        else:
            ignored.append(name)
    return folder, members, ignored


def _read_member(fp, info: zipfile.ZipInfo, where: str, zf: zipfile.ZipFile | None = None) -> bytes:
    """Read one member from the open archive file ``fp``, never more than its header declares.

    Stored and deflated members (all that QDA tools write) are read straight from the file and checked
    against their CRC: zipfile's general reader costs tens of microseconds per member, which adds up over
    the thousands of texts of a large project. Anything else goes through zipfile (``zf``, opened on the
    same file, when there is one).
    """
    if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return _read_raw(fp, info, where)
    try:
        with (nullcontext(zf) if zf is not None else zipfile.ZipFile(fp)) as archive, \
                archive.open(info.filename) as stream:
            data = stream.read(info.file_size + 1)
    except (*_DAMAGE, OSError, RuntimeError) as error:
        raise _damaged(where, info, error) from None
    if len(data) > info.file_size:
        raise UnsafeFileError(f"{where}: refused: member {info.filename!r} holds more than its declared "
                              f"{info.file_size:,} bytes.", where)
    return data


def _damaged(where: str, info: zipfile.ZipInfo, error: object) -> ProjectFileError:
    return ProjectFileError(f"{where}: member {info.filename!r} cannot be read ({_one_line(error)}); the archive is "
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

    def __init__(self, path: str, members: Mapping[str, zipfile.ZipInfo],
                 signature: tuple[int, int] | None = None) -> None:
        self._path = path
        self._members = dict(members)
        self._signature = signature or _signature(path)
        self._fp = None

    def compresses(self, name: str) -> bool:
        """True when the archive holds the file compressed (to under 90% of its size)."""
        info = self._members[name]
        return info.compress_size < 0.9 * info.file_size

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
    """Reads source files of an open :class:`Archive` by internal name (case-insensitively), each member once.

    Called with a name as an ``internal://`` path gives it, returns ``(name as the archive spells it, bytes)``
    or None: however many spellings of a path a document uses (``a.txt``, ``A.TXT``), the member is
    decompressed once. ``used`` collects the members read. A context manager for symmetry with the archive.
    """

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.lowered = {name.lower(): name for name in archive.members}
        self.used: set[str] = set()
        self._read: dict[str, bytes] = {}

    def __enter__(self) -> member_reader:
        return self

    def __exit__(self, *exc) -> None:
        self._read.clear()

    def __call__(self, name: str) -> tuple[str, bytes] | None:
        spelled = name if name in self.archive.members else self.lowered.get(name.lower())
        if spelled is None:
            return None
        member = self.archive.members[spelled]
        data = self._read.get(member)
        if data is None:
            data = self._read[member] = self.archive.read_member(self.archive.infos[member])
            self.used.add(member)
        return spelled, data


def attach_files(project: Project, archive: Archive, used: set[str]) -> Project:
    """Give a project read from ``archive`` the files its texts did not consume."""
    rest = {name: archive.infos[member] for name, member in archive.members.items() if member not in used}
    return replace(project, files=ArchiveFiles(archive.path, rest, archive.signature), read_info=project.read_info)


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
            data = files[name]
            compression = zipfile.ZIP_DEFLATED if _compresses(name, data, files) else zipfile.ZIP_STORED
            zf.writestr(_info(member), data, compress_type=compression)
            written.add(member)
            if progress is not None:
                progress(name)


def _compresses(name: str, data: bytes, files: Mapping[str, bytes]) -> bool:
    """Whether to deflate a file: always, unless its format is compressed already and its bytes show it.

    A name is no proof: a ``.png`` of zeros stored as it is would turn a small archive into a huge one, so
    a file the archive held compressed is compressed again, and others are tried on a sample.
    """
    if Path(name).suffix.lower() not in _STORED_SUFFIXES:
        return True
    if isinstance(files, ArchiveFiles):
        return files.compresses(name)
    step = max(len(data) // 4, 1)
    sample = b"".join(data[at:at + 16_384] for at in range(0, len(data), step))
    return len(zlib.compress(sample, 1)) < 0.9 * len(sample)


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

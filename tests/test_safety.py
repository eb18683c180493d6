"""Hostile and broken input is refused with a clear error; outputs are atomic; inputs are never changed."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from hostile import DATA, DOCTYPE, LAUGHS, MINIMAL, NOT_REFI, XXE, lying_header, make_zip, overlapping

import refi_bridge
from refi_bridge.errors import ProjectFileError, ProjectStructureError, RefiBridgeError, UnsafeFileError
from refi_bridge.formats import qdpx


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("name", ["../evil.txt", "sources/../../evil.txt", "/etc/evil.txt", "C:/evil.txt",
                                  "sources\\..\\..\\evil.txt"])
def test_zip_slip_members_are_refused(tmp_path, name):
    path = make_zip(tmp_path / "slip.qdpx", {"project.qde": MINIMAL, name: b"x"})
    with pytest.raises(UnsafeFileError, match="outside the archive"):
        refi_bridge.read(path)


def test_symbolic_links_are_refused(tmp_path):
    path = make_zip(tmp_path / "link.qdpx", {"project.qde": MINIMAL, "sources/a.txt": b"/etc/passwd"},
                    **{"sources/a.txt": {"external_attr": 0o120777 << 16}})
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        refi_bridge.read(path)


def test_zip_bombs_are_refused_before_decompressing(tmp_path):
    path = make_zip(tmp_path / "bomb.qdpx", {"project.qde": MINIMAL, "sources/zeros.txt": b"\0" * (40 * 2**20)})
    assert path.stat().st_size < 200_000
    with pytest.raises(UnsafeFileError, match="zip bomb"):
        refi_bridge.read(path)


def test_total_size_limit(tmp_path):
    path = make_zip(tmp_path / "big.qdpx", {"project.qde": MINIMAL, "sources/a.txt": b"a" * 5000})
    with pytest.raises(UnsafeFileError, match="expand to"):
        refi_bridge.read(path, limits=qdpx.ReadLimits(max_total_size=4000))


def test_a_header_that_lies_about_the_size_is_caught(tmp_path):
    path = lying_header(tmp_path / "liar.qdpx")
    with pytest.raises(ProjectFileError):
        refi_bridge.read(path)


def test_overlapping_members_are_refused(tmp_path):
    """Two central-directory entries pointing at one local file: the construction of dense zip bombs."""
    path = overlapping(tmp_path / "overlap.qdpx")
    with pytest.raises(RefiBridgeError, match="overlap|damaged|Overlapped"):
        refi_bridge.read(path)


@pytest.mark.parametrize("payload", [XXE, LAUGHS], ids=["external-entity", "billion-laughs"])
def test_entity_attacks_are_refused(tmp_path, payload):
    qde = tmp_path / "attack.qde"
    qde.write_bytes(payload)
    with pytest.raises(UnsafeFileError, match="refused"):
        refi_bridge.read(qde)
    archive = make_zip(tmp_path / "attack.qdpx", {"project.qde": payload})
    with pytest.raises(UnsafeFileError, match="refused"):
        refi_bridge.read(archive)


def test_plain_doctype_is_refused(tmp_path):
    qde = tmp_path / "dtd.qde"
    qde.write_bytes(DOCTYPE)
    with pytest.raises(UnsafeFileError, match="DOCTYPE"):
        refi_bridge.read(qde)


@pytest.mark.parametrize("content, message", NOT_REFI)
def test_bad_files_give_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.qdpx"
    path.write_bytes(content)
    with pytest.raises(ProjectFileError, match=message) as caught:
        refi_bridge.read(path)
    assert "\n" not in str(caught.value) and str(path) in str(caught.value)


def test_missing_required_attribute_names_line_and_element(tmp_path):
    qde = tmp_path / "broken.qde"
    qde.write_bytes(MINIMAL.replace(b' startPosition="2"', b""))
    with pytest.raises(ProjectStructureError, match=r"line 8: <PlainTextSelection guid=4444.*startPosition"):
        refi_bridge.read(qde)


def test_archive_without_project_document(tmp_path):
    path = make_zip(tmp_path / "empty.qdpx", {"sources/a.txt": b"x"})
    with pytest.raises(ProjectFileError, match="no .qde project document"):
        refi_bridge.read(path)


def test_any_single_qde_at_the_root_is_read(tmp_path):
    path = make_zip(tmp_path / "atlas.qdpx", {"My Project.qde": MINIMAL})
    project = refi_bridge.read(path)
    assert project.read_info.qde_member == "My Project.qde"
    assert any("not 'project.qde'" in fix for fix in project.read_info.fixes)


def test_writing_never_overwrites_the_input(tmp_path):
    path = make_zip(tmp_path / "in.qdpx", {"project.qde": MINIMAL})
    before = digest(path)
    project = refi_bridge.read(path)
    with pytest.raises(ProjectFileError, match="refusing to overwrite an input"):
        refi_bridge.write(project, path)
    assert digest(path) == before
    refi_bridge.write(project, tmp_path / "out.qdpx")
    assert digest(path) == before


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    project = refi_bridge.read(DATA / "minimal.qde")
    target = tmp_path / "out.qdpx"
    target.write_bytes(b"previous")

    def explode(path, *args, **kwargs):
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(qdpx, "write_archive", explode)
    with pytest.raises(OSError, match="disk full"):
        refi_bridge.write(project, target)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.qdpx"]


def test_unknown_extension_and_missing_folder(tmp_path):
    project = refi_bridge.read(DATA / "minimal.qde")
    with pytest.raises(ProjectFileError, match="unknown extension"):
        refi_bridge.write(project, tmp_path / "out.zip")
    with pytest.raises(ProjectFileError, match="does not exist"):
        refi_bridge.write(project, tmp_path / "nowhere" / "out.qdpx")


def test_archive_changed_after_reading_is_noticed(tmp_path):
    path = make_zip(tmp_path / "in.qdpx", {"project.qde": MINIMAL, "sources/pic.png": b"\x89PNG...."})
    project = refi_bridge.read(path)
    assert project.files["pic.png"] == b"\x89PNG...."
    make_zip(path, {"project.qde": MINIMAL, "sources/pic.png": b"other bytes, other size"})
    with pytest.raises(ProjectFileError, match="changed after it was read"):
        project.files["pic.png"]


def test_archives_are_told_by_their_first_bytes():
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("project.qde", MINIMAL)
    assert qdpx.is_archive(data.getvalue()[:8])

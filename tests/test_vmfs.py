"""vmksim.vmfs on the two real ESXi-made images (../shared/data/vmfs), the CLI, and debugvmfs6.

The images are AGPL test data from dissect.vmfs; they are read in place, never
copied into the repository. Expected values come from the data README.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import pytest

from vmksim.cli import main
from vmksim.vmfs import FileType, Vmfs

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "vmfs"
IMAGES = {5: DATA / "vmfs5.bin.gz", 6: DATA / "vmfs6.bin.gz"}
MISSING = f"real VMFS test images not found in {DATA} (see shared/data/README.md)"

EXPECTED = {
    5: ("VMFS5 Test", "61137dd5-df6bc2c8-f0e7-000c29801686", 14, 81, "VMFS-5.81", 256 << 20),
    6: ("VMFS6 Test", "6113001e-a6377ebc-1d24-000c29801686", 24, 82, "VMFS-6.82", 768 << 20),
}
# name -> (type, size, mode, contents or symlink target)
FILES = {
    "file1": ("file", 0, "0644", b""),
    "file2": ("file", 0, "0644", b""),
    "file3": ("file", 0, "0644", b""),
    "file4": ("file", 8, "0644", b"content\n"),
    "file5": ("file", 8193, "0644", b"a" * 8192 + b"\n"),
    "symlink": ("symlink", 5, "0777", "file4"),
}


def _inflate_sparse(src: Path, dest: Path, limit: int | None = None) -> Path:
    zero = bytes(1 << 20)
    with gzip.open(src, "rb") as gz, open(dest, "wb") as out:
        pos = 0
        while limit is None or pos < limit:
            chunk = gz.read(1 << 20 if limit is None else min(1 << 20, limit - pos))
            if not chunk:
                break
            if chunk != zero[: len(chunk)]:
                out.seek(pos)
                out.write(chunk)
            pos += len(chunk)
        out.truncate(pos)
    return dest


@pytest.fixture(scope="session", params=[5, 6], ids=["vmfs5", "vmfs6"])
def real(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    """(version, path of the image inflated once per session, sparse)."""
    src = IMAGES[request.param]
    if not src.exists():
        pytest.skip(MISSING)
    return request.param, _inflate_sparse(src, tmp_path_factory.mktemp("vmfs") / f"v{request.param}.bin")


def test_gzip_image_opens_directly() -> None:
    if not IMAGES[5].exists():
        pytest.skip(MISSING)
    fs = Vmfs.open([str(IMAGES[5])])
    assert fs.label == "VMFS5 Test"
    assert fs.lookup("/directory/file4").read() == b"content\n"


def test_volume_facts(real: tuple[int, Path]) -> None:
    version, img = real
    fs = Vmfs.open([str(img)])
    info = fs.info()
    label, uuid, major, minor, text, capacity = EXPECTED[version]
    assert (info.label, info.uuid, info.major, info.minor, fs.version_text) == (
        label,
        uuid,
        major,
        minor,
        text,
    )
    assert info.block_size == 1 << 20
    assert info.capacity == capacity
    assert info.free is not None and 0 < info.free < capacity
    assert [e[2:] for e in info.extents] == [(0x1100000, 0, capacity)]  # 17 MiB data offset (§1.2)
    assert info.md_alignment == (4096 if version == 6 else 0)


def test_every_file_type_size_mode_and_content(real: tuple[int, Path]) -> None:
    _version, img = real
    fs = Vmfs.open([str(img)])
    root = {e.name for e in fs.listdir(fs.root)}
    assert "directory" in root and ".fdc.sf" in root
    d = fs.lookup("/directory")
    assert d.type is FileType.DIRECTORY and d.kind == "dir"
    got = {}
    for entry in fs.listdir(d):
        fd = fs.fd(entry.address)
        body = fs.readlink(fd) if fd.type is FileType.SYMLINK else fd.read()
        got[entry.name] = (fd.kind, fd.size, f"{fd.mode & 0o7777:04o}", body)
    assert got == FILES


def test_walk_lists_everything_once(real: tuple[int, Path]) -> None:
    _version, img = real
    fs = Vmfs.open([str(img)])
    paths = [p for p, _e, _fd in fs.walk("/")]
    assert len(paths) == len(set(paths))
    assert {f"/directory/{n}" for n in FILES} <= set(paths)


def test_vmfs6_hash_table_points_at_each_entry(real: tuple[int, Path]) -> None:
    """§1.6: a name's hash slot holds the location of its dirent (block, slot)."""
    version, img = real
    if version != 6:
        pytest.skip("hashed directories are VMFS6 only")
    from vmksim.vmfs.directory import V6_ENTRY, hash_slot, table_location

    fs = Vmfs.open([str(img)])
    for fd, root in ((fs.root, True), (fs.lookup("/directory"), False)):
        data = fd.read()
        for entry in fs.listdir(fd):
            if entry.type == 5:
                continue  # system files sit in fixed slots
            btype, block, slot = table_location(data, hash_slot(entry.name, root))
            assert btype == 1
            at = 0x10000 + block * 4096 + 0x40 + slot * V6_ENTRY
            assert data[at + 0x18 : at + 0x18 + len(entry.name) + 1] == entry.name.encode() + b"\0"


def test_spanned_volume_over_two_devices(real: tuple[int, Path], tmp_path: Path) -> None:
    """Split the real VMFS5 volume over two LVM devices; both are needed, either order."""
    version, img = real
    if version != 5:
        pytest.skip("one LVM layout is enough")
    half = 128 << 20
    data_at = 0x1100000
    header = bytearray(img.read_bytes()[:data_at])
    vol_at, pe_at = 0x100200, 0x180600  # LVM5: volume table, PE table (see lvm.py)
    header[vol_at + 0x90 : vol_at + 0x94] = (2).to_bytes(4, "little")
    devs = []
    for n, logical in enumerate((0, half)):
        hdr = bytearray(header)
        hdr[pe_at + 0x11 : pe_at + 0x19] = logical.to_bytes(8, "little")
        hdr[pe_at + 0x19 : pe_at + 0x21] = half.to_bytes(8, "little")
        path = tmp_path / f"dev{n}.bin"
        with open(img, "rb") as src, open(path, "wb") as out:
            out.write(hdr)
            src.seek(data_at + logical)
            for _ in range(half >> 20):
                chunk = src.read(1 << 20)
                if chunk.count(0) == len(chunk):
                    out.seek(len(chunk), os.SEEK_CUR)
                else:
                    out.write(chunk)
            out.truncate(data_at + half)
        devs.append(str(path))
    fs = Vmfs.open(devs[::-1])
    assert fs.lookup("/directory/file5").read() == FILES["file5"][3]
    assert len(fs.info().extents) == 2
    with pytest.raises(Exception, match="spans 2 devices but only 1 given"):
        Vmfs.open(devs[:1])


def test_truncated_lvm_device(tmp_path: Path) -> None:
    if not IMAGES[5].exists():
        pytest.skip(MISSING)
    img = _inflate_sparse(IMAGES[5], tmp_path / "short.bin", limit=0x1400000)
    code, _out, err = _cli_fd(["vmfs", "info", str(img)])
    assert code == 1 and "image is truncated" in err and err.count("\n") == 1


# ------------------------------------------------------------------ CLI
def _cli_fd(argv: list[str]) -> tuple[int, str, str]:
    import contextlib
    import io
    import sys

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    del sys
    return code, out.getvalue(), err.getvalue()


def test_cli_info_json(real: tuple[int, Path], capsys: pytest.CaptureFixture[str]) -> None:
    version, img = real
    assert main(["vmfs", "info", "--json", str(img)]) == 0
    (vol,) = json.loads(capsys.readouterr().out)
    label, uuid, major, minor, text, capacity = EXPECTED[version]
    assert (vol["label"], vol["uuid"], vol["major"], vol["minor"], vol["version"]) == (
        label, uuid, major, minor, text,
    )  # fmt: skip
    assert vol["capacity"] == capacity and vol["extents"][0]["length"] == capacity


def test_cli_ls_json(real: tuple[int, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _version, img = real
    assert main(["vmfs", "ls", "--json", str(img), "/directory"]) == 0
    rows = json.loads(capsys.readouterr().out)
    want = []
    for name, (kind, size, mode, body) in sorted(FILES.items()):
        row = {"name": name, "type": kind, "size": size, "mode": mode}
        if kind == "symlink":
            row["target"] = body
        want.append(row)
    assert rows == want


def test_cli_ls_long_stat_tree(real: tuple[int, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _version, img = real
    assert main(["vmfs", "ls", "-l", str(img), "/directory"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("lrwxrwxrwx") and lines[-1].endswith("symlink -> file4")
    assert lines[4].startswith("-rw-r--r--") and " 8193 " in lines[4]
    assert main(["vmfs", "stat", "--json", str(img), "/directory/symlink"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert (st["type"], st["target"], st["size"]) == ("symlink", "file4", 5)
    assert main(["vmfs", "tree", str(img)]) == 0
    assert "└── symlink  5 -> file4" in capsys.readouterr().out


def test_cli_cat_bytes(real: tuple[int, Path], capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    _version, img = real
    assert main(["vmfs", "cat", str(img), "/directory/file5"]) == 0
    assert capfdbinary.readouterr().out == b"a" * 8192 + b"\n"
    assert main(["vmfs", "cat", str(img), "/directory/symlink"]) == 0  # follows the link
    assert capfdbinary.readouterr().out == b"content\n"


def test_cli_extract(real: tuple[int, Path], tmp_path: Path) -> None:
    _version, img = real
    assert main(["vmfs", "extract", str(img), "/directory/file5", str(tmp_path)]) == 0
    assert (tmp_path / "file5").read_bytes() == b"a" * 8192 + b"\n"
    assert [p.name for p in tmp_path.iterdir()] == ["file5"]  # no temporary left over


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ls", "{img}", "/nope"], "/nope: no such file or directory"),
        (["cat", "{img}", "/directory"], "is a directory"),
        (["ls", "{img}", "/directory/file4/x"], "not a directory"),
        (["info", "/no/such/image"], "cannot open"),
        (["info", "{tests}"], "is a directory"),
        (["info", "{pyproject}"], "truncated or too small"),
    ],
)
def test_cli_errors_are_one_line(real: tuple[int, Path], argv: list[str], needle: str) -> None:
    _version, img = real
    root = Path(__file__).resolve().parents[1]
    subs = {"img": str(img), "tests": str(root / "tests"), "pyproject": str(root / "pyproject.toml")}
    code, _out, err = _cli_fd(["vmfs", *(a.format(**subs) for a in argv)])
    assert code == 1 and needle in err and err.count("\n") == 1 and "Traceback" not in err


# ------------------------------------------------------------------ debugvmfs6 cross-check
def test_matches_debugvmfs6(real: tuple[int, Path]) -> None:
    """Debian's vmfs6-tools (GPL, run out of process) must agree on names, sizes, modes, contents."""
    version, img = real
    if version != 6:
        pytest.skip("debugvmfs6 reads VMFS6 only")
    tool = shutil.which("debugvmfs6")
    if tool is None:
        pytest.skip("debugvmfs6 not installed (apt-get install vmfs6-tools) - cross-check skipped")
    fs = Vmfs.open([str(img)])
    listing = subprocess.run(
        [tool, str(img), "ls", "-l", "/directory"], capture_output=True, text=True, timeout=60
    )
    theirs = {}
    for line in listing.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[-1] not in (".", ".."):
            theirs[parts[-1]] = (parts[0], int(parts[4]))
    import stat as st

    ours = {}
    for entry in fs.listdir(fs.lookup("/directory")):
        fd = fs.fd(entry.address)
        ours[entry.name] = (st.filemode(fd.st_mode), fd.size)
        if fd.type is FileType.REGULAR:
            cat = subprocess.run(
                [tool, str(img), "cat", f"/directory/{entry.name}"], capture_output=True, timeout=60
            )
            assert cat.stdout.split(b"\n", 1)[1] == fd.read()  # after the "VMFS version" banner
    assert ours == theirs


def test_extract_keeps_memory_flat_on_real_file(real: tuple[int, Path], tmp_path: Path) -> None:
    """Extracting the 128 MiB .fdc.sf (VMFS6) goes block by block."""
    version, img = real
    if version != 6:
        pytest.skip("VMFS6 has the big system file")
    from vmksim.cli.vmfs import extract_file

    fs = Vmfs.open([str(img)])
    fd = fs.lookup("/.fdc.sf")
    tracemalloc.start()
    extract_file(fd, str(tmp_path / "fdc"))
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (tmp_path / "fdc").stat().st_size == fd.size > 100 << 20
    assert peak < 16 << 20
